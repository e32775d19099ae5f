//! Kiosk pairing: an operator's one-time link that turns a browser into a kiosk.
//!
//! The link carries a random code, valid for [`PAIRING_TTL`] and kept only as a hash. Spending
//! it creates the `kiosk` token that the browser then holds in an HttpOnly cookie (see
//! `http::kiosk`), so the token itself is never typed, shown or put in a URL. The pairing's
//! name is the token's name: pairing again under the same name replaces the old kiosk token,
//! which is how a kiosk whose browser profile was wiped is paired anew.

use super::Locker;
use super::audit::{CLI, DAEMON};
use super::auth::check_name;
use super::core::Inner;
use super::secrets::{new_token, random_bytes, token_hash};
use super::{LockerError, Principal, Result, Role};
use crate::domain::Timestamp;
use crate::locker::{Clock, SystemClock};
use crate::store::{self, Db};
use serde_json::json;
use std::time::Duration;

/// How long a pairing link works: long enough to walk from the office to the locker.
pub const PAIRING_TTL: Duration = Duration::from_secs(10 * 60);

/// A pairing link's code and when it lapses. The code is shown once, to the operator.
#[derive(Clone)]
pub struct Pairing {
    pub name: String,
    pub code: String,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for Pairing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pairing")
            .field("name", &self.name)
            .field("code", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Pairing {
    /// The path a kiosk browser opens to pair.
    pub fn path(&self) -> String {
        format!("/kiosk/pair?code={}", self.code)
    }
}

/// Records a new pairing code for a kiosk named `name`. `Conflict` if a token of another role
/// has that name: pairing must not replace an operator's or the cloud's token.
pub fn create_pairing_in(db: &Db, actor: &str, name: &str, now: Timestamp) -> Result<Pairing> {
    check_name("name", name)?;
    let code = hex::encode(random_bytes::<16>());
    let expires_at = now.plus(PAIRING_TTL);
    let mut conn = db.lock();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    check_not_taken(&tx, name)?;
    store::insert_pairing(&tx, &token_hash(&code), name, expires_at)?;
    let detail = json!({"name": name, "expires_at": expires_at.to_rfc3339()});
    store::append_audit(&tx, now, actor, "kiosk.pairing_created", &detail)?;
    tx.commit()?;
    Ok(Pairing {
        name: name.to_owned(),
        code,
        expires_at,
    })
}

fn check_not_taken(conn: &rusqlite::Connection, name: &str) -> Result<()> {
    let taken = store::list_tokens(conn)?
        .into_iter()
        .any(|t| t.name == name && t.role != Role::Kiosk);
    match taken {
        true => Err(LockerError::Conflict(format!(
            "a token named {name} exists and is not a kiosk's"
        ))),
        false => Ok(()),
    }
}

/// For `lockerd kiosk pair` (the daemon may be running: SQLite serializes the write).
pub fn create_pairing_offline(db: &Db, name: &str) -> Result<Pairing> {
    create_pairing_in(db, CLI, name, SystemClock.now())
}

impl Inner {
    /// Spends a pairing code: the new kiosk token, or `None` for a code that is unknown, spent
    /// or lapsed (all alike).
    fn redeem_pairing(&self, code: &str) -> Result<Option<(String, String)>> {
        self.tx(|tx| {
            let Some(name) = store::take_pairing(tx, &token_hash(code), self.now())? else {
                return Ok(None);
            };
            if check_not_taken(tx, &name).is_err() {
                // Someone gave the name to another role since the link was made.
                return Ok(None);
            }
            // The replaced browser's live feed ends with its token.
            self.remove_token(tx, &name)?;
            let token = new_token();
            store::insert_token(tx, &name, Role::Kiosk, &token_hash(&token), self.now())?;
            let detail = json!({"name": name, "role": Role::Kiosk.as_str()});
            self.audit(tx, DAEMON, "kiosk.paired", detail)?;
            Ok(Some((name, token)))
        })
    }
}

impl Locker {
    pub async fn create_pairing(&self, name: &str, actor: &Principal) -> Result<Pairing> {
        let (name, by) = (name.to_owned(), actor.audit_actor());
        tracing::info!(actor = %actor.name, kiosk = %name, "kiosk pairing link created");
        self.blocking(move |inner| create_pairing_in(&inner.db, &by, &name, inner.now()))
            .await
    }

    /// Spends a pairing code; see [`Inner::redeem_pairing`]. Returns the kiosk token.
    pub async fn redeem_pairing(&self, code: &str) -> Result<Option<String>> {
        let code = code.to_owned();
        let paired = self
            .blocking(move |inner| inner.redeem_pairing(&code))
            .await?;
        Ok(paired.map(|(name, token)| {
            tracing::info!(kiosk = %name, "kiosk paired");
            token
        }))
    }
}
