//! Home Assistant MQTT discovery against a real Mosquitto: every retained config is checked
//! against Home Assistant's documented schema of its component (the keys each MQTT platform
//! documents, the required ones, the documented `device_class` and `state_class` values, a
//! device with identifiers, availability on `P/status`); the entity states follow a deposit
//! (door, parcel inside, parcels waiting, last delivery, the photo); removing a compartment from
//! the config removes its entities (an empty retained config).

#[path = "common/mqtt.rs"]
mod broker;
mod common;

use broker::{Broker, Message, Observer};
use common::{Harness, config_text};
use serde_json::Value;
use std::collections::BTreeMap;

const PREFIX: &str = "lockerd/test-locker";
const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xFF\xD9";

/// Keys every MQTT entity platform documents (availability, device, naming, attributes).
const COMMON_KEYS: &[&str] = &[
    "availability",
    "availability_mode",
    "availability_template",
    "availability_topic",
    "default_entity_id",
    "device",
    "enabled_by_default",
    "encoding",
    "entity_category",
    "entity_picture",
    "icon",
    "json_attributes_template",
    "json_attributes_topic",
    "name",
    "object_id",
    "origin",
    "payload_available",
    "payload_not_available",
    "platform",
    "qos",
    "unique_id",
];
const BINARY_SENSOR_KEYS: &[&str] = &[
    "device_class",
    "expire_after",
    "force_update",
    "off_delay",
    "payload_off",
    "payload_on",
    "state_topic",
    "value_template",
];
const SENSOR_KEYS: &[&str] = &[
    "device_class",
    "expire_after",
    "force_update",
    "last_reset_value_template",
    "options",
    "state_class",
    "state_topic",
    "suggested_display_precision",
    "unit_of_measurement",
    "value_template",
];
const IMAGE_KEYS: &[&str] = &[
    "content_type",
    "image_encoding",
    "image_topic",
    "url_template",
    "url_topic",
];
/// https://www.home-assistant.io/integrations/binary_sensor/#device-class
const BINARY_SENSOR_CLASSES: &[&str] = &[
    "battery",
    "battery_charging",
    "carbon_monoxide",
    "cold",
    "connectivity",
    "door",
    "garage_door",
    "gas",
    "heat",
    "light",
    "lock",
    "moisture",
    "motion",
    "moving",
    "occupancy",
    "opening",
    "plug",
    "power",
    "presence",
    "problem",
    "running",
    "safety",
    "smoke",
    "sound",
    "tamper",
    "update",
    "vibration",
    "window",
];
/// https://www.home-assistant.io/integrations/sensor/#device-class (those without a unit
/// here: a locker's sensors have none).
const SENSOR_CLASSES: &[&str] = &["date", "enum", "timestamp"];
const STATE_CLASSES: &[&str] = &[
    "measurement",
    "measurement_angle",
    "total",
    "total_increasing",
];
const DEVICE_KEYS: &[&str] = &[
    "configuration_url",
    "connections",
    "hw_version",
    "identifiers",
    "manufacturer",
    "model",
    "model_id",
    "name",
    "serial_number",
    "suggested_area",
    "sw_version",
    "via_device",
];

