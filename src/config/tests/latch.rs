//! `[latch]`: the limits that keep a solenoid from overheating, each asserted on the key path and
//! the message a user would see.

use super::*;

#[test]
fn latch_pulse_is_bounded() {
    refused(
        &with("[latch]\npulse = \"0ms\""),
        "latch.pulse",
        "longer than 0s",
    );
    refused(
        &with("[latch]\npulse = \"2s\"\nmax_pulse = \"1s\""),
        "latch.pulse",
        "longer than latch.max_pulse",
    );
    refused(
        &with("[latch]\nmax_pulse = \"5001ms\""),
        "latch.max_pulse",
        "longer than 5s",
    );
    ok(&with("[latch]\npulse = \"5s\"\nmax_pulse = \"5s\""));
}

#[test]
fn latch_cooldown_must_be_more_than_zero() {
    for zero in ["0s", "0ms"] {
        refused(
            &with(&format!("[latch]\ncooldown = \"{zero}\"")),
            "latch.cooldown",
            "must be more than 0s: a solenoid needs rest between pulses",
        );
    }
    let config = ok(&with("[latch]\ncooldown = \"1ms\""));
    assert_eq!(config.latch.cooldown, Duration::from_millis(1));
}

#[test]
fn latch_retries_are_at_most_5() {
    let error = refused(
        &with("[latch]\nretries = 6"),
        "latch.retries",
        "must be at most 5, got 6",
    );
    assert!(
        error
            .message
            .contains("each retry is another pulse on a latch that already failed"),
        "{error}"
    );
    refused(
        &with("[latch]\nretries = 4294967295"),
        "latch.retries",
        "got 4294967295",
    );
    assert_eq!(ok(&with("[latch]\nretries = 5")).latch.retries, 5);
    assert_eq!(ok(&with("[latch]\nretries = 0")).latch.retries, 0);
}

#[test]
fn latch_door_left_open_must_be_more_than_zero() {
    refused(
        &with("[latch]\ndoor_left_open = \"0s\""),
        "latch.door_left_open",
        "longer than 0s",
    );
    let config = ok(&with("[latch]\ndoor_left_open = \"1s\""));
    assert_eq!(config.latch.door_left_open, Duration::from_secs(1));
}

#[test]
fn latch_open_timeout_must_be_more_than_zero() {
    refused(
        &with("[latch]\nopen_timeout = \"0s\""),
        "latch.open_timeout",
        "longer than 0s",
    );
}

#[test]
fn the_first_broken_latch_rule_is_reported() {
    // Checked in the order the file lists the keys.
    refused(
        &with("[latch]\ncooldown = \"0s\"\nretries = 9\ndoor_left_open = \"0s\""),
        "latch.cooldown",
        "more than 0s",
    );
    refused(
        &with("[latch]\nretries = 9\ndoor_left_open = \"0s\""),
        "latch.retries",
        "at most 5",
    );
}
