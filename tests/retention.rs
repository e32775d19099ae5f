//! Acknowledging the feed: codes scrubbed from the database files themselves, and retention
//! that deletes only acknowledged events.

mod common;

use common::{Harness, config_text};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// Every byte SQLite keeps for the database: the main file and its write-ahead log.
fn database_bytes(state_dir: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(state_dir.join("lockerd.db")).unwrap();
    if let Ok(wal) = std::fs::read(state_dir.join("lockerd.db-wal")) {
        bytes.extend(wal);
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn ack(h: &Harness, seq: i64) {
    let (status, body) = h
        .post("/api/v1/sync/ack", &h.sync, json!({"seq": seq}))
        .await;
    assert_eq!(status, 204, "{body}");
}

fn seq_of(events: &[Value], kind: &str, parcel: &str) -> i64 {
    events
        .iter()
        .find(|e| e["type"] == kind && e["data"]["parcel_id"] == parcel)
        .and_then(|e| e["seq"].as_i64())
        .expect("event")
}

#[tokio::test]
async fn an_acknowledged_code_is_gone_from_the_database_files() {
    // Ten digits: no chance of meeting the code by accident among the file's other bytes.
    let h = Harness::start_config(Duration::from_secs(5), |dir| {
        config_text(dir, "").replace("code_length = 6", "code_length = 10")
    })
    .await;
    let state_dir = h.dir.path().join("state");
    let courier = h.courier_session("alice").await;
    let (first, _, first_code) = h.deposit_stored(&courier, "T-1", "S").await;
    let (second, _, second_code) = h.deposit_stored(&courier, "T-2", "S").await;
    let on_disk = database_bytes(&state_dir);
    assert!(
        contains(&on_disk, &first_code),
        "the feed keeps the code until acknowledged"
    );
    assert!(contains(&on_disk, &second_code));

    let events = h.events().await;
    ack(&h, seq_of(&events, "parcel.stored", &first)).await;
    let on_disk = database_bytes(&state_dir);
    assert!(
        !contains(&on_disk, &first_code),
        "an acknowledged code is still on disk"
    );
    assert!(
        contains(&on_disk, &second_code),
        "an unacknowledged code was scrubbed"
    );
    assert!(
        h.events()
            .await
            .iter()
            .any(|e| e["data"]["pickup_code"] == second_code.as_str())
    );

    ack(&h, seq_of(&events, "parcel.stored", &second)).await;
    assert!(!contains(&database_bytes(&state_dir), &second_code));
    // Read straight from SQLite too: no stored event holds a code any more.
    let db = rusqlite::Connection::open(state_dir.join("lockerd.db")).unwrap();
    let with_code: i64 = db
        .query_row(
            "SELECT count(*) FROM events WHERE json_extract(data, '$.pickup_code') IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(with_code, 0);
    // The codes still open their compartments: only the feed forgot them.
    assert_eq!(h.enter_code(&first_code).await.0, 200);
    h.stop().await;
}

#[tokio::test]
async fn retention_prunes_only_old_acknowledged_events_and_seq_goes_on() {
    let h = Harness::start_config(Duration::from_secs(5), |dir| {
        config_text(dir, "") + "\n[sync]\nretention = \"1h\"\n"
    })
    .await;
    for (action, id) in [
        ("disable", "A1"),
        ("enable", "A1"),
        ("disable", "A2"),
        ("enable", "A2"),
    ] {
        let path = format!("/api/v1/compartments/{id}/{action}");
        let (status, body) = h.post(&path, &h.operator, json!({"reason": "test"})).await;
        assert_eq!(status, 200, "{body}");
    }
    let seqs = |events: Vec<Value>| -> Vec<i64> {
        events.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
    };
    // 1 is the audit log's head, published at start.
    assert_eq!(seqs(h.events().await), [1, 2, 3, 4, 5]);
    ack(&h, 3).await;

    // Half an hour on: acknowledged, but not yet past retention. A reservation lapsing at
    // 20 minutes shows when the periodic job has run on the new time.
    let now = h.running().locker.now();
    let lapse = now.plus(Duration::from_secs(20 * 60)).to_rfc3339();
    let body = json!({"size": "S", "expires_at": lapse});
    let (status, _) = h
        .request(
            "PUT",
            "/api/v1/sync/reservations/MARK",
            Some(&h.sync),
            Some(body),
        )
        .await;
    assert_eq!(status, 201);
    h.clock.advance(Duration::from_secs(30 * 60));
    wait_until(&h, "the reservation lapsed", async |h: &Harness| {
        let (_, body) = h.get("/api/v1/sync/reservations", &h.sync).await;
        body["reservations"].as_array().unwrap().is_empty()
    })
    .await;
    assert_eq!(
        seqs(h.events().await),
        [1, 2, 3, 4, 5],
        "pruned before retention"
    );

    // Two hours on: the acknowledged events go; the unacknowledged ones stay, however old.
    // (The reservation's lapse moved the audit log's head: the hour on publishes it, as 6.)
    h.clock.advance(Duration::from_secs(90 * 60));
    wait_until(&h, "acknowledged events pruned", async |h: &Harness| {
        h.events().await.first().and_then(|e| e["seq"].as_i64()) == Some(4)
    })
    .await;
    assert_eq!(seqs(h.events().await), [4, 5, 6]);
    let (_, page) = h.get("/api/v1/sync/events?after=0", &h.sync).await;
    assert_eq!(page["last_seq"], 6);

    // seq carries on from where it was, across a restart too.
    let mut h = h;
    h.restart().await;
    let (status, _) = h
        .post(
            "/api/v1/compartments/B1/disable",
            &h.operator,
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(status, 200);
    // 7: the head published at the restart.
    assert_eq!(seqs(h.events().await), [4, 5, 6, 7, 8]);
    h.stop().await;
}

async fn wait_until(h: &Harness, what: &str, check: impl AsyncFn(&Harness) -> bool) {
    let deadline = tokio::time::Instant::now() + h.patience;
    while !check(h).await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_reader_beside_the_daemon_delays_the_scrub_on_disk_but_not_the_ack() {
    let h = Harness::start_config(Duration::from_secs(5), |dir| {
        config_text(dir, "").replace("code_length = 6", "code_length = 10")
    })
    .await;
    let state_dir = h.dir.path().join("state");
    let courier = h.courier_session("alice").await;
    let (parcel, _, code) = h.deposit_stored(&courier, "R-1", "S").await;
    let seq = seq_of(&h.events().await, "parcel.stored", &parcel);

    // Another process (an audit export, a backup) holds a read transaction open.
    let mut reader = rusqlite::Connection::open(state_dir.join("lockerd.db")).unwrap();
    let read = reader.transaction().unwrap();
    let _: i64 = read
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    ack(&h, seq).await;
    assert!(
        h.events()
            .await
            .iter()
            .all(|e| e["data"].get("pickup_code").is_none())
    );
    // The daemon keeps serving meanwhile.
    let (status, _) = h.request("GET", "/healthz", None, None).await;
    assert_eq!(status, 200);
    drop(read);
    drop(reader);
    // Once the reader is gone the periodic check empties the WAL.
    let deadline = tokio::time::Instant::now() + h.patience;
    while contains(&database_bytes(&state_dir), &code) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the code stayed on disk"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    h.stop().await;
}
