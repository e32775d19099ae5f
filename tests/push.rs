//! Push delivery of the event feed to a cloud, against a local HTTP server the test controls:
//! every body is signed, a cloud that is down or answers 500 gets every event once it is back,
//! in seq order, and push's cursor moves; pull and push together skip nothing. What the
//! operator sees of it (`/healthz`, `/metrics`) is checked along the way.
//!
//! Nothing waits on time: the test polls the daemon's API for what a user would see, with
//! generous deadlines, and the back-off is short so retries come quickly.

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::{Harness, config_text};
use hmac::{Hmac, Mac};
use lockerd::domain::Timestamp;
use lockerd::locker::Clock;
use serde_json::{Value, json};
use sha2::Sha256;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const SECRET: &str = "test-push-secret-0123456789abcdef";

/// How long any awaited state may take.
const PATIENCE: Duration = Duration::from_secs(20);

/// One POST the cloud received, and how it answered.
#[derive(Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
    answered: u16,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn seqs(&self) -> Vec<i64> {
        self.json()["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect()
    }
}

#[derive(Default)]
struct Inbox {
    received: Mutex<Vec<Received>>,
    /// While set, every POST is answered `500`.
    failing: AtomicBool,
}

/// The cloud's side: a server on loopback that records every POST.
struct Cloud {
    inbox: Arc<Inbox>,
    server: JoinHandle<()>,
}

impl Cloud {
    async fn start(addr: SocketAddr, inbox: Arc<Inbox>) -> Cloud {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        let app = axum::Router::new()
            .route("/in", axum::routing::post(receive))
            .with_state(inbox.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("cloud serves");
        });
        Cloud { inbox, server }
    }

    fn received(&self) -> Vec<Received> {
        self.inbox.received.lock().unwrap().clone()
    }

    fn delivered(&self) -> Vec<Received> {
        let mut all = self.received();
        all.retain(|r| r.answered == 200);
        all
    }

    fn fail(&self, failing: bool) {
        self.inbox.failing.store(failing, Ordering::SeqCst);
    }
}

impl Drop for Cloud {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let status = if inbox.failing.load(Ordering::SeqCst) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    inbox.received.lock().unwrap().push(Received {
        headers,
        body,
        answered: status.as_u16(),
    });
    status
}

/// A loopback address nothing listens on (yet): connections to it are refused.
async fn free_addr() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// A daemon pushing to `cloud` with a short back-off.
async fn start(cloud: SocketAddr, backoff: (&str, &str), extra: &str) -> Harness {
    Harness::start_config(PATIENCE, |state_dir| {
        format!(
            "{}\n[sync.push]\nurl = \"http://{cloud}/in\"\nsecret = \"{SECRET}\"\n\
             batch = 3\nbackoff_min = \"{}\"\nbackoff_max = \"{}\"\ntimeout = \"5s\"\n{extra}",
            config_text(state_dir, ""),
            backoff.0,
            backoff.1
        )
    })
    .await
}

