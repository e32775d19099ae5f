//! Requests racing each other: one code opens once, one compartment takes one parcel, one
//! latch fires at a time.

mod common;

use common::Harness;
use serde_json::json;
use std::collections::HashSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_code_typed_twice_at_once_opens_once() {
    let h = Harness::start().await;
    let courier = h.courier_session("alice").await;
    let (_, _, code) = h.deposit_stored(&courier, "CC-1", "S").await;
    let (a, b) = tokio::join!(h.enter_code(&code), h.enter_code(&code));
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 401]);
    assert_eq!(
        h.sim().pulses().len(),
        2,
        "one deposit pulse, one pickup pulse"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deposits_get_distinct_compartments_and_pulses_never_overlap() {
    let h = Harness::start().await;
    let couriers = [
        h.courier_session("a").await,
        h.courier_session("b").await,
        h.courier_session("c").await,
    ];
    let tracking_ids: Vec<String> = (0..couriers.len()).map(|i| format!("CD-{i}")).collect();
    let requests = couriers
        .iter()
        .zip(&tracking_ids)
        .map(|(token, tracking_id)| h.deposit(token, tracking_id, "S"));
    let answers = futures::future::join_all(requests).await;
    let compartments: HashSet<String> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 201, "{body}");
            body["compartment"]["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(compartments.len(), 3, "{compartments:?}");
    assert_eq!(h.sim().overlapping_pulses(), 0);
    let (_, all) = h.get("/api/v1/compartments", &h.operator).await;
    let holding: Vec<_> = all["compartments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["parcel_id"].is_string())
        .collect();
    assert_eq!(holding.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_courier_ends_its_sessions() {
    let h = Harness::start().await;
    let session = h.courier_session("gone").await;
    let (_, couriers) = h.get("/api/v1/couriers", &h.operator).await;
    let id = couriers["couriers"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = h
        .request(
            "DELETE",
            &format!("/api/v1/couriers/{id}"),
            Some(&h.operator),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = h.deposit(&session, "X", "S").await;
    assert_eq!(status, 401);
    let (_, couriers) = h.get("/api/v1/couriers", &h.operator).await;
    assert_eq!(couriers["couriers"], json!([]));
}
