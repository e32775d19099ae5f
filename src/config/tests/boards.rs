//! Lock-control boards (`kerong-cu`, `lockboard`): their buses, locks and occupancy sensors,
//! and what `check-config` refuses, at the key a user must fix.

use super::*;

const KERONG: &str = "[[bus]]\nname = \"cab\"\ndriver = \"kerong-cu\"\ndevice = \"/dev/ttyUSB0\"\n";
const EIGHT_A: &str = "[[bus]]\nname = \"lb\"\ndriver = \"lockboard\"\naddress = \"10.0.0.9:5000\"\n\
    feedback_closed = \"00\"\n";

fn on(bus: &str, id: &str, board: i64, lock: i64, extra: &str) -> String {
    format!(
        "[[compartment]]\nid = \"{id}\"\nsize = \"M\"\n\
         latch = {{ bus = \"{bus}\", board = {board}, lock = {lock} }}\n\
         door = {{ bus = \"{bus}\", board = {board}, lock = {lock} }}\n{extra}"
    )
}

#[test]
fn boards_locks_and_sensors_are_read() {
    let occupancy = "occupancy = { bus = \"cab\", board = 2, lock = 16 }\n";
    let text = format!(
        "{KERONG}{EIGHT_A}{}{}",
        on("cab", "K1", 2, 16, occupancy),
        on("lb", "L1", 31, 48, "")
    );
    let config = ok(&text);
    let Driver::KerongCu(link) = &config.buses[0].driver else {
        panic!("{:?}", config.buses[0].driver)
    };
    assert_eq!(
        (link.baud, link.timeout, link.energize),
        (
            19_200,
            Duration::from_millis(500),
            Duration::from_millis(500)
        )
    );
    let Driver::Lockboard {
        link,
        feedback_closed,
    } = &config.buses[1].driver
    else {
        panic!("{:?}", config.buses[1].driver)
    };
    assert_eq!((link.baud, *feedback_closed), (9_600, FeedbackClosed::Zero));
    assert_eq!(link.address.as_deref(), Some("10.0.0.9:5000"));
    let k1 = &config.compartments[0];
    assert_eq!(
        k1.latch,
        LatchRef::Kerong {
            bus: "cab".into(),
            board: 2,
            lock: 16
        }
    );
    assert_eq!(
        k1.occupancy,
        Some(OccupancyRef::Kerong {
            bus: "cab".into(),
            board: 2,
            lock: 16
        })
    );
    assert_eq!(config.compartments[1].occupancy, None);
}

#[test]
fn board_ids_and_locks_out_of_range_are_refused() {
    refused(
        &format!("{KERONG}{}", on("cab", "K1", 16, 1, "")),
        "compartment[0].latch.board",
        "kerong-cu boards are 0..=15",
    );
    refused(
        &format!("{KERONG}{}", on("cab", "K1", 0, 17, "")),
        "compartment[0].latch.lock",
        "kerong-cu locks are 1..=16",
    );
    refused(
        &format!("{KERONG}{}", on("cab", "K1", 0, 0, "")),
        "compartment[0].latch.lock",
        "out of range",
    );
    refused(
        &format!("{EIGHT_A}{}", on("lb", "L1", 0, 1, "")),
        "compartment[0].latch.board",
        "lockboard boards are 1..=31",
    );
    refused(
        &format!("{EIGHT_A}{}", on("lb", "L1", 1, 0, "")),
        "compartment[0].latch.lock",
        "lockboard locks are 1..=48",
    );
}

#[test]
fn two_compartments_on_one_lock_are_refused() {
    let text = format!(
        "{KERONG}{}{}",
        on("cab", "K1", 1, 3, ""),
        on("cab", "K2", 1, 3, "")
    );
    refused(
        &text,
        "compartment[1].latch.lock",
        "lock 3 of board 1 on bus \"cab\" is already used by compartment K1",
    );
    let sensor = |lock| format!("occupancy = {{ bus = \"cab\", board = 1, lock = {lock} }}\n");
    let text = format!(
        "{KERONG}{}{}",
        on("cab", "K1", 1, 3, &sensor(5)),
        on("cab", "K2", 1, 4, &sensor(5))
    );
    refused(
        &text,
        "compartment[1].occupancy.lock",
        "infrared sensor of lock 5",
    );
}

#[test]
fn an_8a_bus_needs_its_feedback_wiring() {
    let text = format!(
        "[[bus]]\nname = \"lb\"\ndriver = \"lockboard\"\ndevice = \"/dev/ttyUSB1\"\n{}",
        on("lb", "L1", 1, 1, "")
    );
    refused(
        &text,
        "bus[0].feedback_closed",
        "required for driver \"lockboard\"",
    );
    let text = format!(
        "{}\nfeedback_closed = \"01\"\n{}",
        EIGHT_A.replace("feedback_closed = \"00\"\n", ""),
        on("lb", "L1", 1, 1, "")
    );
    refused(&text, "bus[0].feedback_closed", "unknown variant");
    refused(
        &format!(
            "{KERONG}feedback_closed = \"11\"\n{}",
            on("cab", "K1", 0, 1, "")
        ),
        "bus[0].feedback_closed",
        "not used by driver \"kerong-cu\"",
    );
}

#[test]
fn occupancy_needs_a_bus_with_sensors_and_energize_fits_the_cap() {
    let text = format!(
        "{KERONG}{EIGHT_A}{}",
        on(
            "lb",
            "L1",
            1,
            1,
            "occupancy = { bus = \"lb\", board = 1, lock = 1 }\n"
        )
    );
    refused(
        &text,
        "compartment[0].occupancy.bus",
        "has no occupancy sensors",
    );
    let text = format!(
        "[latch]\nmax_pulse = \"400ms\"\n{KERONG}energize = \"600ms\"\n{}",
        on("cab", "K1", 0, 1, "")
    );
    refused(
        &text,
        "latch.max_pulse",
        "shorter than the energize time of bus \"cab\" (600ms)",
    );
    let text = format!("{KERONG}address = \"h:1\"\n{}", on("cab", "K1", 0, 1, ""));
    refused(&text, "bus[0].address", "either device");
}
