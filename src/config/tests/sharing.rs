//! No two compartments share hardware, and `describe_compartments` shows what each one uses.

use super::*;

/// A second real latch, for a compartment next to one using `REAL_LATCH`.
const OTHER_LATCH: &str = "{ bus = \"net\", unit = 200, coil = 1 }";

#[test]
fn two_compartments_cannot_share_a_latch_output() {
    let modbus = "{ bus = \"rs485\", unit = 1, coil = 0 }";
    let error = refused(
        &file(&[
            compartment("A1", modbus, REAL_DOOR),
            compartment("A2", modbus, REAL_DOOR),
        ]),
        "compartment[1].latch.coil",
        "",
    );
    assert_eq!(
        error.message,
        "coil 0 of unit 1 on bus \"rs485\" is already used by compartment A1"
    );
    // The same coil number on another unit or another bus is another output.
    ok(&file(&[
        compartment("A1", modbus, "{ bus = \"net\", unit = 200, input = 1 }"),
        compartment(
            "A2",
            "{ bus = \"rs485\", unit = 2, coil = 0 }",
            "{ bus = \"net\", unit = 200, input = 2 }",
        ),
        compartment("A3", "{ bus = \"net\", unit = 1, coil = 0 }", REAL_DOOR),
    ]));
    let pin = "{ bus = \"pi\", pin = 17 }";
    refused(
        &file(&[
            compartment("A1", pin, REAL_DOOR),
            compartment("A2", pin, REAL_DOOR),
        ]),
        "compartment[1].latch.pin",
        "gpio pin 17 is already used by the latch of compartment A1",
    );
}

#[test]
fn two_compartments_cannot_share_a_door_input() {
    let input = "{ bus = \"rs485\", unit = 2, input = 3 }";
    refused(
        &file(&[
            compartment("A1", REAL_LATCH, input),
            compartment("A2", OTHER_LATCH, input),
        ]),
        "compartment[1].door.input",
        "input 3 of unit 2 on bus \"rs485\" is already used by compartment A1",
    );
    let pin = "{ bus = \"pi\", pin = 23 }";
    refused(
        &file(&[
            compartment("A1", REAL_LATCH, pin),
            compartment("A2", OTHER_LATCH, pin),
        ]),
        "compartment[1].door.pin",
        "already used by the door of compartment A1",
    );
}

#[test]
fn a_gpio_pin_is_either_a_latch_or_a_door() {
    refused(
        &file(&[compartment(
            "A1",
            "{ bus = \"pi\", pin = 17 }",
            "{ bus = \"pi\", pin = 17 }",
        )]),
        "compartment[0].door.pin",
        "gpio pin 17 is already used by the latch of compartment A1",
    );
    refused(
        &file(&[
            compartment("A1", REAL_LATCH, "{ bus = \"pi\", pin = 22 }"),
            compartment("A2", "{ bus = \"pi\", pin = 22 }", REAL_DOOR),
        ]),
        "compartment[1].latch.pin",
        "already used by the door of compartment A1",
    );
}

#[test]
fn sim_compartments_each_have_their_own_channel() {
    let config = ok(&file(&[
        compartment("A1", SIM, SIM),
        compartment("A2", SIM, SIM),
    ]));
    assert_eq!(config.compartments.len(), 2);
}

#[test]
fn describe_lists_one_line_per_compartment() {
    let config = ok(&file(&[
        compartment("A1", SIM, SIM),
        compartment(
            "B1",
            "{ bus = \"rs485\", unit = 1, coil = 0 }",
            "{ bus = \"rs485\", unit = 2, input = 0 }",
        ),
        compartment(
            "P1",
            "{ bus = \"pi\", pin = 17, active_low = true }",
            "{ bus = \"pi\", pin = 27 }",
        ),
    ]));
    let table = config.describe_compartments();
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| {
            l.split("  ")
                .filter(|c| !c.is_empty())
                .map(str::trim)
                .collect()
        })
        .collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert_eq!(lines[0], ["id", "size", "accessible", "latch", "door"]);
    assert_eq!(lines[1], ["A1", "M", "no", "sim", "sim"]);
    assert_eq!(
        lines[2],
        [
            "B1",
            "M",
            "no",
            "rs485 unit 1 coil 0",
            "rs485 unit 2 input 0 (on = open)"
        ]
    );
    assert_eq!(
        lines[3],
        [
            "P1",
            "M",
            "no",
            "pi pin 17 active-low",
            "pi pin 27 pull-up (high = open)"
        ]
    );
}
