//! The event feed's two cursors, and what they allow: scrubbing pickup codes from stored events
//! and pruning old ones.
//!
//! The pull agent acknowledges with `POST /api/v1/sync/ack`; push's cursor moves only when the
//! push endpoint (`[sync.push]`) accepts a batch. Neither moves the other, so a sync token that
//! acknowledges ahead cannot make push skip an event. What the cloud is known to have
//! ([`Inner::delivered_through`]) is push's cursor when push is configured, else the pull
//! acknowledgement: codes are scrubbed, and events pruned, only up to there. A sync token can
//! therefore not make the locker forget a code, or an event, that the push endpoint has not got.
//!
//! The MQTT link (`[mqtt]`) is a third consumer with a cursor of its own, moved by the broker's
//! PUBACK; its fleet back end acknowledges on `P/ack`, which is the pull acknowledgement. With
//! `[mqtt]`, what the cloud is known to have is also bounded by both: the broker has the event
//! and the back end stored it. Every configured consumer must have an event before its code is
//! scrubbed or it is pruned.
//!
//! Not "both cursors": a locker that only pushes has no pull agent whose acknowledgement would
//! ever come, so it would keep every code and every event for ever; and where both run they
//! feed the same cloud, which has a code once push delivered it. A pull agent that lags behind
//! push reads that event without its code, as it did when the two shared one cursor.

use super::core::Inner;
use super::tx::Tx;
use super::{FeedStatus, Locker, LockerError, Principal, Result};
use crate::store;
use rusqlite::Connection;
use serde_json::json;

impl Inner {
    /// Whether the push task delivers the feed.
    fn pushes(&self) -> bool {
        self.config.sync.push.is_some()
    }

    /// Whether the MQTT link publishes the feed.
    fn publishes(&self) -> bool {
        self.config.mqtt.is_some()
    }

    /// How far the cloud is known to have the feed: push's cursor with `[sync.push]`, else the
    /// pull agent's acknowledgement; with `[mqtt]` also no further than the broker accepted and
    /// the back end acknowledged (on `P/ack`, the pull acknowledgement).
    pub fn delivered_through(&self, conn: &Connection) -> Result<i64> {
        let pull = store::pull_acked_seq(conn)?;
        let mut through = match self.pushes() {
            true => store::push_seq(conn)?,
            false => pull,
        };
        if self.publishes() {
            through = through.min(pull).min(store::mqtt_seq(conn)?);
        }
        Ok(through)
    }

    pub fn feed_status(&self) -> Result<FeedStatus> {
        self.read(|c| {
            let acked_seq = self.delivered_through(c)?;
            Ok(FeedStatus {
                last_seq: store::last_seq(c)?,
                acked_seq,
                pull_acked_seq: store::pull_acked_seq(c)?,
                push_seq: store::push_seq(c)?,
                mqtt_seq: store::mqtt_seq(c)?,
                oldest_unacked_at: store::oldest_after(c, acked_seq)?,
            })
        })
    }

    /// The pull agent `actor` has every event up to `seq`. Never moves backwards; a `seq` past
    /// the last event is refused (nobody can have read it). A move is audited.
    pub fn ack(&self, actor: &str, seq: i64) -> Result<()> {
        if seq < 0 {
            return Err(LockerError::InvalidRequest(
                "seq: must not be negative".into(),
            ));
        }
        self.tx(|tx| {
            let last = store::last_seq(tx)?;
            if seq > last {
                tracing::warn!(
                    actor,
                    seq,
                    last,
                    "acknowledgement past the last event refused"
                );
                return Err(LockerError::InvalidRequest(format!(
                    "seq: {seq} is past the last event ({last}); acknowledge only events read"
                )));
            }
            let (before, after) = store::ack_pull(tx, seq)?;
            if after != before {
                let detail = json!({"seq_before": before, "seq_after": after});
                self.audit(tx, actor, "sync.acked", detail)?;
            }
            self.settle_feed(tx)
        })
    }

    /// The push endpoint accepted every event up to `seq`.
    pub fn push_delivered(&self, seq: i64) -> Result<()> {
        self.tx(|tx| {
            store::advance_push(tx, seq)?;
            self.settle_feed(tx)
        })
    }

    /// The broker acknowledged every event up to `seq` that the MQTT link published.
    pub fn mqtt_published(&self, seq: i64) -> Result<()> {
        self.tx(|tx| {
            store::advance_mqtt(tx, seq)?;
            self.settle_feed(tx)
        })
    }

    /// Scrubs the codes the cloud is known to have. Also run by housekeeping, for a config
    /// that stopped pushing (the pull agent may be further on). Codes newly scrubbed still sit
    /// in the WAL's older frames: the commit is followed by a checkpoint.
    pub fn settle_feed(&self, tx: &Tx<'_>) -> Result<()> {
        if store::scrub_codes(tx, self.delivered_through(tx)?)? {
            tx.after_commit(|a| a.secrets_in_wal = true);
        }
        Ok(())
    }
}

impl Locker {
    /// Where the cloud is in the event feed, for health and metrics.
    pub async fn feed_status(&self) -> Result<FeedStatus> {
        self.blocking(|inner| inner.feed_status()).await
    }

    /// `POST /api/v1/sync/ack` of the sync token `actor`.
    pub async fn ack(&self, seq: i64, actor: &Principal) -> Result<()> {
        let by = actor.audit_actor();
        self.blocking(move |inner| inner.ack(&by, seq)).await
    }

    /// The MQTT broker acknowledged every event up to `seq`.
    pub async fn mqtt_published(&self, seq: i64) -> Result<()> {
        self.blocking(move |inner| inner.mqtt_published(seq)).await
    }

    /// The push task's batch through `seq` was accepted.
    pub async fn push_delivered(&self, seq: i64) -> Result<()> {
        self.blocking(move |inner| inner.push_delivered(seq)).await
    }
}
