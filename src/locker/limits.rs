//! Ceilings on door openings, against mass opening: one stolen credential asking for door after
//! door (PickPoint, Moscow 2020: one command opened 2,732 lockers).
//!
//! Counted here, in memory, in the transaction that starts an opening:
//! - an operator credential's maintenance openings, `policy.opens_per_credential` per
//!   `policy.opens_window`, and every credential's together, `policy.opens_locker_wide`;
//! - a courier's compartments opened (deposits, resizes, returns), `policy.courier_opens` per
//!   `policy.courier_session`, so made-up tracking ids cannot fill every free compartment;
//! - deliveries without an account through one kiosk credential, `policy.opens_per_credential`
//!   per `policy.opens_window` and the locker-wide ceiling, so open drop cannot fill the wall.
//!
//! Pickups by code are not counted: the keypad throttle bounds them. A refusal is
//! `LockerError::RateLimited`; the first of a run is published as `security.mass_open` and
//! audited, so a hammering caller costs one event, not one per request. The counts start
//! afresh when the daemon restarts, which an attacker holding a credential cannot cause.

use super::audit::DAEMON;
use super::core::Inner;
use super::tx::Tx;
use super::{LockerError, Result};
use crate::domain::{RateLimit, RateWindow};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;

/// The window of the ceiling on reservation writes.
const RESERVATION_WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);

/// What an opening is, for its ceilings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// An operator's (or a remote command's) opening of any compartment.
    Maintenance,
    /// A courier opening a compartment to put a parcel in or take one out.
    Courier,
    /// A delivery without a courier account, counted against the credential of the kiosk it
    /// came through (and the locker's), so open drop cannot fill the wall in a minute.
    Delivery,
}

/// The windows of every credential that opened a door lately, and the locker's.
#[derive(Debug, Default)]
pub struct OpenLimits {
    windows: Mutex<Windows>,
}

#[derive(Debug, Default)]
struct Windows {
    operators: HashMap<String, RateWindow>,
    couriers: HashMap<String, RateWindow>,
    /// Deliveries without an account, per kiosk credential.
    deliveries: HashMap<String, RateWindow>,
    locker_wide: RateWindow,
    /// Reservation writes per credential (not openings, but what a sync token can make the
    /// locker store and audit).
    reservation_writes: HashMap<String, RateWindow>,
}

impl OpenLimits {
    fn lock(&self) -> std::sync::MutexGuard<'_, Windows> {
        self.windows.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The window of `key` in `windows`, after forgetting the windows with nothing left in them
/// (so the map holds only credentials that acted within one window).
fn window_of<'a>(
    windows: &'a mut HashMap<String, RateWindow>,
    key: &str,
    now: crate::domain::Timestamp,
    limit: RateLimit,
) -> &'a mut RateWindow {
    windows.retain(|_, w| !w.is_idle(now, limit));
    windows.entry(key.to_owned()).or_default()
}

/// Which ceiling refused an opening.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Credential,
    LockerWide,
}

impl Inner {
    /// Counts an opening `actor` (`Principal::audit_actor`) asks for now, or refuses it: beyond
    /// a ceiling the first refusal of a run is published and audited in `tx`, which the caller
    /// must still commit (so it answers `Ok(Err(..))` from its transaction).
    pub fn count_opening(&self, tx: &Tx<'_>, actor: &str, opening: Opening) -> Result<Result<()>> {
        let policy = &self.config.policy;
        let now = self.now();
        let mut windows = self.openings.lock();
        let Windows {
            operators,
            couriers,
            deliveries,
            locker_wide,
            ..
        } = &mut *windows;
        let (own, all) = match opening {
            Opening::Maintenance | Opening::Delivery => (
                policy.opens_per_credential(),
                Some(policy.opens_locker_wide()),
            ),
            Opening::Courier => (policy.courier_opens(), None),
        };
        let credentials = match opening {
            Opening::Maintenance => operators,
            Opening::Delivery => deliveries,
            Opening::Courier => couriers,
        };
        // Bounded by the credentials that opened within a window: tokens and couriers exist
        // only if an operator made them.
        let mine = window_of(credentials, actor, now, own);
        let checked = mine
            .check(now, own)
            .map_err(|r| (r, Scope::Credential, own))
            .and_then(|()| match all {
                Some(all) => locker_wide
                    .check(now, all)
                    .map_err(|r| (r, Scope::LockerWide, all)),
                None => Ok(()),
            });
        match checked {
            Ok(()) => {
                mine.record(now, own);
                if let Some(all) = all {
                    locker_wide.record(now, all);
                }
                Ok(Ok(()))
            }
            Err((refusal, scope, limit)) => {
                drop(windows);
                if refusal.first {
                    self.report_mass_open(tx, actor, scope, limit)?;
                }
                Ok(Err(LockerError::RateLimited {
                    retry_after: refusal.retry_after,
                }))
            }
        }
    }

    /// Counts a reservation write (create, replace, withdraw) by `actor`: at most
    /// `sync.max_reservations` an hour each.
    pub fn count_reservation_write(&self, actor: &str) -> Result<()> {
        let limit = RateLimit {
            max: self.config.sync.max_reservations,
            window: RESERVATION_WINDOW,
        };
        let now = self.now();
        let mut windows = self.openings.lock();
        let mine = window_of(&mut windows.reservation_writes, actor, now, limit);
        match mine.check(now, limit) {
            Ok(()) => {
                mine.record(now, limit);
                Ok(())
            }
            Err(refusal) => {
                if refusal.first {
                    tracing::warn!(actor, "reservation writes refused: hourly ceiling reached");
                }
                Err(LockerError::RateLimited {
                    retry_after: refusal.retry_after,
                })
            }
        }
    }

    fn report_mass_open(
        &self,
        tx: &Tx<'_>,
        credential: &str,
        scope: Scope,
        limit: RateLimit,
    ) -> Result<()> {
        let scope = match scope {
            Scope::Credential => "credential",
            Scope::LockerWide => "locker",
        };
        let data = json!({
            "credential": credential,
            "scope": scope,
            "limit": limit.max,
            "window_s": limit.window.as_secs(),
        });
        tracing::warn!(credential, scope, "door openings refused: ceiling reached");
        self.publish(tx, "security.mass_open", data.clone())?;
        self.audit(tx, DAEMON, "security.mass_open", data)
    }
}
