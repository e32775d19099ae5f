//! Latches that do not open: retries, fault, and the deposit moving on.

mod common;

use common::Harness;
use lockerd_hal::sim::LatchFault;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jammed_latch_is_retried_marked_fault_and_the_deposit_moves_on() {
    let h = Harness::start().await;
    let courier = h.courier_session("alice").await;
    h.sim()
        .set_latch_fault(Harness::channel("B2"), LatchFault::Jammed)
        .unwrap();

    let (status, deposit) = h.deposit(&courier, "J-1", "M").await;
    assert_eq!(status, 201, "{deposit}");
    assert_eq!(
        deposit["compartment"]["id"], "B3",
        "the next fitting compartment"
    );
    let channels: Vec<usize> = h.sim().pulses().iter().map(|p| p.channel).collect();
    let b2 = Harness::channel("B2");
    assert_eq!(
        channels,
        [b2, b2, Harness::channel("B3")],
        "one pulse plus retries = 1, then B3"
    );
    assert_eq!(h.compartment("B2").await["state"], "fault");
    let parcel = h.parcel(deposit["parcel_id"].as_str().unwrap()).await;
    assert_eq!(
        (parcel["state"].as_str(), parcel["compartment"].as_str()),
        (Some("open"), Some("B3"))
    );
    assert!(
        h.event_types()
            .await
            .contains(&"compartment.fault".to_owned())
    );
    assert_eq!(h.sim().overlapping_pulses(), 0);

    // A faulty compartment is never assigned until an operator enables it.
    let (status, enabled) = h
        .post("/api/v1/compartments/B2/enable", &h.operator, json!({}))
        .await;
    assert_eq!((status, enabled["state"].as_str()), (200, Some("free")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fitting_compartment_faulty_is_hardware_unavailable() {
    let h = Harness::start().await;
    let courier = h.courier_session("bob").await;
    for id in ["D1", "D2"] {
        h.sim()
            .set_latch_fault(Harness::channel(id), LatchFault::Jammed)
            .unwrap();
    }
    let (status, body) = h.deposit(&courier, "XL-1", "XL").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("hardware_unavailable")),
        "{body}"
    );
    assert_eq!(h.compartment("D1").await["state"], "fault");
    assert_eq!(h.compartment("D2").await["state"], "fault");
    // The abandoned parcel is not left in the locker, so its tracking id may be used again.
    let (_, cancelled) = h.get("/api/v1/parcels?state=cancelled", &h.operator).await;
    assert_eq!(cancelled["parcels"][0]["tracking_id"], "XL-1");
    // Both XL compartments now faulty: still 503, and nothing is pulsed.
    let before = h.sim().pulses().len();
    let (status, _) = h.deposit(&courier, "XL-1", "XL").await;
    assert_eq!(status, 503);
    assert_eq!(h.sim().pulses().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pickup_whose_latch_fails_keeps_the_code_valid() {
    let h = Harness::start().await;
    let courier = h.courier_session("carol").await;
    let (parcel, compartment, code) = h.deposit_stored(&courier, "P-1", "S").await;
    let channel = Harness::channel(&compartment);
    h.sim()
        .set_latch_fault(channel, LatchFault::Jammed)
        .unwrap();
    let (status, body) = h.enter_code(&code).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("hardware_unavailable"))
    );
    assert_eq!(h.parcel(&parcel).await["state"], "stored");

    h.sim().set_latch_fault(channel, LatchFault::None).unwrap();
    let (status, body) = h.enter_code(&code).await;
    assert_eq!(status, 200, "the code stayed valid: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_door_opened_without_a_pulse_is_forced() {
    let h = Harness::start().await;
    let courier = h.courier_session("dan").await;
    let (parcel, compartment, _) = h.deposit_stored(&courier, "F-1", "S").await;
    h.sim()
        .set_door(Harness::channel(&compartment), true)
        .unwrap();
    h.wait_for(
        &format!("/api/v1/compartments/{compartment}"),
        "door",
        "open",
    )
    .await;
    let (_, feed) = h.get("/api/v1/sync/events?after=0", &h.sync).await;
    let forced = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "door.forced")
        .expect("door.forced");
    assert_eq!(forced["data"]["compartment"], compartment.as_str());
    assert_eq!(forced["data"]["parcel_id"], parcel.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resize_that_cannot_open_anything_bigger_keeps_the_parcel_where_it_was() {
    let h = Harness::start().await;
    let courier = h.courier_session("erin").await;
    let (_, deposit) = h.deposit(&courier, "RS-1", "S").await;
    let parcel = deposit["parcel_id"].as_str().unwrap().to_owned();
    assert_eq!(deposit["compartment"]["id"], "A3");
    for id in ["C1", "C2", "D1", "D2"] {
        h.sim()
            .set_latch_fault(Harness::channel(id), LatchFault::Jammed)
            .unwrap();
    }
    let (status, body) = h.resize(&courier, &parcel, "L").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("hardware_unavailable"))
    );
    // The courier still stands at A3 with the parcel: it stays a deposit in A3, never freed.
    let p = h.parcel(&parcel).await;
    assert_eq!(
        (p["state"].as_str(), p["compartment"].as_str()),
        (Some("open"), Some("A3"))
    );
    assert_eq!(h.compartment("A3").await["parcel_id"], parcel.as_str());
    h.door("A3", false).await;
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
        .await;
    assert_eq!(h.compartment("A3").await["state"], "occupied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pickup_during_a_maintenance_opening_is_unavailable_and_keeps_the_code() {
    let h = Harness::start().await;
    let courier = h.courier_session("fay").await;
    let (_, compartment, code) = h.deposit_stored(&courier, "M-1", "S").await;
    let channel = Harness::channel(&compartment);
    // A jammed latch keeps the maintenance opening in progress while the recipient comes.
    h.sim()
        .set_latch_fault(channel, LatchFault::Jammed)
        .unwrap();
    let (status, _) = h
        .post(
            &format!("/api/v1/compartments/{compartment}/open"),
            &h.operator,
            json!({"reason": "check latch"}),
        )
        .await;
    assert_eq!(status, 202);
    let (status, body) = h.enter_code(&code).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("hardware_unavailable"))
    );
    h.wait_for(
        &format!("/api/v1/compartments/{compartment}"),
        "state",
        "fault",
    )
    .await;
    h.sim().set_latch_fault(channel, LatchFault::None).unwrap();
    h.post(
        &format!("/api/v1/compartments/{compartment}/enable"),
        &h.operator,
        json!({}),
    )
    .await;
    assert_eq!(h.enter_code(&code).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compartment_under_maintenance_is_not_assigned() {
    let h = Harness::start().await;
    let courier = h.courier_session("gus").await;
    // B2, the first choice for an M parcel, is being opened for maintenance (jammed: it stays so).
    h.sim()
        .set_latch_fault(Harness::channel("B2"), LatchFault::Jammed)
        .unwrap();
    let (status, _) = h
        .post(
            "/api/v1/compartments/B2/open",
            &h.operator,
            json!({"reason": "inspect"}),
        )
        .await;
    assert_eq!(status, 202);
    let (status, deposit) = h.deposit(&courier, "MB-1", "M").await;
    assert_eq!(status, 201, "{deposit}");
    assert_eq!(deposit["compartment"]["id"], "B3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_resize_whose_old_door_was_closed_cancels_and_inspects() {
    let h = Harness::start().await;
    let courier = h.courier_session("jo").await;
    let (_, deposit) = h.deposit(&courier, "RC-1", "S").await;
    let parcel = deposit["parcel_id"].as_str().unwrap().to_owned();
    for id in ["C1", "C2", "D1", "D2"] {
        h.sim()
            .set_latch_fault(Harness::channel(id), LatchFault::Jammed)
            .unwrap();
    }
    let resize = h.spawn_post(
        &format!("/api/v1/deposits/{parcel}/resize"),
        &courier,
        json!({"size": "L"}),
    );
    // While the bigger compartments are tried, the courier shuts the old door.
    h.wait_for_pulses(2, "resize pulse").await;
    h.door("A3", false).await;
    assert_eq!(resize.await.unwrap().unwrap(), 503);
    assert_eq!(h.parcel(&parcel).await["state"], "cancelled");
    assert_eq!(
        h.compartment("A3").await["state"],
        "disabled",
        "looked into before reuse"
    );
    assert!(!h.event_types().await.contains(&"parcel.stored".to_owned()));
}

/// Found by the body properties: disabling or enabling a compartment while an opening of it is
/// in progress answers `409 compartment_busy`, which the OpenAPI document did not list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compartment_being_opened_cannot_be_disabled_and_the_document_says_so() {
    // A jammed latch with a long open timeout: the opening stays in progress for seconds.
    let h = Harness::start_config(Duration::from_secs(5), |dir| {
        common::config_text(dir, "").replace("open_timeout = \"200ms\"", "open_timeout = \"10s\"")
    })
    .await;
    h.sim()
        .set_latch_fault(Harness::channel("B2"), LatchFault::Jammed)
        .unwrap();
    let reason = json!({"reason": "inspect"});
    let (status, _) = h
        .post("/api/v1/compartments/B2/open", &h.operator, reason.clone())
        .await;
    assert_eq!(status, 202);
    let doc = serde_json::to_value(lockerd::http::openapi(true)).unwrap();
    for action in ["disable", "enable"] {
        let path = format!("/api/v1/compartments/B2/{action}");
        let (status, body) = h.post(&path, &h.operator, reason.clone()).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("compartment_busy")),
            "{action}: {body}"
        );
        let route = format!("/api/v1/compartments/{{id}}/{action}");
        let documented = doc["paths"][&route]["post"]["responses"]["409"]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(
            documented.contains("`compartment_busy`"),
            "{action}: {documented:?}"
        );
    }
}
