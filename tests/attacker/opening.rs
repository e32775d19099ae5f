//! One credential opening door after door: a stolen operator token emptying the wall, or a
//! courier session filling every free compartment with made-up tracking ids.

use crate::common::Harness;
use reqwest::Response;
use serde_json::{Value, json};
use std::time::Duration;

const WALL: [&str; 12] = [
    "A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4", "C1", "C2", "D1", "D2",
];

async fn open(h: &Harness, token: &str, compartment: &str, reason: &str) -> Response {
    h.http
        .post(h.url(&format!("/api/v1/compartments/{compartment}/open")))
        .bearer_auth(token)
        .json(&json!({"reason": reason}))
        .send()
        .await
        .expect("request sent")
}

/// Asserts `429 rate_limited` with a `Retry-After` of at least one second; returns it.
async fn assert_rate_limited(response: Response) -> u64 {
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert_eq!(body["error"]["retry_after_s"], retry_after, "{body}");
    retry_after
}

async fn mass_open_events(h: &Harness) -> Vec<Value> {
    let events = h.events().await;
    events
        .into_iter()
        .filter(|e| e["type"] == "security.mass_open")
        .map(|e| e["data"].clone())
        .collect()
}

/// At the defaults, one operator token gets ten maintenance openings a minute: the eleventh is
/// refused, reported once however often it is tried, audited, and allowed again once the
/// minute has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_maintenance_openings_by_one_token_meets_429() {
    let h = Harness::start().await;
    for compartment in &WALL[..10] {
        let response = open(&h, &h.operator, compartment, "inspection").await;
        assert_eq!(response.status(), 202, "{compartment}");
    }
    let retry_after = assert_rate_limited(open(&h, &h.operator, "D1", "inspection").await).await;
    assert!(retry_after <= 60, "{retry_after}");
    assert_rate_limited(open(&h, &h.operator, "D2", "inspection").await).await;
    h.wait_for_pulses(10, "ten maintenance openings").await;
    assert_eq!(h.sim().pulses().len(), 10, "refused openings pulse nothing");

    let reported = mass_open_events(&h).await;
    assert_eq!(
        reported.len(),
        1,
        "one alert per run of refusals: {reported:?}"
    );
    assert_eq!(reported[0]["credential"], "operator:ops");
    assert_eq!(reported[0]["scope"], "credential");
    let (_, audit) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "security.mass_open"),
        "{audit}"
    );

    h.clock.advance(Duration::from_secs(retry_after));
    let response = open(&h, &h.operator, "D1", "inspection").await;
    let status = response.status();
    assert_eq!(status, 202, "{}", response.text().await.unwrap());
    h.stop().await;
}

/// A second stolen token does not double the rate: every token's openings together meet the
/// locker-wide ceiling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_tokens_meet_the_locker_wide_ceiling() {
    let h = Harness::start_with("opens_per_credential = 3\nopens_locker_wide = 5").await;
    let (status, created) = h
        .post(
            "/api/v1/tokens",
            &h.operator,
            json!({"role": "operator", "name": "second"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let second = created["token"].as_str().unwrap().to_owned();

    for compartment in &WALL[..3] {
        assert_eq!(open(&h, &h.operator, compartment, "x").await.status(), 202);
    }
    assert_rate_limited(open(&h, &h.operator, "A4", "x").await).await;
    for compartment in &WALL[4..6] {
        assert_eq!(open(&h, &second, compartment, "x").await.status(), 202);
    }
    assert_rate_limited(open(&h, &second, "B3", "x").await).await;
    let reported = mass_open_events(&h).await;
    let scopes: Vec<&Value> = reported.iter().map(|d| &d["scope"]).collect();
    assert_eq!(scopes, [&json!("credential"), &json!("locker")]);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintenance_opening_needs_a_reason() {
    let h = Harness::start().await;
    for reason in ["", "   "] {
        let response = open(&h, &h.operator, "A1", reason).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_request");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("reason")
        );
    }
    assert!(h.sim().pulses().is_empty());
    h.stop().await;
}

/// Made-up tracking ids from one courier stop at `policy.courier_opens` compartments per
/// session length, and logging in again does not reset the count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_courier_cannot_fill_every_free_compartment() {
    let h = Harness::start_with("courier_opens = 3").await;
    let secret = h.new_courier("mallory").await;
    let courier = h.login("mallory", &secret).await;
    for n in 0..3 {
        let (status, body) = h.deposit(&courier, &format!("FAKE-{n}"), "S").await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = h.deposit(&courier, "FAKE-3", "S").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
    h.clock.advance(Duration::from_secs(30)); // the next TOTP code
    let again = h.login("mallory", &secret).await;
    let (status, _) = h.deposit(&again, "FAKE-4", "S").await;
    assert_eq!(status, 429, "a new session of the same courier counts on");
    let (_, free) = h.get("/api/v1/compartments", &h.operator).await;
    let free = free["compartments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "free")
        .count();
    assert_eq!(
        free, 9,
        "three compartments taken, nine left for real parcels"
    );
    let reported = mass_open_events(&h).await;
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert_eq!(reported[0]["credential"], "courier:mallory");
    h.stop().await;
}
