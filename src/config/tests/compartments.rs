//! `[[compartment]]`: ids, and latch and door keys checked against the bus driver.

use super::*;
use crate::domain::Size;

#[test]
fn latches_and_doors_of_every_driver_are_read() {
    let config = ok(&file(&[
        compartment("A1", SIM, SIM),
        compartment(
            "A2",
            "{ bus = \"rs485\", unit = 1, coil = 0 }",
            "{ bus = \"rs485\", unit = 2, input = 7, open_when = false }",
        ),
        compartment(
            "A3",
            "{ bus = \"net\", unit = 247, coil = 65535 }",
            "{ bus = \"net\", unit = 1, input = 0 }",
        ),
        compartment(
            "A4",
            "{ bus = \"pi\", pin = 17, active_low = true }",
            "{ bus = \"pi\", pin = 27, open_when = \"low\", pull = \"down\" }",
        ),
        compartment(
            "A5",
            "{ bus = \"pi\", pin = 22 }",
            "{ bus = \"pi\", pin = 23 }",
        ),
    ]));
    let c = &config.compartments;
    assert_eq!(c[0].latch, LatchRef::Sim { bus: "sim".into() });
    assert_eq!(c[0].door, DoorRef::Sim { bus: "sim".into() });
    assert_eq!(
        c[1].latch,
        LatchRef::Modbus {
            bus: "rs485".into(),
            unit: 1,
            coil: 0
        }
    );
    assert_eq!(
        c[1].door,
        DoorRef::Modbus {
            bus: "rs485".into(),
            unit: 2,
            input: 7,
            open_when: false
        }
    );
    assert_eq!(
        c[2].latch,
        LatchRef::Modbus {
            bus: "net".into(),
            unit: 247,
            coil: 65535
        }
    );
    // open_when defaults to true on Modbus, "high" with a pull-up on GPIO, latches active-high.
    assert_eq!(
        c[2].door,
        DoorRef::Modbus {
            bus: "net".into(),
            unit: 1,
            input: 0,
            open_when: true
        }
    );
    assert_eq!(
        c[3].latch,
        LatchRef::Gpio {
            bus: "pi".into(),
            pin: 17,
            active_low: true
        }
    );
    assert_eq!(
        c[3].door,
        DoorRef::Gpio {
            bus: "pi".into(),
            pin: 27,
            open_when: Level::Low,
            pull: Pull::Down
        }
    );
    assert_eq!(
        c[4].latch,
        LatchRef::Gpio {
            bus: "pi".into(),
            pin: 22,
            active_low: false
        }
    );
    assert_eq!(
        c[4].door,
        DoorRef::Gpio {
            bus: "pi".into(),
            pin: 23,
            open_when: Level::High,
            pull: Pull::Up
        }
    );
    assert_eq!(c[3].latch.bus(), "pi");
    assert_eq!(c[1].door.bus(), "rs485");
    assert_eq!(c[0].size, Size::M);
}

#[test]
fn id_size_latch_and_door_are_required() {
    let text = format!("{BUSES}[[compartment]]\nsize = \"S\"\nlatch = {SIM}\ndoor = {SIM}\n");
    refused(&text, "compartment[0].id", "required key is missing");
    let text = format!("{BUSES}[[compartment]]\nid = \"A1\"\nlatch = {SIM}\ndoor = {SIM}\n");
    refused(&text, "compartment[0].size", "required key is missing");
    let text = format!("{BUSES}[[compartment]]\nid = \"A1\"\nsize = \"S\"\ndoor = {SIM}\n");
    refused(&text, "compartment[0].latch", "required key is missing");
    refused(
        &latch("{ unit = 1 }"),
        "compartment[0].latch.bus",
        "required key is missing",
    );
}

#[test]
fn an_unknown_size_or_key_is_refused() {
    let text = file(&[compartment("A1", SIM, SIM).replace("\"M\"", "\"XXL\"")]);
    refused(&text, "compartment[0].size", "XXL");
    let text = file(&[compartment("A1", SIM, SIM) + "colour = \"red\"\n"]);
    refused(&text, "compartment[0].colour", "unknown key");
    refused(
        &latch("{ bus = \"rs485\", unit = 1, coill = 0 }"),
        "compartment[0].latch.coill",
        "unknown key",
    );
    refused(
        &door("{ bus = \"pi\", pin = 4, pul = \"up\" }"),
        "compartment[0].door.pul",
        "unknown key",
    );
}

