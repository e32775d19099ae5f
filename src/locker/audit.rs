//! The audit log's side of the service: the entry each action appends, in the action's own
//! transaction (so both commit or neither), and reading the log back.
//!
//! What is recorded (the action names, dotted and stable, are listed in the OpenAPI
//! description of `GET /api/v1/audit`): every opening asked for, and every change of who may
//! open a door. Entries name parcels, compartments, couriers, tokens and reservations; never a
//! pickup code, token, TOTP secret or session token. The chain itself is `store::audit`.
//!
//! The chain's head (`seq`, `hash`) is published in the feed as `audit.head` at every start and
//! then hourly, when it moved: the cloud keeps anchors the locker cannot rewrite later, so
//! rewriting the log (and recomputing every hash) shows against them. An hour bounds what is
//! not anchored yet while adding at most 24 small events a day, and none on an idle locker.

use super::core::Inner;
use super::tx::Tx;
use super::{Locker, Result};
use crate::domain::{Parcel, Timestamp};
use crate::store::{self, AuditEntry};
use serde_json::{Value, json};
use std::time::Duration;

/// The actor of the daemon acting on its own: start-up, expiry, failover, inspection.
pub const DAEMON: &str = "lockerd";
/// The actor of `lockerd token create`.
pub const CLI: &str = "cli";
/// How often, at most, the chain's head is published besides each start.
const HEAD_EVERY: Duration = Duration::from_secs(3600);
/// In `meta`: the seq of the last head published, and when (ms), so a restart does not forget.
const META_HEAD_SEQ: &str = "audit_head_published_seq";
const META_HEAD_AT: &str = "audit_head_published_at";

/// What every entry about a parcel carries (never its code).
pub fn audit_parcel(p: &Parcel) -> Value {
    json!({
        "parcel_id": p.id,
        "tracking_id": p.tracking_id,
        "compartment": p.compartment,
    })
}

impl Inner {
    /// Appends an entry for an action that opens a door or changes who may open one. `actor` is
    /// `Principal::audit_actor`, [`DAEMON`] or [`CLI`]; `detail` never carries a code, token
    /// or secret. Call it in the action's transaction.
    pub fn audit(&self, tx: &Tx<'_>, actor: &str, action: &str, detail: Value) -> Result<()> {
        store::append_audit(tx, self.now(), actor, action, &detail)?;
        Ok(())
    }

    /// Audits a parcel just stored by `cause`: from now on its code opens its compartment.
    pub fn audit_stored(
        &self,
        tx: &Tx<'_>,
        actor: &str,
        parcel: &Parcel,
        cause: &str,
    ) -> Result<()> {
        let mut detail = audit_parcel(parcel);
        detail["cause"] = json!(cause);
        self.audit(tx, actor, "parcel.stored", detail)
    }

    /// The daemon started on this config: which file, its digest, what it drives.
    fn record_start(&self) -> Result<()> {
        let config = &self.config;
        let detail = json!({
            "config": config.source.display().to_string(),
            "config_sha256": hex::encode(config.sha256),
            "compartments": config.compartments.len(),
            "buses": config.buses.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(),
            "version": env!("CARGO_PKG_VERSION"),
        });
        self.tx(|tx| {
            self.audit(tx, DAEMON, "daemon.started", detail)?;
            self.publish_audit_head(tx)
        })
    }

    /// Publishes `audit.head` with the chain's head as it stands in `tx`.
    fn publish_audit_head(&self, tx: &Tx<'_>) -> Result<()> {
        let Some((seq, hash)) = store::audit_head(tx)? else {
            return Ok(());
        };
        let data = json!({"seq": seq, "hash": hex::encode(hash)});
        self.publish(tx, "audit.head", data)?;
        store::meta_set(tx, META_HEAD_SEQ, seq)?;
        store::meta_set(tx, META_HEAD_AT, self.now().0)?;
        Ok(())
    }

    /// Publishes the head again if it moved and the last one is `HEAD_EVERY` old (or from a
    /// clock that was ahead). Cheap enough for every tick: two `meta` reads, most of the time.
    pub fn publish_audit_head_hourly(&self, tx: &Tx<'_>) -> Result<()> {
        let now = self.now();
        let last_at = Timestamp(store::meta_get(tx, META_HEAD_AT)?.unwrap_or(0));
        if now < last_at.plus(HEAD_EVERY) && now >= last_at {
            return Ok(());
        }
        let published = store::meta_get(tx, META_HEAD_SEQ)?.unwrap_or(0);
        match store::audit_head(tx)? {
            Some((seq, _)) if seq != published => self.publish_audit_head(tx),
            _ => Ok(()),
        }
    }
}

impl Locker {
    /// Records the start-up in the audit log; `daemon::start` calls it once, before the doors
    /// are reconciled, so what recovery does follows it in the log.
    pub async fn record_start(&self) -> Result<()> {
        self.blocking(|inner| inner.record_start()).await
    }

    /// Entries with a seq above `after`, oldest first.
    pub async fn audit_entries(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        self.blocking(move |inner| inner.read(|c| Ok(store::list_audit(c, after, limit)?)))
            .await
    }
}

/// The audit chain checked from its first entry, as `lockerd audit verify` does, and the
/// database's size on disk.
#[derive(Debug, Clone)]
pub struct AuditCheck {
    /// Entries that check out (all of them when `broken` is `None`).
    pub entries: usize,
    /// What is wrong with the first entry that does not check out.
    pub broken: Option<String>,
    /// The newest entry: seq and hash.
    pub head: Option<(i64, Vec<u8>)>,
}

impl Locker {
    /// Recomputes the whole chain in one read: a concurrent append is seen whole or not at all.
    pub async fn verify_audit(&self) -> Result<AuditCheck> {
        self.blocking(|inner| {
            inner.read(|c| {
                let head = store::audit_head(c)?;
                let (entries, broken) = match store::verify(c) {
                    Ok(n) => (n, None),
                    Err(store::VerifyError::Broken(bad)) => {
                        let good = usize::try_from(bad.seq.saturating_sub(1)).unwrap_or(0);
                        (good, Some(bad.to_string()))
                    }
                    Err(store::VerifyError::Sqlite(e)) => return Err(e.into()),
                };
                Ok(AuditCheck {
                    entries,
                    broken,
                    head,
                })
            })
        })
        .await
    }

    /// The database's size in bytes (pages in use and free, as SQLite counts them).
    pub async fn db_bytes(&self) -> Result<u64> {
        self.blocking(|inner| {
            inner.read(|c| {
                let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
                let size: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
                Ok(u64::try_from(pages.saturating_mul(size)).unwrap_or(0))
            })
        })
        .await
    }
}
