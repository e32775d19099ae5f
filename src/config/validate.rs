//! Turns the file's shape into a [`Config`]: the single-key rules of the scalar tables here, the
//! buses and compartments in their own modules, and the cross-checks between them. The first
//! broken rule is reported; nothing here touches hardware, and the only files read are
//! `sync.push.secret_file` (in `push`) and the API's certificate and key (in `tls`).

use super::check::{Check, ConfigError, MINUTE};
use super::drivers;
use super::duration::show;
use super::hardware::BusConfig;
use super::raw::{RawFile, RawSync};
use super::sections::{
    ApiConfig, Config, LatchConfig, LockerConfig, PhotoConfig, PolicyConfig, SyncConfig,
};
use super::{buses, compartments, mqtt, push, tls};
use std::path::Path;
use std::time::Duration;

/// Solenoids are rated for intermittent duty: no request or profile may hold one on longer.
const PULSE_CEILING: Duration = Duration::from_secs(5);

/// Each retry is another pulse on a latch that already failed to open its door: more than a few
/// only heats a stuck solenoid.
const MAX_RETRIES: u32 = 5;

/// The longest `latch.door_left_open`: a door open a day is an alarm long overdue.
const DAY: Duration = Duration::from_secs(24 * 3600);

/// `sha256` is the digest of the file's text, kept for the audit log.
pub(super) fn validate(
    raw: RawFile,
    source: &Path,
    sha256: [u8; 32],
) -> Result<Config, ConfigError> {
    let check = Check { source };
    let locker = locker(&check, raw.locker)?;
    api(&check, &raw.api)?;
    policy(&check, &raw.policy)?;
    latch(&check, &raw.latch)?;
    check.ensure(
        tracing_subscriber::EnvFilter::builder()
            .parse(&locker.log_level)
            .is_ok(),
        "locker.log_level",
        || {
            format!(
                "{:?} is not a level such as \"info\" or \"info,lockerd::controller=debug\"",
                locker.log_level
            )
        },
    )?;
    let api = tls::validate(&check, raw.api)?;
    let sync = photo_and_sync(&check, &raw.photo, raw.sync)?;
    let mqtt = raw
        .mqtt
        .map(|m| mqtt::validate(&check, m, &locker.name))
        .transpose()?;
    let buses = buses::validate(&check, raw.buses)?;
    board_timed_pulse(&check, &raw.latch, &buses)?;
    let compartments = compartments::validate(&check, raw.compartments, &buses)?;
    Ok(Config {
        source: source.to_path_buf(),
        sha256,
        locker,
        api,
        policy: raw.policy,
        latch: raw.latch,
        photo: raw.photo,
        delivery: raw.delivery,
        sync,
        mqtt,
        buses,
        compartments,
    })
}

fn locker(check: &Check, mut locker: LockerConfig) -> Result<LockerConfig, ConfigError> {
    check.ensure(!locker.name.trim().is_empty(), "locker.name", || {
        "must not be empty".to_owned()
    })?;
    check.ensure(
        !locker.state_dir.as_os_str().is_empty(),
        "locker.state_dir",
        || "must not be empty".to_owned(),
    )?;
    // Relative to the file, not the working directory, so `lockerd run` behaves the same from
    // any directory and a checkout's default config finds its own state directory.
    if locker.state_dir.is_relative() {
        let dir = check.source.parent().unwrap_or(Path::new(""));
        locker.state_dir = dir.join(&locker.state_dir);
    }
    Ok(locker)
}

fn api(check: &Check, api: &ApiConfig) -> Result<(), ConfigError> {
    // 0 would refuse the kiosk page its live feed, which it cannot work without.
    for (key, value) in [
        ("api.max_streams", api.max_streams),
        ("api.max_streams_per_token", api.max_streams_per_token),
    ] {
        check.ensure(value >= 1, key, || "must be at least 1".to_owned())?;
    }
    Ok(())
}

