//! The recipient's side: a pickup code at the keypad, with lockout against guessing.

use super::audit::{DAEMON, audit_parcel};
use super::core::Inner;
use super::limits::Opening;
use super::tx::Tx;
use super::{KeypadStatus, LockerError, Result};
use super::{Locker, PickupOpened, Principal, Role};
use crate::domain::{
    AccessCode, CodePurpose, CompartmentId, Parcel, ParcelEvent, ParcelId, ParcelState,
    RemovalKind, Throttle, Timestamp,
};
use crate::store::{self, Purpose};
use serde_json::json;

const KEYPAD: &str = "keypad";

/// The parcels a code opens: one for a parcel's own code, every stored parcel in its scope for
/// a standing pickup code.
pub type Openings = Vec<(ParcelId, CompartmentId)>;

/// What a code typed at the keypad opens, and whether that clears the keypad's failures: only
/// a parcel's own code does. A standing code works again and again, and its holder can make a
/// parcel to collect whenever they like (a delivery PIN for the same compartment), so letting
/// it clear the count would give them guesses at the neighbours' codes without a lockout.
pub struct KeypadOpenings {
    pub openings: Openings,
    pub clears_failures: bool,
}

impl Inner {
    /// The keypad's throttle, or the refusal while it is locked out.
    pub fn keypad_throttle(&self, tx: &Tx<'_>) -> Result<Result<Throttle>> {
        let throttle = store::get_throttle(tx, KEYPAD)?;
        Ok(match throttle.check(self.now()) {
            Ok(()) => Ok(throttle),
            Err(retry_after) => Err(LockerError::LockedOut { retry_after }),
        })
    }

    /// Records one wrong code typed at the keypad (a pickup code, an access code or a delivery
    /// PIN), locking the keypad after too many; the refusal a pickup answers with.
    pub fn keypad_failed(&self, tx: &Tx<'_>, mut throttle: Throttle) -> Result<LockerError> {
        let now = self.now();
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
        Ok(LockerError::InvalidCode {
            attempts_left,
            locked_for: locked,
        })
    }

    /// Whether `code` has the keypad's shape: `policy.code_length` digits.
    pub fn well_formed_code(&self, code: &str) -> bool {
        code.len() == usize::from(self.config.policy.code_length)
            && code.bytes().all(|b| b.is_ascii_digit())
    }

