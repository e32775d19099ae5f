//! `lockerd hw pulse`: one opening by the daemon's own controller, with no retries, confirmed
//! as the daemon confirms a door, and what it leaves in the database.

use super::*;
use lockerd_hal::modbus::emulator::proxy::{Corruption, Mode, Proxy, Sent};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[test]
fn pulse_on_a_sim_locker_sees_the_door_open_and_records_it() {
    let locker = Locker::new(free_port(), &sim_compartments(&["A1", "A2"]));
    let output = locker.hw(&["pulse", "A2"]);
    let out = stdout(&output);
    assert!(output.status.success(), "stderr:\n{}", stderr(&output));
    assert!(out.contains("A2: latch pulsed for 50ms"), "{out}");
    assert!(out.contains("A2: door seen open"), "{out}");

    let events = locker.events();
    assert_eq!(events.len(), 1, "{events:?}");
    let (kind, data) = &events[0];
    assert_eq!(kind, "maintenance.opened");
    assert_eq!(
        *data,
        serde_json::json!({
            "compartment": "A2",
            "actor": "lockerd hw pulse",
            "reason": "commissioning",
        })
    );

    // The opening is in the audit log too, and the chain holds.
    let export = Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .args(["audit", "export", "--config"])
        .arg(locker.config())
        .output()
        .expect("run lockerd");
    assert!(export.status.success(), "stderr:\n{}", stderr(&export));
    let entries: Vec<serde_json::Value> = stdout(&export)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        (
            &entries[0]["actor"],
            &entries[0]["action"],
            &entries[0]["detail"]["compartment"]
        ),
        (&"cli".into(), &"maintenance.opening".into(), &"A2".into())
    );
}

#[test]
fn pulse_of_an_unknown_compartment_names_it_and_touches_nothing() {
    let locker = Locker::new(free_port(), &sim_compartments(&["A1"]));
    let output = locker.hw(&["pulse", "Z9"]);
    assert_fails(&output, &["no compartment \"Z9\""]);
    assert!(!locker.state_dir().exists(), "the database was created");
}

#[test]
fn pulse_is_refused_while_the_daemon_listens() {
    let daemon = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = daemon.local_addr().expect("local addr").port();
    let locker = Locker::new(port, &sim_compartments(&["A1"]));
    let output = locker.hw(&["pulse", "A1"]);
    assert_fails(
        &output,
        &["daemon is running", "POST /api/v1/compartments/A1/open"],
    );
    assert!(!locker.state_dir().exists(), "the database was created");
    drop(daemon);
}

#[test]
fn pulse_on_a_bus_that_does_not_answer_fails_without_a_pulse_on_record() {
    let locker = Locker::new(free_port(), &modbus_tcp(free_port()));
    let output = locker.hw(&["pulse", "B1"]);
    assert_fails(&output, &["bus net", "cannot switch the latches off"]);
    assert!(!stdout(&output).contains("pulsed"), "{}", stdout(&output));
    assert_eq!(locker.events(), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn pulse_on_a_modbus_board_switches_the_coil_on_then_off_and_sees_the_door() {
    let (board, server) = boards(&[1]).await;
    board.spring_door(1, 0, 0, true);
    let locker = Locker::new(free_port(), &modbus_tcp(server.addr().port()));
    let output = locker.hw_async(&["pulse", "B1"]).await;
    assert!(output.status.success(), "stderr:\n{}", stderr(&output));
    assert!(
        stdout(&output).contains("B1: door seen open"),
        "{}",
        stdout(&output)
    );
    let writes: Vec<Request<'_>> = board
        .requests()
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| matches!(r, Request::WriteSingleCoil(..)))
        .collect();
    // All-off first, then exactly one pulse, then all-off again as the controller stops.
    assert_eq!(
        writes,
        [
            Request::WriteSingleCoil(0, false),
            Request::WriteSingleCoil(0, true),
            Request::WriteSingleCoil(0, false),
            Request::WriteSingleCoil(0, false),
        ]
    );
    assert!(!board.coil(1, 0), "the coil was left on");
    assert_eq!(locker.events().len(), 1);
}

/// The coil-on writes the boards received.
fn pulses(board: &Board) -> usize {
    let requests = board.requests();
    requests
        .iter()
        .filter(|(_, r)| *r == Request::WriteSingleCoil(0, true))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn pulse_of_a_jammed_latch_fails_after_one_pulse_with_no_opening_on_record() {
    // No spring: the coil switches but the door stays shut. The config keeps the default
    // latch.retries = 1, which the daemon would spend on a second pulse.
    let (board, server) = boards(&[1]).await;
    let locker = Locker::new(free_port(), &modbus_tcp(server.addr().port()));
    let output = locker.hw_async(&["pulse", "B1"]).await;
    assert_fails(
        &output,
        &["B1: not opened", "door not seen open", "the latch"],
    );
    assert!(
        stdout(&output).contains("B1: latch pulsed for 50ms on bus net"),
        "{}",
        stdout(&output)
    );
    assert_eq!(pulses(&board), 1, "{:?}", board.requests());
    assert!(!board.coil(1, 0), "the coil was left on");
    assert_eq!(locker.events(), vec![], "no door opened");
}

#[tokio::test(flavor = "multi_thread")]
async fn pulse_is_not_confirmed_by_one_misread_open_door() {
    // A jammed latch, and the first door read after the pulse answers with its input bit
    // flipped (Modbus TCP has no checksum of its own): the door reads open once, then shut.
    // The daemon's controller needs two equal reads before a Modbus door counts as opened.
    let (board, server) = boards(&[1]).await;
    let proxy = Proxy::start(server.addr()).await.expect("start proxy");
    let pulsed = Arc::new(AtomicBool::new(false));
    proxy.inject(Mode::Corrupt(Corruption::FlipBit(0)), 1, {
        let pulsed = pulsed.clone();
        move |sent: &Sent| {
            if sent.coil_write() == Some((0, true)) {
                pulsed.store(true, Ordering::SeqCst);
            }
            sent.function == 0x02 && pulsed.load(Ordering::SeqCst)
        }
    });
    let locker = Locker::new(free_port(), &modbus_tcp(proxy.addr().port()));
    let output = locker.hw_async(&["pulse", "B1"]).await;
    assert_eq!(proxy.applied().len(), 1, "the misread never happened");
    assert_fails(&output, &["B1: not opened", "door not seen open"]);
    assert!(
        !stdout(&output).contains("door seen open"),
        "{}",
        stdout(&output)
    );
    assert_eq!(pulses(&board), 1, "{:?}", board.requests());
    assert_eq!(locker.events(), vec![]);
}
