//! Unit tests of the loader: each rule `config/lockerd.toml` documents, asserted on the key path
//! and message a user would see. The scalar tables and the file's shape are here; `[latch]` (the
//! solenoid's safety limits), buses, compartments, the shipped files and what toml and serde let
//! through that the file's shape must not (`shape`) have their own modules.

mod boards;
mod buses;
mod compartments;
mod files;
mod latch;
mod mqtt;
mod push;
mod shape;
mod sharing;
mod tls;

use super::*;
use std::time::Duration;

const SOURCE: &str = "test/lockerd.toml";

const SIM_BUS: &str = "[[bus]]\nname = \"sim\"\ndriver = \"sim\"\n";

fn sim_compartment(id: &str) -> String {
    format!(
        "[[compartment]]\nid = \"{id}\"\nsize = \"S\"\nlatch = {{ bus = \"sim\" }}\ndoor = {{ bus = \"sim\" }}\n"
    )
}

/// The smallest valid file, after `prefix` (which may hold any scalar tables).
fn with(prefix: &str) -> String {
    format!("{prefix}\n{SIM_BUS}\n{}", sim_compartment("A1"))
}

/// One bus of every driver, for compartment tests.
const BUSES: &str = "[[bus]]\nname = \"sim\"\ndriver = \"sim\"\n\
    [[bus]]\nname = \"rs485\"\ndriver = \"modbus-rtu\"\ndevice = \"/dev/ttyUSB0\"\n\
    [[bus]]\nname = \"net\"\ndriver = \"modbus-tcp\"\naddress = \"10.0.0.5:502\"\n\
    [[bus]]\nname = \"pi\"\ndriver = \"gpio\"\n";

const SIM: &str = "{ bus = \"sim\" }";

/// A real latch and a real door for a compartment whose other half is under test (a compartment
/// is simulated or real, never half of each). Unit 200 is used by no other test.
const REAL_LATCH: &str = "{ bus = \"net\", unit = 200, coil = 0 }";
const REAL_DOOR: &str = "{ bus = \"net\", unit = 200, input = 0 }";

/// One compartment line set: `id`, its latch and its door as inline tables.
fn compartment(id: &str, latch: &str, door: &str) -> String {
    format!("[[compartment]]\nid = \"{id}\"\nsize = \"M\"\nlatch = {latch}\ndoor = {door}\n")
}

fn file(compartments: &[String]) -> String {
    format!("{BUSES}\n{}", compartments.concat())
}

/// A file whose only compartment has this latch and a real door.
fn latch(latch: &str) -> String {
    file(&[compartment("A1", latch, REAL_DOOR)])
}

/// A file whose only compartment has a real latch and this door.
fn door(door: &str) -> String {
    file(&[compartment("A1", REAL_LATCH, door)])
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new(SOURCE))
}

fn ok(text: &str) -> Config {
    parse(text).unwrap_or_else(|e| panic!("expected a valid file, got: {e}\n{text}"))
}

/// Asserts that `text` is refused at `key` with a message containing `fragment`.
#[track_caller]
fn refused(text: &str, key: &str, fragment: &str) -> ConfigError {
    let error = match parse(text) {
        Ok(_) => panic!("expected an error at {key}, the file was accepted:\n{text}"),
        Err(error) => error,
    };
    assert_eq!(error.key, key, "wrong key in: {error}");
    assert!(
        error.message.contains(fragment),
        "expected {fragment:?} in: {error}"
    );
    assert_eq!(error.file, Path::new(SOURCE));
    error
}

#[test]
fn a_minimal_file_gets_the_documented_defaults() {
    let config = ok(&with(""));
    assert_eq!(config.source, Path::new(SOURCE));
    assert_eq!(config.locker.name, "lockerd");
    assert_eq!(config.locker.state_dir, Path::new("/var/lib/lockerd"));
    assert_eq!(config.api.listen, "127.0.0.1:8080".parse().unwrap());
    assert!(!config.api.metrics_public);
    assert!(!config.api.allow_plaintext);
    assert!(config.api.tls.is_none());
    assert_eq!(config.api.max_streams, 32);
    assert_eq!(config.api.max_streams_per_token, 4);
    let policy = &config.policy;
    assert_eq!(policy.code_length, 6);
    assert_eq!(policy.dwell, Duration::from_secs(72 * 3600));
    assert_eq!(policy.deposit_grace, Duration::from_secs(120));
    assert_eq!(policy.keypad_max_failures, 5);
    assert_eq!(policy.keypad_lockout, Duration::from_secs(60));
    assert_eq!(policy.keypad_lockout_max, Duration::from_secs(24 * 3600));
    assert_eq!(policy.courier_session, Duration::from_secs(15 * 60));
    let latch = &config.latch;
    assert_eq!(latch.pulse, Duration::from_millis(400));
    assert_eq!(latch.max_pulse, Duration::from_millis(1500));
    assert_eq!(latch.cooldown, Duration::from_secs(1));
    assert_eq!(latch.open_timeout, Duration::from_secs(3));
    assert_eq!(latch.retries, 1);
    assert_eq!(latch.door_left_open, Duration::from_secs(60));
    assert_eq!(config.photo.command, "");
    assert_eq!(config.photo.timeout, Duration::from_secs(5));
    assert_eq!(config.sync.retention, Duration::from_secs(30 * 24 * 3600));
    assert_eq!(config.buses.len(), 1);
    assert_eq!(config.compartments.len(), 1);
    assert!(!config.compartments[0].accessible);
}