#[test]
fn ids_are_unique() {
    let text = file(&[compartment("A1", SIM, SIM), compartment("A1", SIM, SIM)]);
    refused(
        &text,
        "compartment[1].id",
        "duplicate id \"A1\" (already used by compartment[0])",
    );
}

#[test]
fn ids_are_short_and_url_safe() {
    for bad in ["", "A 1", "A/1", "Ä1", "A1?", "ABCDEFGHIJKLMNOPQ"] {
        refused(
            &file(&[compartment(bad, SIM, SIM)]),
            "compartment[0].id",
            "not a valid id",
        );
    }
    for good in ["ABCDEFGHIJKLMNOP", "a-1_b", "7"] {
        ok(&file(&[compartment(good, SIM, SIM)]));
    }
}

#[test]
fn latch_and_door_must_name_a_configured_bus() {
    let error = refused(
        &latch("{ bus = \"rs458\" }"),
        "compartment[0].latch.bus",
        "no bus named \"rs458\"",
    );
    assert!(
        error.message.contains("\"rs485\""),
        "should list the buses: {error}"
    );
    refused(
        &door("{ bus = \"gpio\" }"),
        "compartment[0].door.bus",
        "no bus named \"gpio\"",
    );
}

#[test]
fn a_key_the_bus_driver_does_not_use_is_refused() {
    refused(
        &latch("{ bus = \"sim\", coil = 0 }"),
        "compartment[0].latch.coil",
        "not used by sim bus \"sim\"",
    );
    refused(
        &door("{ bus = \"sim\", pin = 4 }"),
        "compartment[0].door.pin",
        "not used by sim bus \"sim\"",
    );
    refused(
        &latch("{ bus = \"rs485\", unit = 1, coil = 0, pin = 4 }"),
        "compartment[0].latch.pin",
        "not used by modbus-rtu bus \"rs485\"",
    );
    refused(
        &door("{ bus = \"net\", unit = 1, input = 0, pull = \"up\" }"),
        "compartment[0].door.pull",
        "not used by modbus-tcp bus \"net\"",
    );
    refused(
        &latch("{ bus = \"pi\", pin = 17, unit = 1 }"),
        "compartment[0].latch.unit",
        "not used by gpio bus \"pi\"",
    );
    refused(
        &door("{ bus = \"pi\", pin = 17, input = 1 }"),
        "compartment[0].door.input",
        "not used by gpio bus \"pi\"",
    );
}

#[test]
fn a_key_the_bus_driver_needs_is_required() {
    refused(
        &latch("{ bus = \"rs485\", unit = 1 }"),
        "compartment[0].latch.coil",
        "required for a latch on modbus-rtu bus",
    );
    refused(
        &latch("{ bus = \"net\", coil = 1 }"),
        "compartment[0].latch.unit",
        "required for a latch on modbus-tcp bus",
    );
    refused(
        &door("{ bus = \"rs485\", unit = 1 }"),
        "compartment[0].door.input",
        "required for a door on modbus-rtu bus",
    );
    refused(
        &latch("{ bus = \"pi\" }"),
        "compartment[0].latch.pin",
        "required for a latch on gpio bus \"pi\"",
    );
    refused(
        &door("{ bus = \"pi\", pull = \"up\" }"),
        "compartment[0].door.pin",
        "required for a door on gpio bus",
    );
    // A sim bus given modbus keys is caught the other way round: the keys are not used there.
    refused(
        &latch("{ bus = \"sim\", unit = 1, coil = 0 }"),
        "compartment[0].latch.unit",
        "not used by sim bus",
    );
}

#[test]
fn modbus_units_are_1_to_247() {
    for bad in [0, 248, -1, 1000] {
        let text = latch(&format!("{{ bus = \"rs485\", unit = {bad}, coil = 0 }}"));
        refused(&text, "compartment[0].latch.unit", "1..=247");
    }
    refused(
        &door("{ bus = \"net\", unit = 0, input = 0 }"),
        "compartment[0].door.unit",
        "1..=247",
    );
}

