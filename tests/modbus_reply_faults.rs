//! Replies that go wrong on their way back from boards that did what they were asked: the
//! daemon behind the emulator's fault-injecting proxy, one fault at a time, each where it
//! does the most harm.
//!
//! The boards' doors spring open when their latch releases, so a coil-on write that reached a
//! board opened its door whether or not the daemon heard back. What is checked is what the
//! recipient and the operator see (the pickup's answer, the parcel's state, the compartment's
//! state) and what went over the wire (the coil writes the boards received).

mod common;
#[path = "common/modbus.rs"]
mod modbus_locker;

use std::time::Duration;

use lockerd_hal::modbus::emulator::proxy::{Corruption, Mode, Sent};
use lockerd_hal::modbus::emulator::{Board, Logged};
use modbus_locker::{Layout, Locker, OnBoard, coil_writes};

/// Two compartments on unit 1, doors that spring open. The poll is slower than the latch's
/// cooldown, as with the defaults' 250 ms poll and a short cooldown: a retry is due before a
/// door that opened has been read open twice.
fn layout() -> Layout {
    let c = |id, n| OnBoard::wired(id, "M", 1, n);
    Layout {
        profile: "generic",
        pulse: "50ms",
        max_pulse: "300ms",
        timeout: "200ms",
        // Short: a door that does not open costs two of them.
        open_timeout: "1s",
        poll: Duration::from_millis(100),
        modbus: vec![c("N1", 0), c("N2", 1)],
        sim: vec![],
    }
}

async fn start() -> Locker {
    let board = Board::new(&[1]);
    for c in layout().modbus {
        board.spring_door(c.unit, c.coil, c.input, true);
    }
    Locker::start_through_proxy(layout(), board).await
}

/// The coil-on writes the boards received from log entry `from` on, as `(unit, coil)`.
fn ons(locker: &Locker, from: usize) -> Vec<(u8, u16)> {
    ons_in(&locker.board.log()[from..])
}

fn ons_in(log: &[Logged]) -> Vec<(u8, u16)> {
    coil_writes(log)
        .into_iter()
        .filter(|&(_, _, on)| on)
        .map(|(unit, coil, _)| (unit, coil))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_the_on_write_opens_the_door_once() {
    let locker = start().await;
    let courier = locker.courier_session("alice").await;
    let (parcel, compartment, code) = locker.deposit_stored(&courier, "LOST-1", "M").await;
    let coil = locker.layout.compartment(&compartment).coil;
    locker.proxy().inject(Mode::Drop, 1, move |sent| {
        sent.coil_write() == Some((coil, true))
    });

    let from = locker.board.log().len();
    let (status, body) = locker.enter_code(&code).await;
    assert_eq!(status, 200, "the door opened: {body}");
    assert_eq!(body["compartment"]["id"], compartment.as_str());
    assert_eq!(
        ons(&locker, from),
        [(1, coil)],
        "one pulse: the board carried out the unanswered one"
    );
    assert_eq!(locker.proxy().tally()["dropped"], 1, "the fault hit");
    assert!(!locker.board.coil(1, coil), "the coil is off");

    locker.set_door(&compartment, false);
    let path = format!("/api/v1/parcels/{parcel}");
    locker.wait_for(&path, "state", "collected").await;
    locker.stop().await;
}

/// A door that did not open (its latch is jammed: no spring here) must not be taken for open on
/// one misread input, even when the read before it failed and left the door unknown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_misread_after_a_failed_read_does_not_open_a_jammed_door() {
    let board = Board::new(&[1]);
    let locker = Locker::start_through_proxy(layout(), board).await;
    let courier = locker.courier_session("alice").await;
    let (parcel, compartment, code) = locker.deposit_stored(&courier, "JAM-1", "M").await;
    let input = locker.layout.compartment(&compartment).input;

    let from = locker.board.log().len();
    let pickup = locker.spawn_post(
        "/api/v1/pickup",
        &locker.kiosk,
        serde_json::json!({"code": code}),
    );
    // The pulse is under way: the next door read is the one after it.
    locker.wait_log(from, |log| !ons_in(log).is_empty()).await;
    let reads = |sent: &Sent| sent.function == 0x02;
    let proxy = locker.proxy();
    proxy.inject(Mode::Drop, 1, reads);
    proxy.inject(Mode::Corrupt(Corruption::FlipBit(input)), 1, reads);

    let status = pickup.await.expect("task").expect("answered");
    assert_eq!(proxy.tally().values().sum::<usize>(), 2, "both faults hit");
    assert_eq!(status, 503, "the door never opened");
    let path = format!("/api/v1/parcels/{parcel}");
    let parcel = locker.get(&path, &locker.operator).await.1;
    assert_eq!(parcel["state"], "stored", "{parcel}");
    // The latch is jammed: that, and only that, is the compartment's fault.
    assert_eq!(locker.compartment(&compartment).await["state"], "fault");
    locker.stop().await;
}
