//! The spine of lockerd over HTTP: a courier deposits, a recipient collects.

mod common;

use common::Harness;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courier_deposits_and_recipient_collects() {
    let h = Harness::start().await;
    let courier = h.courier_session("alice").await;

    // Smallest fitting compartment, non-accessible before accessible: an M parcel goes to B2.
    let (status, deposit) = h.deposit(&courier, "TRK-1", "M").await;
    assert_eq!(status, 201, "{deposit}");
    assert_eq!(deposit["compartment"], json!({"id": "B2", "size": "M"}));
    assert_eq!(deposit["state"], "opening");
    let parcel = deposit["parcel_id"].as_str().unwrap().to_owned();
    let pulses = h.sim().pulses();
    assert_eq!(pulses.len(), 1, "one pulse opens one latch");
    assert_eq!(pulses[0].channel, Harness::channel("B2"));
    assert_eq!(h.parcel(&parcel).await["state"], "open");
    assert_eq!(h.compartment("B2").await["state"], "open");

    // Door closed, then confirmed: stored, code published to the cloud.
    h.door("B2", false).await;
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
        .await;
    let (status, stored) = h.confirm(&courier, &parcel).await;
    assert_eq!(
        (status, stored["state"].as_str()),
        (200, Some("stored")),
        "{stored}"
    );
    assert_eq!(h.compartment("B2").await["state"], "occupied");
    let code = h.code_of(&parcel).await;
    assert_eq!(code.len(), 6);

    // The recipient's code opens B2 and only B2.
    let (status, pickup) = h.enter_code(&code).await;
    assert_eq!(status, 200, "{pickup}");
    assert_eq!(
        pickup,
        json!({
            "parcel_id": parcel,
            "compartment": {"id": "B2"},
            "opened": [{"parcel_id": parcel, "compartment": {"id": "B2"}}],
        })
    );
    let pulses = h.sim().pulses();
    assert_eq!(pulses.len(), 2);
    assert_eq!(pulses[1].channel, Harness::channel("B2"));
    assert_eq!(
        h.parcel(&parcel).await["state"],
        "stored",
        "collected only once the door closes"
    );

    h.door("B2", false).await;
    let collected = h
        .wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "collected")
        .await;
    assert!(collected["collected_at"].is_string(), "{collected}");
    assert_eq!(h.compartment("B2").await["state"], "free");

    // The same code never opens anything again.
    let (status, body) = h.enter_code(&code).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_code"))
    );
    assert_eq!(h.sim().pulses().len(), 2, "no latch fired for a used code");

    // The audit log's head, published at start (README, Security), aside.
    let mut types = h.event_types().await;
    types.retain(|t| t != "audit.head");
    assert_eq!(
        types,
        ["parcel.opening", "parcel.stored", "parcel.collected"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposit_errors_are_the_api_codes() {
    let h = Harness::start().await;
    let courier = h.courier_session("bob").await;
    let (status, _) = h.deposit(&courier, "DUP", "XL").await;
    assert_eq!(status, 201);
    let (status, body) = h.deposit(&courier, "DUP", "S").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("duplicate_tracking_id"))
    );
    // D1 holds DUP; D2 takes the next XL; a third XL has nowhere to go.
    let (status, _) = h.deposit(&courier, "X2", "XL").await;
    assert_eq!(status, 201);
    let (status, body) = h.deposit(&courier, "X3", "XL").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("no_compartment_available"))
    );
    let (status, body) = h.deposit(&courier, "X4", "XXL").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
    assert!(
        body["error"]["message"].as_str().unwrap().contains("size"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parcel_that_does_not_fit_moves_to_a_bigger_compartment() {
    let h = Harness::start().await;
    let courier = h.courier_session("carol").await;
    let (_, deposit) = h.deposit(&courier, "BIG", "S").await;
    let parcel = deposit["parcel_id"].as_str().unwrap().to_owned();
    assert_eq!(deposit["compartment"]["id"], "A3");
    let (status, moved) = h.resize(&courier, &parcel, "L").await;
    assert_eq!(status, 201, "{moved}");
    assert_eq!(moved["compartment"], json!({"id": "C1", "size": "L"}));
    // The old door is still open and empty: free once it closes.
    h.door("A3", false).await;
    h.wait_for("/api/v1/compartments/A3", "state", "free").await;
    h.door("C1", false).await;
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
        .await;
    assert_eq!(h.compartment("C1").await["parcel_id"], parcel);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_deposit_frees_its_compartment_when_the_door_closes() {
    let h = Harness::start().await;
    let courier = h.courier_session("dave").await;
    let (_, deposit) = h.deposit(&courier, "C-1", "M").await;
    let parcel = deposit["parcel_id"].as_str().unwrap().to_owned();
    h.door("B2", false).await;
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
        .await;
    let (status, _) = h.cancel(&courier, &parcel).await;
    assert_eq!(status, 202);
    // The compartment reopens for the courier to take the parcel back.
    h.wait_for("/api/v1/compartments/B2", "door", "open").await;
    h.door("B2", false).await;
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "cancelled")
        .await;
    h.wait_for("/api/v1/compartments/B2", "state", "free").await;
    assert!(
        h.event_types()
            .await
            .contains(&"parcel.cancelled".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_deposits_are_stored_on_logout_and_after_the_grace_period() {
    let h = Harness::start().await;
    let courier = h.courier_session("erin").await;
    let (_, a) = h.deposit(&courier, "G-1", "S").await;
    let a = a["parcel_id"].as_str().unwrap().to_owned();
    h.door("A3", false).await;
    h.wait_for(&format!("/api/v1/parcels/{a}"), "state", "closed")
        .await;
    h.clock.advance(std::time::Duration::from_secs(121));
    h.running().locker.tick().await.unwrap();
    assert_eq!(
        h.parcel(&a).await["state"],
        "stored",
        "stored after deposit_grace"
    );

    let (_, b) = h.deposit(&courier, "G-2", "S").await;
    let b = b["parcel_id"].as_str().unwrap().to_owned();
    h.door("A4", false).await;
    h.wait_for(&format!("/api/v1/parcels/{b}"), "state", "closed")
        .await;
    let (status, _) = h.post("/api/v1/courier/logout", &courier, json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(h.parcel(&b).await["state"], "stored", "stored on logout");
    let (status, _) = h.deposit(&courier, "G-3", "S").await;
    assert_eq!(status, 401, "the session ended with the logout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_parcels_expire_and_their_code_dies() {
    let h = Harness::start().await;
    let secret = h.new_courier("fay").await;
    let courier = h.login("fay", &secret).await;
    let (parcel, _, code) = h.deposit_stored(&courier, "EXP-1", "S").await;
    h.clock
        .advance(std::time::Duration::from_secs(72 * 3600 + 1));
    h.running().locker.tick().await.unwrap();
    let courier = h.login("fay", &secret).await;
    let (_, feed) = h.get("/api/v1/sync/events?after=0", &h.sync).await;
    let mut last = feed["events"].as_array().unwrap().iter().rev();
    // The tick also published the audit log's head, which has moved since the start.
    let last = last.find(|e| e["type"] != "audit.head").unwrap();
    assert_eq!(last["type"], "parcel.expired");
    assert_eq!(h.parcel(&parcel).await["state"], "expired");
    let (status, _) = h.enter_code(&code).await;
    assert_eq!(status, 401);
    let (status, returns) = h.get("/api/v1/courier/returns", &courier).await;
    assert_eq!(status, 200);
    assert_eq!(returns["parcels"][0]["id"], parcel);
}
