//! What the config loader promises for any text at all (`config/lockerd.toml` documents its
//! keys), checked from the outside: shared by the `config_loader` fuzz target and the config
//! properties.
//!
//! - it returns, never panics;
//! - a refusal names the file, and a key path (`compartment[3].latch.coil`) or, for text that is
//!   not TOML, a line and column;
//! - an accepted file keeps every cross-check: unique ids and bus names, latches and doors on
//!   configured buses, no shared latch output, pins and units in range, pulse limits.

use lockerd::config::{Config, ConfigError, DoorRef, Driver, LatchRef};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

/// Parses `text` as if read from `source` (an absolute path) the way `lockerd check-config`
/// does, and panics, describing the broken promise, if the answer breaks one.
pub fn judge(text: &str, source: &Path) -> Result<Config, ConfigError> {
    assert!(source.is_absolute(), "judge needs an absolute source");
    let result = Config::parse(text, source);
    match &result {
        Ok(config) => accepted(config, text),
        Err(error) => refused(error, source, text),
    }
    result
}

fn refused(error: &ConfigError, source: &Path, text: &str) {
    assert_eq!(error.file, source, "the error names another file: {error}");
    assert!(
        !error.message.trim().is_empty(),
        "empty message: {error:?}\n{text}"
    );
    let shown = error.to_string();
    assert!(
        shown.starts_with(&source.display().to_string()),
        "the message does not start with the file: {shown}"
    );
    if error.key.is_empty() {
        assert!(
            names_a_line(&error.message),
            "an error names neither a key nor a line: {shown}\n--- text:\n{text}"
        );
    } else {
        assert!(
            !error.key.starts_with('.') && !error.key.ends_with('.') && !error.key.contains(".."),
            "a malformed key path {:?}: {shown}\n--- text:\n{text}",
            error.key
        );
    }
}

/// "line L, column C: ..." with both numbers at least 1.
fn names_a_line(message: &str) -> bool {
    let Some(rest) = message.strip_prefix("line ") else {
        return false;
    };
    let Some((line, rest)) = rest.split_once(", column ") else {
        return false;
    };
    let column = rest.split(':').next().unwrap_or("");
    [line, column]
        .iter()
        .all(|n| n.parse::<usize>().is_ok_and(|n| n >= 1))
}

fn accepted(config: &Config, text: &str) {
    let why = |what: &str| format!("accepted a file that breaks a rule: {what}\n--- text:\n{text}");
    assert!(
        config.locker.state_dir.is_absolute(),
        "{}",
        why("state_dir")
    );
    assert!(
        !config.locker.name.trim().is_empty(),
        "{}",
        why("locker.name")
    );
    let api = &config.api;
    assert!(
        api.listen.ip().is_loopback() || api.tls.is_some() || api.allow_plaintext,
        "{}",
        why("a LAN listener needs TLS or api.allow_plaintext")
    );
    assert!(
        config.api.max_streams >= 1 && config.api.max_streams_per_token >= 1,
        "{}",
        why("api.max_streams*")
    );
    let policy = &config.policy;
    assert!(
        (6..=10).contains(&policy.code_length),
        "{}",
        why("code_length")
    );
    assert!(
        policy.keypad_max_failures >= 1,
        "{}",
        why("keypad_max_failures")
    );
    assert!(
        policy.keypad_lockout <= policy.keypad_lockout_max,
        "{}",
        why("keypad_lockout_max")
    );
    let latch = &config.latch;
    assert!(!latch.pulse.is_zero(), "{}", why("latch.pulse > 0"));
    assert!(
        latch.pulse <= latch.max_pulse,
        "{}",
        why("pulse <= max_pulse")
    );
    assert!(
        latch.max_pulse <= Duration::from_secs(5),
        "{}",
        why("max_pulse <= 5s")
    );
    assert!(latch.retries <= 5, "{}", why("latch.retries"));

    assert!(!config.buses.is_empty(), "{}", why("at least one bus"));
    let mut names = HashSet::new();
    for bus in &config.buses {
        assert!(
            names.insert(bus.name.as_str()),
            "{}",
            why("unique bus names")
        );
    }
    let sims = config
        .buses
        .iter()
        .filter(|b| matches!(b.driver, Driver::Sim { .. }));
    assert!(sims.count() <= 1, "{}", why("at most one sim bus"));

    assert!(!config.compartments.is_empty(), "{}", why("a compartment"));
    let mut ids = HashSet::new();
    let mut outputs = HashSet::new();
    let mut locks = HashSet::new();
    let mut pins = HashSet::new();
    for c in &config.compartments {
        let id_ok = (1..=16).contains(&c.id.len())
            && c.id
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
        assert!(
            id_ok && ids.insert(c.id.as_str()),
            "{}",
            why("ids valid and unique")
        );
        assert!(
            config.bus(c.latch.bus()).is_some(),
            "{}",
            why("latch on a bus")
        );
        assert!(
            config.bus(c.door.bus()).is_some(),
            "{}",
            why("door on a bus")
        );
        match &c.latch {
            LatchRef::Sim { .. } => {}
            LatchRef::Modbus { bus, unit, coil } => {
                assert!((1..=247).contains(unit), "{}", why("modbus unit"));
                assert!(
                    outputs.insert((bus, *unit, *coil)),
                    "{}",
                    why("shared coil")
                );
            }
            LatchRef::Gpio { pin, .. } => {
                assert!(*pin <= 27 && pins.insert(*pin), "{}", why("gpio latch pin"));
            }
            LatchRef::Kerong { bus, board, lock } => {
                assert!(
                    *board <= 15 && (1..=16).contains(lock),
                    "{}",
                    why("kerong lock")
                );
                assert!(locks.insert((bus, *board, *lock)), "{}", why("shared lock"));
            }
            LatchRef::Lockboard { bus, board, lock } => {
                assert!(
                    (1..=31).contains(board) && (1..=48).contains(lock),
                    "{}",
                    why("8A lock")
                );
                assert!(locks.insert((bus, *board, *lock)), "{}", why("shared lock"));
            }
        }
        match &c.door {
            DoorRef::Modbus { unit, .. } => {
                assert!((1..=247).contains(unit), "{}", why("modbus unit"))
            }
            DoorRef::Gpio { pin, .. } => {
                assert!(*pin <= 27 && pins.insert(*pin), "{}", why("gpio door pin"))
            }
            DoorRef::Sim { .. } | DoorRef::Kerong { .. } | DoorRef::Lockboard { .. } => {}
        }
    }
    // The table `check-config` prints for an accepted file.
    let table = config.describe_compartments();
    assert_eq!(table.lines().count(), config.compartments.len() + 1);
}
