//! Someone holding a sync token, or standing at the keypad, learning or bypassing codes.

use crate::common::Harness;
use crate::modbus_locker::{Layout, Locker, OnBoard};
use lockerd_hal::modbus::emulator::{Board, Fault};
use serde_json::{Value, json};
use std::time::Duration;

async fn reserve(h: &Harness, tracking_id: &str, code: &str) -> (u16, Value) {
    let path = format!("/api/v1/sync/reservations/{tracking_id}");
    let body = json!({"size": "S", "pickup_code": code});
    h.request("PUT", &path, Some(&h.sync), Some(body)).await
}

/// The answer with the tracking id taken out, so two reservations' answers compare.
fn anonymous(mut answer: Value) -> Value {
    answer["tracking_id"] = Value::Null;
    answer
}

/// `PUT /api/v1/sync/reservations/{id}` once answered 409 for a code a stored parcel holds and
/// 201 for a free one: a sync token could sweep the code space and learn every live code, even
/// those already acknowledged and scrubbed from the feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_answers_alike_for_a_live_code_and_a_free_one() {
    let h = Harness::start().await;
    let courier = h.courier_session("mallory").await;
    let (_, _, live) = h.deposit_stored(&courier, "LIVE-1", "S").await;
    let (_, _, acked) = h.deposit_stored(&courier, "LIVE-2", "S").await;
    let last = h.events().await.last().unwrap()["seq"].clone();
    let (status, _) = h
        .post("/api/v1/sync/ack", &h.sync, json!({"seq": last}))
        .await;
    assert_eq!(status, 204);
    let free = (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| *c != live && *c != acked)
        .unwrap();

    let (free_status, free_answer) = reserve(&h, "PROBE-FREE", &free).await;
    assert_eq!(free_status, 201, "{free_answer}");
    for (tracking_id, code) in [("PROBE-LIVE", &live), ("PROBE-ACKED", &acked)] {
        let (status, answer) = reserve(&h, tracking_id, code).await;
        assert_eq!(
            (status, anonymous(answer)),
            (free_status, anonymous(free_answer.clone())),
            "a live code must answer like a free one"
        );
    }
    // Replacing answers alike too.
    let (status_free, again_free) = reserve(&h, "PROBE-FREE", &free).await;
    let (status_live, again_live) = reserve(&h, "PROBE-LIVE", &live).await;
    assert_eq!(
        (status_live, anonymous(again_live)),
        (status_free, anonymous(again_free))
    );
    h.stop().await;
}

/// The keypad's failure count was cleared as soon as a right code was typed, before its
/// latch was known to open; on a dead bus that answer is 503 and the code stays valid, so four
/// guesses and the one known code, over and over, never met a lockout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_code_on_a_dead_bus_does_not_reset_the_keypad_throttle() {
    let layout = Layout {
        profile: "generic",
        pulse: "50ms",
        max_pulse: "300ms",
        timeout: "200ms",
        open_timeout: "5s",
        poll: Duration::from_millis(20),
        modbus: vec![OnBoard::wired("N1", "L", 1, 0)],
        sim: vec![("S1", "S")],
    };
    let locker = Locker::start(layout, Board::new(&[1])).await;
    let courier = locker.courier_session("alice").await;
    let (_, compartment, code) = locker.deposit_stored(&courier, "NET-1", "L").await;
    assert_eq!(compartment, "N1");
    locker
        .board
        .inject(Fault::Silent, usize::MAX, |unit, _| unit == 1);
    locker.wait_bus_ok(false).await;

    // keypad_max_failures is 5 by default: the fifth wrong code locks the keypad.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut answers = vec![];
    for n in 1..=16 {
        answers.push(locker.enter_code(wrong).await);
        if n % 4 == 0 {
            answers.push(locker.enter_code(&code).await);
        }
    }
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert!(
        !statuses.contains(&200),
        "nothing opened on a dead bus: {statuses:?}"
    );
    assert!(
        answers
            .iter()
            .any(|(s, b)| *s == 429 && b["error"]["code"] == "locked_out"),
        "16 wrong codes with a known one between them must end in a lockout: {statuses:?}"
    );
    let (status, keypad) = locker.get("/api/v1/keypad", &locker.operator).await;
    assert_eq!(status, 200);
    assert!(keypad["locked_until"].is_string(), "{keypad}");
    locker.stop().await;
}

/// Anyone at the keypad can lock every recipient out by typing wrong codes (the price of the
/// lockout that stops guessers). It must be loud: `/healthz` degraded with the lockout, the
/// `lockerd_keypad_locked` gauge, and `keypad.locked_out` counting lockouts in a row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locking_the_keypad_on_purpose_is_loud() {
    let h = Harness::start().await; // keypad_max_failures = 3, keypad_lockout = 60s
    let (_, health) = h.request("GET", "/healthz", None, None).await;
    assert_eq!(health["status"], "ok", "{health}");
    for round in 1..=2 {
        for _ in 0..3 {
            assert_eq!(h.enter_code("000000").await.0, 401);
        }
        let (status, health) = h.request("GET", "/healthz", None, None).await;
        assert_eq!(status, 200);
        assert_eq!(health["status"], "degraded", "{health}");
        assert!(health["keypad"]["locked_until"].is_string(), "{health}");
        assert_eq!(health["keypad"]["lockouts_in_a_row"], round);
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
        assert!(metrics.contains("lockerd_keypad_locked 1"), "{metrics}");
        assert!(
            metrics.contains(&format!("lockerd_keypad_lockouts_in_a_row {round}")),
            "{metrics}"
        );
        h.clock.advance(Duration::from_secs(60 * round));
    }
    let lockouts: Vec<Value> = h
        .events()
        .await
        .into_iter()
        .filter(|e| e["type"] == "keypad.locked_out")
        .map(|e| e["data"]["lockouts_in_a_row"].clone())
        .collect();
    assert_eq!(lockouts, [json!(1), json!(2)]);

    let (_, health) = h.request("GET", "/healthz", None, None).await;
    assert_eq!(health["status"], "ok", "the lockout ended: {health}");
    h.stop().await;
}
