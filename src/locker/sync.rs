//! The cloud's side of the locker: where the feed stands, housekeeping of the feed, and the
//! counts `/metrics` shows. Pre-advised parcels are `super::reservations`.

use super::audit::DAEMON;
use super::core::Inner;
use super::tx::Tx;
use super::{Locker, Result};
use crate::domain::ParcelState;
use crate::store;
use serde_json::json;
use std::time::Duration;

/// How often acknowledged events past retention are looked for.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

impl Inner {
    /// Deletes reservations that lapsed, publishes the audit chain's head when due (see
    /// `super::audit`) and, at most every `PRUNE_EVERY`, delivered events
    /// older than `sync.retention` (see `super::feed`), quiet login throttles and photos older
    /// than `photo.retention`.
    pub fn sync_housekeeping(&self, tx: &Tx<'_>) -> Result<()> {
        let now = self.now();
        let lapsed = store::delete_lapsed_reservations(tx, now)?;
        if !lapsed.is_empty() {
            let detail = json!({"tracking_ids": lapsed});
            self.audit(tx, DAEMON, "reservation.lapsed", detail)?;
        }
        self.publish_audit_head_hourly(tx)?;
        let last = *self.last_prune.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| now < t.plus(PRUNE_EVERY) && now >= t) {
            return Ok(());
        }
        tx.after_commit(|a| a.pruned_at = Some(now));
        self.settle_feed(tx)?;
        let cutoff = now.minus(self.config.sync.retention);
        let pruned = store::prune_events(tx, cutoff, self.delivered_through(tx)?)?;
        if pruned > 0 {
            tracing::info!(pruned, "delivered events past retention deleted");
        }
        self.prune_login_throttles(tx)?;
        store::prune_mqtt_commands(tx, now.minus(super::mqtt::COMMANDS_KEPT))?;
        self.delete_old_photos(tx)
    }
}

/// Compartments and parcels per state, for `/metrics`.
pub struct StateCounts {
    pub compartments: Vec<(&'static str, i64)>,
    pub parcels: Vec<(&'static str, i64)>,
}

impl Locker {
    /// How many configured compartments, then parcels, are in each state, every state listed.
    pub async fn state_counts(&self) -> Result<StateCounts> {
        self.blocking(|inner| {
            inner.read(|c| {
                let mut compartments: Vec<(&'static str, i64)> =
                    store::COMPARTMENT_STATES.iter().map(|s| (*s, 0)).collect();
                for x in store::list_compartments(c, &inner.order)? {
                    let state = store::state_str(x.state);
                    if let Some(n) = compartments.iter_mut().find(|(s, _)| *s == state) {
                        n.1 += 1;
                    }
                }
                let counted = store::count_parcels_by_state(c)?;
                let parcels = ParcelState::ALL
                    .iter()
                    .map(|s| {
                        let n = counted.iter().find(|(k, _)| k == s.as_str());
                        (s.as_str(), n.map_or(0, |(_, n)| *n))
                    })
                    .collect();
                Ok(StateCounts {
                    compartments,
                    parcels,
                })
            })
        })
        .await
    }
}
