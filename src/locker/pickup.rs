//! The recipient's side: a pickup code at the keypad, with lockout against guessing.

use super::audit::{DAEMON, audit_parcel};
use super::core::Inner;
use super::limits::Opening;
use super::{KeypadStatus, LockerError, Result};
use super::{Locker, PickupOpened, Principal, Role};
use crate::domain::{CompartmentId, ParcelEvent, ParcelId, ParcelState, RemovalKind};
use crate::store::{self, Purpose};
use serde_json::json;

const KEYPAD: &str = "keypad";

impl Inner {
    /// Checks a code; on success the code is held (it opens nothing else meanwhile) and the
    /// intent recorded, audited under `actor` (the kiosk). Every failure looks the same to the
    /// caller.
    /// `counted`: the caller is not the keypad (an operator's token), so the opening counts
    /// against its ceilings like a maintenance opening: an operator who can read new codes from
    /// the feed must not empty the wall through this route.
    pub fn begin_pickup(
        &self,
        actor: &str,
        counted: bool,
        code: &str,
    ) -> Result<(ParcelId, CompartmentId)> {
        let now = self.now();
        self.tx(|tx| {
            let mut throttle = store::get_throttle(tx, KEYPAD)?;
            if let Err(retry_after) = throttle.check(now) {
                return Ok(Err(LockerError::LockedOut { retry_after }));
            }
            let well_formed = code.len() == usize::from(self.config.policy.code_length)
                && code.bytes().all(|b| b.is_ascii_digit());
            let hash = self.key.code_hash(code);
            let found = match well_formed {
                true => store::parcel_by_code_hash(tx, &hash)?,
                false => None,
            };
            // Found by its keyed hash: comparing the hashes again would add nothing.
            let usable = found.filter(|parcel| {
                parcel.state == ParcelState::Stored
                    && parcel.removal.is_none()
                    && parcel.expires_at.is_some_and(|t| now < t)
                    && parcel.compartment.is_some()
            });
            let Some(parcel) = usable else {
                self.telemetry.keypad_failures.inc();
                let policy = self.keypad_policy();
                let locked = throttle.fail(now, &policy);
                let attempts_left = match locked {
                    Some(_) => 0,
                    None => policy.max_failures.saturating_sub(throttle.failures),
                };
                if let Some(length) = locked {
                    self.telemetry.keypad_lockouts.inc();
                    let until = now.plus(length);
                    let data = json!({
                        "until": until.to_rfc3339(),
                        "lockout_s": length.as_secs(),
                        "lockouts_in_a_row": throttle.lockouts,
                    });
                    self.publish(tx, "keypad.locked_out", data.clone())?;
                    self.audit(tx, DAEMON, "keypad.locked_out", data)?;
                    tracing::warn!(
                        lockout_s = length.as_secs(),
                        "keypad locked out after repeated wrong codes"
                    );
                }
                store::save_throttle(tx, KEYPAD, &throttle)?;
                return Ok(Err(LockerError::InvalidCode {
                    attempts_left,
                    locked_for: locked,
                }));
            };
            // The failure count is cleared only once the compartment has opened
            // (`keypad_opened`): a right code on a dead bus answers 503 and keeps its code, so
            // clearing here would let one known code reset a guesser's count forever.
            let compartment = parcel.compartment.clone().expect("filtered above");
            if !self.controller.available(&compartment) {
                // Its bus is down: nothing is tried, the code is not even held.
                return Ok(Err(LockerError::HardwareUnavailable));
            }
            if counted && let Err(refused) = self.count_opening(tx, actor, Opening::Maintenance)? {
                return Ok(Err(refused));
            }
            // A maintenance opening of the same compartment is underway: the latch cannot be
            // used now, which the recipient sees like any latch failure (the code stays valid).
            self.intend(tx, &compartment, Purpose::Pickup, Some(&parcel.id), None)
                .map_err(|e| match e {
                    LockerError::CompartmentBusy => LockerError::HardwareUnavailable,
                    other => other,
                })?;
            self.update_parcel(
                tx,
                &parcel,
                ParcelEvent::RemovalStarted(RemovalKind::Pickup),
            )?;
            store::hold_code(tx, &parcel.id)?;
            self.audit(tx, actor, "pickup.opening", audit_parcel(&parcel))?;
            Ok(Ok((parcel.id, compartment)))
        })?
    }

    /// A code opened its compartment: the keypad's failures in a row end here.
    /// Nearly every pickup finds no failures to clear: then it is one read, not a transaction
    /// (whose commit would also wake the live views for nothing).
    pub fn keypad_opened(&self) -> Result<()> {
        if self.read(|c| Ok(store::get_throttle(c, KEYPAD)?.failures))? == 0 {
            return Ok(());
        }
        self.tx(|tx| {
            let mut throttle = store::get_throttle(tx, KEYPAD)?;
            if throttle.failures > 0 {
                throttle.succeed();
                store::save_throttle(tx, KEYPAD, &throttle)?;
            }
            Ok(())
        })
    }

    pub fn keypad(&self) -> Result<KeypadStatus> {
        let now = self.now();
        self.read(|c| {
            let t = store::get_throttle(c, KEYPAD)?;
            Ok(KeypadStatus {
                locked_until: t.locked_until.filter(|until| *until > now),
                failures: t.failures,
                lockouts: t.lockouts,
            })
        })
    }

    pub fn keypad_unlock(&self, actor: &str) -> Result<()> {
        let now = self.now();
        self.tx(|tx| {
            let mut t = store::get_throttle(tx, KEYPAD)?;
            let detail = json!({
                "was_locked_until": t.locked_until.filter(|until| *until > now).map(|t| t.to_rfc3339()),
                "failures": t.failures,
            });
            t.unlock();
            store::save_throttle(tx, KEYPAD, &t)?;
            self.audit(tx, actor, "keypad.unlocked", detail)
        })
    }
}

impl Locker {
    /// A recipient's `code` typed at `kiosk`.
    pub async fn pickup(&self, code: &str, kiosk: &Principal) -> Result<PickupOpened> {
        let (code, actor) = (code.to_owned(), kiosk.audit_actor());
        let counted = kiosk.role != Role::Kiosk;
        let (parcel_id, compartment) = self
            .blocking(move |inner| inner.begin_pickup(&actor, counted, &code))
            .await?;
        let compartment = self
            .open_and_wait(compartment, Purpose::Pickup, parcel_id.clone())
            .await?;
        // The door is open whatever happens next: a failure here costs the recipient nothing.
        if let Err(e) = self.blocking(|inner| inner.keypad_opened()).await {
            tracing::warn!(error = %e, "the keypad's failure count could not be cleared");
        }
        Ok(PickupOpened {
            parcel_id,
            compartment,
        })
    }

    pub async fn keypad(&self) -> Result<KeypadStatus> {
        self.blocking(|inner| inner.keypad()).await
    }

    pub async fn keypad_unlock(&self, actor: &Principal) -> Result<()> {
        tracing::info!(actor = %actor.name, "keypad unlocked by operator");
        let actor = actor.audit_actor();
        self.blocking(move |inner| inner.keypad_unlock(&actor))
            .await
    }
}
