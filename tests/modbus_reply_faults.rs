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

use lockerd_hal::modbus::emulator::Board;
use lockerd_hal::modbus::emulator::proxy::Mode;
use modbus_locker::{Layout, Locker, OnBoard, coil_writes};

/// Two compartments on unit 1, doors that spring open. The poll is slower than the latch's
/// cooldown, as with the defaults' 250 ms poll and a short cooldown: a retry is due before a
/// door that opened has been read open twice.
fn layout() -> Layout {
    let c = |id, n| OnBoard {
        id,
        size: "M",
        unit: 1,
        coil: n,
        input: n,
    };
    Layout {
        profile: "generic",
        pulse: "50ms",
        max_pulse: "300ms",
        timeout: "200ms",
        open_timeout: "5s",
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
    coil_writes(&locker.board.log()[from..])
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
