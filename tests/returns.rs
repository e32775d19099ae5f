//! The end of a parcel nobody collected: expiry, the courier's return, and an operator's
//! extension (before or after expiry).

mod common;

use common::Harness;
use serde_json::json;
use std::time::Duration;

const DWELL: Duration = Duration::from_secs(72 * 3600);

#[tokio::test]
async fn an_expired_parcel_goes_back_with_its_courier() {
    let h = Harness::start().await;
    let secret = h.new_courier("gus").await;
    let courier = h.login("gus", &secret).await;
    let (parcel, compartment, code) = h.deposit_stored(&courier, "RET-1", "M").await;
    h.clock.advance(DWELL + Duration::from_secs(1));
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "expired")
        .await;
    assert_eq!(h.enter_code(&code).await.0, 401, "an expired code is dead");

    // Another courier sees none of gus's returns.
    let other = h.courier_session("hal").await;
    let (_, theirs) = h.get("/api/v1/courier/returns", &other).await;
    assert_eq!(theirs["parcels"], json!([]));
    let path = format!("/api/v1/courier/returns/{parcel}/open");
    assert_eq!(h.post(&path, &other, json!({})).await.0, 404);

    let courier = h.login("gus", &secret).await;
    let (status, returns) = h.get("/api/v1/courier/returns", &courier).await;
    assert_eq!(status, 200, "{returns}");
    assert_eq!(returns["parcels"][0]["id"], parcel.as_str());
    let (status, body) = h.post(&path, &courier, json!({})).await;
    assert_eq!(status, 202, "{body}");
    h.wait_for(
        &format!("/api/v1/compartments/{compartment}"),
        "door",
        "open",
    )
    .await;
    assert_eq!(
        h.parcel(&parcel).await["state"],
        "expired",
        "not yet: the door is open"
    );
    h.door(&compartment, false).await;
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "returned")
        .await;
    let freed = h
        .wait_for(
            &format!("/api/v1/compartments/{compartment}"),
            "state",
            "free",
        )
        .await;
    assert_eq!(freed["parcel_id"], json!(null));
    let types = h.event_types().await;
    let tail: Vec<&str> = types.iter().rev().take(2).map(String::as_str).collect();
    assert!(tail.contains(&"parcel.returned"), "{types:?}");
    let (_, returns) = h.get("/api/v1/courier/returns", &courier).await;
    assert_eq!(returns["parcels"], json!([]));
    h.stop().await;
}

#[tokio::test]
async fn extending_before_expiry_keeps_the_code_and_after_expiry_gives_a_new_one() {
    let h = Harness::start().await;
    let courier = h.courier_session("ivy").await;
    let (early, _, early_code) = h.deposit_stored(&courier, "EXT-1", "S").await;
    let (late, _, late_code) = h.deposit_stored(&courier, "EXT-2", "S").await;

    // Before expiry: the same code, a later expiry.
    let now = h.running().locker.now();
    let until = now.plus(DWELL * 2).to_rfc3339();
    let path = format!("/api/v1/parcels/{early}/extend");
    let (status, extended) = h.post(&path, &h.operator, json!({"until": until})).await;
    assert_eq!(status, 200, "{extended}");
    assert_eq!(extended["state"], "stored");

    h.clock.advance(DWELL + Duration::from_secs(1));
    h.wait_for(&format!("/api/v1/parcels/{late}"), "state", "expired")
        .await;
    assert_eq!(
        h.parcel(&early).await["state"],
        "stored",
        "extended: not expired"
    );

    // After expiry: stored again, with a new code published; the old one stays dead.
    let until = h.running().locker.now().plus(DWELL).to_rfc3339();
    let path = format!("/api/v1/parcels/{late}/extend");
    let (status, revived) = h.post(&path, &h.operator, json!({"until": until})).await;
    assert_eq!(status, 200, "{revived}");
    assert_eq!(revived["state"], "stored");
    let new_code = h.code_of(&late).await;
    assert_ne!(new_code, late_code);
    assert_eq!(
        h.enter_code(&late_code).await.0,
        401,
        "the old code opens nothing"
    );
    let (status, opened) = h.enter_code(&new_code).await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!(opened["parcel_id"], late.as_str());
    let (status, opened) = h.enter_code(&early_code).await;
    assert_eq!((status, &opened["parcel_id"]), (200, &json!(early)));

    // An extension into the past, or of an unknown parcel, is refused.
    let past = json!({"until": "2000-01-01T00:00:00Z"});
    let (status, body) = h
        .post(
            &format!("/api/v1/parcels/{early}/extend"),
            &h.operator,
            past,
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("invalid_request"))
    );
    let until = json!({"until": "2099-01-01T00:00:00Z"});
    assert_eq!(
        h.post("/api/v1/parcels/nope/extend", &h.operator, until)
            .await
            .0,
        404
    );
    h.stop().await;
}
