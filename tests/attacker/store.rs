//! What is stored, and what an attacker can make the locker store or forget: a sync token
//! acknowledging ahead of push, a copy of the database or of a backup, floods of unknown
//! courier names and of incident reports, and a rewritten audit log.

use crate::common::{Api, Harness, config_text, launch, totp_now};
use axum::http::StatusCode;
use lockerd::config::Config;
use lockerd::locker::{
    Clock, INCIDENTS_PER_COMPARTMENT_PER_DAY, INCIDENTS_WITHOUT_COMPARTMENT_PER_DAY,
    UNKNOWN_NAME_THROTTLES_MAX,
};
use serde_json::{Value, json};
use std::path::Path;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_token_acking_ahead_neither_skips_push_nor_scrubs_what_push_has_not_delivered() {
    let (endpoint, addr) = Endpoint::start(true).await;
    let h = Harness::start_config(Duration::from_secs(20), |dir| {
        format!(
            "{}\n[sync.push]\nurl = \"http://{addr}/in\"\nsecret = \"attacker-test-secret-0123456789abcdef\"\n\
             batch = 4\nbackoff_min = \"20ms\"\nbackoff_max = \"100ms\"\ntimeout = \"5s\"\n",
            config_text(dir, "")
        )
    })
    .await;
    // What the cloud must not miss: a pickup code, a forced door, a maintenance opening.
    let courier = h.courier_session("alice").await;
    let (parcel, compartment, code) = h.deposit_stored(&courier, "ACK-1", "S").await;
    h.sim()
        .set_door(Harness::channel(&compartment), true)
        .unwrap();
    h.wait_for(
        &format!("/api/v1/compartments/{compartment}"),
        "door",
        "open",
    )
    .await;
    let reason = json!({"reason": "inspection"});
    let (status, _) = h
        .post("/api/v1/compartments/D1/open", &h.operator, reason)
        .await;
    assert_eq!(status, 202);
    let wanted = ["parcel.stored", "door.forced", "maintenance.opened"];
    let deadline = Instant::now() + h.patience;
    while !wanted.iter().all(|w| feed_has(&h, w)) {
        assert!(Instant::now() < deadline, "events missing");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_sync(&h, "push failing", |s| {
        s["push"]["consecutive_failures"].as_u64() >= Some(1)
    })
    .await;

    // The attacker holds the sync token: an ack past the feed is refused, one up to it taken.
    let (_, page) = h.get("/api/v1/sync/events?after=0&limit=1", &h.sync).await;
    let last = page["last_seq"].as_i64().unwrap();
    let (status, body) = h
        .post("/api/v1/sync/ack", &h.sync, json!({"seq": 1_000_000}))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("invalid_request"))
    );
    let (status, _) = h
        .post("/api/v1/sync/ack", &h.sync, json!({"seq": last}))
        .await;
    assert_eq!(status, 204);
    let sync = wait_sync(&h, "the ack shown", |s| s["pull_acked_seq"] == last).await;
    assert_eq!(
        (&sync["acked_seq"], &sync["push"]["delivered_seq"]),
        (&json!(0), &json!(0))
    );
    assert!(
        h.code_of(&parcel).await == code,
        "the code is not scrubbed before push has it"
    );

    endpoint.down.store(false, Ordering::SeqCst);
    let newest = wait_sync(&h, "push caught up", |s| {
        s["push"]["delivered_seq"] == s["last_seq"]
            && s["push"]["delivered_seq"].as_i64() >= Some(last)
    })
    .await["last_seq"]
        .as_i64()
        .unwrap();
    let accepted = endpoint.accepted.lock().unwrap().clone();
    let mut seqs: Vec<i64> = vec![];
    for seq in accepted.iter().map(|e| e["seq"].as_i64().unwrap()) {
        // At least once: a batch may come again; nothing may be skipped.
        if seq > seqs.last().copied().unwrap_or(0) {
            seqs.push(seq);
        }
    }
    assert_eq!(
        seqs,
        (1..=newest).collect::<Vec<_>>(),
        "every event, in order"
    );
    let pushed = |kind: &str| accepted.iter().find(|e| e["type"] == kind).cloned();
    for kind in wanted {
        assert!(pushed(kind).is_some(), "{kind} never pushed");
    }
    assert_eq!(
        pushed("parcel.stored").unwrap()["data"]["pickup_code"],
        code.as_str()
    );
    // Delivered by push: now the locker forgets the code.
    assert!(
        h.events()
            .await
            .iter()
            .all(|e| e["data"].get("pickup_code").is_none())
    );

    let (_, audit) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    let acked: Vec<&Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "sync.acked")
        .collect();
    assert_eq!(acked.len(), 1, "the refused ack moved nothing: {acked:?}");
    assert_eq!(acked[0]["actor"], "sync:cloud");
    assert_eq!(
        acked[0]["detail"],
        json!({"seq_before": 0, "seq_after": last})
    );
    h.stop().await;
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

