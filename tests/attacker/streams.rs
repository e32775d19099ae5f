//! The kiosk's live feed (`GET /api/v1/kiosk/events`) as a way to load the daemon: thousands of
//! streams from one token made every commit cost thousands of database reads. Now the streams
//! are capped per token and in all, a deleted token's streams end, a commit that changes
//! nothing a stream shows sends nothing, and the one shared state every stream carries, like
//! `GET /api/v1/compartments`, is right after each change.

use crate::common::{Harness, config_text};
use reqwest::header;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// How long a stream may take to show a state or to end.
const DEADLINE: Duration = Duration::from_secs(10);

/// The harness's simulated locker with streams capped at 3 in all and 2 per token.
async fn capped() -> Harness {
    Harness::start_config(Duration::from_secs(5), |state_dir| {
        config_text(state_dir, "").replace(
            "listen = \"127.0.0.1:0\"",
            "listen = \"127.0.0.1:0\"\nmax_streams = 3\nmax_streams_per_token = 2",
        )
    })
    .await
}

/// An open live feed, read as a client reads it.
struct Feed {
    response: reqwest::Response,
    buffer: String,
}

/// What opening a feed answered: the feed, or the refusal's status, headers and JSON.
async fn open(request: reqwest::RequestBuilder) -> Result<Feed, (u16, String, Value)> {
    let response = request.send().await.expect("answered");
    if response.status() != 200 {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response.json().await.unwrap_or(Value::Null);
        return Err((status, retry_after, body));
    }
    let mut feed = Feed {
        response,
        buffer: String::new(),
    };
    // Open for certain once its first state has come.
    feed.next_state().await.expect("a first state");
    Ok(feed)
}

async fn open_with(h: &Harness, token: &str) -> Result<Feed, (u16, String, Value)> {
    open(h.http.get(h.url("/api/v1/kiosk/events")).bearer_auth(token)).await
}

impl Feed {
    /// The next `state` event's data; `None` when the server ends the stream.
    async fn next_state(&mut self) -> Option<Value> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                if frame.lines().any(|l| l == "event: state") {
                    let data = frame.lines().find_map(|l| l.strip_prefix("data: "))?;
                    return Some(serde_json::from_str(data).unwrap());
                }
                continue;
            }
            let chunk = tokio::time::timeout(DEADLINE, self.response.chunk())
                .await
                .expect("a state event, or the end, within the deadline")
                .expect("the stream reads cleanly")?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Reads until the server ends the stream; fails if it is still open at the deadline.
    async fn ended(&mut self) -> bool {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(_))) => continue,
                Ok(Ok(None)) => return true,
                Ok(Err(e)) => panic!("the stream broke instead of ending: {e}"),
                Err(_) => return false,
            }
        }
    }
}

fn compartment<'v>(state: &'v Value, id: &str) -> &'v Value {
    let all = state["compartments"].as_array().expect("compartments");
    all.iter().find(|c| c["id"] == id).expect("the compartment")
}

