//! The MQTT fleet link against a real Mosquitto started by the test: events up in seq order
//! with their codes until acknowledged, acknowledgements down over MQTT, and the broker stopped
//! during deposits and pickups with every event delivered once it is back. Commands are
//! `tests/mqtt_commands.rs`.
//!
//! Nothing waits on time: the tests wait for what a fleet back end would see on the broker, or
//! for what the daemon's API shows, with generous deadlines.

#[path = "common/mqtt.rs"]
mod broker;
mod common;

use broker::{Broker, Observer, events, healthz_mqtt, start, wait_published};
use serde_json::{Value, json};

const PREFIX: &str = "lockerd/test-locker";

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_go_up_in_order_with_codes_until_acknowledged_over_mqtt() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(&dir.path().join("broker")).await;
    let fleet = Observer::connect(broker.port, "fleet", &[&format!("{PREFIX}/#")]).await;
    let h = start(&broker, "").await;
    fleet
        .wait_for_text(&format!("{PREFIX}/status"), "online")
        .await;
    let courier = h.courier_session("alice").await;
    let (parcel, _, code) = h.deposit_stored(&courier, "T-1", "S").await;
    let published = wait_published(&h).await;
    assert!(
        published["published_seq"].as_i64().unwrap() > 0,
        "{published}"
    );
    let metrics = h
        .http
        .get(h.url("/metrics"))
        .bearer_auth(&h.operator)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let seq_line = format!("lockerd_mqtt_published_seq {}", published["published_seq"]);
    for line in [
        "lockerd_mqtt_up 1",
        "lockerd_mqtt_outstanding_events 0",
        &seq_line,
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} not in /metrics");
    }

    let last = h.events().await.last().unwrap()["seq"].as_i64().unwrap();
    let up = fleet
        .wait_for("every event", |_| {
            let up = events(&fleet, PREFIX);
            (up.last().map(|e| e["seq"].as_i64().unwrap()) == Some(last)).then_some(up)
        })
        .await;
    let expected: Vec<i64> = (1..=last).collect();
    assert_eq!(seqs(&up), expected, "every event, in seq order");
    assert_eq!(up, h.events().await, "the same objects as the pull feed");
    let stored = up.iter().find(|e| e["type"] == "parcel.stored").unwrap();
    assert_eq!(stored["data"]["parcel_id"], parcel.as_str());
    assert_eq!(
        stored["data"]["pickup_code"],
        code.as_str(),
        "the code until acked"
    );

    // The back end acknowledges over MQTT: the pull acknowledgement moves, codes are scrubbed.
    fleet
        .publish(
            &format!("{PREFIX}/ack"),
            json!({"seq": last}).to_string().into_bytes(),
        )
        .await;
    let deadline = tokio::time::Instant::now() + broker::MQTT_PATIENCE;
    loop {
        let (_, health) = h.get("/healthz", "").await;
        if health["sync"]["pull_acked_seq"] == last {
            assert_eq!(health["sync"]["acked_seq"], last, "{health}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "ack never applied: {health}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let feed = h.events().await;
    let stored = feed.iter().find(|e| e["type"] == "parcel.stored").unwrap();
    assert!(
        stored["data"].get("pickup_code").is_none(),
        "scrubbed: {stored}"
    );
    let (_, audit) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    assert!(
        audit.to_string().contains("mqtt:lockerd-test-locker"),
        "the ack is audited as the link"
    );

    // The retained state shows the compartments as GET /api/v1/compartments does.
    let state = fleet
        .wait_for("a state", |all| {
            all.iter()
                .rev()
                .find(|m| m.topic == format!("{PREFIX}/state"))
                .cloned()
        })
        .await;
    let late = Observer::connect(broker.port, "late", &[&format!("{PREFIX}/state")]).await;
    let retained = late
        .wait_for("the retained state", |all| all.first().cloned())
        .await;
    assert!(retained.retain, "P/state is retained");
    let state = state.json();
    assert_eq!(state["status"], "ok");
    assert_eq!(state["compartments"].as_array().unwrap().len(), 12);
    h.stop().await;
    fleet
        .wait_for_text(&format!("{PREFIX}/status"), "offline")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_down_during_deposits_and_pickups_loses_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(&dir.path().join("broker")).await;
    let fleet = Observer::connect(broker.port, "fleet", &[&format!("{PREFIX}/events")]).await;
    let h = start(&broker, "").await;
    wait_published(&h).await;
    let courier = h.courier_session("alice").await;
    let (_, _, code) = h.deposit_stored(&courier, "T-1", "S").await;

    broker.stop().await;
    // Deposits and pickups go on while the broker is down.
    let (status, body) = h.enter_code(&code).await;
    assert_eq!(status, 200, "{body}");
    for n in 2..=4 {
        h.deposit_stored(&courier, &format!("T-{n}"), "M").await;
    }
    let m = healthz_mqtt(&h).await;
    assert!(m["outstanding"].as_i64().unwrap() > 0, "{m}");
    broker.restart().await;

    wait_published(&h).await;
    let last = h.events().await.last().unwrap()["seq"].as_i64().unwrap();
    let up = fleet
        .wait_for("every event after the restart", |_| {
            let up = events(&fleet, PREFIX);
            (up.len() as i64 == last).then_some(up)
        })
        .await;
    let mut got = seqs(&up);
    got.sort();
    assert_eq!(got, (1..=last).collect::<Vec<_>>(), "nothing lost");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_sends_again_what_the_fleet_has_not_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(&dir.path().join("broker")).await;
    let topic = format!("{PREFIX}/events");
    let fleet = Observer::connect(broker.port, "fleet", &[&topic]).await;
    let mut h = start(&broker, "").await;
    wait_published(&h).await;
    let copies = |seq: i64| {
        let all = fleet.messages(&topic);
        all.iter().filter(|m| m.json()["seq"] == seq).count()
    };
    let newest = |h_last: i64| {
        let fleet = &fleet;
        let topic = topic.clone();
        async move {
            fleet
                .wait_for("the newest event", |_| {
                    let all = fleet.messages(&topic);
                    all.iter().any(|m| m.json()["seq"] == h_last).then_some(())
                })
                .await
        }
    };
    let last = h.events().await.last().unwrap()["seq"].as_i64().unwrap();
    newest(last).await;
    assert_eq!(copies(1), 1);

    // Not acknowledged: the next connection sends it again, before anything newer.
    h.restart().await;
    let last = h.events().await.last().unwrap()["seq"].as_i64().unwrap();
    newest(last).await;
    assert_eq!(copies(1), 2, "resent after the reconnect");

    // Acknowledged on P/ack: never again.
    fleet
        .publish(
            &format!("{PREFIX}/ack"),
            json!({"seq": last}).to_string().into_bytes(),
        )
        .await;
    let deadline = tokio::time::Instant::now() + broker::MQTT_PATIENCE;
    while healthz_mqtt(&h).await.is_null()
        || h.get("/healthz", "").await.1["sync"]["pull_acked_seq"] != last
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ack never applied"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    h.restart().await;
    let newer = h.events().await.last().unwrap()["seq"].as_i64().unwrap();
    assert!(newer > last, "a start publishes audit.head");
    newest(newer).await;
    assert_eq!(copies(1), 2, "acknowledged events are not resent");
    assert_eq!(copies(last), 1);
    h.stop().await;
}