/// Every byte of `files` that exist.
fn bytes_of(files: &[&Path]) -> Vec<u8> {
    files
        .iter()
        .filter_map(|f| std::fs::read(f).ok())
        .flatten()
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The raw bytes of a base32 TOTP secret.
fn decoded(secret: &str) -> Vec<u8> {
    totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap()
}

fn database_files(state: &Path) -> [std::path::PathBuf; 2] {
    [state.join("lockerd.db"), state.join("lockerd.db-wal")]
}

/// `POST /api/v1/courier/login` with the courier's current TOTP: status and error code.
async fn login(
    api: &Api,
    kiosk: &str,
    name: &str,
    secret: &str,
    clock: &lockerd::locker::ManualClock,
) -> (u16, Value) {
    let code = totp_now(secret, clock);
    let (status, body) = api
        .post(
            "/api/v1/courier/login",
            kiosk,
            json!({"courier": name, "code": code}),
        )
        .await;
    (status, body["error"]["code"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_the_database_does_not_hold_a_courier_secret_and_old_clear_ones_get_sealed() {
    let mut h = Harness::start().await;
    let state = h.dir.path().join("state");
    let [db, wal] = database_files(&state);
    let secret = h.new_courier("alice").await;
    let raw = decoded(&secret);
    h.restart().await;
    let on_disk = bytes_of(&[&db, &wal]);
    assert!(!contains(&on_disk, secret.as_bytes()) && !contains(&on_disk, &raw));
    assert_eq!(
        login(&h.api, &h.kiosk, "alice", &secret, &h.clock).await.0,
        200
    );

    // A database from before sealing, or one edited behind lockerd's back, holds it clear.
    let clear = rusqlite::Connection::open(&db).unwrap();
    clear
        .execute(
            "UPDATE couriers SET totp_secret = ?1, totp_sealed = 0 WHERE name = 'alice'",
            [&raw],
        )
        .unwrap();
    drop(clear);
    assert!(
        contains(&bytes_of(&[&db, &wal]), &raw),
        "the search finds a clear secret"
    );
    h.clock.advance(Duration::from_secs(30));
    let refused = login(&h.api, &h.kiosk, "alice", &secret, &h.clock).await;
    assert_eq!(
        refused,
        (401, json!("invalid_credentials")),
        "a clear row is never used"
    );

    // The next start seals it, and the clear bytes leave the files.
    h.restart().await;
    assert!(!contains(&bytes_of(&[&db, &wal]), &raw), "sealed at start");
    h.clock.advance(Duration::from_secs(30));
    assert_eq!(
        login(&h.api, &h.kiosk, "alice", &secret, &h.clock).await.0,
        200
    );
    h.stop().await;
    assert!(!contains(&bytes_of(&[&db, &wal]), &raw));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_logs_couriers_in_only_beside_its_install_key() {
    let h = Harness::start().await;
    let dir = h.dir.clone();
    let state = dir.path().join("state");
    let secret = h.new_courier("bob").await;
    let config = Config::parse(&config_text(&state, ""), &dir.path().join("lockerd.toml")).unwrap();
    let backup = dir.path().join("backup.db");
    let out = backup.clone();
    tokio::task::spawn_blocking(move || lockerd::backup::backup(&config, &out))
        .await
        .unwrap()
        .unwrap();
    let (kiosk, clock) = (h.kiosk.clone(), h.clock.clone());
    h.stop().await;
    let copy = bytes_of(&[&backup]);
    assert!(!copy.is_empty());
    assert!(!contains(&copy, secret.as_bytes()) && !contains(&copy, &decoded(&secret)));

    for with_key in [true, false] {
        let restored = tempfile::tempdir().unwrap();
        let restored_state = restored.path().join("state");
        std::fs::create_dir(&restored_state).unwrap();
        std::fs::copy(&backup, restored_state.join("lockerd.db")).unwrap();
        if with_key {
            std::fs::copy(
                state.join("install.key"),
                restored_state.join("install.key"),
            )
            .unwrap();
        }
        let running = launch(&config_text(&restored_state, ""), restored.path(), &clock).await;
        let api = Api::new(running.addr);
        clock.advance(Duration::from_secs(30));
        let answer = login(&api, &kiosk, "bob", &secret, &clock).await;
        let expected = match with_key {
            true => (200, Value::Null),
            // A new install key: the secret no longer opens (README, Security).
            false => (401, json!("invalid_credentials")),
        };
        assert_eq!(answer, expected, "restored with the key: {with_key}");
        running.stop().await.unwrap();
    }
}

/// One login attempt: status, body and `Retry-After`.
async fn attempt(h: &Harness, name: &str, code: &str) -> (u16, Value, Option<String>) {
    let response = h
        .http
        .post(h.url("/api/v1/courier/login"))
        .bearer_auth(&h.kiosk)
        .json(&json!({"courier": name, "code": code}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap(), retry)
}

/// Rows of the throttle table whose key starts with `prefix`.
fn throttle_rows(h: &Harness, prefix: &str) -> i64 {
    let db = rusqlite::Connection::open(h.dir.path().join("state/lockerd.db")).unwrap();
    db.query_row(
        "SELECT count(*) FROM throttles WHERE substr(key, 1, length(?1)) = ?1",
        [prefix],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_courier_names_answer_like_wrong_codes_and_leave_the_throttle_table_bounded() {
    let h = Harness::start().await;
    let secret = h.new_courier("carol").await;
    // A code that is none of carol's codes accepted now (the step before, now, after).
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        0,
        30,
        decoded(&secret),
        None,
        "c".into(),
    )
    .unwrap();
    let now = h.clock.now().0 as u64 / 1000;
    let valid: Vec<String> = [now - 30, now, now + 30].map(|t| totp.generate(t)).into();
    let wrong = ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| !valid.iter().any(|v| v == c))
        .unwrap();
    // keypad_max_failures = 3: two wrong, the third locks, the fourth is refused.
    for n in 1..=4 {
        let known = attempt(&h, "carol", wrong).await;
        let unknown = attempt(&h, "mallory-probe", wrong).await;
        assert_eq!(known, unknown, "attempt {n}");
        let expected = if n < 4 { 401 } else { 429 };
        assert_eq!(known.0, expected, "attempt {n}: {known:?}");
    }

    let names = 500;
    assert!(
        names > UNKNOWN_NAME_THROTTLES_MAX,
        "the flood must pass the cap"
    );
    for n in 0..names {
        let (status, body, _) = attempt(&h, &format!("nobody-{n}"), wrong).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (401, &json!("invalid_credentials"))
        );
    }
    let unknown = throttle_rows(&h, "courier_login:unknown:");
    assert!(
        unknown <= UNKNOWN_NAME_THROTTLES_MAX as i64,
        "{unknown} rows for unknown names"
    );
    assert_eq!(
        throttle_rows(&h, "courier_login:"),
        unknown + 1,
        "and carol's"
    );
    // The flood pushed out no lockout: carol's, nor the probe's (which must look the same).
    for name in ["carol", "mallory-probe"] {
        let code = totp_now(&secret, &h.clock);
        assert_eq!(attempt(&h, name, &code).await.0, 429, "{name}");
    }

    // Once quiet for keypad_lockout_max (10 minutes here), housekeeping forgets them all.
    h.clock.advance(Duration::from_secs(30 * 60));
    let deadline = Instant::now() + h.patience;
    while throttle_rows(&h, "courier_login:") > 0 {
        assert!(Instant::now() < deadline, "quiet throttles never forgotten");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_reports_beyond_the_daily_cap_are_rate_limited_until_the_next_day() {
    let h = Harness::start().await;
    const DAY_MS: i64 = 24 * 3600 * 1000;
    let to_next_day = |h: &Harness| {
        let now = h.clock.now().0;
        h.clock.advance(Duration::from_millis(
            (DAY_MS - now.rem_euclid(DAY_MS)) as u64 + 60_000,
        ));
    };
    // A minute into a UTC day, so the reports below all fall on it.
    to_next_day(&h);
    let report = |body: Value| {
        let h = &h;
        async move {
            let response = h
                .http
                .post(h.url("/api/v1/incidents"))
                .bearer_auth(&h.kiosk)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let retry = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, response.json::<Value>().await.unwrap(), retry)
        }
    };
    let a1 = json!({"kind": "empty", "compartment": "A1", "note": "x".repeat(1000)});
    for _ in 0..INCIDENTS_PER_COMPARTMENT_PER_DAY {
        assert_eq!(report(a1.clone()).await.0, 201);
    }
    let (status, body, retry) = report(a1.clone()).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (429, &json!("rate_limited")),
        "{body}"
    );
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert_eq!(json!(retry), body["error"]["retry_after_s"]);
    assert!(
        (DAY_MS / 1000 - 120..=DAY_MS / 1000).contains(&(retry as i64)),
        "{retry}"
    );
    assert_eq!(
        report(json!({"kind": "damaged", "compartment": "A2"}))
            .await
            .0,
        201
    );

    let nowhere = json!({"kind": "other", "note": "no compartment"});
    for _ in 0..INCIDENTS_WITHOUT_COMPARTMENT_PER_DAY {
        assert_eq!(report(nowhere.clone()).await.0, 201);
    }
    assert_eq!(report(nowhere.clone()).await.0, 429);

    to_next_day(&h);
    assert_eq!(report(a1).await.0, 201, "a new day");
    assert_eq!(report(nowhere).await.0, 201);
    let reported = h
        .event_types()
        .await
        .iter()
        .filter(|t| *t == "incident.reported")
        .count();
    let expected = INCIDENTS_PER_COMPARTMENT_PER_DAY + INCIDENTS_WITHOUT_COMPARTMENT_PER_DAY + 3;
    assert_eq!(
        reported as i64, expected,
        "a refused report publishes nothing"
    );
    h.stop().await;
}

/// The `audit.head` events of the feed, as `(seq, hash)`.
async fn heads(h: &Harness) -> Vec<(i64, String)> {
    h.events()
        .await
        .iter()
        .filter(|e| e["type"] == "audit.head")
        .map(|e| {
            (
                e["data"]["seq"].as_i64().unwrap(),
                e["data"]["hash"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every audit entry, as `GET /api/v1/audit` shows it.
async fn audit_entries(h: &Harness) -> Vec<Value> {
    let (status, page) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    assert_eq!(status, 200, "{page}");
    page["entries"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_head_in_the_feed_anchors_the_log_against_a_rewrite() {
    let mut h = Harness::start().await;
    let entries = audit_entries(&h).await;
    let started = heads(&h).await;
    assert_eq!(started.len(), 1, "{started:?}");
    let (seq, hash) = &started[0];
    let anchored = &entries[(*seq - 1) as usize];
    assert_eq!(
        (anchored["action"].as_str(), &anchored["hash"]),
        (Some("daemon.started"), &json!(hash))
    );

    // Each start publishes the head as it then stands: here, the log's last entry.
    h.restart().await;
    let last = audit_entries(&h).await.last().cloned().unwrap();
    let head = heads(&h).await.last().cloned().unwrap();
    assert_eq!(
        (json!(head.0), json!(head.1)),
        (last["seq"].clone(), last["hash"].clone())
    );

    // The log moves, an hour passes: the new head is published.
    h.new_courier("dave").await;
    h.clock.advance(Duration::from_secs(3600));
    let deadline = Instant::now() + h.patience;
    let moved = loop {
        let latest = heads(&h).await.last().cloned().unwrap();
        if latest.0 > head.0 {
            break latest;
        }
        assert!(
            Instant::now() < deadline,
            "the moved head was never published"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let dir = h.dir.clone();
    h.stop().await;

    // Someone with the file rewrites the first entry and recomputes every hash after it:
    // `verify` cannot tell, the anchors the cloud holds can.
    let db = rusqlite::Connection::open(dir.path().join("state/lockerd.db")).unwrap();
    rewrite_first_entry(&db);
    lockerd::store::verify(&db).expect("a rewrite with every hash recomputed passes verify");
    let rewritten: Vec<u8> = db
        .query_row("SELECT hash FROM audit WHERE seq = ?1", [moved.0], |r| {
            r.get(0)
        })
        .unwrap();
    assert_ne!(
        hex::encode(rewritten),
        moved.1,
        "the anchor shows the rewrite"
    );
}

/// Edits entry 1's detail and recomputes the chain and the head `meta` keeps, as someone who
/// knows the construction (README, "Audit log") would.
fn rewrite_first_entry(db: &rusqlite::Connection) {
    db.execute(
        "UPDATE audit SET detail = '{\"config\":\"elsewhere\"}' WHERE seq = 1",
        [],
    )
    .unwrap();
    let mut prev = vec![0u8; 32];
    let rows: Vec<(i64, i64, String, String, String)> = {
        let mut stmt = db
            .prepare("SELECT seq, at, actor, action, detail FROM audit ORDER BY seq")
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    };
    for (seq, at, actor, action, detail) in rows {
        let at = lockerd::domain::Timestamp(at);
        let hash = lockerd::store::entry_hash(&prev, seq, at, &actor, &action, &detail);
        db.execute(
            "UPDATE audit SET hash = ?1 WHERE seq = ?2",
            rusqlite::params![hash.as_slice(), seq],
        )
        .unwrap();
        prev = hash.to_vec();
    }
    let head = i64::from_be_bytes(prev[..8].try_into().unwrap());
    db.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'audit_head'",
        [head],
    )
    .unwrap();
}
