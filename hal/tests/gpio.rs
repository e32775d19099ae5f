//! The GPIO driver's behaviour that needs no Raspberry Pi: polarity and door-level mapping,
//! configuration checks, and a plain error (not a panic) where there is no GPIO.

use std::time::Duration;

use lockerd_hal::gpio::{DoorPin, GpioBank, GpioError, LatchPin, Level, Pull};
use lockerd_hal::{DoorState, Error, ErrorKind};

#[test]
fn an_active_high_latch_is_off_when_low() {
    let latch = LatchPin {
        pin: 17,
        active_low: false,
    };
    assert_eq!(latch.level(false), Level::Low);
    assert_eq!(latch.level(true), Level::High);
}

#[test]
fn an_active_low_latch_is_off_when_high() {
    let latch = LatchPin {
        pin: 5,
        active_low: true,
    };
    assert_eq!(latch.level(false), Level::High);
    assert_eq!(latch.level(true), Level::Low);
}

#[test]
fn a_pulled_up_reed_switch_reads_open_when_high() {
    let door = DoorPin {
        pin: 22,
        open_when: Level::High,
        pull: Pull::Up,
    };
    assert_eq!(door.state_at(Level::High), DoorState::Open);
    assert_eq!(door.state_at(Level::Low), DoorState::Closed);
}

#[test]
fn a_door_open_when_low_reads_closed_when_high() {
    let door = DoorPin {
        pin: 23,
        open_when: Level::Low,
        pull: Pull::Down,
    };
    assert_eq!(door.state_at(Level::Low), DoorState::Open);
    assert_eq!(door.state_at(Level::High), DoorState::Closed);
}

#[test]
fn a_pin_used_as_latch_and_door_is_refused_before_touching_hardware() {
    let latches = vec![LatchPin {
        pin: 17,
        active_low: false,
    }];
    let doors = vec![DoorPin {
        pin: 17,
        open_when: Level::High,
        pull: Pull::Up,
    }];
    let error = GpioBank::open(latches, doors, Duration::from_millis(20)).unwrap_err();
    assert!(
        matches!(error, GpioError::DuplicatePin { pin: 17 }),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Channel);
    assert_eq!(
        error.to_string(),
        "gpio pin 17 is configured more than once"
    );
}

fn is_raspberry_pi() -> bool {
    std::fs::read_to_string("/proc/device-tree/model")
        .is_ok_and(|model| model.contains("Raspberry Pi"))
}

#[test]
fn off_a_pi_open_fails_with_a_plain_message() {
    if is_raspberry_pi() {
        // On a Pi, opening may rightly succeed; this test is about every other machine.
        return;
    }
    let latches = vec![LatchPin {
        pin: 17,
        active_low: false,
    }];
    let doors = vec![DoorPin {
        pin: 22,
        open_when: Level::High,
        pull: Pull::Up,
    }];
    let error = GpioBank::open(latches, doors, Duration::from_millis(20)).unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("gpio is unavailable: "), "{message}");
    assert_eq!(error.kind(), ErrorKind::Device, "{message}");
}

#[test]
fn the_bank_can_move_into_the_controller_task() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<GpioBank>();
}