#[test]
fn coils_and_inputs_are_16_bit() {
    refused(
        &latch("{ bus = \"rs485\", unit = 1, coil = 65536 }"),
        "compartment[0].latch.coil",
        "0..=65535",
    );
    refused(
        &door("{ bus = \"rs485\", unit = 1, input = -1 }"),
        "compartment[0].door.input",
        "0..=65535",
    );
}

#[test]
fn gpio_pins_are_bcm_0_to_27() {
    refused(
        &latch("{ bus = \"pi\", pin = 28 }"),
        "compartment[0].latch.pin",
        "0..=27",
    );
    refused(
        &door("{ bus = \"pi\", pin = -1 }"),
        "compartment[0].door.pin",
        "0..=27",
    );
    ok(&latch("{ bus = \"pi\", pin = 0 }"));
    ok(&latch("{ bus = \"pi\", pin = 27 }"));
}

#[test]
fn open_when_matches_the_bus_driver() {
    refused(
        &door("{ bus = \"rs485\", unit = 1, input = 0, open_when = \"high\" }"),
        "compartment[0].door.open_when",
        "true or false",
    );
    refused(
        &door("{ bus = \"pi\", pin = 5, open_when = true }"),
        "compartment[0].door.open_when",
        "\"high\" or \"low\"",
    );
    refused(
        &door("{ bus = \"pi\", pin = 5, open_when = \"up\" }"),
        "compartment[0].door.open_when",
        "\"high\" or \"low\"",
    );
    refused(
        &door("{ bus = \"pi\", pin = 5, pull = \"sideways\" }"),
        "compartment[0].door.pull",
        "unknown variant",
    );
}

#[test]
fn a_waveshare_latch_is_one_of_its_32_relays() {
    for driver in [
        "modbus-rtu\"\ndevice = \"/dev/ttyUSB0",
        "modbus-tcp\"\naddress = \"10.0.0.5:502",
    ] {
        let text = |coil: u32| {
            format!(
                "[[bus]]\nname = \"relays\"\ndriver = \"{driver}\"\nprofile = \"waveshare\"\n\
                 [[compartment]]\nid = \"A1\"\nsize = \"M\"\n\
                 latch = {{ bus = \"relays\", unit = 1, coil = {coil} }}\n\
                 door = {{ bus = \"relays\", unit = 2, input = 0 }}\n"
            )
        };
        for bad in [32, 255, 0x0200, 0x0203, 65535] {
            let error = refused(
                &text(bad),
                "compartment[0].latch.coil",
                &format!("coil {bad} is not a relay of waveshare bus \"relays\""),
            );
            assert!(error.message.contains("at most 32 channels"), "{error}");
            assert!(error.message.contains("0x00FF"), "{error}");
            assert!(error.message.contains("energize every latch"), "{error}");
        }
        ok(&text(31));
        ok(&text(0));
    }
    // Other profiles address coils as they are.
    ok(&latch("{ bus = \"rs485\", unit = 1, coil = 255 }"));
}

#[test]
fn a_compartment_is_not_half_simulated() {
    let error = refused(
        &file(&[compartment(
            "A1",
            SIM,
            "{ bus = \"rs485\", unit = 2, input = 0 }",
        )]),
        "compartment[0].door.bus",
        "door on modbus-rtu bus \"rs485\" but latch on sim bus \"sim\"",
    );
    assert!(
        error
            .message
            .contains("simulated and real hardware are not mixed in one compartment"),
        "{error}"
    );
    refused(
        &file(&[compartment("A1", "{ bus = \"pi\", pin = 17 }", SIM)]),
        "compartment[0].door.bus",
        "door on sim bus \"sim\" but latch on gpio bus \"pi\"",
    );
    // Real halves on different real buses are fine.
    ok(&file(&[compartment(
        "A1",
        "{ bus = \"pi\", pin = 17 }",
        "{ bus = \"rs485\", unit = 2, input = 0 }",
    )]));
}