    /// Checks a code; on success each parcel's code is held (it opens nothing else meanwhile)
    /// and the intents recorded, audited under `actor` (the kiosk). Every failure looks the same
    /// to the caller.
    /// `counted`: the caller is not the keypad (an operator's token), so the opening counts
    /// against its ceilings like a maintenance opening: an operator who can read new codes from
    /// the feed must not empty the wall through this route.
    pub fn begin_pickup(&self, actor: &str, counted: bool, code: &str) -> Result<KeypadOpenings> {
        let now = self.now();
        self.tx(|tx| {
            let throttle = match self.keypad_throttle(tx)? {
                Ok(throttle) => throttle,
                Err(locked) => return Ok(Err(locked)),
            };
            // A code of the wrong shape is looked up nowhere: it is simply a wrong one.
            let hash = self
                .well_formed_code(code)
                .then(|| self.key.code_hash(code));
            let found = match &hash {
                Some(hash) => store::parcel_by_code_hash(tx, hash)?,
                None => None,
            };
            // Found by its keyed hash: comparing the hashes again would add nothing.
            let usable = found.filter(|parcel| collectable(parcel, now));
            let Some(parcel) = usable else {
                let standing = match &hash {
                    Some(hash) => self.access_code(tx, hash, CodePurpose::Pickup)?,
                    None => None,
                };
                return match standing {
                    Some(standing) => Ok(self
                        .begin_standing_pickup(tx, actor, counted, &standing)?
                        .map(|openings| KeypadOpenings {
                            openings,
                            clears_failures: false,
                        })),
                    None => Ok(Err(self.keypad_failed(tx, throttle)?)),
                };
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
            self.start_pickup(tx, actor, &parcel).map_err(|e| match e {
                LockerError::CompartmentBusy => LockerError::HardwareUnavailable,
                other => other,
            })?;
            Ok(Ok(KeypadOpenings {
                openings: vec![(parcel.id, compartment)],
                clears_failures: true,
            }))
        })?
    }

    /// A standing pickup code: every stored parcel in its scope, one use of the code.
    /// Compartments that cannot open now (bus down, an opening underway) are left for later.
    fn begin_standing_pickup(
        &self,
        tx: &Tx<'_>,
        actor: &str,
        counted: bool,
        standing: &AccessCode,
    ) -> Result<Result<Openings>> {
        let now = self.now();
        let mut waiting: Vec<Parcel> = Vec::new();
        for parcel in store::parcels_in_state(tx, ParcelState::Stored)? {
            if collectable(&parcel, now) && self.reaches(tx, standing, &parcel)? {
                waiting.push(parcel);
            }
        }
        if waiting.is_empty() {
            return Ok(Err(LockerError::NothingToCollect));
        }
        let busy: Vec<CompartmentId> = store::list_intents(tx)?
            .into_iter()
            .map(|i| i.compartment)
            .collect();
        let mut openings = Openings::new();
        for parcel in waiting {
            let compartment = parcel.compartment.clone().expect("filtered above");
            if !self.controller.available(&compartment) || busy.contains(&compartment) {
                continue;
            }
            if counted && let Err(refused) = self.count_opening(tx, actor, Opening::Maintenance)? {
                if openings.is_empty() {
                    return Ok(Err(refused));
                }
                break;
            }
            self.start_pickup(tx, actor, &parcel)?;
            openings.push((parcel.id, compartment));
        }
        if openings.is_empty() {
            return Ok(Err(LockerError::HardwareUnavailable));
        }
        let compartments: Vec<CompartmentId> = openings.iter().map(|(_, c)| c.clone()).collect();
        self.use_access_code(tx, actor, standing, &compartments)?;
        Ok(Ok(openings))
    }

    /// Whether a standing code may open `parcel`. One for every compartment (an owner's box)
    /// opens any stored parcel. A scoped one (a resident's compartments in a bank) owns its
    /// compartments: while it lives, only deliveries through a delivery code scoped within them
    /// are put there (`Inner::choose`), and it opens exactly those. A parcel put there before
    /// the code was made (a neighbour's) is not its holder's, and stays shut.
    fn reaches(&self, tx: &Tx<'_>, standing: &AccessCode, parcel: &Parcel) -> Result<bool> {
        let Some(scope) = &standing.compartments else {
            return Ok(true);
        };
        if !parcel
            .compartment
            .as_ref()
            .is_some_and(|c| scope.contains(c))
        {
            return Ok(false);
        }
        let within = store::compartment_scope(tx, &parcel.id)?;
        Ok(within.is_some_and(|w| w.iter().all(|c| scope.contains(c))))
    }

    /// Records a pickup's intent and holds the parcel's code while its door opens.
    fn start_pickup(&self, tx: &Tx<'_>, actor: &str, parcel: &Parcel) -> Result<()> {
        let compartment = parcel
            .compartment
            .as_ref()
            .expect("a stored parcel has one");
        self.intend(tx, compartment, Purpose::Pickup, Some(&parcel.id), None)?;
        self.update_parcel(tx, parcel, ParcelEvent::RemovalStarted(RemovalKind::Pickup))?;
        store::hold_code(tx, &parcel.id)?;
        self.audit(tx, actor, "pickup.opening", audit_parcel(parcel))
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
    /// A recipient's `code` typed at `kiosk`: a parcel's code opens its compartment, a standing
    /// pickup code every compartment in its scope holding a stored parcel, one after another.
    /// The answer lists those that opened; if none did, the first failure.
    pub async fn pickup(&self, code: &str, kiosk: &Principal) -> Result<PickupOpened> {
        let (code, actor) = (code.to_owned(), kiosk.audit_actor());
        let counted = kiosk.role != Role::Kiosk;
        let KeypadOpenings {
            openings,
            clears_failures,
        } = self
            .blocking(move |inner| inner.begin_pickup(&actor, counted, &code))
            .await?;
        let mut opened = Vec::new();
        let mut failure = None;
        for (parcel_id, compartment) in openings {
            match self
                .open_and_wait(compartment, Purpose::Pickup, parcel_id.clone())
                .await
            {
                Ok(compartment) => opened.push((parcel_id, compartment)),
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        if opened.is_empty() {
            return Err(failure.unwrap_or(LockerError::HardwareUnavailable));
        }
        // A door is open whatever happens next: a failure here costs the recipient nothing.
        if clears_failures && let Err(e) = self.blocking(|inner| inner.keypad_opened()).await {
            tracing::warn!(error = %e, "the keypad's failure count could not be cleared");
        }
        let (parcel_id, compartment) = opened[0].clone();
        Ok(PickupOpened {
            parcel_id,
            compartment,
            opened,
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

/// Whether a parcel's code may collect it now: stored, not being removed, not lapsed.
fn collectable(parcel: &Parcel, now: Timestamp) -> bool {
    parcel.state == ParcelState::Stored
        && parcel.removal.is_none()
        && parcel.expires_at.is_some_and(|t| now < t)
        && parcel.compartment.is_some()
}