/// `n` events: compartment D2 (which no test deposit needs) disabled and enabled in turn.
async fn make_events(h: &Harness, n: usize) {
    for i in 0..n {
        let action = if i % 2 == 0 { "disable" } else { "enable" };
        let path = format!("/api/v1/compartments/D2/{action}");
        let (status, body) = h
            .post(&path, &h.operator, json!({"reason": "push test"}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// Stores a parcel (its `parcel.stored` event carries the pickup code); returns its id.
async fn store_parcel(h: &Harness, tracking_id: &str) -> String {
    let courier = h.courier_session(&format!("courier-{tracking_id}")).await;
    let (status, deposit) = h.deposit(&courier, tracking_id, "S").await;
    assert_eq!(status, 201, "{deposit}");
    let parcel = deposit["parcel_id"].as_str().unwrap().to_owned();
    h.door(deposit["compartment"]["id"].as_str().unwrap(), false)
        .await;
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
        .await;
    let (status, body) = h.confirm(&courier, &parcel).await;
    assert_eq!(status, 200, "{body}");
    parcel
}

async fn health(h: &Harness) -> Value {
    let (status, body) = h.request("GET", "/healthz", None, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Polls `/healthz` until `done` holds; panics with the last answer after `PATIENCE`.
async fn wait_health(h: &Harness, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let body = health(h).await;
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "never {what}: {body}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the cloud has acknowledged every event there is; returns the last seq.
async fn wait_all_acked(h: &Harness) -> i64 {
    let body = wait_health(h, "all acknowledged", |b| {
        let sync = &b["sync"];
        sync["last_seq"].as_i64() > Some(0)
            && sync["acked_seq"] == sync["last_seq"]
            && sync["push"]["state"] == "idle"
    })
    .await;
    assert_eq!(body["sync"]["unacked"], 0);
    assert_eq!(body["sync"]["oldest_unacked_age_s"], Value::Null);
    body["sync"]["last_seq"].as_i64().unwrap()
}

/// The seqs the cloud accepted, in the order it got them, with repeats of an earlier delivery
/// (at-least-once) left out.
fn accepted_seqs(cloud: &Cloud) -> Vec<i64> {
    let mut seqs: Vec<i64> = vec![];
    for r in cloud.delivered() {
        let body_seqs = r.seqs();
        assert!(
            body_seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "a batch is consecutive events: {body_seqs:?}"
        );
        assert_eq!(r.json()["last_seq"].as_i64(), body_seqs.last().copied());
        let newest = seqs.last().copied().unwrap_or(0);
        seqs.extend(body_seqs.into_iter().filter(|s| *s > newest));
    }
    seqs
}

fn hmac_hex(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_body_is_signed_and_every_event_arrives_in_order() {
    let addr = free_addr().await;
    let cloud = Cloud::start(addr, Arc::default()).await;
    let h = start(addr, ("50ms", "200ms"), "").await;
    make_events(&h, 7).await;
    let parcel = store_parcel(&h, "PUSH-1").await;
    let last = wait_all_acked(&h).await;

    assert_eq!(accepted_seqs(&cloud), (1..=last).collect::<Vec<_>>());
    let now = h.clock.now().0 / 1000;
    for r in cloud.received() {
        let header = |name: &str| {
            r.headers
                .get(name)
                .unwrap_or_else(|| panic!("no {name}"))
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(header("content-type"), "application/json");
        assert_eq!(
            header("x-lockerd-signature"),
            format!("sha256={}", hmac_hex(&r.body)),
            "the signature covers the exact body"
        );
        let timestamp: i64 = header("x-lockerd-timestamp").parse().unwrap();
        assert!((timestamp - now).abs() < 300, "{timestamp} vs {now}");
        let body = r.json();
        assert_eq!(body["locker"], "test-locker");
        let sent_at = Timestamp::parse_rfc3339(body["sent_at"].as_str().unwrap()).unwrap();
        assert_eq!(sent_at.0 / 1000, timestamp, "the header is sent_at");
        assert!(r.seqs().len() <= 3, "batch = 3");
    }

    // The pushed events are the pull feed's event objects; the pickup code went to the cloud
    // and, acknowledged, is scrubbed from the locker's copy.
    let pushed: Vec<Value> = cloud
        .delivered()
        .iter()
        .flat_map(|r| r.json()["events"].as_array().unwrap().clone())
        .collect();
    let stored = pushed
        .iter()
        .find(|e| e["type"] == "parcel.stored" && e["data"]["parcel_id"] == parcel.as_str())
        .expect("parcel.stored pushed");
    assert!(stored["data"]["pickup_code"].is_string(), "{stored}");
    for pulled in h.events().await {
        let mut expected = pushed
            .iter()
            .find(|e| e["seq"] == pulled["seq"])
            .unwrap()
            .clone();
        expected["data"]
            .as_object_mut()
            .unwrap()
            .remove("pickup_code");
        assert_eq!(pulled, expected);
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_that_is_down_gets_every_event_once_it_is_back() {
    let addr = free_addr().await;
    let h = start(addr, ("50ms", "200ms"), "").await;
    make_events(&h, 4).await;
    let parcel = store_parcel(&h, "PUSH-2").await;
    make_events(&h, 3).await;

    let down = wait_health(&h, "backing off", |b| {
        b["sync"]["push"]["consecutive_failures"].as_u64() >= Some(2)
    })
    .await;
    let sync = &down["sync"];
    assert_eq!(sync["acked_seq"], 0);
    assert_eq!(sync["unacked"], sync["last_seq"]);
    assert!(sync["oldest_unacked_age_s"].is_i64(), "{sync}");
    assert_eq!(sync["push"]["enabled"], true);
    assert!(
        sync["push"]["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{sync}"
    );
    assert_eq!(
        down["status"], "ok",
        "a cloud outage is not a degraded locker"
    );
    // While down, the code is still in the feed for a pull agent.
    let codes = |events: Vec<Value>| {
        events
            .into_iter()
            .filter(|e| e["data"]["parcel_id"] == parcel.as_str())
            .filter(|e| e["data"]["pickup_code"].is_string())
            .count()
    };
    assert_eq!(codes(h.events().await), 1);

    let cloud = Cloud::start(addr, Arc::default()).await;
    let last = wait_all_acked(&h).await;
    assert_eq!(accepted_seqs(&cloud), (1..=last).collect::<Vec<_>>());
    let pushed: Vec<Value> = cloud
        .delivered()
        .iter()
        .flat_map(|r| r.json()["events"].as_array().unwrap().clone())
        .collect();
    assert_eq!(codes(pushed), 1, "the cloud got the pickup code");
    assert_eq!(codes(h.events().await), 0, "and the locker forgot it");
    let push = &health(&h).await["sync"]["push"];
    assert_eq!(push["consecutive_failures"], 0);
    assert_eq!(push["last_error"], Value::Null);
    assert_eq!(push["next_attempt_at"], Value::Null);
    assert!(push["last_success_at"].is_string(), "{push}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_is_retried_with_the_same_events_until_accepted() {
    let addr = free_addr().await;
    let cloud = Cloud::start(addr, Arc::default()).await;
    cloud.fail(true);
    let h = start(addr, ("50ms", "200ms"), "").await;
    make_events(&h, 2).await;

    let failing = wait_health(&h, "three failures", |b| {
        b["sync"]["push"]["consecutive_failures"].as_u64() >= Some(3)
    })
    .await;
    let push = &failing["sync"]["push"];
    assert!(
        push["last_error"].as_str().unwrap().contains("500"),
        "{push}"
    );
    assert!(
        matches!(push["state"].as_str(), Some("backoff" | "sending")),
        "{push}"
    );
    let (status, metrics) = scrape(&h, Some(&h.operator)).await;
    assert_eq!(status, 200);
    assert!(
        metric(&metrics, "lockerd_push_failures_total") >= 3.0,
        "{metrics}"
    );
    assert_eq!(metric(&metrics, "lockerd_push_up"), 0.0, "{metrics}");
    assert_eq!(
        metric(&metrics, "lockerd_events_acked_seq"),
        0.0,
        "{metrics}"
    );
    assert!(
        metric(&metrics, "lockerd_events_unacked") >= 2.0,
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "lockerd_push_last_success_timestamp_seconds"),
        0.0
    );
    // Every retry carried the same, first, batch.
    for r in cloud.received() {
        assert_eq!((r.answered, r.seqs()[0]), (500, 1));
    }

    cloud.fail(false);
    let last = wait_all_acked(&h).await;
    assert_eq!(accepted_seqs(&cloud), (1..=last).collect::<Vec<_>>());
    let (_, metrics) = scrape(&h, Some(&h.operator)).await;
    assert_eq!(metric(&metrics, "lockerd_push_up"), 1.0, "{metrics}");
    assert_eq!(metric(&metrics, "lockerd_events_unacked"), 0.0, "{metrics}");
    assert_eq!(metric(&metrics, "lockerd_events_last_seq"), last as f64);
    assert!(metric(&metrics, "lockerd_push_last_success_timestamp_seconds") > 0.0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_agent_acknowledging_meanwhile_makes_push_skip_nothing() {
    let addr = free_addr().await;
    let cloud = Cloud::start(addr, Arc::default()).await;
    cloud.fail(true);
    let h = start(addr, ("50ms", "200ms"), "").await;
    make_events(&h, 5).await;
    wait_health(&h, "a failure", |b| {
        b["sync"]["push"]["consecutive_failures"].as_u64() >= Some(1)
    })
    .await;

    // The pull agent takes the first events and acknowledges them while push is failing.
    let (status, page) = h.get("/api/v1/sync/events?after=0&limit=3", &h.sync).await;
    assert_eq!(status, 200);
    let pulled = page["events"].as_array().unwrap().len() as i64;
    assert_eq!(pulled, 3);
    let (status, _) = h
        .post("/api/v1/sync/ack", &h.sync, json!({"seq": pulled}))
        .await;
    assert_eq!(status, 204);
    make_events(&h, 4).await;

    cloud.fail(false);
    let last = wait_all_acked(&h).await;
    let accepted = accepted_seqs(&cloud);
    // Push may repeat what the pull agent already had (at least once), but skips nothing after.
    let after_pull: Vec<i64> = accepted.iter().copied().filter(|s| *s > pulled).collect();
    assert_eq!(after_pull, ((pulled + 1)..=last).collect::<Vec<_>>());
    assert_eq!(health(&h).await["sync"]["push"]["consecutive_failures"], 0);

    // And the other way round: while push is failing, the pull agent takes and acknowledges
    // everything. Push's cursor stays where its endpoint left it (until issue 14 the two shared
    // one cursor and push skipped these): once the endpoint answers, it gets them all.
    cloud.fail(true);
    make_events(&h, 2).await;
    wait_health(&h, "a failure", |b| {
        b["sync"]["push"]["consecutive_failures"].as_u64() >= Some(1)
    })
    .await;
    let (_, page) = h.get("/api/v1/sync/events?after=0", &h.sync).await;
    let everything = page["last_seq"].as_i64().unwrap();
    assert_eq!(everything, last + 2);
    let (status, _) = h
        .post("/api/v1/sync/ack", &h.sync, json!({"seq": everything}))
        .await;
    assert_eq!(status, 204);
    let sync = health(&h).await["sync"].clone();
    assert_eq!(sync["pull_acked_seq"], everything);
    assert_eq!(
        (&sync["acked_seq"], &sync["push"]["delivered_seq"]),
        (&json!(last), &json!(last))
    );
    let seen = cloud.received().len();
    cloud.fail(false);
    make_events(&h, 1).await;
    let newest = wait_all_acked(&h).await;
    assert_eq!(newest, everything + 1);
    let later: Vec<i64> = cloud.received()[seen..]
        .iter()
        .filter(|r| r.answered == 200)
        .flat_map(Received::seqs)
        .collect();
    assert_eq!(later, ((last + 1)..=newest).collect::<Vec<_>>());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_does_not_wait_out_a_back_off() {
    let addr = free_addr().await;
    let mut h = start(addr, ("30m", "1h"), "").await;
    make_events(&h, 1).await;
    let backing_off = wait_health(&h, "backing off", |b| {
        b["sync"]["push"]["state"] == "backoff"
    })
    .await;
    assert!(backing_off["sync"]["push"]["next_attempt_at"].is_string());
    tokio::time::timeout(PATIENCE, h.restart())
        .await
        .expect("a restart does not wait 30 minutes for the back-off");
    // The new daemon tries at once, fails, and backs off for 30 minutes again.
    wait_health(&h, "backing off after the restart", |b| {
        b["sync"]["push"]["state"] == "backoff"
    })
    .await;
    tokio::time::timeout(PATIENCE, h.stop())
        .await
        .expect("a stop does not wait for the back-off either");
}

async fn scrape(h: &Harness, token: Option<&str>) -> (u16, String) {
    let mut req = h.http.get(h.url("/metrics"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    if status == 200 {
        let kind = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    }
    (status, resp.text().await.unwrap())
}

/// The value of the sample `name` (without labels) in a metrics text.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_an_operator_unless_public() {
    let h = Harness::start().await;
    make_events(&h, 2).await;
    let (status, body) = scrape(&h, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(scrape(&h, Some(&h.kiosk)).await.0, 403);
    assert_eq!(scrape(&h, Some(&h.sync)).await.0, 403);
    let (status, text) = scrape(&h, Some(&h.operator)).await;
    assert_eq!(status, 200);
    // The two, after the audit log's head published at start.
    assert_eq!(metric(&text, "lockerd_events_last_seq"), 3.0);
    assert_eq!(metric(&text, "lockerd_events_unacked"), 3.0);
    assert!(metric(&text, "lockerd_events_oldest_unacked_age_seconds") >= 0.0);
    assert!(
        !text.contains("lockerd_push_"),
        "no push configured: {text}"
    );
    assert_eq!(health(&h).await["sync"]["push"], Value::Null);
    h.stop().await;

    let public = Harness::start_config(PATIENCE, |state_dir| {
        config_text(state_dir, "").replace(
            "listen = \"127.0.0.1:0\"",
            "listen = \"127.0.0.1:0\"\nmetrics_public = true",
        )
    })
    .await;
    let (status, text) = scrape(&public, None).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(metric(&text, "lockerd_events_unacked"), 1.0, "audit.head");
    public.stop().await;
}
