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

/// A file with one Modbus bus of `profile` (and `driver`), its compartment, and `latch` as the
/// `[latch]` table.
fn with_profile(driver: &str, profile: &str, latch: &str) -> String {
    let transport = match driver {
        "modbus-rtu" => "device = \"/dev/ttyUSB0\"",
        _ => "address = \"10.0.0.5:502\"",
    };
    format!(
        "[latch]\n{latch}\n\
         [[bus]]\nname = \"relays\"\ndriver = \"{driver}\"\n{transport}\nprofile = \"{profile}\"\n\
         [[compartment]]\nid = \"A1\"\nsize = \"M\"\n\
         latch = {{ bus = \"relays\", unit = 1, coil = 0 }}\n\
         door = {{ bus = \"relays\", unit = 2, input = 0 }}\n"
    )
}

#[test]
fn an_eletechsup_bus_needs_a_pulse_of_whole_seconds() {
    for driver in ["modbus-rtu", "modbus-tcp"] {
        // The default 400ms is shorter than the board's one-second step.
        let error = refused(
            &with_profile(driver, "eletechsup", ""),
            "latch.pulse",
            "400ms cannot be timed by bus \"relays\"",
        );
        assert!(error.message.contains("whole seconds"), "{error}");
        assert!(error.message.contains("at least 1s"), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("test/lockerd.toml: latch.pulse: "),
            "{error}"
        );
        // 1.5s would silently be cut to 1s by the board.
        refused(
            &with_profile(
                driver,
                "eletechsup",
                "pulse = \"1500ms\"\nmax_pulse = \"2s\"",
            ),
            "latch.pulse",
            "1s 500ms cannot be timed",
        );
        let config = ok(&with_profile(driver, "eletechsup", "pulse = \"1s\""));
        assert_eq!(config.latch.pulse, Duration::from_secs(1));
        ok(&with_profile(
            driver,
            "eletechsup",
            "pulse = \"2s\"\nmax_pulse = \"2s\"",
        ));
    }
}

#[test]
fn other_profiles_pulse_in_milliseconds() {
    for profile in ["generic", "waveshare"] {
        for driver in ["modbus-rtu", "modbus-tcp"] {
            let config = ok(&with_profile(driver, profile, "pulse = \"250ms\""));
            assert_eq!(config.latch.pulse, Duration::from_millis(250));
        }
    }
    // Sim and gpio buses time pulses in software as well.
    ok(&latch("{ bus = \"pi\", pin = 17 }"));
}

#[test]
fn the_eletechsup_bus_is_named_among_others() {
    let text = format!(
        "{BUSES}[[bus]]\nname = \"bank-2\"\ndriver = \"modbus-rtu\"\ndevice = \"/dev/ttyUSB1\"\n\
         profile = \"eletechsup\"\n{}",
        sim_compartment("A1")
    );
    let error = refused(&text, "latch.pulse", "bus \"bank-2\"");
    assert!(error.message.contains("\"eletechsup\""), "{error}");
}

#[test]
fn pulse_against_max_pulse_is_reported_before_the_board_rule() {
    // A pulse longer than its cap is wrong whatever the board: that is the message to see.
    refused(
        &with_profile(
            "modbus-rtu",
            "eletechsup",
            "pulse = \"2s\"\nmax_pulse = \"1s\"",
        ),
        "latch.pulse",
        "longer than latch.max_pulse",
    );
}

#[test]
fn latch_periods_have_upper_bounds() {
    for key in ["cooldown", "open_timeout"] {
        let error = refused(
            &with(&format!("[latch]\n{key} = \"61s\"")),
            &format!("latch.{key}"),
            "must be at most 60s, got 1m 1s",
        );
        assert!(error.message.contains("clock arithmetic"), "{error}");
        ok(&with(&format!("[latch]\n{key} = \"60s\"")));
    }
    refused(
        &with("[latch]\ndoor_left_open = \"25h\""),
        "latch.door_left_open",
        "must be at most 24h, got 1day 1h",
    );
    ok(&with("[latch]\ndoor_left_open = \"24h\""));
}
