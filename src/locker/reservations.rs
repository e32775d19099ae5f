//! Pre-advised parcels (reservations): the cloud's word that a parcel is coming, with its size
//! and optionally the pickup code it already sent the recipient.
//!
//! A reservation lives until its parcel is stored (its cloud-issued code then moves to the
//! parcel, so the code is never generated, published or logged by the locker) or until it
//! lapses. While a deposit of its tracking id is underway or the parcel is in the locker, the
//! cloud can no longer change or withdraw it: the courier is standing at the locker.

use super::core::Inner;
use super::tx::Tx;
use super::{Locker, LockerError, Principal, ReservationPage, ReservationRequest, Result};
use crate::domain::{Parcel, ParcelState, Reservation};
use crate::store;
use rusqlite::Connection;
use serde_json::json;

/// How far ahead a reservation may lapse: pre-advice is for parcels on their way.
const MAX_AHEAD: std::time::Duration = std::time::Duration::from_secs(90 * 24 * 3600);

/// When to try again while `sync.max_reservations` are open: parcels arrive and lapse.
const FULL_RETRY: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether `tracking_id` has a parcel in the locker (being deposited, stored or expired).
fn deposited(conn: &Connection, tracking_id: &str) -> Result<Option<Parcel>> {
    Ok(store::live_parcel_by_tracking(conn, tracking_id)?)
}

impl Inner {
    /// Creates (`true`) or replaces (`false`) the reservation of `tracking_id`.
    pub fn reserve(
        &self,
        actor: &str,
        tracking_id: &str,
        request: ReservationRequest,
    ) -> Result<(Reservation, bool)> {
        super::deposit::check_tracking_id(tracking_id)?;
        let now = self.now();
        let expires_at = request
            .expires_at
            .unwrap_or_else(|| now.plus(self.config.sync.reservation_ttl));
        if expires_at <= now {
            return Err(LockerError::InvalidRequest(
                "expires_at: must be in the future".into(),
            ));
        }
        if expires_at > now.plus(MAX_AHEAD) {
            return Err(LockerError::InvalidRequest(
                "expires_at: at most 90 days ahead; a parcel further off is not pre-advice".into(),
            ));
        }
        let hash = match &request.pickup_code {
            Some(code) => Some(self.cloud_code_hash("pickup_code", code)?),
            None => None,
        };
        let pin_hash = match &request.deposit_pin {
            Some(pin) => Some(self.cloud_code_hash("deposit_pin", pin)?),
            None => None,
        };
        self.tx(|tx| {
            if deposited(tx, tracking_id)?.is_some() {
                return Err(LockerError::Conflict(format!(
                    "a parcel with tracking id {tracking_id} is already in the locker"
                )));
            }
            // A code that clashes with a live one is accepted like any other: answering
            // differently would tell a sync token which codes open a compartment now. The clash
            // is settled when the parcel is stored (`consume_reservation`).
            let existing = store::get_reservation(tx, tracking_id)?;
            if let Some(r) = &existing
                && (r.size, r.expires_at, r.photo, r.accessible)
                    == (request.size, expires_at, request.photo, request.accessible)
                && store::reservation_code_hash(tx, tracking_id)? == hash
                && store::reservation_pin_hash(tx, tracking_id)? == pin_hash
            {
                // The same again: nothing to store or audit (a replay costs no disk).
                return Ok((r.clone(), false));
            }
            if existing.is_none()
                && store::count_reservations(tx)? >= u64::from(self.config.sync.max_reservations)
            {
                return Err(LockerError::RateLimited {
                    retry_after: FULL_RETRY,
                });
            }
            self.count_reservation_write(actor)?;
            let created_at = existing.map(|r| r.created_at).unwrap_or(now);
            let reservation = Reservation {
                tracking_id: tracking_id.to_owned(),
                size: request.size,
                expires_at,
                has_code: hash.is_some(),
                photo: request.photo,
                accessible: request.accessible,
                created_at,
                updated_at: now,
            };
            let created = store::upsert_reservation(tx, &reservation, hash.as_deref())?;
            store::set_reservation_pin_hash(tx, tracking_id, pin_hash.as_deref())?;
            let action = match created {
                true => "reservation.created",
                false => "reservation.replaced",
            };
            let mut detail = audit_reservation(&reservation);
            detail["has_deposit_pin"] = json!(pin_hash.is_some());
            self.audit(tx, actor, action, detail)?;
            Ok((reservation, created))
        })
    }

