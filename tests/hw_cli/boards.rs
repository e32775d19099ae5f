//! `lockerd hw` on lock-control boards: the real binary against emulated Kerong KR-CU16 and
//! 8A/80 boards on a pseudo-terminal, opened by its path as a `/dev/ttyUSB0` would be, paced at
//! the boards' own baud rates. Judged by what it prints and by the frames the boards received.

use super::*;
use lockerd_hal::frames::emulator::{Cabinet, serve_pty};
use lockerd_hal::{kerong, lockboard};

/// A `kerong-cu` bus `cabinet` on `device`, and `compartments`.
fn kerong_bus(device: &Path, compartments: &str) -> String {
    format!(
        "[[bus]]\nname = \"cabinet\"\ndriver = \"kerong-cu\"\ndevice = \"{}\"\nbaud = 19200\n\
         timeout = \"100ms\"\npoll = \"20ms\"\nenergize = \"80ms\"\n{compartments}",
        device.display()
    )
}

/// A `lockboard` bus `boards` on `device` whose shut doors read 0x11, and `compartments`.
fn lockboard_bus(device: &Path, compartments: &str) -> String {
    format!(
        "[[bus]]\nname = \"boards\"\ndriver = \"lockboard\"\ndevice = \"{}\"\nbaud = 9600\n\
         timeout = \"100ms\"\npoll = \"20ms\"\nenergize = \"80ms\"\nfeedback_closed = \"11\"\n\
         {compartments}",
        device.display()
    )
}

/// Compartment `id` with its latch, door and (where `sensor`) occupancy on one lock.
fn on_lock(id: &str, bus: &str, board: u8, lock: u8, sensor: bool) -> String {
    let at = format!("{{ bus = \"{bus}\", board = {board}, lock = {lock} }}");
    let mut text =
        format!("[[compartment]]\nid = \"{id}\"\nsize = \"M\"\nlatch = {at}\ndoor = {at}\n");
    if sensor {
        text += &format!("occupancy = {at}\n");
    }
    text
}

