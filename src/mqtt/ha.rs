//! Home Assistant MQTT discovery (`home_assistant = true`): one device per locker, its entities'
//! configs retained under `discovery_prefix`, their states retained under `P/ha/...`, and
//! availability on `P/status`.
//!
//! Entities: per compartment a door (`binary_sensor`, `door`) and a parcel inside
//! (`binary_sensor`, `occupancy`); per locker the parcels waiting (`sensor`), a problem
//! (`binary_sensor`, `problem`, on while `/healthz` is degraded), the last delivery (`sensor`,
//! `timestamp`) and, with photos on, the last proof-of-delivery photo (`image`).
//!
//! Cleanup: the link subscribes to its own device's config topics; a retained config whose
//! entity is no longer configured (a compartment removed from the file) is cleared with an empty
//! retained message, which is how Home Assistant removes an entity.

use crate::http::LinkState;
use serde_json::{Value, json};

/// The names the topics are built from.
#[derive(Debug, Clone)]
pub struct Ha {
    pub discovery_prefix: String,
    /// `P`.
    pub prefix: String,
    /// The device's node id: the client id, with what a topic level may not hold replaced.
    pub node: String,
    pub locker_name: String,
    pub photos: bool,
}

const COMPONENTS: [&str; 3] = ["binary_sensor", "sensor", "image"];

impl Ha {
    pub fn new(
        discovery_prefix: &str,
        prefix: &str,
        client_id: &str,
        name: &str,
        photos: bool,
    ) -> Ha {
        Ha {
            discovery_prefix: discovery_prefix.to_owned(),
            prefix: prefix.to_owned(),
            node: object_id(client_id),
            locker_name: name.to_owned(),
            photos,
        }
    }

    /// Every config topic of this device: `<discovery_prefix>/+/<node>/+/config`.
    pub fn config_filter(&self) -> String {
        format!("{}/+/{}/+/config", self.discovery_prefix, self.node)
    }

    fn config_topic(&self, component: &str, object: &str) -> String {
        format!(
            "{}/{component}/{}/{object}/config",
            self.discovery_prefix, self.node
        )
    }

    pub fn state_topic(&self, what: &str) -> String {
        format!("{}/ha/{what}", self.prefix)
    }

    fn device(&self) -> Value {
        json!({
            "identifiers": [format!("lockerd_{}", self.node)],
            "name": self.locker_name,
            "manufacturer": "lockerd",
            "model": "parcel locker",
            "sw_version": env!("CARGO_PKG_VERSION"),
        })
    }

    fn entity(&self, object: &str, name: &str, extra: Value) -> Value {
        let mut config = json!({
            "name": name,
            "unique_id": format!("lockerd_{}_{object}", self.node),
            "device": self.device(),
            "availability": [{
                "topic": format!("{}/status", self.prefix),
                "payload_available": "online",
                "payload_not_available": "offline",
            }],
        });
        if let (Some(config), Value::Object(extra)) = (config.as_object_mut(), extra) {
            config.extend(extra);
        }
        config
    }

    /// The retained discovery configs of the entities of `compartments`.
    pub fn discovery(&self, compartments: &[String]) -> Vec<(String, Value)> {
        let mut out = vec![];
        for c in compartments {
            let o = object_id(c);
            let door = self.entity(
                &format!("{o}_door"),
                &format!("Door {c}"),
                json!({"device_class": "door", "state_topic": self.state_topic(&format!("compartments/{o}/door")),
                       "payload_on": "ON", "payload_off": "OFF"}),
            );
            out.push((
                self.config_topic("binary_sensor", &format!("{o}_door")),
                door,
            ));
            let parcel = self.entity(
                &format!("{o}_parcel"),
                &format!("Parcel in {c}"),
                json!({"device_class": "occupancy", "state_topic": self.state_topic(&format!("compartments/{o}/parcel")),
                       "payload_on": "ON", "payload_off": "OFF"}),
            );
            out.push((
                self.config_topic("binary_sensor", &format!("{o}_parcel")),
                parcel,
            ));
        }
        let waiting = self.entity(
            "parcels_waiting",
            "Parcels waiting",
            json!({"state_topic": self.state_topic("parcels_waiting"), "state_class": "measurement",
                   "icon": "mdi:package-variant-closed"}),
        );
        out.push((self.config_topic("sensor", "parcels_waiting"), waiting));
        let problem = self.entity(
            "problem",
            "Problem",
            json!({"device_class": "problem", "state_topic": self.state_topic("problem"),
                   "payload_on": "ON", "payload_off": "OFF"}),
        );
        out.push((self.config_topic("binary_sensor", "problem"), problem));
        let last = self.entity(
            "last_delivery",
            "Last delivery",
            json!({"device_class": "timestamp", "state_topic": self.state_topic("last_delivery")}),
        );
        out.push((self.config_topic("sensor", "last_delivery"), last));
        if self.photos {
            let photo = self.entity(
                "photo",
                "Last delivery photo",
                json!({"image_topic": self.state_topic("photo"), "content_type": "image/jpeg"}),
            );
            out.push((self.config_topic("image", "photo"), photo));
        }
        out
    }

    /// Whether `topic` is a config of this device that `current` (the discovery just
    /// published) does not have: an entity to remove.
    pub fn is_stale(&self, topic: &str, current: &[(String, Value)]) -> bool {
        let ours = COMPONENTS
            .iter()
            .any(|c| topic.starts_with(&format!("{}/{c}/{}/", self.discovery_prefix, self.node)));
        ours && topic.ends_with("/config") && !current.iter().any(|(t, _)| t == topic)
    }

    /// The entities' states (retained) that the locker's state gives.
    pub fn states(&self, state: &LinkState) -> Vec<(String, String)> {
        let on = |b: bool| if b { "ON" } else { "OFF" }.to_owned();
        let mut out = vec![];
        let mut waiting = 0;
        let list = state
            .compartments
            .get("compartments")
            .and_then(Value::as_array);
        for c in list.into_iter().flatten() {
            let id = object_id(c.get("id").and_then(Value::as_str).unwrap_or_default());
            let door = c.get("door").and_then(Value::as_str) == Some("open");
            let inside = c.get("state").and_then(Value::as_str) == Some("occupied")
                && c.get("parcel_id").is_some_and(|p| !p.is_null());
            waiting += usize::from(inside);
            out.push((
                self.state_topic(&format!("compartments/{id}/door")),
                on(door),
            ));
            out.push((
                self.state_topic(&format!("compartments/{id}/parcel")),
                on(inside),
            ));
        }
        out.push((self.state_topic("parcels_waiting"), waiting.to_string()));
        out.push((self.state_topic("problem"), on(state.degraded)));
        out
    }
}

/// What Home Assistant takes in a topic level and an object id: letters, digits, `_` and `-`.
pub fn object_id(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => c,
            _ => '_',
        })
        .collect()
}
