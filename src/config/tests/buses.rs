//! `[[bus]]`: each driver's keys and defaults, unique names.

use super::*;

/// A spare Modbus TCP bus with one compartment, so the bus under test (listed first) needs no
/// compartment of its own; not a sim bus, as a file may have only one.
const SPARE: &str = "[[bus]]\nname = \"spare\"\ndriver = \"modbus-tcp\"\naddress = \"10.0.0.9:502\"\n\
    [[compartment]]\nid = \"A1\"\nsize = \"S\"\n\
    latch = { bus = \"spare\", unit = 1, coil = 0 }\ndoor = { bus = \"spare\", unit = 2, input = 0 }\n";

/// A file with `bus` as its first bus, then `SPARE`.
fn with_bus(bus: &str) -> String {
    format!("[[bus]]\n{bus}\n\n{SPARE}")
}

fn first_driver(bus: &str) -> Driver {
    ok(&with_bus(bus)).buses[0].driver.clone()
}

#[test]
fn each_driver_gets_its_defaults() {
    assert_eq!(
        first_driver("name = \"bench\"\ndriver = \"sim\""),
        Driver::Sim {
            poll: Duration::from_millis(50)
        }
    );
    assert_eq!(
        first_driver("name = \"pi\"\ndriver = \"gpio\""),
        Driver::Gpio {
            debounce: Duration::from_millis(20)
        }
    );
    assert_eq!(
        first_driver("name = \"rs485\"\ndriver = \"modbus-rtu\"\ndevice = \"/dev/ttyUSB0\""),
        Driver::ModbusRtu {
            device: "/dev/ttyUSB0".into(),
            baud: 9600,
            parity: Parity::None,
            stop_bits: 1,
            timeout: Duration::from_millis(300),
            poll: Duration::from_millis(250),
            profile: Profile::Generic,
        }
    );
    assert_eq!(
        first_driver("name = \"net\"\ndriver = \"modbus-tcp\"\naddress = \"10.0.0.5:502\""),
        Driver::ModbusTcp {
            address: "10.0.0.5:502".to_owned(),
            timeout: Duration::from_millis(300),
            poll: Duration::from_millis(250),
            profile: Profile::Generic,
        }
    );
}

#[test]
fn driver_keys_are_read() {
    let rtu = "name = \"rs485\"\ndriver = \"modbus-rtu\"\ndevice = \"/dev/ttyAMA0\"\nbaud = 19200\n\
               parity = \"even\"\nstop_bits = 2\ntimeout = \"1s\"\npoll = \"100ms\"\nprofile = \"eletechsup\"";
    // An eletechsup board times pulses in whole seconds (see tests/latch.rs).
    let file = format!("[latch]\npulse = \"1s\"\n{}", with_bus(rtu));
    assert_eq!(
        ok(&file).buses[0].driver,
        Driver::ModbusRtu {
            device: "/dev/ttyAMA0".into(),
            baud: 19200,
            parity: Parity::Even,
            stop_bits: 2,
            timeout: Duration::from_secs(1),
            poll: Duration::from_millis(100),
            profile: Profile::Eletechsup,
        }
    );
    assert_eq!(
        first_driver("name = \"b\"\ndriver = \"sim\"\npoll = \"10ms\""),
        Driver::Sim {
            poll: Duration::from_millis(10)
        }
    );
    assert_eq!(
        first_driver("name = \"pi\"\ndriver = \"gpio\"\ndebounce = \"5ms\""),
        Driver::Gpio {
            debounce: Duration::from_millis(5)
        }
    );
    let tcp = "name = \"net\"\ndriver = \"modbus-tcp\"\naddress = \"gw.local:502\"\nprofile = \"waveshare\"";
    assert!(matches!(
        first_driver(tcp),
        Driver::ModbusTcp {
            profile: Profile::Waveshare,
            ..
        }
    ));
}

#[test]
fn an_unknown_driver_lists_the_known_ones() {
    refused(
        &with_bus("name = \"x\"\ndriver = \"modbus\""),
        "bus[0].driver",
        "modbus-rtu",
    );
}

#[test]
fn bus_name_and_driver_are_required() {
    refused(
        &with_bus("driver = \"sim\""),
        "bus[0].name",
        "required key is missing",
    );
    refused(
        &with_bus("name = \"x\""),
        "bus[0].driver",
        "required key is missing",
    );
}

#[test]
fn bus_names_are_unique_and_not_empty() {
    refused(
        &with_bus("name = \"\"\ndriver = \"sim\""),
        "bus[0].name",
        "must not be empty",
    );
    let text = format!("{SIM_BUS}{SIM_BUS}{}", sim_compartment("A1"));
    refused(
        &text,
        "bus[1].name",
        "duplicate bus name \"sim\" (already used by bus[0])",
    );
}

#[test]
fn a_key_the_driver_does_not_use_is_refused() {
    refused(
        &with_bus("name = \"b\"\ndriver = \"sim\"\nbaud = 9600"),
        "bus[0].baud",
        "not used by driver \"sim\"",
    );
    refused(
        &with_bus(
            "name = \"net\"\ndriver = \"modbus-tcp\"\naddress = \"h:502\"\ndevice = \"/dev/ttyUSB0\"",
        ),
        "bus[0].device",
        "not used by driver \"modbus-tcp\"",
    );
    refused(
        &with_bus("name = \"pi\"\ndriver = \"gpio\"\npoll = \"1s\""),
        "bus[0].poll",
        "not used by driver \"gpio\"",
    );
    refused(
        &with_bus(
            "name = \"r\"\ndriver = \"modbus-rtu\"\ndevice = \"/dev/ttyUSB0\"\ndebounce = \"1s\"",
        ),
        "bus[0].debounce",
        "not used by driver \"modbus-rtu\"",
    );
}

