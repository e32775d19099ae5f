//! A pre-advised parcel: the cloud tells the locker a parcel is coming before the courier does.

use super::{Size, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub tracking_id: String,
    /// The smallest compartment the parcel needs; a courier may choose a bigger one.
    pub size: Size,
    /// The reservation lapses (and is deleted) at this time if no deposit used it.
    pub expires_at: Timestamp,
    /// Whether the cloud issued the pickup code (only its hash is kept).
    pub has_code: bool,
    /// `false`: take no proof-of-delivery photo of this parcel.
    pub photo: bool,
    /// Prefer a wheelchair-reachable compartment: the recipient asked for one.
    pub accessible: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Reservation {
    /// The size a deposit of this parcel needs: what the courier chose, but never smaller
    /// than what the cloud announced (it knows the shipper's dimensions).
    pub fn deposit_size(&self, chosen: Size) -> Size {
        chosen.max(self.size)
    }
}
