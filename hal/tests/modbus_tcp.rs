//! The Modbus driver against emulated relay boards over Modbus TCP on loopback: the exact
//! requests each board profile sends for pulses, all-off and door reads.
//!
//! Real sockets run on real time, so pulses here take their real duration and timing checks
//! leave room for a busy machine.

mod modbus_support;

use std::net::SocketAddr;
use std::time::Duration;

use lockerd_hal::modbus::emulator::{Board, TcpServer};
use lockerd_hal::modbus::{InputAddr, ModbusBoard, Profile};
use lockerd_hal::{DoorSensor, DoorState, Error, ErrorKind, Latch};
use modbus_support::{coil, door, kind, read, refused_addr, tcp_board};
use tokio::time::Instant;
use tokio_modbus::Request;

const PULSE: Duration = Duration::from_millis(300);
/// How far apart the on and off writes may arrive from the pulse asked for: loopback transit
/// is symmetric, but a loaded test machine can delay either.
const SLACK: Duration = Duration::from_millis(100);

fn board(
    addr: SocketAddr,
    profile: Profile,
    latches: &[(u8, u16)],
    doors: &[InputAddr],
) -> ModbusBoard {
    tcp_board(addr, Duration::from_millis(500), profile, latches, doors)
}

#[tokio::test]
async fn generic_pulse_writes_the_coil_on_then_off_after_the_duration() {
    let emulator = Board::new(&[1]);
    let server = TcpServer::start(emulator.clone()).await.expect("serve");
    let mut board = board(server.addr(), Profile::Generic, &[(1, 4), (1, 7)], &[]);

    let started = Instant::now();
    board.pulse(1, PULSE).await.expect("pulse");
    assert!(started.elapsed() >= PULSE);

    assert_eq!(emulator.requests(), [coil(1, 7, true), coil(1, 7, false)]);
    let log = emulator.log();
    let energized = log[1].at - log[0].at;
    assert!(
        energized + SLACK >= PULSE && energized <= PULSE + SLACK,
        "coil on for {energized:?}, asked {PULSE:?}"
    );
    assert!(!emulator.coil(1, 7));
}

#[tokio::test]
async fn generic_all_off_switches_every_configured_coil_off() {
    let emulator = Board::new(&[1, 2]);
    emulator.set_coil(1, 3, true);
    let server = TcpServer::start(emulator.clone()).await.expect("serve");
    let mut board = board(
        server.addr(),
        Profile::Generic,
        &[(1, 0), (1, 3), (2, 5)],
        &[],
    );

    board.all_off().await.expect("all off");

    let expected = [coil(1, 0, false), coil(1, 3, false), coil(2, 5, false)];
    assert_eq!(emulator.requests(), expected);
    assert!(!emulator.coil(1, 3));
}

#[tokio::test]
async fn waveshare_all_off_writes_coil_00ff_off_once_per_unit() {
    let emulator = Board::new(&[1, 2]);
    emulator.set_coil(1, 1, true);
    emulator.set_coil(2, 6, true);
    let server = TcpServer::start(emulator.clone()).await.expect("serve");
    let mut board = board(
        server.addr(),
        Profile::Waveshare,
        &[(1, 0), (1, 1), (2, 0)],
        &[],
    );

    board.all_off().await.expect("all off");

    assert_eq!(
        emulator.requests(),
        [coil(1, 0xFF, false), coil(2, 0xFF, false)]
    );
    assert!(!emulator.coil(1, 1) && !emulator.coil(2, 6));
}

#[tokio::test]
async fn eletechsup_pulse_is_timed_by_the_board_in_whole_seconds() {
    let emulator = Board::new(&[1]);
    let server = TcpServer::start(emulator.clone()).await.expect("serve");
    let mut board = board(server.addr(), Profile::Eletechsup, &[(1, 0), (1, 2)], &[]);

    let refused = board.pulse(1, Duration::from_millis(400)).await;
    let err = refused.expect_err("a pulse under 1 s is refused");
    assert_eq!(err.kind(), ErrorKind::Other);
    assert!(err.to_string().contains("whole seconds"), "{err}");
    assert!(
        emulator.requests().is_empty(),
        "nothing may reach the board"
    );

    let started = Instant::now();
    board.pulse(1, Duration::from_secs(1)).await.expect("pulse");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "pulse returns after its duration"
    );
    // Channel 1 is coil 2, the board's 1-based channel 3: on for 1 s, then off by itself.
    assert_eq!(
        emulator.requests(),
        [(1, Request::WriteSingleRegister(3, 0x0601))]
    );

    emulator.clear_log();
    board.all_off().await.expect("all off");
    let off = |register| (1, Request::WriteSingleRegister(register, 0x0200));
    assert_eq!(emulator.requests(), [off(1), off(3)]);
}

#[tokio::test]
async fn doors_are_read_with_one_fc02_per_unit_through_open_when() {
    let emulator = Board::new(&[1, 2]);
    emulator.set_input(1, 2, true); // door 0: open when on -> open
    emulator.set_input(1, 5, true); // door 1: open when off -> closed
    emulator.set_input(2, 0, true); // door 2: open when on -> open
    let server = TcpServer::start(emulator.clone()).await.expect("serve");
    let doors = [
        door(1, 2, true),
        door(1, 5, false),
        door(2, 0, true),
        door(1, 3, true),
    ];
    let mut board = board(server.addr(), Profile::Generic, &[(1, 0), (2, 0)], &doors);

    let states = read(&mut board).await.expect("read doors");

    use DoorState::{Closed, Open};
    assert_eq!(states, [Open, Closed, Open, Closed]);
    let expected = [
        (1, Request::ReadDiscreteInputs(2, 4)),
        (2, Request::ReadDiscreteInputs(0, 1)),
    ];
    assert_eq!(emulator.requests(), expected);

    // Two units on one connection: a pulse addresses its own unit only.
    emulator.clear_log();
    board.pulse(1, Duration::ZERO).await.expect("pulse");
    assert_eq!(emulator.requests(), [coil(2, 0, true), coil(2, 0, false)]);
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn unknown_channels_are_refused_before_the_bus_is_touched() {
    let mut board = board(
        refused_addr().await,
        Profile::Generic,
        &[(1, 0)],
        &[door(1, 0, true)],
    );

    let err = board
        .pulse(1, PULSE)
        .await
        .expect_err("only channel 0 exists");
    assert_eq!(err.kind(), ErrorKind::Channel);
    assert_eq!(
        err.to_string(),
        "latch channel 1 does not exist: the bus has 1 latches"
    );
    let mut states = [DoorState::Open; 2];
    assert_eq!(
        kind(board.read_doors(&mut states).await),
        ErrorKind::Channel
    );
}
