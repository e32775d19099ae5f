//! The driver behind the fault-injecting proxy: each way a reply can go wrong on its way back,
//! what the driver makes of it, and that the next request gets a clean answer. Also the two
//! faults no Modbus TCP client can see (a flipped data bit, a stale answer stamped as the
//! current one), pinned here so that what the daemon must guard against itself stays known.

mod modbus_support;

use std::time::Duration;

use lockerd_hal::modbus::ModbusBoard;
use lockerd_hal::modbus::emulator::proxy::{Corruption, Did, Mode, Proxy};
use lockerd_hal::modbus::emulator::{Board, TcpServer};
use lockerd_hal::{DoorState, ErrorKind, Latch};
use modbus_support::{coil, door, kind, read, tcp_board};

/// Short enough to keep the tests quick, long enough for loopback on a loaded machine.
const TIMEOUT: Duration = Duration::from_millis(200);

/// Unit 1: latch channel 0 on coil 3, doors on inputs 0 and 1 (input on = open).
async fn through_proxy() -> (Board, TcpServer, Proxy, ModbusBoard) {
    let emulator = Board::new(&[1]);
    let server = TcpServer::start(emulator.clone()).await.expect("serve");
    let proxy = Proxy::start(server.addr()).await.expect("proxy");
    let doors = [door(1, 0, true), door(1, 1, true)];
    let board = tcp_board(proxy.addr(), TIMEOUT, Default::default(), &[(1, 3)], &doors);
    (emulator, server, proxy, board)
}

fn is_read(sent: &lockerd_hal::modbus::emulator::proxy::Sent) -> bool {
    sent.function == 0x02
}

#[tokio::test]
async fn each_broken_reply_fails_its_request_and_the_next_one_is_answered() {
    let cases = [
        (Mode::Drop, ErrorKind::Timeout),
        (Mode::Delay(TIMEOUT * 3), ErrorKind::Timeout),
        (
            Mode::Corrupt(Corruption::WrongFunction),
            ErrorKind::Protocol,
        ),
        (
            Mode::Corrupt(Corruption::WrongTransaction),
            ErrorKind::Protocol,
        ),
        (Mode::Corrupt(Corruption::ShortLength), ErrorKind::Protocol),
        // The connection ends mid-frame.
        (
            Mode::Corrupt(Corruption::Truncated),
            ErrorKind::Disconnected,
        ),
    ];
    for (mode, expected) in cases {
        let (emulator, server, proxy, mut board) = through_proxy().await;
        emulator.set_input(1, 1, true);
        proxy.inject(mode, 1, is_read);

        assert_eq!(kind(read(&mut board).await), expected, "{mode:?}");
        let doors = read(&mut board).await.expect("the next read is answered");
        assert_eq!(doors, [DoorState::Closed, DoorState::Open], "{mode:?}");
        assert_eq!(proxy.applied().len(), 1, "{mode:?} hit once");
        assert_eq!(
            server.accepted(),
            2,
            "{mode:?}: read again on a new connection"
        );
    }
}

#[tokio::test]
async fn a_reply_delayed_within_the_timeout_is_just_slow() {
    let (_emulator, server, proxy, mut board) = through_proxy().await;
    proxy.inject(Mode::Delay(TIMEOUT / 4), 1, is_read);

    read(&mut board).await.expect("answered late");
    read(&mut board).await.expect("answered");
    assert_eq!(proxy.tally()["delayed"], 1);
    assert_eq!(server.accepted(), 1, "the connection was kept");
}

#[tokio::test]
async fn a_stale_reply_with_its_own_transaction_id_is_refused() {
    let (_emulator, _server, proxy, mut board) = through_proxy().await;
    // tokio-modbus numbers transactions from 0 on every connection, and the read after the
    // timeout goes out on a new one: a stale answer to an earlier connection's first request
    // would pass the id check. This one answers the second.
    read(&mut board).await.expect("answered");
    proxy.inject(Mode::Stale { restamp: false }, 1, is_read);

    assert_eq!(
        kind(read(&mut board).await),
        ErrorKind::Timeout,
        "held back"
    );
    assert_eq!(
        kind(read(&mut board).await),
        ErrorKind::Protocol,
        "another exchange's answer"
    );
    read(&mut board).await.expect("answered");
    let did: Vec<Did> = proxy.applied().iter().map(|a| a.did).collect();
    assert_eq!(did, [Did::Held, Did::ReplacedByStale { restamped: false }]);
}

/// What a client cannot tell: an earlier answer stamped as the current one, or a flipped input
/// bit, reads as the doors. Only reading again tells.
#[tokio::test]
async fn a_restamped_stale_reply_or_a_flipped_bit_reads_as_the_doors() {
    let (emulator, _server, proxy, mut board) = through_proxy().await;
    proxy.inject(Mode::Stale { restamp: true }, 1, is_read);
    assert_eq!(
        kind(read(&mut board).await),
        ErrorKind::Timeout,
        "held back"
    );
    emulator.set_input(1, 0, true);
    let stale = read(&mut board).await.expect("taken for the answer");
    assert_eq!(stale, [DoorState::Closed, DoorState::Closed], "as it was");

    proxy.inject(Mode::Corrupt(Corruption::FlipBit(1)), 1, is_read);
    let flipped = read(&mut board).await.expect("taken for the answer");
    assert_eq!(flipped, [DoorState::Open, DoorState::Open]);
    let doors = read(&mut board).await.expect("answered");
    assert_eq!(doors, [DoorState::Open, DoorState::Closed], "as it is");
}

#[tokio::test]
async fn a_dropped_reply_to_the_on_write_leaves_the_coil_switched_off() {
    let (emulator, _server, proxy, mut board) = through_proxy().await;
    proxy.inject(Mode::Drop, 1, |sent| sent.coil_write() == Some((3, true)));

    let result = board.pulse(0, Duration::from_millis(50)).await;
    assert_eq!(kind(result), ErrorKind::Timeout);
    assert_eq!(
        emulator.requests(),
        [coil(1, 3, true), coil(1, 3, false)],
        "the board carried the on write out; the driver switched it off unheard"
    );
    assert!(!emulator.coil(1, 3));
    assert_eq!(proxy.tally()["dropped"], 1);
}

#[tokio::test]
async fn cleared_faults_and_a_forgotten_stale_reply_let_every_reply_through() {
    let (_emulator, _server, proxy, mut board) = through_proxy().await;
    proxy.set(Mode::Stale { restamp: true });
    assert_eq!(kind(read(&mut board).await), ErrorKind::Timeout);
    proxy.clear();

    for _ in 0..3 {
        read(&mut board).await.expect("answered");
    }
    assert_eq!(proxy.applied().len(), 1, "only the held reply");
    assert!(proxy.relayed() >= 3);
}
