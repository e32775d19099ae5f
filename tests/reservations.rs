//! Pre-advised parcels: the cloud reserves a tracking id, optionally with the pickup code it has
//! already sent the recipient; the courier's deposit uses it.

mod common;

use common::Harness;
use serde_json::{Value, json};
use std::time::Duration;

const CLOUD_CODE: &str = "730519";

async fn put(h: &Harness, tracking_id: &str, body: Value) -> (u16, Value) {
    let path = format!("/api/v1/sync/reservations/{tracking_id}");
    h.request("PUT", &path, Some(&h.sync), Some(body)).await
}

async fn delete(h: &Harness, tracking_id: &str) -> (u16, Value) {
    let path = format!("/api/v1/sync/reservations/{tracking_id}");
    h.request("DELETE", &path, Some(&h.sync), None).await
}

async fn listed(h: &Harness) -> Vec<Value> {
    let (status, body) = h.get("/api/v1/sync/reservations", &h.sync).await;
    assert_eq!(status, 200, "{body}");
    body["reservations"].as_array().unwrap().clone()
}

/// The whole feed as text, to search for a code anywhere in it.
async fn feed_text(h: &Harness) -> String {
    serde_json::to_string(&h.events().await).unwrap()
}

#[tokio::test]
async fn a_cloud_issued_code_opens_the_parcel_and_never_appears_in_the_feed() {
    let h = Harness::start().await;
    let body = json!({"size": "M", "pickup_code": CLOUD_CODE, "photo": false});
    let (status, created) = put(&h, "PRE-1", body.clone()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["pickup_code"], true);
    assert_eq!(created["photo"], false);
    let (status, again) = put(&h, "PRE-1", body).await;
    assert_eq!(status, 200, "replacing is idempotent: {again}");
    assert_eq!(again["created_at"], created["created_at"]);
    let list = listed(&h).await;
    assert_eq!(list.len(), 1);
    assert!(!serde_json::to_string(&list).unwrap().contains(CLOUD_CODE));

    // The courier picks S; the cloud said M, so an M compartment opens.
    let courier = h.courier_session("alice").await;
    let (status, deposit) = h.deposit(&courier, "PRE-1", "S").await;
    assert_eq!(status, 201, "{deposit}");
    assert_eq!(deposit["compartment"]["size"], "M");
    let parcel = deposit["parcel_id"].as_str().unwrap().to_owned();
    let compartment = deposit["compartment"]["id"].as_str().unwrap().to_owned();

    // While the deposit is underway the cloud can no longer change or withdraw it.
    let (status, refused) = put(&h, "PRE-1", json!({"size": "L"})).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (409, &json!("conflict"))
    );
    assert_eq!(delete(&h, "PRE-1").await.0, 409);

    h.door(&compartment, false).await;
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
        .await;
    let (status, stored) = h.confirm(&courier, &parcel).await;
    assert_eq!(status, 200, "{stored}");
    let events = h.events().await;
    let stored_event = events
        .iter()
        .find(|e| e["type"] == "parcel.stored" && e["data"]["parcel_id"] == parcel.as_str())
        .expect("parcel.stored");
    assert_eq!(stored_event["data"]["pickup_code_issuer"], "cloud");
    assert!(stored_event["data"].get("pickup_code").is_none());
    assert!(!feed_text(&h).await.contains(CLOUD_CODE));
    assert!(listed(&h).await.is_empty(), "the reservation was used up");

    // The parcel is in the locker: a new reservation of its tracking id is refused.
    assert_eq!(put(&h, "PRE-1", json!({"size": "S"})).await.0, 409);

    let (status, opened) = h.enter_code(CLOUD_CODE).await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!(opened["compartment"]["id"], compartment.as_str());
    h.door(&compartment, false).await;
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "collected")
        .await;
    assert_eq!(h.enter_code(CLOUD_CODE).await.0, 401, "a code works once");
    assert!(!feed_text(&h).await.contains(CLOUD_CODE));
    h.stop().await;
}

