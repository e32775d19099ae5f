//! Access codes: an owner's standing pickup code and the delivery PINs written into shops'
//! delivery instructions. Made by an operator; shown once; kept only as keyed hashes. Each
//! use is audited and published as `access_code.used` (name, purpose, compartments; never the
//! code). A wrong code of either purpose is one keypad failure, like a wrong pickup code.

use super::core::Inner;
use super::secrets::new_pickup_code;
use super::tx::Tx;
use super::{Locker, LockerError, Principal, Result};
use crate::domain::{AccessCode, CodePurpose, CompartmentId, PickupCode, Timestamp};
use crate::store;
use serde_json::{Value, json};

/// At most this many access codes exist at once: each costs a row and a hash to check.
pub const ACCESS_CODES_MAX: u64 = 500;

/// The most uses a limited code may be given (more is as good as unlimited).
pub const USES_MAX: u32 = 1_000_000;

/// An access code as an operator asks for it.
#[derive(Debug, Clone)]
pub struct AccessCodeRequest {
    pub name: String,
    pub purpose: CodePurpose,
    /// `None`: unlimited.
    pub uses: Option<u32>,
    pub expires_at: Option<Timestamp>,
    /// `None`: every compartment.
    pub compartments: Option<Vec<String>>,
}

/// A code just made: the only time its digits are shown.
#[derive(Debug, Clone)]
pub struct NewAccessCode {
    pub code: PickupCode,
    pub access_code: AccessCode,
}

/// What the audit log and the feed keep of an access code: never its digits.
fn describe(code: &AccessCode) -> Value {
    json!({
        "access_code_id": code.id,
        "name": code.name,
        "purpose": code.purpose.as_str(),
        "uses_left": code.uses_left,
        "expires_at": code.expires_at.map(Timestamp::to_rfc3339),
        "compartments": code.compartments,
    })
}

impl Inner {
    pub fn create_access_code(
        &self,
        actor: &str,
        request: AccessCodeRequest,
    ) -> Result<NewAccessCode> {
        super::auth::check_name("name", &request.name)?;
        let now = self.now();
        if request.uses.is_some_and(|n| !(1..=USES_MAX).contains(&n)) {
            return Err(LockerError::InvalidRequest(format!(
                "uses: must be 1 to {USES_MAX}, or null for unlimited"
            )));
        }
        if request.expires_at.is_some_and(|t| t <= now) {
            return Err(LockerError::InvalidRequest(
                "expires_at: must be in the future".into(),
            ));
        }
        let compartments = match request.compartments {
            None => None,
            Some(ids) => Some(self.scope_of(ids)?),
        };
        let access_code = AccessCode {
            id: uuid::Uuid::new_v4().to_string(),
            name: request.name,
            purpose: request.purpose,
            uses_left: request.uses,
            expires_at: request.expires_at,
            compartments,
            created_at: now,
            last_used_at: None,
        };
        self.tx(|tx| {
            if store::count_access_codes(tx)? >= ACCESS_CODES_MAX {
                return Err(LockerError::Conflict(format!(
                    "there are {ACCESS_CODES_MAX} access codes already; delete unused ones first"
                )));
            }
            // Never a code the keypad takes already (a parcel's, a reservation's, another
            // access code's): a typed code must mean one thing.
            let (code, hash) = loop {
                let code = new_pickup_code(self.config.policy.code_length);
                let hash = self.key.code_hash(code.expose());
                if !store::code_hash_in_use(tx, &hash)? {
                    break (code, hash);
                }
            };
            if !store::insert_access_code(tx, &access_code, &hash)? {
                return Err(LockerError::Conflict(format!(
                    "an access code named {} already exists",
                    access_code.name
                )));
            }
            self.audit(tx, actor, "access_code.created", describe(&access_code))?;
            Ok(NewAccessCode {
                code,
                access_code: access_code.clone(),
            })
        })
    }

    /// The configured compartments `ids` name, each once, or which one is unknown.
    fn scope_of(&self, ids: Vec<String>) -> Result<Vec<CompartmentId>> {
        if ids.is_empty() {
            return Err(LockerError::InvalidRequest(
                "compartments: name at least one compartment, or null for all".into(),
            ));
        }
        let mut scope: Vec<CompartmentId> = Vec::new();
        for id in ids {
            let id = CompartmentId(id);
            if !self.order.contains(&id) {
                return Err(LockerError::InvalidRequest(format!(
                    "compartments: no compartment {id}"
                )));
            }
            if !scope.contains(&id) {
                scope.push(id);
            }
        }
        Ok(scope)
    }

    pub fn access_codes(&self) -> Result<Vec<AccessCode>> {
        self.read(|c| Ok(store::list_access_codes(c)?))
    }

    pub fn delete_access_code(&self, actor: &str, id: &str) -> Result<()> {
        self.tx(|tx| {
            let deleted = store::delete_access_code(tx, id)?
                .ok_or_else(|| LockerError::NotFound(format!("access code {id}")))?;
            self.audit(tx, actor, "access_code.removed", describe(&deleted))
        })
    }

    /// The live access code of `purpose` whose digits hash to `hash`, if any.
    pub fn access_code(
        &self,
        tx: &Tx<'_>,
        hash: &[u8],
        purpose: CodePurpose,
    ) -> Result<Option<AccessCode>> {
        let now = self.now();
        Ok(store::access_code_by_hash(tx, hash)?
            .filter(|code| code.purpose == purpose && code.usable(now)))
    }

    /// Counts one use of `code` that opened `compartments`, audited under `actor` and
    /// published as `access_code.used`.
    pub fn use_access_code(
        &self,
        tx: &Tx<'_>,
        actor: &str,
        code: &AccessCode,
        compartments: &[CompartmentId],
    ) -> Result<()> {
        let used = code.used(self.now());
        store::save_access_code_use(tx, &used)?;
        let data = json!({
            "access_code_id": used.id,
            "name": used.name,
            "purpose": used.purpose.as_str(),
            "compartments": compartments,
            "uses_left": used.uses_left,
        });
        self.publish(tx, "access_code.used", data.clone())?;
        self.audit(tx, actor, "access_code.used", data)
    }
}

impl Locker {
    pub async fn create_access_code(
        &self,
        request: AccessCodeRequest,
        actor: &Principal,
    ) -> Result<NewAccessCode> {
        tracing::info!(actor = %actor.name, name = %request.name, purpose = request.purpose.as_str(), "access code created");
        let by = actor.audit_actor();
        self.blocking(move |inner| inner.create_access_code(&by, request))
            .await
    }

    pub async fn access_codes(&self) -> Result<Vec<AccessCode>> {
        self.blocking(|inner| inner.access_codes()).await
    }

    pub async fn delete_access_code(&self, id: &str, actor: &Principal) -> Result<()> {
        tracing::info!(actor = %actor.name, access_code = %id, "access code deleted");
        let (id, by) = (id.to_owned(), actor.audit_actor());
        self.blocking(move |inner| inner.delete_access_code(&by, &id))
            .await
    }
}
