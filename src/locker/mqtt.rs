//! What the MQTT link keeps in the store besides its cursor (`super::feed`): the result of every
//! command by id, so a command runs at most once however often the broker delivers it.

use super::{Locker, Result};
use crate::store;
use std::time::Duration;

/// How long a command's result is kept (and a repeated id answered from it).
pub const COMMANDS_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Whether a command id is new.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandClaim {
    /// Never seen: claimed now, run it, then [`Locker::finish_command`].
    New,
    /// Run before: its stored status and body.
    Done(u16, serde_json::Value),
    /// Claimed by a run that never finished (the daemon stopped meanwhile): not run again.
    Interrupted,
}

impl Locker {
    /// Claims command `id`, or says how it went before.
    pub async fn claim_command(&self, id: &str) -> Result<CommandClaim> {
        let id = id.to_owned();
        self.blocking(move |inner| {
            let now = inner.now();
            inner.tx(|tx| {
                if store::claim_mqtt_command(tx, &id, now)? {
                    return Ok(CommandClaim::New);
                }
                Ok(match store::mqtt_command_result(tx, &id)? {
                    Some((0, _)) | None => CommandClaim::Interrupted,
                    Some((status, body)) => CommandClaim::Done(status, body),
                })
            })
        })
        .await
    }

    /// Records the result of the claimed command `id`.
    pub async fn finish_command(
        &self,
        id: &str,
        status: u16,
        body: serde_json::Value,
    ) -> Result<()> {
        let id = id.to_owned();
        self.blocking(move |inner| {
            inner.tx(|tx| Ok(store::finish_mqtt_command(tx, &id, status, &body)?))
        })
        .await
    }
}