fn policy(check: &Check, policy: &PolicyConfig) -> Result<(), ConfigError> {
    let length = policy.code_length;
    check.ensure((6..=10).contains(&length), "policy.code_length", || {
        format!("must be 6..=10 digits, got {length}; shorter codes are guessable at the keypad")
    })?;
    check.ensure(
        policy.keypad_max_failures >= 1,
        "policy.keypad_max_failures",
        || "must be at least 1".to_owned(),
    )?;
    check.positive("policy.dwell", policy.dwell)?;
    check.positive("policy.deposit_grace", policy.deposit_grace)?;
    check.positive("policy.keypad_lockout", policy.keypad_lockout)?;
    check.ensure(
        policy.keypad_lockout <= policy.keypad_lockout_max,
        "policy.keypad_lockout_max",
        || {
            format!(
                "{} is shorter than policy.keypad_lockout ({}); the lockout only grows",
                show(policy.keypad_lockout_max),
                show(policy.keypad_lockout)
            )
        },
    )?;
    check.positive("policy.courier_session", policy.courier_session)?;
    check.positive("policy.console_session", policy.console_session)?;
    // A console cookie is an operator's power in a browser: it must lapse within a week.
    check.ensure(
        policy.console_session <= 7 * DAY,
        "policy.console_session",
        || format!("must be at most 7d, got {}", show(policy.console_session)),
    )?;
    check.positive("policy.opens_window", policy.opens_window)?;
    for (key, n) in [
        ("policy.opens_per_credential", policy.opens_per_credential),
        ("policy.opens_locker_wide", policy.opens_locker_wide),
        ("policy.courier_opens", policy.courier_opens),
    ] {
        check.ensure(n >= 1, key, || {
            "must be at least 1; it is a ceiling on door openings".to_owned()
        })?;
    }
    Ok(())
}

fn latch(check: &Check, latch: &LatchConfig) -> Result<(), ConfigError> {
    check.positive("latch.pulse", latch.pulse)?;
    check.ensure(latch.pulse <= latch.max_pulse, "latch.pulse", || {
        format!(
            "{} is longer than latch.max_pulse ({})",
            show(latch.pulse),
            show(latch.max_pulse)
        )
    })?;
    check.ensure(latch.max_pulse <= PULSE_CEILING, "latch.max_pulse", || {
        format!(
            "{} is longer than {}; solenoid latches overheat if held on",
            show(latch.max_pulse),
            show(PULSE_CEILING)
        )
    })?;
    // Back-to-back pulses overheat a solenoid as surely as one long pulse.
    check.ensure(!latch.cooldown.is_zero(), "latch.cooldown", || {
        "must be more than 0s: a solenoid needs rest between pulses".to_owned()
    })?;
    check.at_most(
        "latch.cooldown",
        latch.cooldown,
        MINUTE,
        "60s",
        "a longer rest only keeps a parcel locked in, and must fit the controller's clock arithmetic",
    )?;
    check.positive("latch.open_timeout", latch.open_timeout)?;
    check.at_most(
        "latch.open_timeout",
        latch.open_timeout,
        MINUTE,
        "60s",
        "a door not seen open within a minute did not open, and longer waits must fit the \
         controller's clock arithmetic",
    )?;
    let retries = latch.retries;
    check.ensure(retries <= MAX_RETRIES, "latch.retries", || {
        format!(
            "must be at most {MAX_RETRIES}, got {retries}: each retry is another pulse on a latch \
             that already failed"
        )
    })?;
    check.positive("latch.door_left_open", latch.door_left_open)?;
    check.at_most(
        "latch.door_left_open",
        latch.door_left_open,
        DAY,
        "24h",
        "a door open longer is an alarm long overdue, and longer periods must fit the \
         controller's clock arithmetic",
    )
}

/// Each bus's driver checks `[latch]` against what its boards can time (`drivers`).
fn board_timed_pulse(
    check: &Check,
    latch: &LatchConfig,
    buses: &[BusConfig],
) -> Result<(), ConfigError> {
    for bus in buses {
        let registration = drivers::find(bus.driver.kind()).expect("every driver is registered");
        (registration.latch_timing)(check, latch, bus)?;
    }
    Ok(())
}

fn photo_and_sync(
    check: &Check,
    photo: &PhotoConfig,
    sync: RawSync,
) -> Result<SyncConfig, ConfigError> {
    check.positive("photo.timeout", photo.timeout)?;
    check.positive("photo.retention", photo.retention)?;
    photo_command(check, &photo.command)?;
    check.positive("sync.retention", sync.retention)?;
    check.positive("sync.reservation_ttl", sync.reservation_ttl)?;
    check.ensure(sync.max_reservations >= 1, "sync.max_reservations", || {
        "must be at least 1".to_owned()
    })?;
    let push = sync
        .push
        .map(|raw| push::validate(check, raw))
        .transpose()?;
    Ok(SyncConfig {
        retention: sync.retention,
        reservation_ttl: sync.reservation_ttl,
        max_reservations: sync.max_reservations,
        push,
    })
}

/// A photo command must split into words and say where the photo goes.
fn photo_command(check: &Check, command: &str) -> Result<(), ConfigError> {
    if command.trim().is_empty() {
        return Ok(());
    }
    let words = shell_words::split(command)
        .map_err(|e| check.error("photo.command", format!("cannot split into words: {e}")))?;
    check.ensure(
        words.iter().any(|w| w.contains("{path}")),
        "photo.command",
        || "must contain {path}, where the photo is to be written".to_owned(),
    )
}
