//! Tables anyone at the kiosk can grow: throttles of unknown courier names, incident reports.

use super::secrets_at_rest::decoded;
use crate::common::{Harness, totp_now};
use lockerd::locker::{
    Clock, INCIDENTS_PER_COMPARTMENT_PER_DAY, INCIDENTS_WITHOUT_COMPARTMENT_PER_DAY,
    UNKNOWN_NAME_THROTTLES_MAX,
};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

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

/// A six-digit code that is none of the codes the courier's `secret` has accepted now (the step
/// before, now, after).
fn wrong_code(h: &Harness, secret: &str) -> &'static str {
    let (sha1, secret) = (totp_rs::Algorithm::SHA1, decoded(secret));
    let totp = totp_rs::TOTP::new(sha1, 6, 0, 30, secret, None, "c".into()).unwrap();
    let now = h.clock.now().0 as u64 / 1000;
    let valid = [now - 30, now, now + 30].map(|t| totp.generate(t));
    ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| !valid.iter().any(|v| v == c))
        .unwrap()
}

/// Polls the database file until no courier-login throttle is left.
async fn wait_no_throttles(h: &Harness) {
    let deadline = Instant::now() + h.patience;
    while throttle_rows(h, "courier_login:") > 0 {
        assert!(Instant::now() < deadline, "quiet throttles never forgotten");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_courier_names_answer_like_wrong_codes_and_leave_the_throttle_table_bounded() {
    let h = Harness::start().await;
    let secret = h.new_courier("carol").await;
    let wrong = wrong_code(&h, &secret);
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
        let code = &body["error"]["code"];
        assert_eq!((status, code), (401, &json!("invalid_credentials")));
    }
    let unknown = throttle_rows(&h, "courier_login:unknown:");
    assert!(
        unknown <= UNKNOWN_NAME_THROTTLES_MAX as i64,
        "{unknown} rows"
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
    wait_no_throttles(&h).await;
    h.stop().await;
}

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Moves the clock to a minute into the next UTC day.
fn to_next_day(h: &Harness) {
    let now = h.clock.now().0;
    let to_midnight = DAY_MS - now.rem_euclid(DAY_MS);
    h.clock
        .advance(Duration::from_millis(to_midnight as u64 + 60_000));
}

/// `POST /api/v1/incidents` from the kiosk: status, body and `Retry-After`.
async fn report(h: &Harness, body: &Value) -> (u16, Value, Option<String>) {
    let request = h
        .http
        .post(h.url("/api/v1/incidents"))
        .bearer_auth(&h.kiosk);
    let response = request.json(body).send().await.unwrap();
    let status = response.status().as_u16();
    let retry = response.headers().get("retry-after");
    let retry = retry.map(|v| v.to_str().unwrap().to_owned());
    (status, response.json::<Value>().await.unwrap(), retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_reports_beyond_the_daily_cap_are_rate_limited_until_the_next_day() {
    let h = Harness::start().await;
    // A minute into a UTC day, so the reports below all fall on it.
    to_next_day(&h);
    let a1 = json!({"kind": "empty", "compartment": "A1", "note": "x".repeat(1000)});
    for _ in 0..INCIDENTS_PER_COMPARTMENT_PER_DAY {
        assert_eq!(report(&h, &a1).await.0, 201);
    }
    let (status, body, retry) = report(&h, &a1).await;
    let code = &body["error"]["code"];
    assert_eq!((status, code), (429, &json!("rate_limited")), "{body}");
    let retry: i64 = retry.expect("Retry-After").parse().unwrap();
    assert_eq!(json!(retry), body["error"]["retry_after_s"]);
    assert!(
        (DAY_MS / 1000 - 120..=DAY_MS / 1000).contains(&retry),
        "{retry}"
    );
    let a2 = json!({"kind": "damaged", "compartment": "A2"});
    assert_eq!(report(&h, &a2).await.0, 201, "another compartment");

    let nowhere = json!({"kind": "other", "note": "no compartment"});
    for _ in 0..INCIDENTS_WITHOUT_COMPARTMENT_PER_DAY {
        assert_eq!(report(&h, &nowhere).await.0, 201);
    }
    assert_eq!(report(&h, &nowhere).await.0, 429);

    to_next_day(&h);
    assert_eq!(report(&h, &a1).await.0, 201, "a new day");
    assert_eq!(report(&h, &nowhere).await.0, 201);
    let types = h.event_types().await;
    let reported = types.iter().filter(|t| *t == "incident.reported").count() as i64;
    let accepted = INCIDENTS_PER_COMPARTMENT_PER_DAY + INCIDENTS_WITHOUT_COMPARTMENT_PER_DAY + 3;
    assert_eq!(reported, accepted, "a refused report publishes nothing");
    h.stop().await;
}
