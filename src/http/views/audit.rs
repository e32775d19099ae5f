use super::time;
use crate::store::AuditEntry;
use serde::Serialize;
use utoipa::ToSchema;

/// One entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    /// 1, 2, 3, ...: a gap means a deleted entry.
    pub seq: i64,
    #[schema(format = DateTime)]
    pub at: String,
    /// `role:name` of the token or courier session (`operator:ops`, `courier:alice`),
    /// `lockerd` for the daemon itself, `cli` for the command line (`lockerd token create`,
    /// `kiosk pair`, `hw pulse`).
    #[schema(example = "operator:ops")]
    pub actor: String,
    #[schema(example = "maintenance.opening")]
    pub action: String,
    /// What the action concerned; never a code, token or secret.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// SHA-256 over the previous entry's hash and this entry, lowercase hex.
    pub hash: String,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(e: AuditEntry) -> Self {
        Self {
            seq: e.seq,
            at: time(e.at),
            actor: e.actor,
            action: e.action,
            // An unreadable detail is shown as a string rather than hidden: it is evidence.
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::String(e.detail)),
            hash: hex::encode(e.hash),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    /// Extension: pass as `after` for the next page; `null` on the last page.
    pub next: Option<i64>,
}