    /// The hash of a cloud-issued code (`field`), once it is known to be one the keypad accepts.
    fn cloud_code_hash(&self, field: &str, code: &crate::domain::PickupCode) -> Result<Vec<u8>> {
        let digits = self.config.policy.code_length;
        let code = code.expose();
        if code.len() != usize::from(digits) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LockerError::InvalidRequest(format!(
                "{field}: must be exactly {digits} digits (policy.code_length)"
            )));
        }
        Ok(self.key.code_hash(code))
    }

    pub fn unreserve(&self, actor: &str, tracking_id: &str) -> Result<()> {
        self.tx(|tx| {
            if store::get_reservation(tx, tracking_id)?.is_none() {
                return Err(LockerError::NotFound(format!("reservation {tracking_id}")));
            }
            if deposited(tx, tracking_id)?.is_some() {
                return Err(LockerError::Conflict(format!(
                    "the parcel with tracking id {tracking_id} is being deposited"
                )));
            }
            self.count_reservation_write(actor)?;
            store::delete_reservation(tx, tracking_id)?;
            let detail = json!({"tracking_id": tracking_id});
            self.audit(tx, actor, "reservation.withdrawn", detail)
        })
    }

    pub fn reservations(&self, after: Option<&str>, limit: usize) -> Result<ReservationPage> {
        self.read(|c| {
            let mut reservations = store::list_reservations(c, after, limit + 1)?;
            let next = match reservations.len() > limit {
                true => {
                    reservations.truncate(limit);
                    reservations.last().map(|r| r.tracking_id.clone())
                }
                false => None,
            };
            Ok(ReservationPage { reservations, next })
        })
    }

    /// The reservation a deposit of `tracking_id` starting now should use. A lapsed one that
    /// housekeeping has not deleted yet is deleted here rather than used.
    pub fn reservation_for_deposit(
        &self,
        tx: &Tx<'_>,
        tracking_id: &str,
    ) -> Result<Option<Reservation>> {
        match store::get_reservation(tx, tracking_id)? {
            Some(r) if r.expires_at <= self.now() => {
                store::delete_reservation(tx, tracking_id)?;
                Ok(None)
            }
            found => Ok(found),
        }
    }

    /// Whether a parcel's compartment should be a wheelchair-reachable one.
    pub fn wants_accessible(&self, conn: &Connection, tracking_id: &str) -> Result<bool> {
        Ok(store::get_reservation(conn, tracking_id)?.is_some_and(|r| r.accessible))
    }

    /// Takes the reservation of a parcel being stored: its cloud-issued code, if any, and whether
    /// a photo may be taken. The reservation is gone afterwards.
    pub fn consume_reservation(&self, tx: &Tx<'_>, parcel: &Parcel) -> Result<(CloudCode, bool)> {
        debug_assert!(matches!(parcel.state, ParcelState::Stored));
        let photo = store::get_reservation(tx, &parcel.tracking_id)?.is_none_or(|r| r.photo);
        let hash = store::reservation_code_hash(tx, &parcel.tracking_id)?;
        store::delete_reservation(tx, &parcel.tracking_id)?;
        // Reservations are not checked against live codes when they are made (that answer would
        // be an oracle), so the cloud's code may belong to a parcel in the locker by now.
        let code = match hash {
            None => CloudCode::None,
            Some(h) if store::code_hash_live(tx, &h)? => CloudCode::Taken,
            Some(h) => CloudCode::Usable(h),
        };
        Ok((code, photo))
    }
}

/// The code a reservation brought to the parcel being stored.
pub enum CloudCode {
    /// The reservation had no code: the locker generates one.
    None,
    /// The cloud's code, by its hash: it is the parcel's code now.
    Usable(Vec<u8>),
    /// Another parcel's live code: the locker issues one and publishes it as changed.
    Taken,
}

/// What the audit log keeps of a reservation: whether the cloud issued a code, never the code.
fn audit_reservation(r: &Reservation) -> serde_json::Value {
    json!({
        "tracking_id": r.tracking_id,
        "size": r.size,
        "expires_at": r.expires_at.to_rfc3339(),
        "has_code": r.has_code,
        "photo": r.photo,
        "accessible": r.accessible,
    })
}

impl Locker {
    pub async fn reserve(
        &self,
        tracking_id: &str,
        request: ReservationRequest,
        actor: &Principal,
    ) -> Result<(Reservation, bool)> {
        let (tracking_id, by) = (tracking_id.to_owned(), actor.audit_actor());
        self.blocking(move |inner| inner.reserve(&by, &tracking_id, request))
            .await
    }

    pub async fn unreserve(&self, tracking_id: &str, actor: &Principal) -> Result<()> {
        let (tracking_id, by) = (tracking_id.to_owned(), actor.audit_actor());
        self.blocking(move |inner| inner.unreserve(&by, &tracking_id))
            .await
    }

    pub async fn reservations(&self, after: Option<&str>, limit: usize) -> Result<ReservationPage> {
        let after = after.map(str::to_owned);
        self.blocking(move |inner| inner.reservations(after.as_deref(), limit))
            .await
    }
}
