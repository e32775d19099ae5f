//! The reference fleet consumer (`examples/fleet_consumer`) against a real Mosquitto and a
//! daemon: it stores every event once and acknowledges in order, so the locker's pull
//! acknowledgement reaches the last event and its codes are scrubbed; a repeated event is
//! dropped as a duplicate; a command it sends is answered.

#[path = "common/mqtt.rs"]
mod broker;
mod common;
#[path = "../examples/fleet_consumer/consumer.rs"]
mod consumer;
#[path = "common/fleet.rs"]
mod fleet;

use broker::{Broker, MQTT_PATIENCE, Observer};
use common::{Harness, config_text};
use fleet::Fleet;
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

#[test]
fn the_ledger_drops_duplicates_and_acknowledges_only_a_gapless_prefix() {
    let mut ledger = consumer::Ledger::default();
    let event = |seq: i64| json!({"seq": seq, "id": format!("e{seq}")});
    assert!(ledger.is_new("l/1", &event(5)));
    assert_eq!(
        ledger.stored("l/1", 5),
        Some(5),
        "first sight starts the locker here"
    );
    assert!(!ledger.is_new("l/1", &event(5)), "again: a duplicate");
    assert!(ledger.is_new("l/1", &event(7)));
    assert_eq!(ledger.stored("l/1", 7), None, "6 is missing");
    assert!(ledger.is_new("l/1", &event(6)));
    assert_eq!(ledger.stored("l/1", 6), Some(7));
    assert!(ledger.is_new("l/2", &event(1)), "lockers are apart");
    assert_eq!((ledger.stored, ledger.duplicates), (3, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_stores_every_event_once_and_acknowledges_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(&dir.path().join("broker")).await;
    // The consumer's session exists before the locker's first event.
    let store = dir.path().join("events.jsonl");
    let consuming = Fleet::start(broker.port, store.clone()).await;
    let url = broker.url();
    let h = Harness::start_config(MQTT_PATIENCE, |state_dir| {
        format!("{}\n[mqtt]\nurl = \"{url}\"\n", config_text(state_dir, ""))
    })
    .await;
    let courier = h.courier_session("alice").await;
    h.deposit_stored(&courier, "T-1", "S").await;
    let last = h.events().await.last().unwrap()["seq"].as_i64().unwrap();
    let deadline = Instant::now() + MQTT_PATIENCE;
    loop {
        let (_, health) = h.get("/healthz", "").await;
        if health["sync"]["pull_acked_seq"] == last {
            break;
        }
        assert!(Instant::now() < deadline, "never acknowledged: {health}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored: Vec<i64> = std::fs::read_to_string(&store)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["event"]["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        stored,
        (1..=last).collect::<Vec<_>>(),
        "each once, in order"
    );
    let feed = h.events().await;
    let code = feed.iter().find(|e| e["type"] == "parcel.stored").unwrap();
    assert!(
        code["data"].get("pickup_code").is_none(),
        "acknowledged: scrubbed"
    );

    // A command as the consumer builds it.
    let results =
        Observer::connect(broker.port, "results", &["lockerd/test-locker/cmd/result"]).await;
    let cmd = consumer::command(
        "disable",
        json!({"compartment": "D2", "reason": "fleet"}),
        Duration::from_secs(3600),
        None,
    );
    results
        .publish("lockerd/test-locker/cmd", cmd.to_string().into_bytes())
        .await;
    let result = results
        .wait_for("the result", |all| {
            all.iter().map(|m| m.json()).find(|r| r["id"] == cmd["id"])
        })
        .await;
    assert_eq!(result["status"], 200, "{result}");
    let ledger = consuming.stop().await;
    assert!(ledger.stored as i64 >= last, "{ledger:?}");
    assert_eq!(ledger.duplicates, 0, "no reconnect, no duplicate");
    h.stop().await;
}
