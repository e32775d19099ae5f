//! What a session publishes of the locker besides its events: `P/state` (retained, coalesced
//! to at most one a second), and with Home Assistant the discovery configs and entity states.

use super::ha::Ha;
use super::session::{Session, Tag};
use crate::domain::Timestamp;
use crate::http::LinkState;
use serde_json::{Value, json};
use tokio::time::Instant;

impl Session<'_> {
    /// `P/state` (retained) if the locker changed since the last one, or always when `force`;
    /// with Home Assistant, the entity states that changed.
    pub(super) async fn publish_state(&mut self, force: bool) -> Result<(), String> {
        self.last_state_at = Some(Instant::now());
        self.state_due = false;
        let state = match self.link.http.state().await {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(error = ?e, "cannot read the locker's state for MQTT");
                return Ok(());
            }
        };
        if !force && self.last_state.as_ref() == Some(&state) {
            return Ok(());
        }
        let now = self.link.http.locker().now();
        let payload = json!({
            "at": now.to_rfc3339(),
            "status": if state.degraded { "degraded" } else { "ok" },
            "buses": state.buses,
            "compartments": state.compartments.get("compartments").cloned().unwrap_or(json!([])),
        });
        let topic = self.topics().state.clone();
        self.publish(&topic, payload.to_string().into_bytes(), true, Tag::Other)?;
        if let Some(ha) = self.link.ha.clone() {
            self.ha_discovery(&ha, &state)?;
            for (topic, value) in ha.states(&state) {
                if self.ha_states.get(&topic) != Some(&value) {
                    self.publish(&topic, value.clone().into_bytes(), true, Tag::Other)?;
                    self.ha_states.insert(topic, value);
                }
            }
        }
        self.last_state = Some(state);
        Ok(())
    }

    /// Discovery configs, once per connection and again when the compartments change.
    pub(super) fn ha_discovery(&mut self, ha: &Ha, state: &LinkState) -> Result<(), String> {
        let ids: Vec<String> = state
            .compartments
            .get("compartments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let configs = ha.discovery(&ids);
        if configs == self.ha_configs {
            return Ok(());
        }
        for (topic, config) in &configs {
            self.publish(topic, config.to_string().into_bytes(), true, Tag::Other)?;
        }
        self.ha_configs = configs;
        Ok(())
    }

    /// What an event changes of the Home Assistant entities the state does not carry.
    pub(super) async fn ha_event(
        &mut self,
        kind: &str,
        at: Timestamp,
        parcel: Option<&str>,
    ) -> Result<(), String> {
        let Some(ha) = self.link.ha.clone() else {
            return Ok(());
        };
        match (kind, parcel) {
            ("parcel.stored", _) => {
                let topic = ha.state_topic("last_delivery");
                self.publish(&topic, at.to_rfc3339().into_bytes(), true, Tag::Other)?;
            }
            ("parcel.photo_taken", Some(parcel)) if ha.photos => {
                // A photo deleted by retention since is simply not shown.
                if let Ok(jpeg) = self.link.http.locker().photo(parcel).await {
                    let topic = ha.state_topic("photo");
                    self.publish(&topic, jpeg, true, Tag::Other)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}
