//! The daemon on emulated lock-control boards over a pseudo-terminal, opened by its path as a
//! `/dev/ttyUSB0` would be, at the boards' own baud rates with the wire time paced: a Kerong
//! KR-CU16 chain at 19200 and an 8A/80 board at 9600. A full deposit and pickup sends one
//! unlock frame each and no frame with a bad checksum or an unlock-all; the Kerong infrared
//! sensors give `occupied` and the occupancy alerts; a silent chain is a bus down and back.

mod common;

use common::Harness;
use lockerd_hal::frames::emulator::{Cabinet, serve_pty};
use lockerd_hal::{kerong, lockboard};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use tokio::time::Instant;

const PATIENCE: Duration = Duration::from_secs(10);

fn config(state_dir: &Path, bus: &str, compartments: &str) -> String {
    format!(
        r#"
[locker]
name = "boards-test"
state_dir = "{}"

[api]
listen = "127.0.0.1:0"

[latch]
pulse = "300ms"
max_pulse = "500ms"
cooldown = "30ms"
open_timeout = "3s"
retries = 0
door_left_open = "60s"

{bus}
{compartments}"#,
        state_dir.display()
    )
}

/// Polls until `check` holds for the daemon's events; returns them.
async fn wait_events(h: &Harness, what: &str, check: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let types = h.event_types().await;
        if check(&types) {
            return types;
        }
        assert!(Instant::now() < deadline, "never saw {what}: {types:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_compartment(h: &Harness, id: &str, field: &str, want: Value) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let c = h.compartment(id).await;
        if c[field] == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id}: {field} never became {want}: {c}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn unlocks(cabinet: &Cabinet, is_unlock: impl Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
    cabinet
        .frames()
        .into_iter()
        .filter(|f| is_unlock(f))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kerong_chain_at_19200_deposits_picks_up_and_reports_occupancy() {
    let cabinet = kerong::emulator::cabinet(&[0, 1]);
    cabinet.pace(19_200);
    let (device, _line, _served) = serve_pty(cabinet.clone()).expect("pty");
    let bus = format!(
        "[[bus]]\nname = \"cabinet\"\ndriver = \"kerong-cu\"\ndevice = \"{}\"\nbaud = 19200\n\
         timeout = \"300ms\"\npoll = \"20ms\"\nenergize = \"300ms\"\n",
        device.display()
    );
    let compartments = "[[compartment]]\nid = \"K1\"\nsize = \"M\"\n\
        latch = { bus = \"cabinet\", board = 1, lock = 3 }\n\
        door = { bus = \"cabinet\", board = 1, lock = 3 }\n\
        occupancy = { bus = \"cabinet\", board = 1, lock = 3 }\n\
        [[compartment]]\nid = \"K2\"\nsize = \"L\"\n\
        latch = { bus = \"cabinet\", board = 0, lock = 16 }\n\
        door = { bus = \"cabinet\", board = 0, lock = 16 }\n";
    let h = Harness::start_config(PATIENCE, |dir| config(dir, &bus, compartments)).await;
    wait_compartment(&h, "K1", "occupied", Value::Bool(false)).await;
    assert_eq!(
        h.compartment("K2").await["occupied"],
        Value::Null,
        "no sensor"
    );

    // A deposit whose compartment still reads empty once shut: parcel.not_detected.
    let courier = h.courier_session("carrier").await;
    let (status, body) = h.deposit(&courier, "TRK-1", "M").await;
    assert_eq!(status, 201, "{body}");
    let parcel = body["parcel_id"].as_str().unwrap().to_owned();
    assert_eq!(body["compartment"]["id"], "K1");
    assert!(!cabinet.is_latched(1, 3), "the unlock popped the door");
    cabinet.close(1, 3);
    let code = h.confirm_once_closed(&courier, &parcel).await;
    wait_events(&h, "parcel.not_detected", |t| {
        t.iter().any(|e| e == "parcel.not_detected")
    })
    .await;

    // The parcel is seen, then picked up and left behind: parcel.left_behind.
    cabinet.set_occupied(1, 3, true);
    wait_compartment(&h, "K1", "occupied", Value::Bool(true)).await;
    let (status, body) = h.enter_code(&code).await;
    assert_eq!(status, 200, "{body}");
    assert!(!cabinet.is_latched(1, 3));
    cabinet.close(1, 3);
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "collected")
        .await;
    let types = wait_events(&h, "parcel.left_behind", |t| {
        t.iter().any(|e| e == "parcel.left_behind")
    })
    .await;
    assert_eq!(
        types.iter().filter(|e| *e == "parcel.not_detected").count(),
        1,
        "{types:?}"
    );

    let received = cabinet.received();
    assert!(
        received.iter().all(|r| r.valid),
        "a frame with a bad checksum"
    );
    assert!(
        received.iter().all(|r| r.bytes[2] != 0x33),
        "an unlock-all was sent"
    );
    let unlock = vec![0x02, 0x12, 0x31, 0x03, 0x48];
    assert_eq!(
        unlocks(&cabinet, |f| f[2] == 0x31),
        [unlock.clone(), unlock],
        "one unlock each"
    );

    // A silent chain: bus down, /healthz degraded, then back.
    cabinet.set_silent(0, true);
    cabinet.set_silent(1, true);
    wait_events(&h, "bus.down", |t| t.iter().any(|e| e == "bus.down")).await;
    let (status, health) = h.get("/healthz", "").await;
    assert_eq!(
        (status, health["status"].as_str()),
        (200, Some("degraded")),
        "{health}"
    );
    assert_eq!(h.compartment("K1").await["available"], false);
    cabinet.set_silent(0, false);
    cabinet.set_silent(1, false);
    wait_events(&h, "bus.up", |t| t.iter().any(|e| e == "bus.up")).await;
    wait_compartment(&h, "K1", "available", Value::Bool(true)).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_8a_board_at_9600_deposits_and_picks_up_with_one_unlock_each() {
    let cabinet = lockboard::emulator::cabinet(&[2], 24);
    cabinet.pace(9_600);
    cabinet.board(2, |b| b.unlock_delay = Duration::from_millis(200));
    let (device, _line, _served) = serve_pty(cabinet.clone()).expect("pty");
    let bus = format!(
        "[[bus]]\nname = \"boards\"\ndriver = \"lockboard\"\ndevice = \"{}\"\nbaud = 9600\n\
         timeout = \"1s\"\npoll = \"30ms\"\nenergize = \"300ms\"\nfeedback_closed = \"11\"\n",
        device.display()
    );
    let compartments = "[[compartment]]\nid = \"L1\"\nsize = \"S\"\n\
        latch = { bus = \"boards\", board = 2, lock = 20 }\n\
        door = { bus = \"boards\", board = 2, lock = 20 }\n";
    let h = Harness::start_config(PATIENCE, |dir| config(dir, &bus, compartments)).await;
    wait_compartment(&h, "L1", "door", Value::from("closed")).await;
    assert_eq!(h.compartment("L1").await["occupied"], Value::Null);

    let courier = h.courier_session("carrier").await;
    let (status, body) = h.deposit(&courier, "TRK-8A", "S").await;
    assert_eq!(status, 201, "{body}");
    let parcel = body["parcel_id"].as_str().unwrap().to_owned();
    cabinet.close(2, 20);
    let code = h.confirm_once_closed(&courier, &parcel).await;
    let (status, body) = h.enter_code(&code).await;
    assert_eq!(status, 200, "{body}");
    cabinet.close(2, 20);
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "collected")
        .await;

    let received = cabinet.received();
    assert!(
        received.iter().all(|r| r.valid),
        "a frame with a bad checksum"
    );
    let unlock = vec![0x8A, 0x02, 0x14, 0x11, 0x8D];
    assert_eq!(
        unlocks(&cabinet, |f| f[0] == 0x8A),
        [unlock.clone(), unlock],
        "one unlock each"
    );
    assert!(
        received
            .iter()
            .all(|r| !(r.bytes[0] == 0x8A && r.bytes[2] == 0)),
        "unlock-all sent"
    );
    let types = h.event_types().await;
    assert!(
        !types.iter().any(|e| e.starts_with("parcel.not_detected")),
        "no sensor, no alert"
    );
    h.stop().await;
}
