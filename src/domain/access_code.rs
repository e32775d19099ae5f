//! Access codes: numbers people type at the keypad for more than one parcel. An owner's
//! standing pickup code opens every compartment in its scope that holds a stored parcel; a
//! delivery code (a PIN an owner writes into a shop's delivery instructions) admits deliveries.

use super::{CompartmentId, Timestamp};

/// What an access code lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// A `pin` for a delivery without a courier account.
    Delivery,
    /// A standing pickup code: collects every stored parcel in its scope.
    Pickup,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivery => "delivery",
            Self::Pickup => "pickup",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "delivery" => Some(Self::Delivery),
            "pickup" => Some(Self::Pickup),
            _ => None,
        }
    }
}

/// An access code as stored: everything but the code, of which only a keyed hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessCode {
    pub id: String,
    pub name: String,
    pub purpose: CodePurpose,
    /// `None`: unlimited.
    pub uses_left: Option<u32>,
    /// `None`: never lapses.
    pub expires_at: Option<Timestamp>,
    /// `None`: every compartment.
    pub compartments: Option<Vec<CompartmentId>>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

impl AccessCode {
    /// Whether the code still works at `now`: uses left and not lapsed.
    pub fn usable(&self, now: Timestamp) -> bool {
        self.uses_left != Some(0) && self.expires_at.is_none_or(|t| now < t)
    }

    /// Whether `compartment` is in the code's scope.
    pub fn covers(&self, compartment: &CompartmentId) -> bool {
        self.compartments
            .as_ref()
            .is_none_or(|scope| scope.contains(compartment))
    }

    /// The code after one use at `now`.
    pub fn used(&self, now: Timestamp) -> AccessCode {
        AccessCode {
            uses_left: self.uses_left.map(|n| n.saturating_sub(1)),
            last_used_at: Some(now),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(uses_left: Option<u32>, expires_at: Option<i64>) -> AccessCode {
        AccessCode {
            id: "c".into(),
            name: "owner".into(),
            purpose: CodePurpose::Pickup,
            uses_left,
            expires_at: expires_at.map(Timestamp),
            compartments: Some(vec![CompartmentId("A1".into())]),
            created_at: Timestamp(0),
            last_used_at: None,
        }
    }

    #[test]
    fn a_code_works_while_it_has_uses_and_has_not_lapsed() {
        assert!(code(None, None).usable(Timestamp(5)));
        assert!(code(Some(1), Some(10)).usable(Timestamp(9)));
        assert!(!code(Some(1), Some(10)).usable(Timestamp(10)));
        assert!(!code(Some(0), None).usable(Timestamp(0)));
        let once = code(Some(1), None).used(Timestamp(3));
        assert_eq!(
            (once.uses_left, once.last_used_at),
            (Some(0), Some(Timestamp(3)))
        );
        assert!(!once.usable(Timestamp(4)));
        assert_eq!(code(None, None).used(Timestamp(3)).uses_left, None);
    }

    #[test]
    fn a_scoped_code_covers_only_its_compartments() {
        let scoped = code(None, None);
        assert!(scoped.covers(&CompartmentId("A1".into())));
        assert!(!scoped.covers(&CompartmentId("A2".into())));
        let all = AccessCode {
            compartments: None,
            ..scoped
        };
        assert!(all.covers(&CompartmentId("Z9".into())));
    }
}