#[test]
fn modbus_rtu_settings_are_checked() {
    let rtu = "name = \"r\"\ndriver = \"modbus-rtu\"";
    refused(
        &with_bus(rtu),
        "bus[0].device",
        "required for driver \"modbus-rtu\"",
    );
    let rtu = format!("{rtu}\ndevice = \"/dev/ttyUSB0\"");
    refused(
        &with_bus(&format!("{rtu}\nbaud = 0")),
        "bus[0].baud",
        "greater than 0",
    );
    refused(
        &with_bus(&format!("{rtu}\nstop_bits = 3")),
        "bus[0].stop_bits",
        "1 or 2",
    );
    refused(
        &with_bus(&format!("{rtu}\nparity = \"mark\"")),
        "bus[0].parity",
        "even",
    );
    refused(
        &with_bus(&format!("{rtu}\nprofile = \"kerong\"")),
        "bus[0].profile",
        "waveshare",
    );
    refused(
        &with_bus(&format!("{rtu}\ntimeout = \"0s\"")),
        "bus[0].timeout",
        "longer than 0s",
    );
    refused(
        &with_bus(&format!("{rtu}\npoll = \"0s\"")),
        "bus[0].poll",
        "longer than 0s",
    );
}

#[test]
fn two_rtu_buses_cannot_share_a_serial_port() {
    let text = format!(
        "[[bus]]\nname = \"a\"\ndriver = \"modbus-rtu\"\ndevice = \"/dev/ttyUSB0\"\n\
         [[bus]]\nname = \"b\"\ndriver = \"modbus-rtu\"\ndevice = \"/dev/ttyUSB0\"\n{SIM_BUS}{}",
        sim_compartment("A1")
    );
    refused(&text, "bus[1].device", "already used by bus \"a\"");
}

#[test]
fn modbus_tcp_needs_host_and_port() {
    let tcp = "name = \"net\"\ndriver = \"modbus-tcp\"";
    refused(
        &with_bus(tcp),
        "bus[0].address",
        "required for driver \"modbus-tcp\"",
    );
    for bad in [
        "",
        "gateway",
        ":502",
        "gateway:",
        "gateway:0",
        "gateway:http",
        "::1:502",
        "a b:502",
    ] {
        refused(
            &with_bus(&format!("{tcp}\naddress = \"{bad}\"")),
            "bus[0].address",
            "host:port",
        );
    }
    for good in ["192.168.10.20:502", "gateway.local:1502", "[::1]:502"] {
        ok(&with_bus(&format!("{tcp}\naddress = \"{good}\"")));
    }
}

#[test]
fn config_finds_a_bus_by_name() {
    let config = ok(&with_bus("name = \"pi\"\ndriver = \"gpio\""));
    assert!(matches!(
        config.bus("pi").map(|b| &b.driver),
        Some(Driver::Gpio { .. })
    ));
    assert_eq!(config.bus("spare").map(|b| b.name.as_str()), Some("spare"));
    assert!(config.bus("rs485").is_none());
}

#[test]
fn at_most_one_sim_bus_is_configured() {
    let text = format!(
        "{SIM_BUS}[[bus]]\nname = \"pi\"\ndriver = \"gpio\"\n\
         [[bus]]\nname = \"bench\"\ndriver = \"sim\"\n{}",
        sim_compartment("A1")
    );
    refused(
        &text,
        "bus[2].driver",
        "a second sim bus (bus[0] is already one); at most one sim bus may be configured",
    );
}

#[test]
fn bus_periods_are_at_most_a_minute() {
    let rtu = "name = \"r\"\ndriver = \"modbus-rtu\"\ndevice = \"/dev/ttyUSB0\"";
    let tcp = "name = \"n\"\ndriver = \"modbus-tcp\"\naddress = \"h:502\"";
    for bus in [rtu, tcp] {
        for key in ["timeout", "poll"] {
            let error = refused(
                &with_bus(&format!("{bus}\n{key} = \"61s\"")),
                &format!("bus[0].{key}"),
                "must be at most 60s, got 1m 1s",
            );
            assert!(error.message.contains("clock arithmetic"), "{error}");
            ok(&with_bus(&format!("{bus}\n{key} = \"60s\"")));
        }
    }
    refused(
        &with_bus("name = \"b\"\ndriver = \"sim\"\npoll = \"1h\""),
        "bus[0].poll",
        "must be at most 60s, got 1h",
    );
    ok(&with_bus("name = \"b\"\ndriver = \"sim\"\npoll = \"60s\""));
}

#[test]
fn gpio_debounce_is_at_most_a_second() {
    refused(
        &with_bus("name = \"pi\"\ndriver = \"gpio\"\ndebounce = \"1001ms\""),
        "bus[0].debounce",
        "must be at most 1s, got 1s 1ms",
    );
    ok(&with_bus(
        "name = \"pi\"\ndriver = \"gpio\"\ndebounce = \"1s\"",
    ));
}