async fn new_token(h: &Harness, role: &str, name: &str) -> String {
    let (status, created) = h
        .post(
            "/api/v1/tokens",
            &h.operator,
            json!({"role": role, "name": name}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created["token"].as_str().unwrap().to_owned()
}

fn assert_rate_limited(refused: Result<Feed, (u16, String, Value)>, what: &str) {
    let Err((status, retry_after, body)) = refused else {
        panic!("{what}: the stream was opened");
    };
    assert_eq!(status, 429, "{what}: {body}");
    assert_eq!(body["error"]["code"], "rate_limited", "{what}: {body}");
    let secs: u64 = retry_after.parse().expect("a Retry-After in seconds");
    assert!(secs >= 1, "{what}: Retry-After {secs}");
    assert_eq!(body["error"]["retry_after_s"], secs, "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_beyond_the_caps_are_refused_until_one_closes() {
    let h = capped().await;
    let first = open_with(&h, &h.kiosk).await.expect("1st kiosk stream");
    let _second = open_with(&h, &h.kiosk).await.expect("2nd kiosk stream");
    assert_rate_limited(open_with(&h, &h.kiosk).await, "a 3rd with one token");

    let _third = open_with(&h, &h.operator).await.expect("another token's");
    let other = new_token(&h, "operator", "ops-2").await;
    assert_rate_limited(open_with(&h, &other).await, "a 4th in all");

    // A client that goes away gives its place back; each refused try holds none.
    drop(first);
    let deadline = Instant::now() + DEADLINE;
    let reopened = loop {
        match open_with(&h, &other).await {
            Ok(feed) => break feed,
            Err((429, _, _)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(refused) => panic!("the closed stream's place never came free: {refused:?}"),
        }
    };
    drop(reopened);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_when_its_token_is_deleted_or_its_kiosk_paired_again() {
    let h = Harness::start().await;
    let lobby = new_token(&h, "kiosk", "lobby").await;
    let mut doomed = open_with(&h, &lobby).await.expect("the lobby's stream");
    let mut bystander = open_with(&h, &h.kiosk).await.expect("another kiosk's");
    let (status, _) = h
        .request("DELETE", "/api/v1/tokens/lobby", Some(&h.operator), None)
        .await;
    assert_eq!(status, 204);
    assert!(doomed.ended().await, "the deleted token's stream goes on");

    // The other stream lives on: the next change still reaches it.
    h.door("D2", true).await;
    let mut state = bystander.next_state().await.expect("still open");
    while compartment(&state, "D2")["door"] != "open" {
        state = bystander.next_state().await.expect("still open");
    }

    // A paired browser's stream (its cookie) ends when pairing again replaces its token.
    let mut paired = open_with_cookie(&h, &pair(&h, "screen").await)
        .await
        .expect("the page's stream");
    let _replacement = pair(&h, "screen").await;
    assert!(
        paired.ended().await,
        "the replaced browser's stream goes on"
    );
    h.stop().await;
}

/// Pairs a browser as `name`: its kiosk cookie's value.
async fn pair(h: &Harness, name: &str) -> String {
    let (status, pairing) = h
        .post("/api/v1/kiosk/pairings", &h.operator, json!({"name": name}))
        .await;
    assert_eq!(status, 201, "{pairing}");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let link = h.url(pairing["url"].as_str().unwrap());
    let answer = browser.get(link).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    let set = answer.headers()[header::SET_COOKIE].to_str().unwrap();
    let pair = set.split(';').next().unwrap();
    pair.strip_prefix("lockerd_kiosk=").unwrap().to_owned()
}

async fn open_with_cookie(h: &Harness, cookie: &str) -> Result<Feed, (u16, String, Value)> {
    let request = h
        .http
        .get(h.url("/api/v1/kiosk/events"))
        .header(header::COOKIE, format!("lockerd_kiosk={cookie}"));
    open(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_changes_nothing_shown_sends_nothing_and_a_change_sends_one_state() {
    let h = Harness::start().await;
    let mut feed = open_with(&h, &h.kiosk).await.expect("a stream");

    // Commits a kiosk cannot see: an audit-only change, an event-feed ack, a keypad failure.
    let (status, _) = h
        .post("/api/v1/couriers", &h.operator, json!({"name": "quiet"}))
        .await;
    assert_eq!(status, 201);
    let last_seq = h
        .events()
        .await
        .last()
        .map_or(0, |e| e["seq"].as_i64().unwrap());
    let (status, _) = h
        .post("/api/v1/sync/ack", &h.sync, json!({"seq": last_seq}))
        .await;
    assert_eq!(status, 204);
    let (status, _) = h.enter_code("000000").await;
    assert_eq!(status, 401);

    // Then two visible changes. Had any commit above sent a state, or a change sent two, the
    // states read here would lag behind them.
    let (status, _) = h
        .post(
            "/api/v1/compartments/C1/disable",
            &h.operator,
            json!({"reason": "hinge"}),
        )
        .await;
    assert_eq!(status, 200);
    let state = feed.next_state().await.expect("a state");
    assert_eq!(compartment(&state, "C1")["state"], "disabled", "{state}");
    assert_eq!(state["free"]["L"], 1);

    let (status, _) = h
        .post("/api/v1/compartments/C1/enable", &h.operator, json!({}))
        .await;
    assert_eq!(status, 200);
    let state = feed.next_state().await.expect("a state");
    assert_eq!(
        compartment(&state, "C1")["state"],
        "free",
        "one state per change: {state}"
    );
    assert_eq!(state["free"]["L"], 2);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_reads_each_change_at_once_and_the_streams_carry_the_same_state() {
    let h = Harness::start().await;
    let mut feeds = vec![
        open_with(&h, &h.kiosk).await.expect("a kiosk stream"),
        open_with(&h, &h.operator)
            .await
            .expect("an operator stream"),
    ];
    // An odd number of rounds: the last state differs from the first, which every stream has.
    for round in 0..11 {
        let (disabled, action, body) = match round % 2 {
            0 => (true, "disable", json!({"reason": "cleaning"})),
            _ => (false, "enable", json!({})),
        };
        let path = format!("/api/v1/compartments/B3/{action}");
        let (status, answer) = h.post(&path, &h.operator, body).await;
        assert_eq!(status, 200, "{answer}");
        // Read-your-writes: the next read shows the change, with no wait.
        let (status, list) = h.get("/api/v1/compartments", &h.operator).await;
        assert_eq!(status, 200);
        let b3 = compartment(&list, "B3");
        let want = if disabled { "disabled" } else { "free" };
        assert_eq!(b3["state"], want, "round {round}: {list}");
    }
    let (_, list) = h.get("/api/v1/compartments", &h.operator).await;
    for feed in &mut feeds {
        // The last state a stream carries is the list's, for what a kiosk shows (a stream
        // may skip states that changed again before it sent them, never the last).
        let mut state = feed.next_state().await.expect("a state");
        while compartment(&state, "B3")["state"] != "disabled" {
            state = feed.next_state().await.expect("a state");
        }
        let shown: Vec<_> = list["compartments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                json!({"id": c["id"], "size": c["size"], "accessible": c["accessible"],
                "state": c["state"], "door": c["door"]})
            })
            .collect();
        assert_eq!(state["compartments"], json!(shown));
        assert_eq!(state["free"], json!({"S": 4, "M": 3, "L": 2, "XL": 2}));
    }
    h.stop().await;
}
