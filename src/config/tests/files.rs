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
        "modbus-rtu.toml",
        "modbus-tcp.toml",
        "gpio-porch.toml",
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
    assert_eq!(format!("{:?}", shipped.api), format!("{:?}", defaults.api));
    assert_eq!(shipped.buses[0].driver, defaults.buses[0].driver);
    let keys = [
        "name",
        "state_dir",
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
        "driver",
        "poll",
    ];
    for key in keys {
        assert!(
            text.contains(&format!("\n{key} = ")),
            "config/lockerd.toml does not set {key}"
        );
    }
}

#[test]
fn the_gpio_example_boots_locked() {
    let config = Config::load(&config_dir().join("examples/gpio-porch.toml")).unwrap();
    for compartment in &config.compartments {
        match compartment.latch {
            // Pulled down at power-up and active-high: an unpowered latch until lockerd runs.
            LatchRef::Gpio {
                pin, active_low, ..
            } => assert!((9..=27).contains(&pin) && !active_low),
            ref other => panic!("{}: expected a gpio latch, got {other:?}", compartment.id),
        }
    }
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