#[test]
fn given_values_replace_defaults_and_durations_are_humantime() {
    let config = ok(&with(
        "[locker]\nname = \"lobby-1\"\n[api]\nlisten = \"0.0.0.0:9000\"\nmetrics_public = true\n\
         allow_plaintext = true\n\
         [policy]\ncode_length = 8\ndwell = \"30d\"\ndeposit_grace = \"90s\"\n\
         [latch]\npulse = \"250ms\"\nmax_pulse = \"5s\"\nretries = 3\n\
         [photo]\ncommand = \"rpicam-still -n -o {path}\"\n[sync]\nretention = \"1h 30m\"",
    ));
    assert_eq!(config.locker.name, "lobby-1");
    assert_eq!(config.api.listen, "0.0.0.0:9000".parse().unwrap());
    assert!(config.api.metrics_public);
    assert!(config.api.allow_plaintext);
    assert_eq!(config.policy.code_length, 8);
    assert_eq!(config.policy.dwell, Duration::from_secs(30 * 24 * 3600));
    assert_eq!(config.policy.deposit_grace, Duration::from_secs(90));
    assert_eq!(config.latch.pulse, Duration::from_millis(250));
    assert_eq!(config.latch.max_pulse, Duration::from_secs(5));
    assert_eq!(config.latch.retries, 3);
    assert_eq!(config.photo.command, "rpicam-still -n -o {path}");
    assert_eq!(config.sync.retention, Duration::from_secs(90 * 60));
}

#[test]
fn a_bad_duration_names_its_key() {
    refused(
        &with("[policy]\ndwell = \"72 hourz\""),
        "policy.dwell",
        "invalid duration \"72 hourz\"",
    );
    refused(
        &with("[latch]\npulse = \"fast\""),
        "latch.pulse",
        "\"400ms\"",
    );
}

#[test]
fn a_duration_without_a_unit_is_refused() {
    refused(
        &with("[latch]\npulse = 400"),
        "latch.pulse",
        "duration string",
    );
}

#[test]
fn unknown_keys_are_refused_with_their_path() {
    let error = refused(
        &with("[api]\nlisen = \"127.0.0.1:8080\""),
        "api.lisen",
        "unknown key",
    );
    assert!(
        error.message.contains("listen"),
        "should suggest the known keys: {error}"
    );
    refused(&with("colour = \"red\""), "colour", "unknown key");
    refused(
        &with("[apii]\nlisten = \"127.0.0.1:8080\""),
        "apii",
        "unknown key",
    );
    refused(
        &with("[policy]\ncode_lenght = 6"),
        "policy.code_lenght",
        "unknown key",
    );
}

#[test]
fn errors_read_file_key_message() {
    let error = parse(&with("[api]\nlisen = \"x\"")).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("test/lockerd.toml: api.lisen: unknown key"),
        "{error}"
    );
}

#[test]
fn a_syntax_error_points_at_the_line() {
    let error = parse("[locker]\nname = \"a\"\nstate_dir = \n").unwrap_err();
    assert_eq!(error.key, "");
    assert!(error.message.starts_with("line 3, column "), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("test/lockerd.toml: line 3, column "),
        "{error}"
    );
}

#[test]
fn a_key_given_twice_points_at_the_line() {
    let error = parse(&with(
        "[api]\nmetrics_public = true\nmetrics_public = false",
    ))
    .unwrap_err();
    assert!(error.message.contains("line 3"), "{error}");
}

#[test]
fn a_wrongly_typed_value_names_its_key() {
    refused(
        &with("[api]\nmetrics_public = \"yes\""),
        "api.metrics_public",
        "invalid type",
    );
    refused(
        &with("[policy]\ncode_length = 300"),
        "policy.code_length",
        "300",
    );
}

