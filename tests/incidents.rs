//! Incident reports carry the compartment's door history since the deposit, so an operator
//! can see whether the door opened in between (and why).

mod common;

use common::Harness;
use serde_json::{Value, json};

fn history(event: &Value) -> Vec<(String, String)> {
    event["data"]["door_history"]
        .as_array()
        .expect("door_history")
        .iter()
        .map(|e| {
            (
                e["door"].as_str().unwrap().to_owned(),
                e["cause"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_empty_compartment_report_shows_the_forced_opening_in_between() {
    let h = Harness::start().await;
    let courier = h.courier_session("alice").await;
    // Only A3 takes S parcels, so both parcels below go there.
    for id in ["A1", "A2", "A4"] {
        let path = format!("/api/v1/compartments/{id}/disable");
        let (status, _) = h.post(&path, &h.operator, json!({"reason": "test"})).await;
        assert_eq!(status, 200);
    }
    // An earlier parcel in the same compartment: its history is not this parcel's.
    let (_, first_compartment, first_code) = h.deposit_stored(&courier, "OLD-1", "S").await;
    assert_eq!(h.enter_code(&first_code).await.0, 200);
    h.door(&first_compartment, false).await;

    let (parcel, compartment, code) = h.deposit_stored(&courier, "INC-1", "S").await;
    // Someone pulls the door open without any request, then shuts it.
    h.door(&compartment, true).await;
    h.wait_for(
        &format!("/api/v1/compartments/{compartment}"),
        "door",
        "open",
    )
    .await;
    h.door(&compartment, false).await;
    h.wait_for(
        &format!("/api/v1/compartments/{compartment}"),
        "door",
        "closed",
    )
    .await;
    // The recipient opens it with the code and finds it empty.
    let (status, opened) = h.enter_code(&code).await;
    assert_eq!(status, 200, "{opened}");
    h.wait_for(
        &format!("/api/v1/compartments/{compartment}"),
        "door",
        "open",
    )
    .await;
    let (status, created) = h
        .post(
            "/api/v1/incidents",
            &h.kiosk,
            json!({"kind": "empty", "parcel_id": parcel, "note": "nothing inside"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();

    let events = h.events().await;
    let report = events
        .iter()
        .find(|e| e["type"] == "incident.reported")
        .expect("incident.reported");
    assert_eq!(report["data"]["incident_id"], id);
    assert_eq!(report["data"]["kind"], "empty");
    assert_eq!(report["data"]["compartment"], compartment.as_str());
    assert_eq!(report["data"]["tracking_id"], "INC-1");
    assert_eq!(report["data"]["reporter"], "kiosk:kiosk");
    let expected: Vec<(String, String)> = [
        ("open", "deposit"),
        ("closed", "deposit"),
        ("open", "forced"),
        ("closed", "forced"),
        ("open", "pickup"),
    ]
    .iter()
    .map(|(d, c)| (d.to_string(), c.to_string()))
    .collect();
    assert_eq!(compartment, first_compartment);
    assert_eq!(
        history(report),
        expected,
        "only since this parcel's deposit"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_report_names_what_exists_and_refuses_what_does_not() {
    let h = Harness::start().await;
    let (status, body) = h
        .post(
            "/api/v1/incidents",
            &h.kiosk,
            json!({"kind": "door_stuck", "compartment": "B2"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let events = h.events().await;
    let report = events.last().unwrap();
    assert_eq!(report["data"]["compartment"], "B2");
    assert_eq!(report["data"]["door_history"], json!([]));
    for (body, status, code) in [
        (
            json!({"kind": "empty", "parcel_id": "nope"}),
            404,
            "not_found",
        ),
        (
            json!({"kind": "empty", "compartment": "Z9"}),
            404,
            "not_found",
        ),
        (json!({"kind": "stolen"}), 400, "invalid_request"),
        (
            json!({"kind": "other", "note": "x".repeat(1001)}),
            400,
            "invalid_request",
        ),
    ] {
        let (got, answer) = h.post("/api/v1/incidents", &h.operator, body.clone()).await;
        assert_eq!(
            (got, &answer["error"]["code"]),
            (status, &json!(code)),
            "{body}"
        );
    }
    let (status, _) = h
        .post("/api/v1/incidents", &h.sync, json!({"kind": "other"}))
        .await;
    assert_eq!(status, 403);
    h.stop().await;
}
