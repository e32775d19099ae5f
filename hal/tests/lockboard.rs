//! The 8A/80 lock-board driver against emulated boards on a pseudo-terminal at 9600 baud:
//! the bytes of every request, both feedback wirings, replies of any length, wrong checksums,
//! a silent board and its return, and lock 00 (unlock every lock) never sent.

use std::time::Duration;

use lockerd_hal::frames::Transport;
use lockerd_hal::frames::emulator::{Fault, serve_pty};
use lockerd_hal::lockboard::emulator::cabinet;
use lockerd_hal::lockboard::{Feedback, LockAddr, LockBoardBus};
use lockerd_hal::{DoorSensor, DoorState, Error as _, ErrorKind, Latch};

const TIMEOUT: Duration = Duration::from_millis(300);

fn at(board: u8, lock: u8) -> LockAddr {
    LockAddr { board, lock }
}

fn bus(device: std::path::PathBuf, feedback: Feedback, locks: &[LockAddr]) -> LockBoardBus {
    let transport = Transport::Serial {
        device,
        baud: 9_600,
    };
    LockBoardBus::new(transport, TIMEOUT, feedback, locks.to_vec(), locks.to_vec())
}

fn assert_no_unlock_all(frames: &[Vec<u8>]) {
    assert!(
        frames.iter().all(|f| !(f[0] == 0x8A && f[2] == 0)),
        "an unlock of every lock was sent: {frames:02X?}"
    );
}

#[tokio::test]
async fn an_unlock_is_the_documented_frame_and_its_answer_is_awaited() {
    let boards = cabinet(&[1], 24);
    boards.board(1, |b| b.unlock_delay = Duration::from_millis(100));
    let (device, _keep, _task) = serve_pty(boards.clone()).expect("pty");
    let mut bus = bus(device, Feedback::ElevenIsClosed, &[at(1, 1), at(1, 20)]);

    let mut doors = [DoorState::Open; 2];
    bus.read_doors(&mut doors).await.expect("read");
    assert_eq!(doors, [DoorState::Closed; 2]);
    bus.pulse(0, Duration::from_millis(400))
        .await
        .expect("unlock");
    bus.read_doors(&mut doors).await.expect("read");
    assert_eq!(doors, [DoorState::Open, DoorState::Closed]);

    let frames = boards.frames();
    assert_eq!(
        frames,
        [
            vec![0x80, 0x01, 0x00, 0x33, 0xB2],
            vec![0x8A, 0x01, 0x01, 0x11, 0x9B],
            vec![0x80, 0x01, 0x00, 0x33, 0xB2],
        ]
    );
    // The read after the unlock waited for the board's answer (a second on real boards).
    let received = boards.received();
    assert!(received[2].at - received[1].at >= Duration::from_millis(100));
    assert_no_unlock_all(&frames);
}

#[tokio::test]
async fn feedback_wired_the_other_way_reads_zero_as_closed() {
    let boards = cabinet(&[2], 8);
    boards.board(2, |b| b.eleven_is_latched = false);
    boards.force_open(2, 3);
    let (device, _keep, _task) = serve_pty(boards.clone()).expect("pty");
    let mut bus = bus(device, Feedback::ZeroIsClosed, &[at(2, 1), at(2, 3)]);
    let mut doors = [DoorState::Open; 2];
    bus.read_doors(&mut doors).await.expect("read");
    assert_eq!(doors, [DoorState::Closed, DoorState::Open]);
}

#[tokio::test]
async fn wrong_checksums_and_silence_fail_and_the_board_is_read_when_back() {
    let boards = cabinet(&[1, 5], 16);
    let (device, _keep, _task) = serve_pty(boards.clone()).expect("pty");
    let mut bus = bus(device, Feedback::ElevenIsClosed, &[at(1, 2), at(5, 16)]);
    let mut doors = [DoorState::Open; 2];

    boards.inject(Fault::Corrupt, 1);
    let err = bus.read_doors(&mut doors).await.expect_err("bad checksum");
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");

    boards.set_silent(5, true);
    let err = bus
        .read_doors(&mut doors)
        .await
        .expect_err("board 5 silent");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("board 5"), "{err}");

    boards.set_silent(5, false);
    bus.read_doors(&mut doors).await.expect("back");
    assert_eq!(doors, [DoorState::Closed; 2]);
}

#[tokio::test]
async fn an_unanswered_unlock_is_sent_once_and_scan_finds_the_boards() {
    let boards = cabinet(&[3, 7], 48);
    boards.board(3, |b| b.answers_unlock = false);
    let (device, _keep, _task) = serve_pty(boards.clone()).expect("pty");
    let mut bus = bus(device, Feedback::ElevenIsClosed, &[at(3, 48)]);

    bus.pulse(0, Duration::from_millis(400))
        .await
        .expect("no answer is no error");
    assert!(!boards.is_latched(3, 48));
    let found = bus.scan(1..=8).await.expect("scan");
    let ids: Vec<u8> = found.iter().map(|s| s.board).collect();
    assert_eq!(ids, [3, 7]);
    assert_eq!(found[1].bits.len(), 48, "six status bytes");
    assert_eq!(found[0].eleven(48), Some(false), "popped open");
    let frames = boards.frames();
    assert_eq!(frames[0], [0x8A, 0x03, 0x30, 0x11, 0xA8]);
    assert_eq!(frames.iter().filter(|f| f[0] == 0x8A).count(), 1);
    assert_no_unlock_all(&frames);
}
