//! The daemon on emulated Modbus TCP relay boards, driven over HTTP: the exact requests the
//! boards receive at start, for a deposit and a pickup on each board profile, and for door
//! polling.
//!
//! Real sockets run on real time, so pulses take their real duration and timing checks leave
//! room for a busy machine; waiting is always for a state, never a fixed sleep.

mod common;
#[path = "common/modbus.rs"]
mod modbus_locker;

use std::time::Duration;

use lockerd_hal::modbus::emulator::{Board, Logged, Request};
use modbus_locker::{Layout, Locker, OnBoard, coil_writes};

const PULSE: Duration = Duration::from_millis(50);
const MAX_PULSE: Duration = Duration::from_millis(300);
const POLL: Duration = Duration::from_millis(20);

/// Unit 1: three doors; unit 2: two. Each compartment's door input has its latch's number.
fn compartments() -> Vec<OnBoard> {
    let c = OnBoard::wired;
    vec![
        c("A1", "S", 1, 0),
        c("A2", "S", 1, 1),
        c("A3", "M", 1, 2),
        c("B1", "L", 2, 0),
        c("B2", "XL", 2, 1),
    ]
}

fn layout(profile: &'static str) -> Layout {
    Layout {
        profile,
        pulse: "50ms",
        max_pulse: "300ms",
        timeout: "500ms",
        open_timeout: "5s",
        poll: POLL,
        modbus: compartments(),
        sim: vec![],
    }
}

/// Relays left on, as a daemon killed mid-pulse would leave them.
fn energized_boards() -> Board {
    let board = Board::new(&[1, 2]);
    board.set_coil(1, 1, true);
    board.set_coil(2, 0, true);
    board
}

fn off(unit: u8, coil: u16) -> (u8, Request<'static>) {
    (unit, Request::WriteSingleCoil(coil, false))
}

