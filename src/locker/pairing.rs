//! One-time links that give a browser a token it never sees: a kiosk's pairing link
//! (`/kiosk/pair?code=…`) and an operator's console link (`/console/#link=…`).
//!
//! A link carries a random code, valid for [`PAIRING_TTL`] and kept only as a hash with the role
//! it grants. Spending it creates the token of that role under the link's name: the kiosk page
//! then holds it in an HttpOnly cookie (`http::kiosk`), the console keeps it in the daemon
//! behind a session cookie (`http::console`), so the token itself is never typed, shown or put
//! in a URL. Spending a link again under the same name replaces that token, which is how a
//! kiosk whose browser profile was wiped is paired anew, and how a console link signs the
//! browser of the name's previous link out.

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

/// How long a link works: long enough to walk from the office to the locker.
pub const PAIRING_TTL: Duration = Duration::from_secs(10 * 60);

/// A link's code and when it lapses. The code is shown once, to the operator.
#[derive(Clone)]
pub struct Pairing {
    pub name: String,
    /// [`Role::Kiosk`] for a kiosk's pairing link, [`Role::Operator`] for a console link.
    pub role: Role,
    pub code: String,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for Pairing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pairing")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("code", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Pairing {
    /// The path a browser opens to spend the link. A console link's code rides in the
    /// fragment, which browsers never send: it reaches no server's or proxy's log, and a link
    /// preview that fetches the address spends nothing (the page posts the code when asked).
    pub fn path(&self) -> String {
        match self.role {
            Role::Operator => format!("/console/#link={}", self.code),
            _ => format!("/kiosk/pair?code={}", self.code),
        }
    }
}

/// How each kind of link is named: in the log, and its audit actions when made and spent.
struct Names {
    what: &'static str,
    made: &'static str,
    spent: &'static str,
}

fn names(role: Role) -> Names {
    match role {
        Role::Operator => Names {
            what: "console",
            made: "console.link_created",
            spent: "console.linked",
        },
        _ => Names {
            what: "kiosk",
            made: "kiosk.pairing_created",
            spent: "kiosk.paired",
        },
    }
}

/// Records a new link that gives a token of `role` (kiosk or operator) named `name`.
/// `Conflict` if a token of another role has that name: a kiosk's pairing must not replace an
/// operator's or the cloud's token, nor a console link a kiosk's.
pub fn create_pairing_in(
    db: &Db,
    actor: &str,
    name: &str,
    role: Role,
    now: Timestamp,
) -> Result<Pairing> {
    check_name("name", name)?;
    assert!(
        matches!(role, Role::Kiosk | Role::Operator),
        "a link gives a kiosk's or an operator's token"
    );
    let code = hex::encode(random_bytes::<16>());
    let expires_at = now.plus(PAIRING_TTL);
    let mut conn = db.lock();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    check_not_taken(&tx, name, role)?;
    store::insert_pairing(&tx, &token_hash(&code), name, role.as_str(), expires_at)?;
    let detail = json!({"name": name, "expires_at": expires_at.to_rfc3339()});
    store::append_audit(&tx, now, actor, names(role).made, &detail)?;
    tx.commit()?;
    Ok(Pairing {
        name: name.to_owned(),
        role,
        code,
        expires_at,
    })
}

fn check_not_taken(conn: &rusqlite::Connection, name: &str, role: Role) -> Result<()> {
    let taken = store::list_tokens(conn)?
        .into_iter()
        .find(|t| t.name == name && t.role != role);
    match taken {
        Some(t) => Err(LockerError::Conflict(format!(
            "a token named {name} exists and is a {} token, not a {} one",
            t.role.as_str(),
            role.as_str()
        ))),
        None => Ok(()),
    }
}

/// For `lockerd kiosk pair` and `lockerd console link` (the daemon may be running: SQLite
/// serializes the write).
pub fn create_pairing_offline(db: &Db, name: &str, role: Role) -> Result<Pairing> {
    create_pairing_in(db, CLI, name, role, SystemClock.now())
}

impl Inner {
    /// Spends a link that gives a token of `role`: its name and the new token, or `None` for a
    /// code that is unknown, spent, lapsed or for another role (all alike).
    fn redeem_pairing(&self, code: &str, role: Role) -> Result<Option<(String, String)>> {
        self.tx(|tx| {
            let hash = token_hash(code);
            let Some(name) = store::take_pairing(tx, &hash, role.as_str(), self.now())? else {
                return Ok(None);
            };
            if check_not_taken(tx, &name, role).is_err() {
                // Someone gave the name to another role since the link was made.
                return Ok(None);
            }
            // The replaced browser's live feed and console sessions end with its token.
            // Whatever else used that token (a script) loses it too: the audit log says so.
            let replaced = self.remove_token(tx, &name)?;
            let token = new_token();
            store::insert_token(tx, &name, role, &token_hash(&token), self.now())?;
            let detail = json!({"name": name, "role": role.as_str(), "replaced": replaced});
            self.audit(tx, DAEMON, names(role).spent, detail)?;
            Ok(Some((name, token)))
        })
    }
}

impl Locker {
    /// A new link for a token of `role` (kiosk or operator) named `name`.
    pub async fn create_pairing(
        &self,
        name: &str,
        role: Role,
        actor: &Principal,
    ) -> Result<Pairing> {
        let (name, by) = (name.to_owned(), actor.audit_actor());
        let what = names(role).what;
        tracing::info!(actor = %actor.name, name = %name, "{what} link created");
        self.blocking(move |inner| create_pairing_in(&inner.db, &by, &name, role, inner.now()))
            .await
    }

    /// Spends a link for a token of `role`; see [`Inner::redeem_pairing`]. Returns the token.
    pub async fn redeem_pairing(&self, code: &str, role: Role) -> Result<Option<String>> {
        let code = code.to_owned();
        let paired = self
            .blocking(move |inner| inner.redeem_pairing(&code, role))
            .await?;
        Ok(paired.map(|(name, token)| {
            let what = names(role).what;
            tracing::info!(name = %name, "{what} link spent");
            token
        }))
    }
}
