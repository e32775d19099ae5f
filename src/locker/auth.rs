//! Tokens, couriers and courier sessions.

use super::Locker;
use super::core::Inner;
use super::secrets::{constant_time_eq, new_token, random_bytes, token_hash};
use super::totp_seal::{SEALED_V1, TotpSeal};
use super::tx::Tx;
use super::{CourierInfo, LockerError, NewCourier, Principal, Result, Role, Session, TokenInfo};
use crate::domain::{CourierId, ParcelState};
use crate::store::{self, CourierRow};
use serde_json::json;
use totp_rs::{Algorithm, TOTP};

/// TOTP as RFC 6238 and authenticator apps use it: SHA-1, 6 digits, 30 s steps.
const TOTP_STEP: u64 = 30;
/// Steps either side of now that are accepted, for clock drift between phone and locker.
const TOTP_SKEW: i64 = 1;
/// Login failures count per courier, so a stranger typing wrong codes at the kiosk locks out
/// the courier they name, not every courier. A name that matches no courier gets a bucket of
/// its own too (keyed by a hash of the name), so the answers never tell which names exist.
/// Lengths follow the keypad policy.
fn login_throttle(given: &str, courier: Option<&CourierRow>) -> String {
    match courier {
        Some(row) => format!("{LOGIN_THROTTLES}{}", row.id),
        None => format!(
            "{UNKNOWN_NAME_THROTTLES}{}",
            hex::encode(&token_hash(given)[..8])
        ),
    }
}

/// The throttle keys of courier logins, and of names that match no courier among them.
const LOGIN_THROTTLES: &str = "courier_login:";
const UNKNOWN_NAME_THROTTLES: &str = "courier_login:unknown:";
/// At most this many names that match no courier keep a throttle at once. Anyone at the kiosk
/// can type new names: without a cap each would add a row until housekeeping forgets it. A
/// courier's own throttle is never pushed out (that would let a guesser clear a lockout).
pub const UNKNOWN_NAME_THROTTLES_MAX: usize = 256;

fn totp(secret: &[u8], account: &str) -> Result<TOTP> {
    // otpauth labels may not contain ':'.
    let account = account.replace(':', "-");
    TOTP::new(
        Algorithm::SHA1,
        6,
        0,
        TOTP_STEP,
        secret.to_vec(),
        Some("lockerd".into()),
        account,
    )
    .map_err(|e| LockerError::Internal(format!("totp: {e}")))
}

pub(super) fn check_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(LockerError::InvalidRequest(format!(
            "{field}: must be 1 to 64 printable characters"
        )));
    }
    Ok(())
}

