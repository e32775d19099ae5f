//! Holes a second attacker's review found around issue 14's fixes: other routes to the same
//! harm. Each test here failed on the code as reviewed and passes with its fix.

use crate::common::Harness;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The latest `parcel.code_changed` code the feed (read with `token`) holds for `parcel`.
async fn changed_code(h: &Harness, token: &str, parcel: &str) -> String {
    let (status, feed) = h.get("/api/v1/sync/events?after=0&limit=1000", token).await;
    assert_eq!(status, 200, "{feed}");
    feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["type"] == "parcel.code_changed" && e["data"]["parcel_id"] == parcel)
        .and_then(|e| e["data"]["pickup_code"].as_str())
        .expect("a code_changed event with its code")
        .to_owned()
}

/// The mass-opening ceilings count maintenance openings, but an operator token reaches every
/// stored parcel's door another way: `POST /api/v1/parcels/{id}/new-code` publishes a fresh
/// code in the feed, which the operator token may read (`GET /api/v1/sync/events`), and
/// `POST /api/v1/pickup` accepts an operator token. No ceiling counts these openings, and they
/// open exactly the compartments worth stealing from (it works after the cloud acknowledged,
/// and scrubbed, every code). With `opens_per_credential = 2` and `opens_locker_wide = 3`,
/// one operator token should not open five full compartments within the window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_token_cannot_empty_the_wall_through_new_codes_and_pickups() {
    let h = Harness::start_with("opens_per_credential = 2\nopens_locker_wide = 3").await;
    let courier = h.courier_session("carrier").await;
    let mut parcels = vec![];
    for n in 0..5 {
        let (parcel, _, _) = h.deposit_stored(&courier, &format!("REAL-{n}"), "S").await;
        parcels.push(parcel);
    }
    // The cloud has every code: they are scrubbed from the feed.
    let last = h.events().await.last().unwrap()["seq"].clone();
    let (status, _) = h
        .post("/api/v1/sync/ack", &h.sync, json!({"seq": last}))
        .await;
    assert_eq!(status, 204);

    let mut opened = 0;
    for parcel in &parcels {
        let (status, body) = h
            .post(
                &format!("/api/v1/parcels/{parcel}/new-code"),
                &h.operator,
                json!({}),
            )
            .await;
        if status != 200 {
            assert_eq!(status, 429, "{body}");
            continue;
        }
        let code = changed_code(&h, &h.operator, parcel).await;
        let (status, body) = h
            .post("/api/v1/pickup", &h.operator, json!({"code": code}))
            .await;
        if status == 200 {
            opened += 1;
        } else {
            assert_eq!(status, 429, "{body}");
        }
    }
    assert!(
        opened <= 2,
        "one operator token opened {opened} stored parcels' doors in a minute, past \
         opens_per_credential = 2"
    );
    h.stop().await;
}

/// The header-read timeout bounds how long a client may take to *send* a request head, but
/// nothing bounds how long it may take to *read* the answer. Without any token, a client that
/// pipelines requests for `/api/v1/openapi.json` (no token needed) on a socket with a small
/// receive buffer and never reads keeps its connection, and one of `max_connections` slots,
/// for as long as it likes: the daemon blocks writing and never reaches the next head. Eight
/// such sockets take a daemon capped at 8 connections away from everyone; 1,024 take the
/// default. Unlike half-sent heads they need no refreshing every 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_do_not_hold_the_connection_slots_for_ever() {
    use lockerd::config::Config;
    use lockerd::daemon::{self, Options};
    use lockerd::http::Limits;
    use lockerd::locker::ManualClock;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let text = crate::common::config_text(&dir.path().join("state"), "");
    let config = Config::parse(&text, &dir.path().join("lockerd.toml")).unwrap();
    let options = Options {
        clock: Arc::new(ManualClock::new()),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        drain: Duration::from_millis(500),
        limits: Limits {
            max_connections: 8,
            ..Limits::default()
        },
        ..Options::default()
    };
    let running = daemon::start(config, options).await.expect("daemon starts");
    let addr = running.addr;

    let pipelined = "GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n".repeat(400);
    let mut attack = vec![];
    for _ in 0..8 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(addr).await.expect("connect");
        stream
            .write_all(pipelined.as_bytes())
            .await
            .expect("requests sent");
        attack.push(stream);
    }
    // Past the header-read timeout (10 s): a half-sent head would have been closed by now.
    tokio::time::sleep(Duration::from_secs(15)).await;

    let health = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("request");
        let mut answer = vec![0u8; 64];
        let n = stream.read(&mut answer).await.unwrap_or(0);
        String::from_utf8_lossy(&answer[..n]).into_owned()
    };
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(10), health).await;
    assert!(
        answer.as_ref().is_ok_and(|a| a.starts_with("HTTP/1.1 200")),
        "/healthz did not answer within 10 s ({:?}) while 8 clients that never read held \
         every connection slot for 15 s: {answer:?}",
        started.elapsed()
    );
    drop(attack);
    running.stop().await.expect("clean stop");
}