#[test]
fn stream_caps_are_at_least_one() {
    for key in ["max_streams", "max_streams_per_token"] {
        refused(
            &with(&format!("[api]\n{key} = 0")),
            &format!("api.{key}"),
            "at least 1",
        );
        let config = ok(&with(&format!("[api]\n{key} = 2000")));
        assert!(config.api.max_streams == 2000 || config.api.max_streams_per_token == 2000);
    }
}

#[test]
fn api_listen_must_be_a_socket_address() {
    refused(
        &with("[api]\nlisten = \"localhost\""),
        "api.listen",
        "ip:port",
    );
    refused(
        &with("[api]\nlisten = \"127.0.0.1:99999\""),
        "api.listen",
        "\"127.0.0.1:99999\"",
    );
}

#[test]
fn locker_name_and_state_dir_must_not_be_empty() {
    refused(
        &with("[locker]\nname = \" \""),
        "locker.name",
        "must not be empty",
    );
    refused(
        &with("[locker]\nstate_dir = \"\""),
        "locker.state_dir",
        "must not be empty",
    );
}

#[test]
fn a_relative_state_dir_is_resolved_against_the_file() {
    let text = with("[locker]\nstate_dir = \"../var/lockerd\"");
    let config = Config::parse(&text, Path::new("/etc/lockerd/lockerd.toml")).unwrap();
    assert_eq!(
        config.locker.state_dir,
        Path::new("/etc/lockerd/../var/lockerd")
    );
    let text = with("[locker]\nstate_dir = \"/srv/lockerd\"");
    let config = Config::parse(&text, Path::new("/etc/lockerd/lockerd.toml")).unwrap();
    assert_eq!(config.locker.state_dir, Path::new("/srv/lockerd"));
}

#[test]
fn code_length_is_6_to_10() {
    refused(
        &with("[policy]\ncode_length = 5"),
        "policy.code_length",
        "6..=10",
    );
    refused(
        &with("[policy]\ncode_length = 11"),
        "policy.code_length",
        "got 11",
    );
    ok(&with("[policy]\ncode_length = 10"));
}

#[test]
fn keypad_limits_are_checked() {
    refused(
        &with("[policy]\nkeypad_max_failures = 0"),
        "policy.keypad_max_failures",
        "at least 1",
    );
    refused(
        &with("[policy]\nkeypad_lockout = \"0s\""),
        "policy.keypad_lockout",
        "longer than 0s",
    );
    let error = refused(
        &with("[policy]\nkeypad_lockout = \"2h\"\nkeypad_lockout_max = \"1h\""),
        "policy.keypad_lockout_max",
        "shorter than policy.keypad_lockout",
    );
    assert!(error.message.contains("2h"), "{error}");
    ok(&with(
        "[policy]\nkeypad_lockout = \"1h\"\nkeypad_lockout_max = \"1h\"",
    ));
}

#[test]
fn policy_periods_must_be_positive() {
    for key in [
        "dwell",
        "deposit_grace",
        "courier_session",
        "console_session",
    ] {
        refused(
            &with(&format!("[policy]\n{key} = \"0s\"")),
            &format!("policy.{key}"),
            "longer than 0s",
        );
    }
}

#[test]
fn a_console_session_lapses_within_a_week() {
    refused(
        &with("[policy]\nconsole_session = \"8d\""),
        "policy.console_session",
        "at most 7d",
    );
    ok(&with("[policy]\nconsole_session = \"7d\""));
}

#[test]
fn photo_and_sync_periods_must_be_positive() {
    refused(
        &with("[photo]\ntimeout = \"0s\""),
        "photo.timeout",
        "longer than 0s",
    );
    refused(
        &with("[sync]\nretention = \"0s\""),
        "sync.retention",
        "longer than 0s",
    );
}

#[test]
fn at_least_one_bus_and_one_compartment_are_required() {
    refused(&sim_compartment("A1"), "bus", "at least one [[bus]]");
    refused(SIM_BUS, "compartment", "at least one [[compartment]]");
}

#[test]
fn a_single_table_where_an_array_belongs_gets_a_hint() {
    let text = format!(
        "[bus]\nname = \"sim\"\ndriver = \"sim\"\n{}",
        sim_compartment("A1")
    );
    refused(&text, "bus", "write [[bus]]");
}

#[test]
fn a_log_level_that_does_not_parse_is_refused_naming_the_key() {
    refused(
        &with("[locker]\nlog_level = \"loud,,=\""),
        "locker.log_level",
        "is not a level",
    );
    let ok = Config::parse(
        &with("[locker]\nlog_level = \"warn,lockerd::controller=debug\""),
        Path::new("/etc/lockerd/lockerd.toml"),
    );
    assert!(ok.is_ok(), "{:?}", ok.err());
}