/// The requests up to the first door read: what touched the bus before anything else did.
fn before_first_read(board: &Board) -> Vec<(u8, Request<'static>)> {
    let requests = board.requests();
    let first_read = requests
        .iter()
        .position(|(_, r)| matches!(r, Request::ReadDiscreteInputs(..)))
        .expect("the doors were read at start");
    requests[..first_read].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waveshare_start_switches_every_relay_off_through_coil_00ff_first() {
    let board = energized_boards();
    let locker = Locker::start(layout("waveshare"), board.clone()).await;

    assert_eq!(before_first_read(&board), [off(1, 0xFF), off(2, 0xFF)]);
    assert!(!board.coil(1, 1) && !board.coil(2, 0), "every relay is off");
    locker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_start_writes_off_to_every_configured_coil_first() {
    let board = energized_boards();
    let locker = Locker::start(layout("generic"), board.clone()).await;

    let expected = [off(1, 0), off(1, 1), off(1, 2), off(2, 0), off(2, 1)];
    assert_eq!(before_first_read(&board), expected);
    assert!(!board.coil(1, 1) && !board.coil(2, 0), "every relay is off");
    locker.stop().await;
}

/// The only coil writes in `log` are one pulse of `compartment`'s latch: on, then off within
/// `latch.max_pulse`.
fn assert_one_pulse(locker: &Locker, log: &[Logged], id: &str) {
    let c = locker.layout.compartment(id);
    let writes = coil_writes(log);
    assert_eq!(
        writes,
        [(c.unit, c.coil, true), (c.unit, c.coil, false)],
        "one pulse of {id}'s latch"
    );
    let at = |on| {
        log.iter()
            .find(|l| l.request == Request::WriteSingleCoil(c.coil, on))
            .expect("logged")
            .at
    };
    let energized = at(false) - at(true);
    assert!(
        energized <= MAX_PULSE && energized >= PULSE / 2,
        "{id} energized for {energized:?}: pulse {PULSE:?}, max {MAX_PULSE:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_and_a_pickup_each_pulse_their_coil_once_within_max_pulse() {
    let board = Board::new(&[1, 2]);
    let locker = Locker::start(layout("waveshare"), board.clone()).await;
    let courier = locker.courier_session("alice").await;

    let from = board.log().len();
    let (parcel, compartment, code) = locker.deposit_stored(&courier, "MB-1", "M").await;
    assert_eq!(compartment, "A3", "the smallest compartment that fits");
    assert_one_pulse(&locker, &board.log()[from..], &compartment);
    let (_, a3) = locker
        .get("/api/v1/compartments/A3", &locker.operator)
        .await;
    assert_eq!(a3["state"], "occupied", "{a3}");

    let from = board.log().len();
    assert_eq!(locker.pickup(&code).await, parcel);
    assert_one_pulse(&locker, &board.log()[from..], &compartment);

    let (_, body) = locker.enter_code(&code).await;
    assert_eq!(body["error"]["code"], "invalid_code", "a code opens once");
    locker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eletechsup_deposit_is_one_board_timed_fc06_pulse() {
    let board = Board::new(&[1, 2]);
    let layout = Layout {
        pulse: "1s",
        max_pulse: "1500ms",
        ..layout("eletechsup")
    };
    let locker = Locker::start(layout, board.clone()).await;
    // All-off on these boards is FC06 0x0200 to each configured channel (1-based).
    let all_off: Vec<_> = compartments()
        .iter()
        .map(|c| (c.unit, Request::WriteSingleRegister(c.coil + 1, 0x0200)))
        .collect();
    assert_eq!(before_first_read(&board), all_off);
    let courier = locker.courier_session("alice").await;

    let from = board.log().len();
    let (_, compartment, _) = locker.deposit_stored(&courier, "MB-2", "L").await;

    assert_eq!(compartment, "B1");
    let writes: Vec<_> = board.requests()[from..]
        .iter()
        .filter(|(_, r)| !matches!(r, Request::ReadDiscreteInputs(..)))
        .cloned()
        .collect();
    // B1 is coil 0 of unit 2: the board's channel 1, on for one second, then off by itself.
    assert_eq!(writes, [(2, Request::WriteSingleRegister(1, 0x0601))]);
    locker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doors_are_read_with_one_fc02_per_board_per_poll() {
    let board = Board::new(&[1, 2]);
    let locker = Locker::start(layout("generic"), board.clone()).await;

    let from = board.log().len();
    let is_read = |unit: u8| move |l: &&Logged| l.unit == unit && l.function() == 0x02;
    let log = locker
        .wait_log(from, |log| log.iter().filter(is_read(1)).count() >= 25)
        .await;

    // Every request is a read of all of its unit's doors at once.
    for l in &log {
        let doors = if l.unit == 1 { 3 } else { 2 };
        assert_eq!(l.request, Request::ReadDiscreteInputs(0, doors), "{l:?}");
    }
    let reads_1: Vec<_> = log.iter().filter(is_read(1)).collect();
    let reads_2 = log.iter().filter(is_read(2)).count();
    assert!(
        reads_2.abs_diff(reads_1.len()) <= 1,
        "unit 1 read {} times, unit 2 {reads_2} times",
        reads_1.len()
    );
    // One poll per period: reads of one board are a period apart (less the jitter of
    // loopback transit), never several per poll.
    let shortest = reads_1
        .windows(2)
        .map(|pair| pair[1].at - pair[0].at)
        .min()
        .expect("several reads");
    assert!(shortest >= POLL / 2, "two reads {shortest:?} apart");
    locker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_door_opened_without_a_pulse_counts_after_two_equal_reads_and_is_forced() {
    let board = Board::new(&[1, 2]);
    let locker = Locker::start(layout("generic"), board.clone()).await;

    let from = board.log().len();
    locker.set_door("A2", true);
    locker
        .wait_for("/api/v1/compartments/A2", "door", "open")
        .await;

    let reads = board.log()[from..]
        .iter()
        .filter(|l| l.unit == 1 && l.function() == 0x02)
        .count();
    assert!(reads >= 2, "the change counted after {reads} read(s)");
    let events = locker.events().await;
    let forced: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "door.forced")
        .collect();
    assert_eq!(forced.len(), 1, "{events:?}");
    assert_eq!(forced[0]["data"]["compartment"], "A2", "{:?}", forced[0]);
    assert!(
        coil_writes(&board.log()[from..]).is_empty(),
        "no latch pulsed"
    );

    locker.set_door("A2", false);
    locker
        .wait_for("/api/v1/compartments/A2", "door", "closed")
        .await;
    locker.stop().await;
}
