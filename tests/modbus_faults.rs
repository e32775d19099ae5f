//! A Modbus bus that fails beside a simulated one: a unit that never answers, exception replies,
//! garbage frames, and a server that goes away and comes back on the same port.
//!
//! Each outage must end the same documented way: `/healthz` degraded naming the bus with its
//! last error, `bus.down` then `bus.up` in the event feed, the bus's compartments unavailable
//! (never assigned, a pickup from them answers `503 hardware_unavailable` and keeps the code)
//! but never `fault`, the other bus working throughout, and everything back without an
//! operator once the bus answers again.

mod common;
#[path = "common/modbus.rs"]
mod modbus_locker;

use std::time::Duration;

use lockerd_hal::modbus::emulator::{Board, ExceptionCode, Fault, TcpServer};
use modbus_locker::{BUS, Layout, Locker, OnBoard, bus_health, coil_writes};
use serde_json::Value;

/// Small compartments on the simulated bus, large ones on the Modbus boards: a large parcel
/// fits only on the Modbus bus.
fn layout() -> Layout {
    let c = |id, size, n| OnBoard::wired(id, size, 1, n);
    Layout {
        profile: "generic",
        pulse: "50ms",
        max_pulse: "300ms",
        // Short, so that a silent unit stalls the controller briefly.
        timeout: "200ms",
        open_timeout: "5s",
        poll: Duration::from_millis(20),
        modbus: vec![c("N1", "L", 0), c("N2", "XL", 1)],
        sim: vec![("S1", "S"), ("S2", "S")],
    }
}

/// How the Modbus bus fails.
#[derive(Debug, Clone, Copy)]
enum Outage {
    /// Unit 1 never answers.
    Silent,
    /// Unit 1 refuses every request.
    Exception,
    /// Every answer is garbage on the wire.
    Garbage,
    /// The server goes away (its connections closed, its port refusing).
    ServerGone,
}

impl Outage {
    async fn begin(self, locker: &mut Locker) {
        let board = &locker.board;
        match self {
            Outage::Silent => board.inject(Fault::Silent, usize::MAX, |unit, _| unit == 1),
            Outage::Exception => {
                let refusal = Fault::Exception(ExceptionCode::ServerDeviceFailure);
                board.inject(refusal, usize::MAX, |unit, _| unit == 1);
            }
            Outage::Garbage => board.inject(Fault::Garbage, usize::MAX, |_, _| true),
            Outage::ServerGone => locker.server.take().expect("serving").stop().await,
        }
    }

    async fn end(self, locker: &mut Locker) {
        match self {
            Outage::ServerGone => {
                let server = TcpServer::start_on(locker.addr, locker.board.clone()).await;
                locker.server = Some(server.expect("serve again on the same port"));
            }
            _ => locker.board.clear_faults(),
        }
    }