/// A sync token can store reservations without limit, each lasting as long as it says
/// (`expires_at` in year 9999 is accepted, so housekeeping never lapses them), and each
/// `PUT` also appends an audit entry that is never pruned. Against the daemon: 3,000 in 17 s
/// added 3.6 MB; at that rate a day is about 17 GB, enough to fill a Pi's card, after which
/// no deposit or pickup can be written. Incident reports from the kiosk got a daily cap for
/// this reason (issue 14); reservations from the sync token did not. On a 12-compartment
/// locker, 2,000 open reservations, or one lasting 8,000 years, are not pre-advice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_token_cannot_fill_the_disk_with_reservations() {
    let h = Harness::start().await;
    let far = json!({"size": "S", "expires_at": "9999-12-31T00:00:00Z"});
    let (status, body) = h
        .request(
            "PUT",
            "/api/v1/sync/reservations/FAR-AWAY",
            Some(&h.sync),
            Some(far),
        )
        .await;
    let far_refused = status >= 400;
    let far_clamped = body["expires_at"]
        .as_str()
        .is_some_and(|t| !t.starts_with("9999"));

    let mut refused = 0;
    for n in 0..2000 {
        let (status, _) = h
            .request(
                "PUT",
                &format!("/api/v1/sync/reservations/FLOOD-{n:05}"),
                Some(&h.sync),
                Some(json!({"size": "S"})),
            )
            .await;
        if status >= 400 {
            refused += 1;
        }
    }
    assert!(
        far_refused || far_clamped,
        "a reservation until 9999 was stored as asked: {status} {body}"
    );
    assert!(
        refused > 0,
        "2,000 open reservations from one sync token, all accepted: nothing bounds them"
    );
    h.stop().await;
}

/// A courier at its ceiling could still reopen its own closed deposits, over and over; a
/// reopen (and a cancel that opens the door) counts like a deposit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_counts_against_the_courier_ceiling() {
    let h = Harness::start_with("courier_opens = 2").await;
    let courier = h.courier_session("mallory").await;
    let (status, body) = h.deposit(&courier, "R-1", "S").await;
    assert_eq!(status, 201, "{body}");
    let parcel = body["parcel_id"].as_str().unwrap().to_owned();
    let compartment = body["compartment"]["id"].as_str().unwrap().to_owned();
    let reopen = format!("/api/v1/deposits/{parcel}/reopen");
    for expected in [202, 429] {
        h.door(&compartment, false).await;
        h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
            .await;
        let (status, body) = h.post(&reopen, &courier, json!({})).await;
        assert_eq!(status, expected, "{body}");
        if expected == 202 {
            h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "open")
                .await;
        } else {
            assert_eq!(body["error"]["code"], "rate_limited");
        }
    }
    h.stop().await;
}

/// The same reservation again is answered as before and writes nothing: a replay loop costs
/// no disk, not even an audit entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_reservation_writes_no_audit_entry() {
    let h = Harness::start().await;
    let body = json!({"size": "M", "pickup_code": "730519"});
    let path = "/api/v1/sync/reservations/SAME-1";
    let (status, first) = h
        .request("PUT", path, Some(&h.sync), Some(body.clone()))
        .await;
    assert_eq!(status, 201);
    let entries = |audit: serde_json::Value| audit["entries"].as_array().unwrap().len();
    let (_, audit) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    let before = entries(audit);
    for _ in 0..20 {
        let (status, again) = h
            .request("PUT", path, Some(&h.sync), Some(body.clone()))
            .await;
        assert_eq!((status, &again), (200, &first));
    }
    let (_, audit) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    assert_eq!(entries(audit), before);
    h.stop().await;
}
