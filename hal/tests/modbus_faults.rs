//! How each bus fault ends, over Modbus TCP on loopback: exception replies, answers that never
//! come or come late, garbage, a refused connection, a server that goes away and comes back,
//! and a pulse abandoned half-way. In every case no coil stays on and the next request runs
//! on a fresh connection where the old one cannot be trusted.

mod modbus_support;

use std::net::SocketAddr;
use std::time::Duration;

use lockerd_hal::modbus::emulator::{Board, Fault, TcpServer};
use lockerd_hal::modbus::{InputAddr, ModbusBoard, Profile};
use lockerd_hal::{DoorState, Error, ErrorKind, Latch};
use modbus_support::{coil, door, kind, read, refused_addr, tcp_board};
use tokio::time::Instant;
use tokio_modbus::{ExceptionCode, Request};

const PULSE: Duration = Duration::from_millis(300);
const TIMEOUT: Duration = Duration::from_millis(500);
/// Short enough to keep the tests quick, long enough for loopback on a loaded machine.
const SHORT_TIMEOUT: Duration = Duration::from_millis(150);

/// A generic-profile bus with latch channel 0 on unit 1, coil 3.
fn board(addr: SocketAddr, timeout: Duration, doors: &[InputAddr]) -> ModbusBoard {
    tcp_board(addr, timeout, Profile::Generic, &[(1, 3)], doors)
}

