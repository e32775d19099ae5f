//! Compartment and parcel sizes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A compartment or parcel size; compartments of a size hold parcels of that size or smaller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Size {
    S,
    M,
    L,
    XL,
}

impl Size {
    pub const ALL: [Size; 4] = [Size::S, Size::M, Size::L, Size::XL];

    pub fn as_str(self) -> &'static str {
        match self {
            Size::S => "S",
            Size::M => "M",
            Size::L => "L",
            Size::XL => "XL",
        }
    }

    pub fn parse(s: &str) -> Option<Size> {
        Size::ALL.into_iter().find(|size| size.as_str() == s)
    }

    /// Whether a compartment of this size holds a parcel of size `parcel`.
    pub fn fits(self, parcel: Size) -> bool {
        self >= parcel
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_ordered_and_fit_smaller_parcels() {
        assert!(Size::S < Size::M && Size::M < Size::L && Size::L < Size::XL);
        assert!(Size::L.fits(Size::M));
        assert!(Size::L.fits(Size::L));
        assert!(!Size::M.fits(Size::L));
    }

    #[test]
    fn parse_round_trips() {
        for size in Size::ALL {
            assert_eq!(Size::parse(size.as_str()), Some(size));
        }
        assert_eq!(Size::parse("XXL"), None);
    }
}
