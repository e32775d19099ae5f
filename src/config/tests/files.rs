//! The files shipped in `config/`: each must load, and the default must document every key with
//! the value the loader would use anyway.

use super::*;
use crate::domain::Size;
use std::path::PathBuf;

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_file_loads() {
    let mut files = toml_files(&config_dir());
    files.extend(toml_files(&config_dir().join("examples")));
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "lockerd.toml",
        "waveshare-16.toml",
        "bank-48-three-boards.toml",
        "modbus-tcp-gateway.toml",
        "gpio-porch.toml",
        "eletechsup-8.toml",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    for file in files {
        if let Err(error) = Config::load(&file) {
            panic!("{error}");
        }
    }
}

#[test]
fn the_default_file_is_a_simulated_dev_locker() {
    let config = Config::load(&config_dir().join("lockerd.toml")).unwrap();
    assert_eq!(config.locker.name, "dev-locker");
    assert!(config.locker.state_dir.is_absolute());
    assert_eq!(config.locker.state_dir, config_dir().join("../var/lockerd"));
    assert_eq!(config.api.listen, "127.0.0.1:8080".parse().unwrap());
    assert!(
        config
            .buses
            .iter()
            .all(|bus| matches!(bus.driver, Driver::Sim { .. }))
    );
    let ids: Vec<&str> = config.compartments.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4", "C1", "C2", "D1", "D2"
        ]
    );
    for size in Size::ALL {
        assert!(
            config.compartments.iter().any(|c| c.size == size),
            "no {size} compartment"
        );
    }
    let accessible: Vec<&str> = config
        .compartments
        .iter()
        .filter(|c| c.accessible)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(accessible, ["A1", "A2", "B1"]);
}

#[test]
fn the_default_file_gives_every_key_its_default() {
    let text = std::fs::read_to_string(config_dir().join("lockerd.toml")).unwrap();
    let shipped = Config::parse(&text, Path::new("lockerd.toml")).unwrap();
    let defaults = ok(&with(""));
    assert_eq!(
        format!("{:?}", shipped.policy),
        format!("{:?}", defaults.policy)
    );
    assert_eq!(
        format!("{:?}", shipped.latch),
        format!("{:?}", defaults.latch)
    );
    assert_eq!(
        format!("{:?}", shipped.photo),
        format!("{:?}", defaults.photo)
    );
    assert_eq!(
        format!("{:?}", shipped.sync),
        format!("{:?}", defaults.sync)
    );
    assert_eq!(
        format!("{:?}", shipped.delivery),
        format!("{:?}", defaults.delivery)
    );
    assert_eq!(format!("{:?}", shipped.api), format!("{:?}", defaults.api));
    assert_eq!(shipped.buses[0].driver, defaults.buses[0].driver);
    let keys = [
        "name",
        "state_dir",
        "log_level",
        "listen",
        "metrics_public",
        "code_length",
        "dwell",
        "deposit_grace",
        "keypad_max_failures",
        "keypad_lockout",
        "keypad_lockout_max",
        "courier_session",
        "pulse",
        "max_pulse",
        "cooldown",
        "open_timeout",
        "retries",
        "door_left_open",
        "command",
        "timeout",
        "retention",
        "reservation_ttl",
        "scan_to_open",
        "open_drop",
        "driver",
        "poll",
    ];
    for key in keys {
        assert!(
            text.contains(&format!("\n{key} = ")),
            "config/lockerd.toml does not set {key}"
        );
    }
    // Push has no defaults for its url and secret, so the default file shows it commented out.
    assert!(shipped.sync.push.is_none());
    assert!(text.contains("\n# [sync.push]\n"));
    let push_keys = [
        "url",
        "secret",
        "secret_file",
        "batch",
        "backoff_min",
        "backoff_max",
        "timeout",
    ];
    for key in push_keys {
        assert!(
            text.contains(&format!("\n# {key} = ")),
            "config/lockerd.toml does not document sync.push.{key}"
        );
    }
}

