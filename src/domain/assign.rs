//! Choosing a compartment for a deposit.

use super::{Compartment, Size};

/// The compartment a parcel of `size` should go to, if any.
///
/// The smallest free, enabled compartment that fits, so big compartments stay free for big
/// parcels. Among equals, non-accessible ones first, keeping the reachable ones for recipients
/// who need them (unless `prefer_accessible`, for a recipient who asked for one), then the least
/// used, to spread latch wear, then the id, so the choice is deterministic.
pub fn choose<'a>(
    compartments: impl IntoIterator<Item = &'a Compartment>,
    size: Size,
    prefer_accessible: bool,
) -> Option<&'a Compartment> {
    compartments
        .into_iter()
        .filter(|c| c.assignable() && c.size.fits(size))
        .min_by(|a, b| {
            let key = |c: &Compartment| (c.size, c.accessible != prefer_accessible, c.uses);
            key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CompartmentState;

    fn c(id: &str, size: Size, accessible: bool, uses: u64) -> Compartment {
        Compartment {
            uses,
            ..Compartment::new(id.into(), size, accessible)
        }
    }

    fn pick(all: &[Compartment], size: Size) -> Option<&str> {
        choose(all, size, false).map(|c| c.id.as_str())
    }

    #[test]
    fn smallest_fitting_size_wins() {
        let all = [
            c("XL1", Size::XL, false, 0),
            c("M1", Size::M, false, 5),
            c("S1", Size::S, false, 0),
        ];
        assert_eq!(pick(&all, Size::M), Some("M1"));
        assert_eq!(pick(&all, Size::S), Some("S1"));
        assert_eq!(pick(&all, Size::L), Some("XL1"));
    }

    #[test]
    fn non_accessible_before_accessible_then_least_used() {
        let all = [
            c("A", Size::S, true, 0),
            c("B", Size::S, false, 3),
            c("C", Size::S, false, 1),
        ];
        assert_eq!(pick(&all, Size::S), Some("C"));
        assert_eq!(
            choose(&all, Size::S, true).map(|c| c.id.as_str()),
            Some("A")
        );
    }

    #[test]
    fn ties_break_on_id() {
        let all = [c("B", Size::S, false, 0), c("A", Size::S, false, 0)];
        assert_eq!(pick(&all, Size::S), Some("A"));
    }

    #[test]
    fn only_free_compartments_are_assigned() {
        for state in [
            CompartmentState::Reserved,
            CompartmentState::Open,
            CompartmentState::Occupied,
            CompartmentState::Disabled,
            CompartmentState::Fault,
        ] {
            let busy = Compartment {
                state,
                ..c("A", Size::S, false, 0)
            };
            assert_eq!(
                pick(&[busy], Size::S),
                None,
                "{state:?} must not be assigned"
            );
        }
    }

    #[test]
    fn a_parcel_too_big_for_every_compartment_gets_none() {
        let all = [c("A", Size::S, false, 0), c("B", Size::M, false, 0)];
        assert_eq!(pick(&all, Size::L), None);
        assert_eq!(pick(&all, Size::M), Some("B"));
    }
}