/// The cabinet received only well-formed frames, none of them an unlock-all.
#[track_caller]
fn assert_no_unlock_all(cabinet: &Cabinet, is_unlock_all: impl Fn(&[u8]) -> bool) {
    let received = cabinet.received();
    assert!(
        received.iter().all(|r| r.valid),
        "a bad checksum: {received:?}"
    );
    assert!(
        !received.iter().any(|r| is_unlock_all(&r.bytes)),
        "an unlock-all was sent: {received:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_of_a_kerong_chain_lists_its_boards_locks_and_sensors_and_unlocks_nothing() {
    let cabinet = kerong::emulator::cabinet(&[0, 2]);
    cabinet.pace(19_200);
    cabinet.force_open(2, 5);
    cabinet.set_occupied(2, 5, true);
    cabinet.set_occupied(2, 9, true);
    let (device, _line, _served) = serve_pty(cabinet.clone()).expect("pty");
    let config = kerong_bus(&device, &on_lock("K1", "cabinet", 0, 1, true));
    let locker = Locker::new(free_port(), &config);
    let output = locker.hw_async(&["scan", "--bus", "cabinet"]).await;
    let out = stdout(&output);
    assert!(output.status.success(), "stderr:\n{}", stderr(&output));
    assert!(
        stderr(&output).contains("scanning boards 0-15 on bus cabinet"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "board 0: 16 locks; open: none; occupied: none",
            "board 2: 16 locks; open: 5; occupied: 5, 9",
            "2 board(s) answer: 0, 2",
        ]
    );
    // One read (0x30) of every board id, in order; nothing else.
    let frames = cabinet.frames();
    let expected: Vec<Vec<u8>> = (0u8..16)
        .map(|b| {
            let addr = b << 4;
            let sum = 0x02u8
                .wrapping_add(addr)
                .wrapping_add(0x30)
                .wrapping_add(0x03);
            vec![0x02, addr, 0x30, 0x03, sum]
        })
        .collect();
    assert_eq!(frames, expected);
    assert_no_unlock_all(&cabinet, |f| f[2] == 0x33);
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_of_8a_boards_shows_the_raw_feedback_and_the_open_doors() {
    let cabinet = lockboard::emulator::cabinet(&[1, 3], 24);
    cabinet.pace(9_600);
    cabinet.force_open(3, 20);
    let (device, _line, _served) = serve_pty(cabinet.clone()).expect("pty");
    let config = lockboard_bus(&device, &on_lock("L1", "boards", 1, 1, false));
    let locker = Locker::new(free_port(), &config);
    let output = locker
        .hw_async(&["scan", "--bus", "boards", "--units", "1-5"])
        .await;
    let out = stdout(&output);
    assert!(output.status.success(), "stderr:\n{}", stderr(&output));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "board 1: 24 locks; reading 11: 1-24; reading 00: none; open: none \
             (feedback_closed = \"11\")",
            "board 3: 24 locks; reading 11: 1-19, 21-24; reading 00: 20; open: 20 \
             (feedback_closed = \"11\")",
            "2 board(s) answer: 1, 3",
        ]
    );
    // Only query-all frames (80 BB 00 33 X), one a board.
    let boards: Vec<u8> = cabinet
        .frames()
        .iter()
        .map(|f| {
            assert_eq!((f[0], f[2], f[3]), (0x80, 0x00, 0x33), "{f:02X?}");
            f[1]
        })
        .collect();
    assert_eq!(boards, [1, 2, 3, 4, 5]);
    assert_no_unlock_all(&cabinet, |f| f[0] == 0x8A && f[2] == 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_ids_outside_the_drivers_boards_are_refused() {
    let cabinet = kerong::emulator::cabinet(&[0]);
    let (device, _line, _served) = serve_pty(cabinet.clone()).expect("pty");
    let config = kerong_bus(&device, &on_lock("K1", "cabinet", 0, 1, false));
    let locker = Locker::new(free_port(), &config);
    let output = locker
        .hw_async(&["scan", "--bus", "cabinet", "--units", "10-20"])
        .await;
    assert_fails(&output, &["outside the kerong-cu driver's ids 0-15"]);
    assert!(cabinet.frames().is_empty(), "{:?}", cabinet.frames());
}

#[tokio::test(flavor = "multi_thread")]
async fn status_on_a_kerong_chain_shows_doors_and_occupancy() {
    let cabinet = kerong::emulator::cabinet(&[1]);
    cabinet.pace(19_200);
    cabinet.force_open(1, 3);
    cabinet.set_occupied(1, 3, true);
    let (device, _line, _served) = serve_pty(cabinet.clone()).expect("pty");
    let compartments = on_lock("K1", "cabinet", 1, 3, true)
        + &on_lock("K2", "cabinet", 1, 4, true)
        + &on_lock("K3", "cabinet", 1, 16, false);
    let locker = Locker::new(free_port(), &kerong_bus(&device, &compartments));
    let output = locker.hw_async(&["status"]).await;
    let out = stdout(&output);
    assert!(output.status.success(), "stderr:\n{}", stderr(&output));
    assert!(out.contains("bus cabinet (kerong-cu /dev/"), "{out}");
    let words = |id| line_of(&out, id).split_whitespace().collect::<Vec<_>>();
    assert_eq!(words("K1"), ["K1", "open", "occupied"], "{out}");
    assert_eq!(words("K2"), ["K2", "closed", "empty"], "{out}");
    assert_eq!(words("K3"), ["K3", "closed"], "{out}");
    // One read of the one board: status sends nothing else.
    assert!(
        cabinet.frames().iter().all(|f| f[2] == 0x30),
        "{:?}",
        cabinet.frames()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_names_a_silent_lockboard_bus() {
    let cabinet = lockboard::emulator::cabinet(&[1], 8);
    cabinet.set_silent(1, true);
    let (device, _line, _served) = serve_pty(cabinet.clone()).expect("pty");
    let config = lockboard_bus(&device, &on_lock("L1", "boards", 1, 2, false));
    let locker = Locker::new(free_port(), &config);
    let output = locker.hw_async(&["status"]).await;
    assert_fails(&output, &["1 of 1 buses did not answer: boards"]);
    let out = stdout(&output);
    assert!(out.contains("not answering"), "{out}");
    assert!(line_of(&out, "L1").ends_with("unknown"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pulse_on_a_kerong_board_sends_one_unlock_frame_and_sees_the_door_open() {
    let cabinet = kerong::emulator::cabinet(&[0]);
    cabinet.pace(19_200);
    let (device, _line, _served) = serve_pty(cabinet.clone()).expect("pty");
    let compartments =
        on_lock("K1", "cabinet", 0, 3, false) + &on_lock("K2", "cabinet", 0, 4, false);
    let locker = Locker::new(free_port(), &kerong_bus(&device, &compartments));
    let output = locker.hw_async(&["pulse", "K1"]).await;
    let out = stdout(&output);
    assert!(output.status.success(), "stderr:\n{}", stderr(&output));
    assert!(out.contains("K1: door seen open"), "{out}");
    assert!(!cabinet.is_latched(0, 3) && cabinet.is_latched(0, 4));
    let unlocks: Vec<Vec<u8>> = cabinet
        .frames()
        .into_iter()
        .filter(|f| f[2] != 0x30)
        .collect();
    // Board 0, lock 3 (index 2): 02 02 31 03 and the sum 0x38.
    assert_eq!(unlocks, [vec![0x02, 0x02, 0x31, 0x03, 0x38]]);
    assert_no_unlock_all(&cabinet, |f| f[2] == 0x33);
    let events = locker.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "maintenance.opened");
}

#[tokio::test(flavor = "multi_thread")]
async fn pulse_on_an_8a_board_sends_one_unlock_frame_and_sees_the_door_open() {
    let cabinet = lockboard::emulator::cabinet(&[3], 24);
    cabinet.pace(9_600);
    let (device, _line, _served) = serve_pty(cabinet.clone()).expect("pty");
    let config = lockboard_bus(&device, &on_lock("L7", "boards", 3, 20, false));
    let locker = Locker::new(free_port(), &config);
    let output = locker.hw_async(&["pulse", "L7"]).await;
    let out = stdout(&output);
    assert!(output.status.success(), "stderr:\n{}", stderr(&output));
    assert!(out.contains("L7: door seen open"), "{out}");
    assert!(!cabinet.is_latched(3, 20));
    let unlocks: Vec<Vec<u8>> = cabinet
        .frames()
        .into_iter()
        .filter(|f| f[0] == 0x8A)
        .collect();
    // 8A 03 14 11 and the XOR 0x8A ^ 0x03 ^ 0x14 ^ 0x11 = 0x8C.
    assert_eq!(unlocks, [vec![0x8A, 0x03, 0x14, 0x11, 0x8C]]);
    assert_no_unlock_all(&cabinet, |f| f[0] == 0x8A && f[2] == 0);
}