impl Inner {
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let hash = token_hash(token);
        let conn = self.db.lock();
        if let Ok(Some((name, role))) = store::token_by_hash(&conn, &hash) {
            return Some(Principal {
                role,
                name,
                courier: None,
                parcel: None,
                mqtt: false,
            });
        }
        if let Some(courier) = store::session_courier(&conn, &hash, self.now()).ok()? {
            let name = store::courier_name(&conn, courier.as_str()).ok()??;
            return Some(Principal {
                role: Role::Courier,
                name,
                courier: Some(courier),
                parcel: None,
                mqtt: false,
            });
        }
        // A delivery's session reaches its parcel while it is being deposited: it ends once
        // the parcel is stored or cancelled, whenever housekeeping deletes the row.
        let parcel_id = store::delivery_session_parcel(&conn, &hash, self.now()).ok()??;
        let parcel = store::get_parcel(&conn, parcel_id.as_str()).ok()??;
        let depositing = matches!(
            parcel.state,
            ParcelState::Opening | ParcelState::Open | ParcelState::Closed
        );
        depositing.then(|| Principal {
            role: Role::Courier,
            name: parcel
                .delivered_by
                .as_ref()
                .map_or_else(|| "delivery".to_owned(), |by| by.as_string()),
            courier: None,
            parcel: Some(parcel_id),
            mqtt: false,
        })
    }

    pub fn create_token(&self, actor: &str, role: Role, name: &str) -> Result<String> {
        create_token_in(&self.db, actor, role, name, self.now())
    }

    pub fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        self.read(|c| Ok(store::list_tokens(c)?))
    }

    pub fn delete_token(&self, actor: &str, name: &str) -> Result<()> {
        self.tx(|tx| {
            let role = store::list_tokens(tx)?
                .into_iter()
                .find(|t| t.name == name)
                .map(|t| t.role.as_str());
            let removed = self.remove_token(tx, name)?;
            // A link not spent yet would make the token again, to whoever holds it: deleting a
            // name is how a leaked link is stopped, as it is how its browser is signed out.
            let links_cancelled = store::cancel_pairings(tx, name)?;
            if !removed && links_cancelled == 0 {
                return Err(LockerError::NotFound(format!("token {name}")));
            }
            let detail = json!({"name": name, "role": role, "links_cancelled": links_cancelled});
            self.audit(tx, actor, "token.removed", detail)
        })
    }

    /// Removes the token `name` in the transaction underway (`false`: there is none). Once that
    /// commits, the live streams opened with it are woken to end (see `Inner::revoked`).
    pub fn remove_token(&self, tx: &Tx<'_>, name: &str) -> Result<bool> {
        let removed = store::delete_token(tx, name)?;
        if removed {
            tx.after_commit(|a| a.token_removed = true);
        }
        Ok(removed)
    }

    pub fn create_courier(&self, actor: &str, name: &str) -> Result<NewCourier> {
        check_name("name", name)?;
        // 160 bits, the size RFC 4226 recommends.
        let secret = random_bytes::<20>().to_vec();
        let id = CourierId(uuid::Uuid::new_v4().to_string());
        let otp = totp(&secret, name)?;
        let row = CourierRow {
            id: id.clone(),
            name: name.to_owned(),
            totp_secret: TotpSeal::new(&self.key).seal(&id, &secret),
            totp_sealed: SEALED_V1,
            last_step: -1,
            active: true,
        };
        self.tx(|tx| {
            if !store::insert_courier(tx, &row, self.now())? {
                return Err(LockerError::Conflict(format!(
                    "a courier named {name} already exists"
                )));
            }
            let detail = json!({"courier_id": row.id, "name": name});
            self.audit(tx, actor, "courier.created", detail)
        })?;
        Ok(NewCourier {
            id,
            name: name.to_owned(),
            totp_secret: otp.get_secret_base32(),
            otpauth_url: otp.get_url(),
        })
    }

    pub fn list_couriers(&self) -> Result<Vec<CourierInfo>> {
        self.read(|c| Ok(store::list_couriers(c)?))
    }

    pub fn delete_courier(&self, actor: &str, id: &str) -> Result<()> {
        self.tx(|tx| {
            let name = store::courier_name(tx, id)?;
            if !store::deactivate_courier(tx, id)? {
                return Err(LockerError::NotFound(format!("courier {id}")));
            }
            let detail = json!({"courier_id": id, "name": name});
            self.audit(tx, actor, "courier.removed", detail)
        })
    }

    /// Checks a courier's TOTP; a step once accepted is never accepted again.
    pub fn courier_login(&self, courier: &str, code: &str) -> Result<Session> {
        let now = self.now();
        self.tx(|tx| {
            let found = store::find_courier(tx, courier)?;
            let key = login_throttle(courier, found.as_ref());
            let mut throttle = store::get_throttle(tx, &key)?;
            if let Err(retry_after) = throttle.check(now) {
                return Ok(Err(LockerError::LockedOut { retry_after }));
            }
            let step = match &found {
                Some(row) => match self.totp_secret(row) {
                    Some(secret) => matching_step(row, &secret, code, now.0)?,
                    None => None,
                },
                None => None,
            };
            let unknown = found.is_none();
            let (Some(row), Some(step)) = (found, step) else {
                throttle.fail(now, &self.keypad_policy());
                if unknown {
                    let (prefix, max) = (UNKNOWN_NAME_THROTTLES, UNKNOWN_NAME_THROTTLES_MAX);
                    store::make_room_for_throttle(tx, prefix, &key, max, now)?;
                }
                store::save_login_throttle(tx, &key, &throttle, now)?;
                return Ok(Err(LockerError::InvalidCredentials));
            };
            throttle.succeed();
            store::save_login_throttle(tx, &key, &throttle, now)?;
            store::set_courier_step(tx, &row.id, step)?;
            let token = new_token();
            let expires_at = now.plus(self.config.policy.courier_session);
            store::insert_session(tx, &token_hash(&token), &row.id, expires_at)?;
            let detail = json!({"courier_id": row.id, "expires_at": expires_at.to_rfc3339()});
            self.audit(
                tx,
                &format!("courier:{}", row.name),
                "courier.logged_in",
                detail,
            )?;
            Ok(Ok(Session {
                token,
                expires_at,
                courier: row.name,
            }))
        })?
    }

    /// Forgets the login throttles that stopped mattering: not locked, and no failure or
    /// lockout for `policy.keypad_lockout_max`. The throttle forgets a lockout's doubling after
    /// the same quiet time, and a guesser who waits that long between failures never gets more
    /// than `keypad_max_failures - 1` tries per such wait, fewer than lockouts allow.
    pub fn prune_login_throttles(&self, tx: &Tx<'_>) -> Result<()> {
        let quiet_since = self.now().minus(self.config.policy.keypad_lockout_max);
        let pruned = store::prune_login_throttles(tx, LOGIN_THROTTLES, quiet_since)?;
        if pruned > 0 {
            tracing::debug!(pruned, "quiet login throttles forgotten");
        }
        Ok(())
    }

    /// Ends the courier's sessions; their closed deposits are stored now. A delivery's
    /// session ends the same way for its one parcel.
    pub fn courier_logout(&self, principal: &Principal) -> Result<()> {
        if let Some(parcel) = &principal.parcel {
            return self.delivery_logout(principal, parcel);
        }
        let courier = principal.courier.as_ref().ok_or(LockerError::Forbidden)?;
        self.tx(|tx| {
            let actor = principal.audit_actor();
            for parcel in store::parcels_of_courier(tx, courier.as_str(), ParcelState::Closed)? {
                if parcel.removal.is_none() {
                    let stored = self.store_parcel(tx, &parcel, "courier logout")?;
                    self.audit_stored(tx, &actor, &stored, "courier logout")?;
                }
            }
            store::delete_sessions_of(tx, courier)?;
            self.audit(
                tx,
                &actor,
                "courier.logged_out",
                json!({"courier_id": courier}),
            )
        })
    }
}