/// The problems of one discovery config of `component`, as Home Assistant's schema sees them.
fn schema_errors(component: &str, config: &Value) -> Vec<String> {
    let mut errors = vec![];
    let Some(map) = config.as_object() else {
        return vec!["not a JSON object".into()];
    };
    let own: &[&str] = match component {
        "binary_sensor" => BINARY_SENSOR_KEYS,
        "sensor" => SENSOR_KEYS,
        "image" => IMAGE_KEYS,
        other => return vec![format!("unexpected component {other}")],
    };
    for key in map.keys() {
        if !COMMON_KEYS.contains(&key.as_str()) && !own.contains(&key.as_str()) {
            errors.push(format!("{key}: not an option of {component}"));
        }
    }
    let text = |key: &str| map.get(key).and_then(Value::as_str);
    match component {
        "binary_sensor" | "sensor" if text("state_topic").is_none() => {
            errors.push("state_topic: required".into())
        }
        "image" if text("image_topic").is_some() == text("url_topic").is_some() => {
            errors.push("exactly one of image_topic and url_topic".into())
        }
        _ => {}
    }
    let classes = if component == "binary_sensor" {
        BINARY_SENSOR_CLASSES
    } else {
        SENSOR_CLASSES
    };
    if let Some(class) = map.get("device_class")
        && (component == "image" || !class.as_str().is_some_and(|c| classes.contains(&c)))
    {
        errors.push(format!("device_class {class} is not one of {component}'s"));
    }
    if let Some(state_class) = map.get("state_class") {
        if !state_class
            .as_str()
            .is_some_and(|c| STATE_CLASSES.contains(&c))
        {
            errors.push(format!("state_class {state_class}"));
        }
        if text("device_class") == Some("timestamp") {
            errors.push("a timestamp sensor takes no state_class".into());
        }
    }
    if text("unique_id").is_none() {
        errors.push("unique_id: required with a device".into());
    }
    match map.get("device").and_then(Value::as_object) {
        None => errors.push("device: an object".into()),
        Some(device) => {
            let ids = device.get("identifiers").and_then(Value::as_array);
            if ids.is_none_or(|ids| ids.is_empty()) {
                errors.push("device.identifiers: required".into());
            }
            for key in device.keys().filter(|k| !DEVICE_KEYS.contains(&k.as_str())) {
                errors.push(format!("device.{key}: not a device option"));
            }
        }
    }
    let availability = map.get("availability").and_then(Value::as_array);
    let on_status = availability.into_iter().flatten().any(|a| {
        a["topic"] == format!("{PREFIX}/status")
            && a["payload_available"] == "online"
            && a["payload_not_available"] == "offline"
    });
    if !on_status {
        errors.push("availability: P/status online/offline".into());
    }
    errors
}

/// The latest retained config of each discovery topic (empty ones are removals).
fn configs(fleet: &Observer) -> BTreeMap<String, Message> {
    let mut latest = BTreeMap::new();
    for m in fleet
        .all()
        .into_iter()
        .filter(|m| m.topic.starts_with("homeassistant/"))
    {
        latest.insert(m.topic.clone(), m);
    }
    latest
}

