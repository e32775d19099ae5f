//! A sync token acknowledging ahead of push: push keeps its own cursor, so it skips nothing
//! and the locker forgets no code its endpoint has not got.

use crate::common::{Harness, config_text};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A push endpoint on loopback that records the events it accepts; refuses (503) while `down`.
#[derive(Default)]
struct Endpoint {
    down: AtomicBool,
    accepted: Mutex<Vec<Value>>,
}

impl Endpoint {
    async fn start(down: bool) -> (Arc<Endpoint>, std::net::SocketAddr) {
        let endpoint = Arc::new(Endpoint::default());
        endpoint.down.store(down, Ordering::SeqCst);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = endpoint.clone();
        let app = axum::Router::new().route(
            "/in",
            axum::routing::post(|body: axum::body::Bytes| async move {
                if state.down.load(Ordering::SeqCst) {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let batch: Value = serde_json::from_slice(&body).unwrap();
                let events = batch["events"].as_array().unwrap().clone();
                state.accepted.lock().unwrap().extend(events);
                StatusCode::OK
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (endpoint, addr)
    }
}

/// Polls `/healthz` until `done(sync)` holds.
async fn wait_sync(h: &Harness, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + h.patience;
    loop {
        let (_, health) = h.request("GET", "/healthz", None, None).await;
        if done(&health["sync"]) {
            return health["sync"].clone();
        }
        assert!(Instant::now() < deadline, "never {what}: {health}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether the feed holds an event of type `kind`, read from the database file (so that
/// reading does not count as a pull).
fn feed_has(h: &Harness, kind: &str) -> bool {
    let db = rusqlite::Connection::open(h.dir.path().join("state/lockerd.db")).unwrap();
    db.query_row(
        "SELECT count(*) > 0 FROM events WHERE type = ?1",
        [kind],
        |r| r.get(0),
    )
    .unwrap()
}

/// A daemon pushing to `addr` with a short back-off.
async fn start(addr: std::net::SocketAddr) -> Harness {
    Harness::start_config(Duration::from_secs(20), |dir| {
        format!(
            "{}\n[sync.push]\nurl = \"http://{addr}/in\"\n\
             secret = \"attacker-test-secret-0123456789abcdef\"\nbatch = 4\n\
             backoff_min = \"20ms\"\nbackoff_max = \"100ms\"\ntimeout = \"5s\"\n",
            config_text(dir, "")
        )
    })
    .await
}

/// What the cloud must not miss: a pickup code (returned with its parcel), a forced door and a
/// maintenance opening. Returns once all three are in the feed.
async fn events_the_cloud_needs(h: &Harness) -> (String, String) {
    let courier = h.courier_session("alice").await;
    let (parcel, compartment, code) = h.deposit_stored(&courier, "ACK-1", "S").await;
    h.sim()
        .set_door(Harness::channel(&compartment), true)
        .unwrap();
    let reason = json!({"reason": "inspection"});
    let (status, _) = h
        .post("/api/v1/compartments/D1/open", &h.operator, reason)
        .await;
    assert_eq!(status, 202);
    let deadline = Instant::now() + h.patience;
    while !WANTED.iter().all(|w| feed_has(h, w)) {
        assert!(Instant::now() < deadline, "events missing");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (parcel, code)
}

const WANTED: [&str; 3] = ["parcel.stored", "door.forced", "maintenance.opened"];

/// The seqs `accepted` holds, in order, repeats of an earlier batch (at least once) left out.
fn delivered_seqs(accepted: &[Value]) -> Vec<i64> {
    let mut seqs: Vec<i64> = vec![];
    for seq in accepted.iter().map(|e| e["seq"].as_i64().unwrap()) {
        if seq > seqs.last().copied().unwrap_or(0) {
            seqs.push(seq);
        }
    }
    seqs
}

/// The audit log's `sync.acked` entries.
async fn acks_audited(h: &Harness) -> Vec<Value> {
    let (_, audit) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    let entries = audit["entries"].as_array().unwrap().iter();
    entries
        .filter(|e| e["action"] == "sync.acked")
        .cloned()
        .collect()
}

/// Waits until push has delivered the feed through `last` and beyond, then checks the endpoint
/// got every event once in order, those of `WANTED` among them, `code` in `parcel.stored`; and
/// that the locker scrubbed the code only now.
async fn push_got_everything(h: &Harness, endpoint: &Endpoint, last: i64, code: &str) {
    let caught_up = wait_sync(h, "push caught up", |s| {
        s["push"]["delivered_seq"] == s["last_seq"]
            && s["push"]["delivered_seq"].as_i64() >= Some(last)
    })
    .await;
    let accepted = endpoint.accepted.lock().unwrap().clone();
    let newest = caught_up["last_seq"].as_i64().unwrap();
    assert_eq!(delivered_seqs(&accepted), (1..=newest).collect::<Vec<_>>());
    let pushed = |kind: &str| accepted.iter().find(|e| e["type"] == kind).cloned();
    for kind in WANTED {
        assert!(pushed(kind).is_some(), "{kind} never pushed");
    }
    let stored = pushed("parcel.stored").unwrap();
    assert_eq!(stored["data"]["pickup_code"], code);
    let events = h.events().await;
    let kept = events
        .iter()
        .filter(|e| e["data"].get("pickup_code").is_some());
    assert_eq!(
        kept.count(),
        0,
        "delivered by push: the locker forgets the code"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_token_acking_ahead_neither_skips_push_nor_scrubs_what_push_has_not_delivered() {
    let (endpoint, addr) = Endpoint::start(true).await;
    let h = start(addr).await;
    let (parcel, code) = events_the_cloud_needs(&h).await;
    wait_sync(&h, "push failing", |s| {
        s["push"]["consecutive_failures"].as_u64() >= Some(1)
    })
    .await;

    // The attacker holds the sync token: an ack past the feed is refused, one up to it taken.
    let (_, page) = h.get("/api/v1/sync/events?after=0&limit=1", &h.sync).await;
    let last = page["last_seq"].as_i64().unwrap();
    let ack = |seq: i64| h.post("/api/v1/sync/ack", &h.sync, json!({"seq": seq}));
    let (status, body) = ack(1_000_000).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("invalid_request"))
    );
    assert_eq!(ack(last).await.0, 204);
    let sync = wait_sync(&h, "the ack shown", |s| s["pull_acked_seq"] == last).await;
    let push_cursor = (&sync["acked_seq"], &sync["push"]["delivered_seq"]);
    assert_eq!(push_cursor, (&json!(0), &json!(0)));
    assert_eq!(
        h.code_of(&parcel).await,
        code,
        "not scrubbed before push has it"
    );

    endpoint.down.store(false, Ordering::SeqCst);
    push_got_everything(&h, &endpoint, last, &code).await;

    let acked = acks_audited(&h).await;
    assert_eq!(acked.len(), 1, "the refused ack moved nothing: {acked:?}");
    assert_eq!(acked[0]["actor"], "sync:cloud");
    assert_eq!(
        acked[0]["detail"],
        json!({"seq_before": 0, "seq_after": last})
    );
    h.stop().await;
}