/// The step `code` matches for this courier (whose TOTP secret is `secret`), newer than the last
/// accepted one.
fn matching_step(row: &CourierRow, secret: &[u8], code: &str, now_ms: i64) -> Result<Option<i64>> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let otp = totp(secret, &row.name)?;
    let current = now_ms.max(0) / 1000 / TOTP_STEP as i64;
    Ok((current - TOTP_SKEW..=current + TOTP_SKEW)
        .filter(|step| *step > row.last_step && *step >= 0)
        .find(|step| {
            constant_time_eq(
                otp.generate(*step as u64 * TOTP_STEP).as_bytes(),
                code.as_bytes(),
            )
        }))
}

/// Creates a token in `db`, audited under `actor`; shared by the API and `lockerd token
/// create`.
pub fn create_token_in(
    db: &crate::store::Db,
    actor: &str,
    role: Role,
    name: &str,
    now: crate::domain::Timestamp,
) -> Result<String> {
    check_name("name", name)?;
    if role == Role::Courier {
        return Err(LockerError::InvalidRequest(
            "role: courier tokens come from courier login; use kiosk, sync or operator".into(),
        ));
    }
    let token = new_token();
    let mut conn = db.lock();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if !store::insert_token(&tx, name, role, &token_hash(&token), now)? {
        return Err(LockerError::Conflict(format!(
            "a token named {name} already exists"
        )));
    }
    let detail = json!({"name": name, "role": role.as_str()});
    store::append_audit(&tx, now, actor, "token.created", &detail)?;
    tx.commit()?;
    Ok(token)
}

impl Locker {
    /// Creates an API token and returns its secret, which is never shown again. `Courier` is refused (sessions come from login).
    pub async fn create_token(&self, role: Role, name: &str, actor: &Principal) -> Result<String> {
        let (name, by) = (name.to_owned(), actor.audit_actor());
        tracing::info!(actor = %actor.name, token = %name, role = role.as_str(), "token created");
        self.blocking(move |inner| inner.create_token(&by, role, &name))
            .await
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        self.blocking(|inner| inner.list_tokens()).await
    }

    pub async fn delete_token(&self, name: &str, actor: &Principal) -> Result<()> {
        let (name, by) = (name.to_owned(), actor.audit_actor());
        tracing::info!(actor = %actor.name, token = %name, "token deleted");
        self.blocking(move |inner| inner.delete_token(&by, &name))
            .await
    }

    pub async fn create_courier(&self, name: &str, actor: &Principal) -> Result<NewCourier> {
        let (name, by) = (name.to_owned(), actor.audit_actor());
        tracing::info!(actor = %actor.name, courier = %name, "courier created");
        self.blocking(move |inner| inner.create_courier(&by, &name))
            .await
    }

    pub async fn list_couriers(&self) -> Result<Vec<CourierInfo>> {
        self.blocking(|inner| inner.list_couriers()).await
    }

    pub async fn delete_courier(&self, id: &str, actor: &Principal) -> Result<()> {
        let (id, by) = (id.to_owned(), actor.audit_actor());
        tracing::info!(actor = %actor.name, courier = %id, "courier removed");
        self.blocking(move |inner| inner.delete_courier(&by, &id))
            .await
    }

    /// `courier` is an id or a name; `code` the current TOTP.
    pub async fn courier_login(&self, courier: &str, code: &str) -> Result<Session> {
        let (courier, code) = (courier.to_owned(), code.to_owned());
        self.blocking(move |inner| inner.courier_login(&courier, &code))
            .await
    }

    /// Ends the courier session of `principal`; closed deposits of that courier become stored.
    pub async fn courier_logout(&self, principal: &Principal) -> Result<()> {
        let principal = principal.clone();
        self.blocking(move |inner| inner.courier_logout(&principal))
            .await
    }
}
