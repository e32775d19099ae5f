//! A bus that stops answering: its compartments are unavailable (never assigned; a pickup
//! answers 503 and the code stays valid), `/healthz` is degraded, the cloud hears of it, and
//! when the bus answers again everything comes back without an operator.

mod common;

use common::Harness;
use lockerd_hal::ErrorKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_that_goes_down_makes_its_compartments_unavailable_until_it_returns() {
    let h = Harness::start().await;
    let courier = h.courier_session("alice").await;
    let (parcel, compartment, code) = h.deposit_stored(&courier, "BD-1", "S").await;

    h.sim().set_bus_failure(Some(ErrorKind::Timeout));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let health = loop {
        let (status, health) = h.request("GET", "/healthz", None, None).await;
        if health["status"] == "degraded" {
            assert_eq!(status, 200, "degraded, not down: the database works");
            break health;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never degraded: {health}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(health["buses"][0]["ok"], false);
    assert!(health["buses"][0]["last_error"].is_string(), "{health}");

    // Nothing is assigned or pulsed, nothing is marked faulty, the code survives.
    let pulses = h.sim().pulses().len();
    let (status, body) = h.enter_code(&code).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("hardware_unavailable"))
    );
    let (status, body) = h.deposit(&courier, "BD-2", "S").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("hardware_unavailable")),
        "{body}"
    );
    assert_eq!(h.sim().pulses().len(), pulses);
    assert_eq!(h.parcel(&parcel).await["state"], "stored");
    let shown = h.compartment(&compartment).await;
    assert_ne!(shown["state"], "fault");
    assert_eq!(
        (shown["available"].as_bool(), shown["door"].as_str()),
        (Some(false), Some("unknown"))
    );

    // Back: available again without an operator, and the same code works.
    h.sim().set_bus_failure(None);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, health) = h.request("GET", "/healthz", None, None).await;
        if health["status"] == "ok" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never recovered: {health}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (status, body) = h.enter_code(&code).await;
    assert_eq!(status, 200, "{body}");
    let types = h.event_types().await;
    let down = types
        .iter()
        .position(|t| t == "bus.down")
        .expect("bus.down published");
    let up = types
        .iter()
        .position(|t| t == "bus.up")
        .expect("bus.up published");
    assert!(down < up, "{types:?}");
    assert!(
        !types.contains(&"compartment.fault".to_owned()),
        "{types:?}"
    );
}