#[tokio::test]
async fn an_exception_reply_is_a_device_error_and_the_connection_stays() {
    let emulator = Board::new(&[1]);
    let refusal = Fault::Exception(ExceptionCode::ServerDeviceFailure);
    emulator.inject(refusal, 1, |_, r| *r == Request::WriteSingleCoil(3, true));
    let server = TcpServer::start(emulator.clone()).await.expect("serve");
    let mut board = board(server.addr(), TIMEOUT, &[]);

    assert_eq!(kind(board.pulse(0, PULSE).await), ErrorKind::Device);
    assert_eq!(
        emulator.requests(),
        [coil(1, 3, true)],
        "a refused coil is not on"
    );

    board.pulse(0, Duration::ZERO).await.expect("next pulse");
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn an_on_write_without_answer_is_still_followed_by_off() {
    let emulator = Board::new(&[1]);
    let late = Fault::Late(Duration::from_secs(2));
    emulator.inject(late, 1, |_, r| *r == Request::WriteSingleCoil(3, true));
    let server = TcpServer::start(emulator.clone()).await.expect("serve");
    let mut board = board(server.addr(), SHORT_TIMEOUT, &[]);

    assert_eq!(kind(board.pulse(0, PULSE).await), ErrorKind::Timeout);

    assert_eq!(emulator.requests(), [coil(1, 3, true), coil(1, 3, false)]);
    assert!(
        !emulator.coil(1, 3),
        "the coil the board switched on is off again"
    );
    assert_eq!(
        server.accepted(),
        2,
        "the off write went over a new connection"
    );
}

#[tokio::test]
async fn a_failed_off_write_is_retried_then_repeated_before_the_next_request() {
    let emulator = Board::new(&[1]);
    let refusal = Fault::Exception(ExceptionCode::ServerDeviceBusy);
    let is_off = |_: u8, r: &Request<'_>| *r == Request::WriteSingleCoil(3, false);
    let server = TcpServer::start(emulator.clone()).await.expect("serve");
    let mut board = board(server.addr(), TIMEOUT, &[door(1, 0, true)]);

    emulator.inject(refusal, 1, is_off);
    board
        .pulse(0, Duration::ZERO)
        .await
        .expect("the retry succeeds");
    let [on, off] = [coil(1, 3, true), coil(1, 3, false)];
    assert_eq!(emulator.requests(), [on.clone(), off.clone(), off.clone()]);

    emulator.clear_log();
    emulator.inject(refusal, 2, is_off);
    assert_eq!(
        kind(board.pulse(0, Duration::ZERO).await),
        ErrorKind::Device
    );
    assert_eq!(emulator.requests(), [on, off.clone(), off.clone()]);
    assert!(emulator.coil(1, 3), "the board refused both off writes");

    emulator.clear_log();
    read(&mut board).await.expect("read doors");
    let read_inputs = (1, Request::ReadDiscreteInputs(0, 1));
    assert_eq!(emulator.requests(), [off, read_inputs]);
    assert!(!emulator.coil(1, 3));
}

#[tokio::test]
async fn a_silent_server_times_out_within_the_timeout_and_is_reconnected() {
    let emulator = Board::new(&[1]);
    emulator.inject(Fault::Silent, usize::MAX, |_, _| true);
    let server = TcpServer::start(emulator.clone()).await.expect("serve");
    let timeout = Duration::from_millis(200);
    let mut board = board(server.addr(), timeout, &[door(1, 0, true)]);

    for attempt in 1..=2 {
        let started = Instant::now();
        assert_eq!(kind(read(&mut board).await), ErrorKind::Timeout);
        let took = started.elapsed();
        assert!(
            took >= timeout && took < timeout * 5,
            "attempt {attempt} took {took:?}"
        );
        assert_eq!(server.accepted(), attempt, "a connection per attempt");
    }
}

#[tokio::test]
async fn a_late_answer_never_passes_for_the_next_one() {
    let emulator = Board::new(&[1]);
    let late = Fault::Late(Duration::from_millis(300));
    emulator.inject(late, 1, |_, r| matches!(r, Request::ReadDiscreteInputs(..)));
    let server = TcpServer::start(emulator.clone()).await.expect("serve");
    let mut board = board(server.addr(), SHORT_TIMEOUT, &[door(1, 0, true)]);

    assert_eq!(kind(read(&mut board).await), ErrorKind::Timeout);
    emulator.set_input(1, 0, true);
    assert_eq!(read(&mut board).await.expect("read"), [DoorState::Open]);
    assert_eq!(server.accepted(), 2);
}

#[tokio::test]
async fn garbage_is_a_protocol_error_and_the_connection_is_dropped() {
    let emulator = Board::new(&[1]);
    emulator.inject(Fault::Garbage, 2, |_, _| true);
    let server = TcpServer::start(emulator.clone()).await.expect("serve");
    let mut board = board(server.addr(), TIMEOUT, &[door(1, 0, true)]);

    for attempt in 1..=2 {
        assert_eq!(kind(read(&mut board).await), ErrorKind::Protocol);
        assert_eq!(server.accepted(), attempt, "a connection per attempt");
    }
    emulator.set_input(1, 0, true);
    assert_eq!(read(&mut board).await.expect("read"), [DoorState::Open]);
}

#[tokio::test]
async fn a_refused_connection_is_disconnected() {
    let addr = refused_addr().await;
    let mut board = board(addr, TIMEOUT, &[]);

    let err = board.pulse(0, PULSE).await.expect_err("nobody listens");
    assert_eq!(err.kind(), ErrorKind::Disconnected);
    assert!(
        err.to_string().starts_with(&format!("connect to {addr}")),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_that_goes_away_and_comes_back_is_used_again() {
    let emulator = Board::new(&[1]);
    let server = TcpServer::start(emulator.clone()).await.expect("serve");
    let addr = server.addr();
    let mut board = board(addr, TIMEOUT, &[door(1, 0, true)]);
    read(&mut board).await.expect("read while up");

    server.stop().await;
    assert_eq!(
        kind(read(&mut board).await),
        ErrorKind::Disconnected,
        "peer closed"
    );
    assert_eq!(
        kind(read(&mut board).await),
        ErrorKind::Disconnected,
        "refused"
    );

    let server = TcpServer::start_on(addr, emulator.clone())
        .await
        .expect("serve again");
    emulator.set_input(1, 0, true);
    assert_eq!(read(&mut board).await.expect("read"), [DoorState::Open]);
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn a_pulse_abandoned_mid_way_is_switched_off_by_the_next_request() {
    let emulator = Board::new(&[1]);
    let server = TcpServer::start(emulator.clone()).await.expect("serve");
    let mut board = board(server.addr(), TIMEOUT, &[door(1, 0, true)]);

    // The daemon's select or shutdown drops a pulse future while the coil is on.
    let abandoned = tokio::time::timeout(PULSE, board.pulse(0, Duration::from_secs(60))).await;
    assert!(abandoned.is_err());
    assert!(emulator.coil(1, 3), "the coil is on mid-pulse");

    read(&mut board).await.expect("read doors");
    let read_inputs = (1, Request::ReadDiscreteInputs(0, 1));
    let expected = [coil(1, 3, true), coil(1, 3, false), read_inputs];
    assert_eq!(emulator.requests(), expected);
    assert!(!emulator.coil(1, 3));
}