#[test]
fn the_default_file_documents_every_mqtt_key() {
    let text = std::fs::read_to_string(config_dir().join("lockerd.toml")).unwrap();
    assert!(text.contains("\n# [mqtt]\n"));
    let start = text.find("# [mqtt]").unwrap();
    let block: String = text[start..]
        .lines()
        .take_while(|line| line.starts_with('#'))
        .map(|line| line.trim_start_matches("# "))
        .filter(|line| !line.starts_with(' '))
        .collect::<Vec<_>>()
        .join("\n");
    for key in [
        "url",
        "client_id",
        "topic_prefix",
        "username",
        "password_file",
        "ca_file",
        "cert_file",
        "key_file",
        "keepalive",
        "allow_plaintext",
        "command_secret_file",
        "home_assistant",
        "discovery_prefix",
    ] {
        assert!(
            block.contains(&format!("\n{key} = ")),
            "config/lockerd.toml does not document mqtt.{key}"
        );
    }
    // Uncommented, the example loads (its host is not loopback, and the system roots serve).
    let config = ok(&with(&block));
    let mqtt = config.mqtt.expect("the example configures the link");
    assert_eq!(mqtt.client_id, "lockerd-dev-locker");
    assert!(mqtt.tls.is_some());
}

#[test]
fn the_default_files_push_example_loads_once_uncommented() {
    let text = std::fs::read_to_string(config_dir().join("lockerd.toml")).unwrap();
    let start = text.find("# [sync.push]").unwrap();
    let block: String = text[start..]
        .lines()
        .take_while(|line| line.starts_with('#'))
        .map(|line| line.trim_start_matches("# "))
        .filter(|line| !line.starts_with("secret_file") && !line.starts_with(' '))
        .map(|line| {
            if line.starts_with("secret = ") {
                "secret = \"0123456789abcdef0123456789abcdef\""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let config = ok(&with(&block));
    let push = config.sync.push.expect("the example configures push");
    let defaults = ok(&with(&format!(
        "[sync.push]\nurl = \"{}\"\nsecret = \"0123456789abcdef0123456789abcdef\"",
        push.url
    )));
    assert_eq!(
        format!("{push:?}"),
        format!("{:?}", defaults.sync.push.unwrap())
    );
}

fn example(name: &str) -> Config {
    Config::load(&config_dir().join("examples").join(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// The Modbus units a configuration's latches and doors use, each sorted and deduplicated.
fn units(config: &Config) -> (Vec<u8>, Vec<u8>) {
    let mut latches = Vec::new();
    let mut doors = Vec::new();
    for c in &config.compartments {
        if let LatchRef::Modbus { unit, .. } = c.latch {
            latches.push(unit);
        }
        if let DoorRef::Modbus { unit, .. } = c.door {
            doors.push(unit);
        }
    }
    for list in [&mut latches, &mut doors] {
        list.sort_unstable();
        list.dedup();
    }
    (latches, doors)
}

/// Each door unit is an 8-input board (Waveshare Modbus RTU IO 8CH): inputs 0..=7 only.
fn doors_fit_eight_input_boards(config: &Config) {
    for c in &config.compartments {
        match c.door {
            DoorRef::Modbus {
                input, open_when, ..
            } => {
                assert!(input <= 7, "{}: input {input} on an 8-input board", c.id);
                // A reed switch holds the input on while the door is shut.
                assert!(!open_when, "{}: open when the input is off", c.id);
            }
            ref other => panic!("{}: expected a modbus door, got {other:?}", c.id),
        }
    }
}

/// A real bank: a mix of sizes, and some (not all) compartments reachable from a wheelchair.
fn a_mix_of_sizes_some_accessible(config: &Config) {
    let mut sizes: Vec<Size> = Vec::new();
    for c in &config.compartments {
        if !sizes.contains(&c.size) {
            sizes.push(c.size);
        }
    }
    assert!(
        sizes.len() >= 3,
        "{}: sizes {sizes:?}",
        config.source.display()
    );
    let accessible = config.compartments.iter().filter(|c| c.accessible).count();
    assert!(
        (1..config.compartments.len()).contains(&accessible),
        "{}: {accessible} accessible",
        config.source.display()
    );
}

#[test]
fn the_waveshare_example_is_16_latches_on_one_board_and_16_doors_on_two() {
    let config = example("waveshare-16.toml");
    assert_eq!(config.compartments.len(), 16);
    assert_eq!(config.buses.len(), 1);
    assert!(matches!(
        config.buses[0].driver,
        Driver::ModbusRtu {
            profile: Profile::Waveshare,
            baud: 9600,
            ..
        }
    ));
    assert_eq!(units(&config), (vec![1], vec![2, 3]));
    doors_fit_eight_input_boards(&config);
    a_mix_of_sizes_some_accessible(&config);
}

#[test]
fn the_48_compartment_example_is_three_relay_boards_on_one_line() {
    let config = example("bank-48-three-boards.toml");
    assert_eq!(config.compartments.len(), 48);
    assert_eq!(config.buses.len(), 1, "one RS-485 line");
    assert!(matches!(
        config.buses[0].driver,
        Driver::ModbusRtu {
            profile: Profile::Waveshare,
            ..
        }
    ));
    assert_eq!(units(&config), (vec![1, 2, 3], vec![4, 5, 6, 7, 8, 9]));
    for c in &config.compartments {
        if let LatchRef::Modbus { coil, .. } = c.latch {
            assert!(coil <= 15, "{}: coil {coil} on a 16-relay board", c.id);
        }
    }
    doors_fit_eight_input_boards(&config);
    a_mix_of_sizes_some_accessible(&config);
}

#[test]
fn the_gateway_example_waits_longer_than_an_rtu_turn_around() {
    let config = example("modbus-tcp-gateway.toml");
    assert_eq!(config.compartments.len(), 16);
    match &config.buses[0].driver {
        Driver::ModbusTcp {
            address, timeout, ..
        } => {
            assert!(address.ends_with(":502"), "{address}");
            assert!(*timeout >= Duration::from_millis(500), "{timeout:?}");
        }
        other => panic!("expected a modbus-tcp bus, got {other:?}"),
    }
    assert_eq!(units(&config), (vec![1], vec![2, 3]));
    doors_fit_eight_input_boards(&config);
    a_mix_of_sizes_some_accessible(&config);
}

#[test]
fn the_eletechsup_example_pulses_in_whole_seconds() {
    let config = example("eletechsup-8.toml");
    assert!(matches!(
        config.buses[0].driver,
        Driver::ModbusRtu {
            profile: Profile::Eletechsup,
            ..
        }
    ));
    assert!(config.latch.pulse >= Duration::from_secs(1));
    assert_eq!(config.latch.pulse.subsec_nanos(), 0);
    assert_eq!(units(&config), (vec![1], vec![2]));
    doors_fit_eight_input_boards(&config);
}

#[test]
fn the_gpio_example_is_one_compartment_that_boots_locked() {
    let config = example("gpio-porch.toml");
    assert_eq!(config.compartments.len(), 1);
    for compartment in &config.compartments {
        match compartment.latch {
            // Pulled down at power-up and active-high: an unpowered latch until lockerd runs.
            LatchRef::Gpio {
                pin, active_low, ..
            } => assert!((9..=27).contains(&pin) && !active_low),
            ref other => panic!("{}: expected a gpio latch, got {other:?}", compartment.id),
        }
        // A reed switch to ground: shut pulls the pin low, open lets the pull-up take it high.
        assert!(
            matches!(
                compartment.door,
                DoorRef::Gpio {
                    open_when: Level::High,
                    pull: Pull::Up,
                    ..
                }
            ),
            "{}: {:?}",
            compartment.id,
            compartment.door
        );
    }
}

#[test]
fn the_porch_box_takes_any_delivery_and_the_apartment_bank_only_expected_ones() {
    let porch = example("gpio-porch.toml");
    assert!(porch.delivery.open_drop && porch.delivery.scan_to_open);
    let bank = example("apartment-bank-8.toml");
    assert!(!bank.delivery.open_drop && bank.delivery.scan_to_open);
    assert_eq!(bank.compartments.len(), 8);
    assert_eq!(units(&bank), (vec![1], vec![2]));
    doors_fit_eight_input_boards(&bank);
    a_mix_of_sizes_some_accessible(&bank);
}

#[test]
fn load_resolves_a_relative_state_dir_to_an_absolute_path() {
    let dir = std::env::temp_dir().join(format!("lockerd-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lockerd.toml");
    std::fs::write(&file, with("[locker]\nstate_dir = \"state\"")).unwrap();
    let loaded = Config::load(&file);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(loaded.unwrap().locker.state_dir, dir.join("state"));
}

#[test]
fn an_unreadable_file_is_named() {
    let missing = config_dir().join("no-such-file.toml");
    let error = Config::load(&missing).unwrap_err();
    assert_eq!(error.file, missing);
    assert_eq!(error.key, "");
    assert!(error.message.starts_with("cannot read the file"), "{error}");
}