    /// What `/healthz` says about the bus while it is down: one of these.
    fn error_mentions(self) -> &'static [&'static str] {
        match self {
            Outage::Silent => &["unit 1: read 2 inputs from 0: no answer within 200ms"],
            Outage::Exception => &["unit 1: read 2 inputs from 0: exception 0x04"],
            Outage::Garbage => &["unit 1: read 2 inputs from 0: "],
            // The connection found closed, or the port found refusing.
            Outage::ServerGone => &["unit 1: read 2 inputs from 0: ", "connect to 127.0.0.1:"],
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_that_never_answers() {
    outage_and_recovery(Outage::Silent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exception_replies() {
    outage_and_recovery(Outage::Exception).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_frames() {
    outage_and_recovery(Outage::Garbage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_away_and_comes_back() {
    outage_and_recovery(Outage::ServerGone).await;
}

async fn outage_and_recovery(outage: Outage) {
    let mut locker = Locker::start(layout(), Board::new(&[1])).await;
    let courier = locker.courier_session("alice").await;
    let (parcel, compartment, code) = locker.deposit_stored(&courier, "NET-1", "L").await;
    assert_eq!(compartment, "N1");

    outage.begin(&mut locker).await;
    let health = locker.wait_bus_ok(false).await;
    assert_eq!(health["status"], "degraded", "{health}");
    let error = bus_health(&health, BUS)["last_error"]
        .as_str()
        .unwrap_or("");
    assert!(
        outage.error_mentions().iter().any(|m| error.contains(m)),
        "{outage:?}: last_error {error:?}"
    );
    assert_eq!(bus_health(&health, "sim")["ok"], true, "{health}");

    unavailable_while_down(&locker, &courier, &parcel, &code).await;
    sim_bus_works(&locker, &courier).await;
    no_fault(&locker, &locker.events().await).await;

    outage.end(&mut locker).await;
    let health = locker.wait_bus_ok(true).await;
    assert_eq!(health["status"], "ok", "{health}");

    let events = locker.events().await;
    let position = |kind: &str| {
        events
            .iter()
            .position(|e| e["type"] == kind && e["data"]["bus"] == BUS)
            .unwrap_or_else(|| panic!("{outage:?}: no {kind} for {BUS} in {events:#?}"))
    };
    let (down, up) = (position("bus.down"), position("bus.up"));
    assert!(down < up, "{outage:?}: bus.down after bus.up");
    assert!(
        events[down]["data"]["error"].is_string(),
        "{}",
        events[down]
    );
    no_fault(&locker, &events).await;

    // The code kept through the outage opens the compartment now, with one pulse.
    let from = locker.board.log().len();
    assert_eq!(locker.pickup(&code).await, parcel);
    let writes = coil_writes(&locker.board.log()[from..]);
    assert_eq!(writes, [(1, 0, true), (1, 0, false)], "{outage:?}");
    locker.stop().await;
}

/// Nothing on the Modbus bus is assigned or opened while it is down, and the code survives.
async fn unavailable_while_down(locker: &Locker, courier: &str, parcel: &str, code: &str) {
    let pulses_before = coil_writes(&locker.board.log()).len();
    let (status, body) = locker.deposit(courier, "NET-2", "L").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("hardware_unavailable")),
        "deposit: {body}"
    );
    let (status, body) = locker.enter_code(code).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("hardware_unavailable")),
        "pickup: {body}"
    );
    let parcel = locker
        .get(&format!("/api/v1/parcels/{parcel}"), &locker.operator)
        .await
        .1;
    assert_eq!(parcel["state"], "stored", "{parcel}");
    let pulses_after = coil_writes(&locker.board.log()).len();
    assert_eq!(
        pulses_after, pulses_before,
        "no latch of the bus was pulsed"
    );
}

/// A deposit and its pickup on the simulated bus, whose latches pop their doors.
async fn sim_bus_works(locker: &Locker, courier: &str) {
    let (status, body) = locker.deposit(courier, "SIM-1", "S").await;
    assert_eq!(
        status, 201,
        "sim deposit while the Modbus bus is down: {body}"
    );
    let parcel = body["parcel_id"].as_str().expect("parcel").to_owned();
    let compartment = body["compartment"]["id"].as_str().expect("compartment");
    assert!(compartment.starts_with('S'), "{body}");
    locker.door(compartment, false).await;
    let code = locker.confirm_once_closed(courier, &parcel).await;

    let (status, body) = locker.enter_code(&code).await;
    assert_eq!(
        status, 200,
        "sim pickup while the Modbus bus is down: {body}"
    );
    locker.door(compartment, false).await;
    let parcel_path = format!("/api/v1/parcels/{parcel}");
    locker.wait_for(&parcel_path, "state", "collected").await;
}

/// A bus outage is not the compartments' fault.
async fn no_fault(locker: &Locker, events: &[Value]) {
    let faulted: Vec<_> = locker
        .compartments()
        .await
        .into_iter()
        .filter(|c| c["state"] == "fault")
        .collect();
    assert!(faulted.is_empty(), "{faulted:?}");
    let fault_events = events.iter().filter(|e| e["type"] == "compartment.fault");
    assert_eq!(fault_events.count(), 0, "{events:#?}");
}
