//! The Kerong KR-CU16 driver against emulated boards on a pseudo-terminal (as on
//! `/dev/ttyUSB0` at 19200 baud) and behind a TCP bridge: the bytes of every request, replies
//! with wrong checksums or cut short, boards that answer an unlock or not, a silent board and
//! its return, occupancy, and no unlock-all ever sent.

use std::time::Duration;

use lockerd_hal::frames::Transport;
use lockerd_hal::frames::emulator::{Fault, serve_pty, serve_tcp};
use lockerd_hal::kerong::emulator::cabinet;
use lockerd_hal::kerong::{KerongBus, LockAddr};
use lockerd_hal::{DoorSensor, DoorState, Error as _, ErrorKind, Latch};

const TIMEOUT: Duration = Duration::from_millis(150);

fn at(board: u8, lock: u8) -> LockAddr {
    LockAddr { board, lock }
}

fn bus(transport: Transport, locks: &[LockAddr], sensors: &[LockAddr]) -> KerongBus {
    KerongBus::new(
        transport,
        TIMEOUT,
        locks.to_vec(),
        locks.to_vec(),
        sensors.to_vec(),
    )
}

fn serial(device: std::path::PathBuf) -> Transport {
    Transport::Serial {
        device,
        baud: 19_200,
    }
}

/// No frame the boards received was an unlock-all (`0x33`) or had a bad checksum.
fn assert_no_unlock_all(frames: &[Vec<u8>]) {
    assert!(
        frames.iter().all(|f| f[2] != 0x33),
        "an unlock-all was sent: {frames:02X?}"
    );
}

#[tokio::test]
async fn requests_are_the_documented_bytes_and_an_unlock_pops_the_door() {
    let boards = cabinet(&[1, 2]);
    boards.set_occupied(2, 5, true);
    let (device, _keep, _task) = serve_pty(boards.clone()).expect("pty");
    let mut bus = bus(serial(device), &[at(1, 2), at(2, 5)], &[at(2, 5)]);

    let mut doors = [DoorState::Open; 2];
    bus.read_doors(&mut doors).await.expect("read");
    assert_eq!(doors, [DoorState::Closed, DoorState::Closed]);
    let mut occupied = [None];
    bus.occupancy(&mut occupied);
    assert_eq!(occupied, [Some(true)]);

    bus.pulse(0, Duration::from_millis(400))
        .await
        .expect("unlock");
    assert!(
        !boards.is_latched(1, 2),
        "the unlock released board 1 lock 2"
    );
    bus.read_doors(&mut doors).await.expect("read");
    assert_eq!(doors, [DoorState::Open, DoorState::Closed]);

    let frames = boards.frames();
    assert_eq!(
        frames,
        [
            vec![0x02, 0x10, 0x30, 0x03, 0x45],
            vec![0x02, 0x20, 0x30, 0x03, 0x55],
            vec![0x02, 0x11, 0x31, 0x03, 0x47],
            vec![0x02, 0x10, 0x30, 0x03, 0x45],
            vec![0x02, 0x20, 0x30, 0x03, 0x55],
        ],
        "one read per board, then the one unlock, and no off"
    );
    assert!(boards.received().iter().all(|r| r.valid));
    assert_no_unlock_all(&frames);
}

#[tokio::test]
async fn a_board_that_answers_an_unlock_with_nothing_is_still_unlocked() {
    let boards = cabinet(&[0]);
    boards.board(0, |b| b.answers_unlock = false);
    let (device, _keep, _task) = serve_pty(boards.clone()).expect("pty");
    let mut bus = bus(serial(device), &[at(0, 16)], &[]);

    bus.pulse(0, Duration::from_millis(400))
        .await
        .expect("silence after an unlock is no error");
    let mut doors = [DoorState::Closed];
    bus.read_doors(&mut doors)
        .await
        .expect("the board still reads");
    assert_eq!(doors, [DoorState::Open]);
    assert_eq!(boards.frames()[0], [0x02, 0x0F, 0x31, 0x03, 0x45]);
    assert_no_unlock_all(&boards.frames());
}

#[tokio::test]
async fn a_stuck_lock_stays_shut() {
    let boards = cabinet(&[3]);
    boards.set_stuck(3, 1, true);
    let (device, _keep, _task) = serve_pty(boards.clone()).expect("pty");
    let mut bus = bus(serial(device), &[at(3, 1)], &[]);
    bus.pulse(0, Duration::from_millis(400))
        .await
        .expect("unlock sent");
    let mut doors = [DoorState::Open];
    bus.read_doors(&mut doors).await.expect("read");
    assert_eq!(doors, [DoorState::Closed]);
}

#[tokio::test]
async fn wrong_checksums_and_cut_replies_are_protocol_errors_and_the_line_recovers() {
    let boards = cabinet(&[0]);
    let (device, _keep, _task) = serve_pty(boards.clone()).expect("pty");
    let mut bus = bus(serial(device), &[at(0, 1)], &[]);
    let mut doors = [DoorState::Open];

    boards.inject(Fault::Corrupt, 1);
    let err = bus
        .read_doors(&mut doors)
        .await
        .expect_err("a wrong checksum");
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(
        err.to_string().contains("board 0: read: bad reply"),
        "{err}"
    );

    boards.inject(Fault::Partial, 1);
    let err = bus.read_doors(&mut doors).await.expect_err("half a reply");
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");

    bus.read_doors(&mut doors)
        .await
        .expect("the next read is whole");
    assert_eq!(doors, [DoorState::Closed]);
}

#[tokio::test]
async fn a_silent_board_times_out_and_is_read_again_when_it_comes_back() {
    let boards = cabinet(&[0, 1]);
    let (device, _keep, _task) = serve_pty(boards.clone()).expect("pty");
    let mut bus = bus(serial(device), &[at(0, 1), at(1, 1)], &[]);
    let mut doors = [DoorState::Open; 2];

    boards.set_silent(1, true);
    let err = bus
        .read_doors(&mut doors)
        .await
        .expect_err("board 1 is silent");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("board 1"), "{err}");

    boards.set_silent(1, false);
    boards.force_open(1, 1);
    bus.read_doors(&mut doors).await.expect("board 1 is back");
    assert_eq!(doors, [DoorState::Closed, DoorState::Open]);
}

#[tokio::test]
async fn scan_lists_the_boards_that_answer_over_a_tcp_bridge() {
    let boards = cabinet(&[0, 4, 9]);
    boards.set_occupied(4, 3, true);
    boards.force_open(9, 16);
    boards.set_silent(9, true);
    let (address, _task) = serve_tcp(boards.clone()).await.expect("bridge");
    let transport = Transport::Tcp {
        address: address.to_string(),
    };
    let mut bus = bus(transport, &[], &[]);

    let found = bus.scan(0..=5).await.expect("scan");
    let ids: Vec<u8> = found.iter().map(|s| s.board).collect();
    assert_eq!(ids, [0, 4]);
    assert!(found[1].is_occupied(3) && found[1].is_latched(3));
    assert_eq!(boards.frames().len(), 6, "one read per board id");
    assert_no_unlock_all(&boards.frames());
}