async fn start(broker: &Broker, camera: &std::path::Path, compartments_cut: bool) -> Harness {
    let (url, camera) = (broker.url(), camera.display().to_string());
    Harness::start_config(broker::MQTT_PATIENCE, move |state_dir| {
        let mut text = config_text(state_dir, "");
        if compartments_cut {
            let cut = text.find("\n[[compartment]]\nid = \"D2\"").unwrap();
            text.truncate(cut);
        }
        text + &format!(
            "\n[photo]\ncommand = \"cp '{camera}' {{path}}\"\n\
             [mqtt]\nurl = \"{url}\"\nhome_assistant = true\n"
        )
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_follows_home_assistants_schema_and_removed_compartments_go() {
    let dir = tempfile::tempdir().unwrap();
    let camera = dir.path().join("sample.jpg");
    std::fs::write(&camera, JPEG).unwrap();
    let broker = Broker::start(&dir.path().join("broker")).await;
    let fleet = Observer::connect(
        broker.port,
        "ha",
        &["homeassistant/#", &format!("{PREFIX}/ha/#")],
    )
    .await;
    let h = start(&broker, &camera, false).await;
    // 12 compartments × (door, parcel) + waiting, problem, last delivery, photo.
    let found = fleet
        .wait_for("every discovery config", |_| {
            let c = configs(&fleet);
            (c.len() >= 28).then_some(c)
        })
        .await;
    assert_eq!(found.len(), 28, "{:?}", found.keys().collect::<Vec<_>>());
    // Retained: Home Assistant starting later gets them all.
    let late = Observer::connect(broker.port, "ha-late", &["homeassistant/#"]).await;
    let retained = late
        .wait_for("the retained configs", |all| {
            (all.len() >= 28).then(|| all.to_vec())
        })
        .await;
    assert!(retained.iter().all(|m| m.retain));
    for (topic, message) in &found {
        let component = topic.split('/').nth(1).unwrap();
        let errors = schema_errors(component, &message.json());
        assert!(errors.is_empty(), "{topic}: {errors:?}\n{}", message.text());
    }
    let door = &found["homeassistant/binary_sensor/lockerd-test-locker/A1_door/config"].json();
    assert_eq!(door["device_class"], "door");
    assert_eq!(door["device"]["name"], "test-locker");

    // The states follow a deposit: the door, the parcel inside, the count, the delivery, the photo.
    let state = |what: &str| format!("{PREFIX}/ha/{what}");
    fleet.wait_for_text(&state("parcels_waiting"), "0").await;
    fleet.wait_for_text(&state("problem"), "OFF").await;
    let courier = h.courier_session("alice").await;
    let (_, compartment, _) = h.deposit_stored(&courier, "T-1", "S").await;
    fleet
        .wait_for_text(&state(&format!("compartments/{compartment}/parcel")), "ON")
        .await;
    fleet
        .wait_for_text(&state(&format!("compartments/{compartment}/door")), "OFF")
        .await;
    fleet.wait_for_text(&state("parcels_waiting"), "1").await;
    let last = fleet
        .wait_for("the last delivery", |all| {
            all.iter()
                .rev()
                .find(|m| m.topic == state("last_delivery"))
                .cloned()
        })
        .await;
    assert!(
        lockerd::domain::Timestamp::parse_rfc3339(&last.text()).is_some(),
        "{}",
        last.text()
    );
    let photo = fleet
        .wait_for("the photo", |all| {
            all.iter()
                .rev()
                .find(|m| m.topic == state("photo"))
                .cloned()
        })
        .await;
    assert_eq!(photo.payload, JPEG);
    h.stop().await;

    // D2 removed from the config: its two entities get an empty retained config.
    let h = start(&broker, &camera, true).await;
    for entity in ["D2_door", "D2_parcel"] {
        let topic = format!("homeassistant/binary_sensor/lockerd-test-locker/{entity}/config");
        fleet
            .wait_for(&format!("{entity} removed"), |_| {
                configs(&fleet)
                    .get(&topic)
                    .filter(|m| m.payload.is_empty())
                    .cloned()
            })
            .await;
    }
    let c1 = "homeassistant/binary_sensor/lockerd-test-locker/C1_door/config";
    assert!(!configs(&fleet)[c1].payload.is_empty(), "the others stay");
    h.stop().await;
}

#[test]
fn the_schema_check_catches_what_home_assistant_refuses() {
    let good = serde_json::json!({
        "name": "Door", "unique_id": "x", "state_topic": "t", "device_class": "door",
        "device": {"identifiers": ["i"]},
        "availability": [{"topic": format!("{PREFIX}/status"),
            "payload_available": "online", "payload_not_available": "offline"}],
    });
    assert_eq!(schema_errors("binary_sensor", &good), Vec::<String>::new());
    for (key, value) in [
        ("device_class", serde_json::json!("parcel")),
        ("state_topic", Value::Null),
        ("colour", serde_json::json!("red")),
        ("availability", serde_json::json!([])),
    ] {
        let mut bad = good.clone();
        bad[key] = value;
        if bad[key].is_null() {
            bad.as_object_mut().unwrap().remove(key);
        }
        assert!(!schema_errors("binary_sensor", &bad).is_empty(), "{key}");
    }
    let mut timestamp = good.clone();
    timestamp["device_class"] = "timestamp".into();
    timestamp["state_class"] = "measurement".into();
    assert!(!schema_errors("sensor", &timestamp).is_empty());
}
