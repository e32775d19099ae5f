//! The reference sync client in examples/ works against a real daemon: it tails the feed with a
//! durable cursor, acknowledges, and manages reservations.

mod common;

#[path = "../examples/sync_client/client.rs"]
#[allow(dead_code)]
mod client;

use client::SyncClient;
use common::Harness;
use serde_json::{Value, json};

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect()
}

#[tokio::test]
async fn the_reference_client_tails_acks_and_reserves() {
    let h = Harness::start().await;
    let cursor = h.dir.path().join("sync.cursor");
    let client = SyncClient::new(&h.base, &h.sync);

    let (reservation, created) = client
        .reserve("REF-1", json!({"size": "S", "pickup_code": "246810"}))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(reservation["pickup_code"], true);
    let courier = h.courier_session("alice").await;
    let (walk_in, _, code) = h.deposit_stored(&courier, "WALK-1", "S").await;

    let mut out = Vec::new();
    let handled = client.drain(&cursor, true, &mut out).await.unwrap();
    let printed = lines(&out);
    assert_eq!(handled, printed.len());
    let seqs: Vec<i64> = printed.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=handled as i64).collect::<Vec<_>>());
    assert!(
        printed
            .iter()
            .any(|e| e["type"] == "parcel.stored" && e["data"]["pickup_code"] == code.as_str()),
        "the client saw the code before acknowledging it"
    );
    assert_eq!(client::load_cursor(&cursor).unwrap(), handled as i64);
    // Acknowledged: the locker's feed no longer holds the code.
    let feed = h.events().await;
    assert!(feed.iter().all(|e| e["data"].get("pickup_code").is_none()));

    // A second run starts after the cursor: only what is new.
    h.post(
        "/api/v1/compartments/D2/disable",
        &h.operator,
        json!({"reason": "broken hinge"}),
    )
    .await;
    let mut out = Vec::new();
    assert_eq!(client.drain(&cursor, true, &mut out).await.unwrap(), 1);
    assert_eq!(lines(&out)[0]["type"], "compartment.disabled");
    let mut out = Vec::new();
    assert_eq!(client.drain(&cursor, true, &mut out).await.unwrap(), 0);

    client.unreserve("REF-1").await.unwrap();
    let refused = client.unreserve("REF-1").await.unwrap_err();
    assert!(refused.contains("404"), "{refused}");
    assert_eq!(h.parcel(&walk_in).await["state"], "stored");
    h.stop().await;
}
