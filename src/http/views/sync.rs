use super::{SizeView, time};
use crate::domain::Reservation;
use serde::Serialize;
use utoipa::ToSchema;

/// A pre-advised parcel waiting for its courier. The cloud's pickup code is never shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReservationView {
    pub tracking_id: String,
    pub size: SizeView,
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// Whether the cloud issued the pickup code.
    pub pickup_code: bool,
    pub photo: bool,
    pub accessible: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<Reservation> for ReservationView {
    fn from(r: Reservation) -> Self {
        ReservationView {
            tracking_id: r.tracking_id,
            size: r.size.into(),
            expires_at: time(r.expires_at),
            pickup_code: r.has_code,
            photo: r.photo,
            accessible: r.accessible,
            created_at: time(r.created_at),
            updated_at: time(r.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReservationList {
    pub reservations: Vec<ReservationView>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next: Option<String>,
}