#[tokio::test]
async fn a_reservation_without_a_code_gets_a_generated_one_and_can_ask_for_an_accessible_compartment()
 {
    let h = Harness::start().await;
    let (status, body) = put(&h, "PRE-2", json!({"size": "S", "accessible": true})).await;
    assert_eq!(status, 201, "{body}");
    let courier = h.courier_session("bob").await;
    let (parcel, compartment, code) = h.deposit_stored(&courier, "PRE-2", "S").await;
    assert!(
        ["A1", "A2"].contains(&compartment.as_str()),
        "an accessible S compartment, not {compartment}"
    );
    assert_eq!(code.len(), 6);
    let stored = h.parcel(&parcel).await;
    assert_eq!(stored["state"], "stored");
    // Without the reservation an S parcel goes to a non-accessible compartment first.
    h.deposit_stored(&courier, "WALK-IN", "S").await;
    let (_, body) = h.get("/api/v1/parcels?state=stored", &h.operator).await;
    let walk_in = body["parcels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["tracking_id"] == "WALK-IN")
        .unwrap()
        .clone();
    assert!(["A3", "A4"].contains(&walk_in["compartment"].as_str().unwrap()));
    h.stop().await;
}

#[tokio::test]
async fn bad_reservations_are_refused_naming_the_field_without_echoing_a_code() {
    let h = Harness::start().await;
    let cases = [
        (json!({"size": "S", "pickup_code": "12345"}), "pickup_code"),
        (json!({"size": "S", "pickup_code": "12345a"}), "pickup_code"),
        (json!({"size": "S", "pickup_code": 730519}), "pickup_code"),
        (
            json!({"size": "S", "expires_at": "2000-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (json!({"size": "S", "expires_at": "soon"}), "expires_at"),
        (json!({"size": "XXL"}), "size"),
        (json!({"pickup_code": CLOUD_CODE}), "size"),
        (json!({"size": "S", "colour": "red"}), "colour"),
    ];
    for (body, field) in cases {
        let (status, answer) = put(&h, "BAD-1", body.clone()).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert_eq!(answer["error"]["code"], "invalid_request");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
        assert!(!message.contains("730519"), "the code is echoed: {message}");
    }
    let bad_id = "has space";
    let (status, _) = put(&h, &bad_id.replace(' ', "%20"), json!({"size": "S"})).await;
    assert_eq!(status, 400);
    assert!(listed(&h).await.is_empty());
    assert_eq!(delete(&h, "NOPE").await.0, 404);
    h.stop().await;
}

/// Reservations are not checked against live codes when made (tests/attacker/codes.rs): a
/// clash is settled when the parcel is stored, by a locker-issued code published as changed.
#[tokio::test]
async fn a_cloud_code_that_is_live_when_its_parcel_is_stored_is_replaced() {
    let h = Harness::start().await;
    let courier = h.courier_session("carol").await;
    let (live_parcel, live_compartment, live) = h.deposit_stored(&courier, "LIVE-1", "S").await;
    let (status, _) = put(&h, "U-1", json!({"size": "S", "pickup_code": live})).await;
    assert_eq!(status, 201);
    let (status, _) = put(&h, "U-2", json!({"size": "S", "pickup_code": CLOUD_CODE})).await;
    assert_eq!(status, 201);
    let (status, _) = put(&h, "U-3", json!({"size": "S", "pickup_code": CLOUD_CODE})).await;
    assert_eq!(status, 201, "two reservations may carry one code");

    let (parcel, _, replaced) = h.deposit_stored(&courier, "U-1", "S").await;
    assert_ne!(replaced, live);
    let events = h.events().await;
    let of_parcel: Vec<&Value> = events
        .iter()
        .filter(|e| e["data"]["parcel_id"] == parcel.as_str())
        .collect();
    let stored = of_parcel.iter().find(|e| e["type"] == "parcel.stored");
    assert_eq!(stored.unwrap()["data"]["pickup_code_issuer"], "cloud");
    let changed = of_parcel
        .iter()
        .find(|e| e["type"] == "parcel.code_changed")
        .expect("the new code is published");
    assert_eq!(changed["data"]["pickup_code"], replaced.as_str());
    assert_eq!(
        changed["data"]["reason"],
        "the reservation's pickup code is in use by another parcel"
    );
    let (_, audit) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    assert!(
        audit["entries"].as_array().unwrap().iter().any(
            |e| e["action"] == "parcel.new_code" && e["detail"]["parcel_id"] == parcel.as_str()
        ),
        "{audit}"
    );

    // The first parcel stored with a shared cloud code keeps it; the second gets a new one.
    let (status, body) = h.deposit(&courier, "U-2", "S").await;
    assert_eq!(status, 201, "{body}");
    let first = body["parcel_id"].as_str().unwrap().to_owned();
    h.door(body["compartment"]["id"].as_str().unwrap(), false)
        .await;
    h.wait_for(&format!("/api/v1/parcels/{first}"), "state", "closed")
        .await;
    assert_eq!(h.confirm(&courier, &first).await.0, 200);
    let (second, _, second_code) = h.deposit_stored(&courier, "U-3", "S").await;
    assert_ne!(second_code, CLOUD_CODE);
    let first_events = h.events().await;
    assert!(
        !first_events
            .iter()
            .any(|e| e["data"]["parcel_id"] == first.as_str()
                && e["data"]["pickup_code"].is_string()),
        "the first keeps the cloud's code, never published"
    );

    // Each code opens its own parcel.
    let (status, opened) = h.enter_code(&live).await;
    assert_eq!((status, &opened["parcel_id"]), (200, &json!(live_parcel)));
    h.door(&live_compartment, false).await;
    for (code, parcel) in [
        (replaced.as_str(), &parcel),
        (CLOUD_CODE, &first),
        (second_code.as_str(), &second),
    ] {
        let (status, opened) = h.enter_code(code).await;
        assert_eq!((status, &opened["parcel_id"]), (200, &json!(parcel)));
        let compartment = opened["compartment"]["id"].as_str().unwrap().to_owned();
        h.door(&compartment, false).await;
    }
    h.stop().await;
}

#[tokio::test]
async fn a_withdrawn_or_lapsed_reservation_is_not_used_and_a_cancelled_deposit_keeps_it() {
    let h = Harness::start().await;
    let in_an_hour = h.running().locker.now().plus(Duration::from_secs(3600));
    let body =
        json!({"size": "L", "pickup_code": CLOUD_CODE, "expires_at": in_an_hour.to_rfc3339()});
    assert_eq!(put(&h, "LAPSE-1", body).await.0, 201);
    assert_eq!(put(&h, "GONE-1", json!({"size": "L"})).await.0, 201);
    assert_eq!(delete(&h, "GONE-1").await.0, 204);
    assert_eq!(listed(&h).await.len(), 1);

    // A cancelled deposit gives the reservation back to the next attempt.
    let courier = h.courier_session("dave").await;
    let (status, deposit) = h.deposit(&courier, "LAPSE-1", "S").await;
    assert_eq!(status, 201, "{deposit}");
    assert_eq!(deposit["compartment"]["size"], "L");
    let parcel = deposit["parcel_id"].as_str().unwrap().to_owned();
    assert_eq!(h.cancel(&courier, &parcel).await.0, 202);
    let compartment = deposit["compartment"]["id"].as_str().unwrap();
    h.door(compartment, false).await;
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "cancelled")
        .await;
    assert_eq!(listed(&h).await.len(), 1);

    // Past its expiry the periodic job deletes it.
    h.clock.advance(Duration::from_secs(7200));
    let deadline = tokio::time::Instant::now() + h.patience;
    while !listed(&h).await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "never cleaned up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let courier = h.courier_session("erin").await;
    let (parcel, _, code) = h.deposit_stored(&courier, "LAPSE-1", "S").await;
    assert_ne!(code, CLOUD_CODE, "a lapsed reservation's code is not used");
    assert_eq!(h.parcel(&parcel).await["state"], "stored");
    assert_eq!(h.enter_code(CLOUD_CODE).await.0, 401);
    h.stop().await;
}
