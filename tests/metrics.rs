//! `GET /metrics` read back with a Prometheus text-format parser, after real traffic: every
//! family the issue lists is there and counts what happened.

mod common;

use common::Harness;
use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue};
use serde_json::json;

type Scrape = MetricsExposition<OpenMetricsType, OpenMetricsValue>;

/// The metrics, through a strict OpenMetrics parser: a line it cannot read fails the test.
async fn scrape(h: &Harness) -> Scrape {
    let response = h
        .http
        .get(h.url("/metrics"))
        .bearer_auth(&h.operator)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .unwrap_or_else(|e| panic!("not OpenMetrics text ({e:?}):\n{text}"))
}

/// The value of the sample of family `name` whose labels include every pair of `labels`.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let family = scrape
        .families
        .get(name)
        .unwrap_or_else(|| panic!("no family {name}: {:?}", scrape.families.keys()));
    let sample = family
        .iter_samples()
        .find(|s| {
            let set = s.get_labelset().unwrap();
            labels
                .iter()
                .all(|(k, v)| set.get_label_value(k) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no {name} sample with {labels:?}"));
    match &sample.value {
        OpenMetricsValue::Counter(c) => c.value.as_f64(),
        OpenMetricsValue::Gauge(n) | OpenMetricsValue::Unknown(n) => n.as_f64(),
        other => panic!("{name} is not a number: {other:?}"),
    }
}

#[tokio::test]
async fn metrics_count_what_happened_and_parse_as_prometheus_text() {
    let h = Harness::start().await;
    let (status, _) = h.request("GET", "/metrics", None, None).await;
    assert_eq!(status, 401, "operators only unless api.metrics_public");

    let courier = h.courier_session("alice").await;
    let (collected, compartment, code) = h.deposit_stored(&courier, "M-1", "S").await;
    h.deposit_stored(&courier, "M-2", "M").await;
    assert_eq!(h.enter_code("000000").await.0, 401);
    assert_eq!(h.enter_code(&code).await.0, 200);
    h.door(&compartment, false).await;
    h.wait_for(
        &format!("/api/v1/parcels/{collected}"),
        "state",
        "collected",
    )
    .await;
    // A door pulled open by hand.
    h.door("D2", true).await;
    h.wait_for("/api/v1/compartments/D2", "door", "open").await;
    let path = "/api/v1/compartments/C2/disable";
    let (status, _) = h.post(path, &h.operator, json!({"reason": "test"})).await;
    assert_eq!(status, 200);
    h.get("/api/v1/no/such/route", &h.operator).await;

    let m = scrape(&h).await;
    let state = |s: &'static str| [("state", s)];
    assert_eq!(value(&m, "lockerd_compartments", &state("occupied")), 1.0);
    assert_eq!(value(&m, "lockerd_compartments", &state("disabled")), 1.0);
    assert_eq!(value(&m, "lockerd_compartments", &state("fault")), 0.0);
    assert_eq!(value(&m, "lockerd_parcels", &state("collected")), 1.0);
    assert_eq!(value(&m, "lockerd_parcels", &state("stored")), 1.0);
    assert_eq!(value(&m, "lockerd_keypad_failures", &[]), 1.0);
    assert_eq!(value(&m, "lockerd_keypad_lockouts", &[]), 0.0);
    assert_eq!(
        value(&m, "lockerd_door_events", &[("event", "forced")]),
        1.0
    );
    assert_eq!(
        value(&m, "lockerd_door_events", &[("event", "opened")]),
        3.0
    );
    let pickup = [("route", "/api/v1/pickup"), ("method", "POST")];
    let ok: Vec<(&str, &str)> = pickup.iter().copied().chain([("status", "200")]).collect();
    let refused: Vec<(&str, &str)> = pickup.iter().copied().chain([("status", "401")]).collect();
    assert_eq!(value(&m, "lockerd_http_requests", &ok), 1.0);
    assert_eq!(value(&m, "lockerd_http_requests", &refused), 1.0);
    let parcel_route = [("route", "/api/v1/parcels/{id}"), ("status", "200")];
    assert!(value(&m, "lockerd_http_requests", &parcel_route) >= 1.0);
    let unmatched = [("route", "unmatched"), ("status", "404")];
    assert_eq!(value(&m, "lockerd_http_requests", &unmatched), 1.0);
    let sim = [("bus", "sim")];
    assert_eq!(
        value(&m, "lockerd_latch_pulses", &sim),
        3.0,
        "two deposits, one pickup"
    );
    assert_eq!(value(&m, "lockerd_latch_failures", &sim), 0.0);
    let polls = m
        .families
        .get("lockerd_bus_request_duration_seconds")
        .and_then(|f| f.iter_samples().next().map(|s| s.value.clone()));
    match polls {
        Some(OpenMetricsValue::Histogram(h)) => assert!(h.count.unwrap_or(0) > 0, "{h:?}"),
        other => panic!("no bus request histogram: {other:?}"),
    }
    let unacked = value(&m, "lockerd_events_unacked", &[]);
    assert_eq!(unacked, h.events().await.len() as f64);
    assert_eq!(value(&m, "lockerd_events_last_seq", &[]), unacked);
    h.stop().await;
}
