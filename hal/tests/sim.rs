//! The simulated locker through its public API, as the daemon and its tests use it.
//!
//! Every async test runs under paused time: a pulse's sleep completes as soon as the runtime
//! is idle, and `Instant` differences are exact.

use std::future::Future;
use std::time::Duration;

use lockerd_hal::sim::{LatchFault, PulseRecord, SimError, SimLocker};
use lockerd_hal::{DoorSensor, DoorState, Error, ErrorKind, Latch};
use tokio::time::{Instant, sleep};

const PULSE: Duration = Duration::from_millis(300);

fn kind<T: std::fmt::Debug>(result: Result<T, SimError>) -> ErrorKind {
    result.expect_err("operation should fail").kind()
}

/// Drive `pulse` for `after` of (paused) time, failing the test if it finishes sooner.
async fn run_for<F: Future + Unpin>(pulse: &mut F, after: Duration) {
    tokio::select! {
        biased;
        _ = pulse => panic!("pulse finished before {after:?}"),
        () = sleep(after) => {}
    }
}

async fn doors(sim: &mut SimLocker) -> Vec<DoorState> {
    let mut states = vec![DoorState::Open; sim.door_count()];
    sim.read_doors(&mut states).await.expect("read doors");
    states
}

#[tokio::test(start_paused = true)]
async fn pulse_pops_its_door_and_records_channel_and_duration() {
    let mut sim = SimLocker::new(4);
    let handle = sim.handle();
    assert_eq!(
        (sim.latch_count(), sim.door_count(), handle.channels()),
        (4, 4, 4)
    );
    assert_eq!(doors(&mut sim).await, vec![DoorState::Closed; 4]);

    sim.pulse(2, PULSE).await.expect("pulse");

    use DoorState::{Closed, Open};
    assert_eq!(doors(&mut sim).await, [Closed, Closed, Open, Closed]);
    assert_eq!(
        handle.pulses(),
        [PulseRecord {
            channel: 2,
            duration: PULSE
        }]
    );

    sim.pulse(0, Duration::from_millis(50))
        .await
        .expect("pulse");
    assert_eq!(
        handle.pulses(),
        [
            PulseRecord {
                channel: 2,
                duration: PULSE
            },
            PulseRecord {
                channel: 0,
                duration: Duration::from_millis(50)
            },
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn pulse_energizes_for_exactly_the_requested_duration() {
    let mut sim = SimLocker::new(3);
    let handle = sim.handle();
    assert_eq!(handle.energized(), None);

    let start = Instant::now();
    let mut pulse = Box::pin(sim.pulse(1, PULSE));
    run_for(&mut pulse, PULSE - Duration::from_millis(1)).await;
    assert_eq!(
        handle.energized(),
        Some(1),
        "output must be on during the pulse"
    );

    pulse.await.expect("pulse");
    assert_eq!(start.elapsed(), PULSE);
    assert_eq!(
        handle.energized(),
        None,
        "output must be off after the pulse"
    );
    assert_eq!(handle.overlapping_pulses(), 0);
}

#[tokio::test(start_paused = true)]
async fn jammed_latch_fires_but_its_door_stays_shut() {
    let mut sim = SimLocker::new(2);
    let handle = sim.handle();
    handle
        .set_latch_fault(1, LatchFault::Jammed)
        .expect("fault");

    sim.pulse(1, PULSE)
        .await
        .expect("a jammed latch still takes the pulse");
    assert_eq!(handle.door(1), Some(DoorState::Closed));
    assert_eq!(
        handle.pulses(),
        [PulseRecord {
            channel: 1,
            duration: PULSE
        }]
    );

    // The fault is per latch, and clearing it makes the latch work again.
    sim.pulse(0, PULSE).await.expect("pulse");
    assert_eq!(handle.door(0), Some(DoorState::Open));
    handle
        .set_latch_fault(1, LatchFault::None)
        .expect("clear fault");
    sim.pulse(1, PULSE).await.expect("pulse");
    assert_eq!(handle.door(1), Some(DoorState::Open));
}

#[tokio::test(start_paused = true)]
async fn doors_moved_by_hand_are_what_read_doors_reports() {
    let mut sim = SimLocker::new(3);
    let handle = sim.handle();

    handle.set_door(0, true).expect("open door 0");
    handle.set_door(2, true).expect("open door 2");
    use DoorState::{Closed, Open};
    assert_eq!(doors(&mut sim).await, [Open, Closed, Open]);

    handle.set_door(0, false).expect("close door 0");
    assert_eq!(doors(&mut sim).await, [Closed, Closed, Open]);
    assert_eq!(handle.door(2), Some(Open));
    assert_eq!(handle.door(3), None);
    assert!(handle.pulses().is_empty(), "moving doors is not a pulse");
}

#[tokio::test(start_paused = true)]
async fn channels_out_of_range_are_channel_errors() {
    let mut sim = SimLocker::new(2);
    let handle = sim.handle();

    assert_eq!(kind(sim.pulse(2, PULSE).await), ErrorKind::Channel);
    assert_eq!(kind(handle.set_door(2, true)), ErrorKind::Channel);
    assert_eq!(
        kind(handle.set_latch_fault(7, LatchFault::Jammed)),
        ErrorKind::Channel
    );
    for len in [0, 1, 3] {
        let mut states = vec![DoorState::Closed; len];
        assert_eq!(
            kind(sim.read_doors(&mut states).await),
            ErrorKind::Channel,
            "len {len}"
        );
    }
    assert!(
        handle.pulses().is_empty(),
        "a refused pulse is not recorded"
    );
    assert_eq!(handle.energized(), None);
    assert_eq!(doors(&mut sim).await, vec![DoorState::Closed; 2]);
}

#[tokio::test(start_paused = true)]
async fn bus_failure_fails_every_operation_until_healed() {
    let mut sim = SimLocker::new(2);
    let handle = sim.handle();

    for failure in [
        ErrorKind::Timeout,
        ErrorKind::Disconnected,
        ErrorKind::Device,
    ] {
        handle.set_bus_failure(Some(failure));
        let mut states = [DoorState::Closed; 2];
        assert_eq!(kind(sim.pulse(0, PULSE).await), failure);
        assert_eq!(kind(sim.all_off().await), failure);
        assert_eq!(kind(sim.read_doors(&mut states).await), failure);
    }
    // Nothing reached the simulated hardware while the bus was down.
    assert!(handle.pulses().is_empty());
    assert_eq!(handle.all_off_count(), 0);
    assert_eq!(handle.door(0), Some(DoorState::Closed));

    handle.set_bus_failure(None);
    sim.all_off().await.expect("all off after healing");
    sim.pulse(0, PULSE).await.expect("pulse after healing");
    assert_eq!(doors(&mut sim).await, [DoorState::Open, DoorState::Closed]);
    assert_eq!(handle.all_off_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn pulse_dropped_midway_leaves_nothing_energized() {
    let mut sim = SimLocker::new(2);
    let handle = sim.handle();

    let mut pulse = Box::pin(sim.pulse(1, PULSE));
    run_for(&mut pulse, PULSE / 2).await;
    assert_eq!(handle.energized(), Some(1));
    drop(pulse);

    assert_eq!(handle.energized(), None);
    // The cancelled pulse did fire: the bus saw it and the door popped.
    assert_eq!(
        handle.pulses(),
        [PulseRecord {
            channel: 1,
            duration: PULSE
        }]
    );
    assert_eq!(handle.door(1), Some(DoorState::Open));
}

#[tokio::test(start_paused = true)]
async fn all_off_switches_off_a_running_pulse_and_counts() {
    let mut latches = SimLocker::new(2);
    let mut other_driver = latches.clone();
    let handle = latches.handle();

    other_driver
        .all_off()
        .await
        .expect("all off with nothing on");
    assert_eq!(handle.all_off_count(), 1);

    let mut pulse = Box::pin(latches.pulse(0, PULSE));
    run_for(&mut pulse, PULSE / 2).await;
    assert_eq!(handle.energized(), Some(0));
    other_driver.all_off().await.expect("all off mid-pulse");
    assert_eq!(handle.energized(), None);
    assert_eq!(handle.all_off_count(), 2);

    // The pulse still ends normally, and does not switch anything back on.
    pulse.await.expect("pulse");
    assert_eq!(handle.energized(), None);
}

#[tokio::test(start_paused = true)]
async fn overlapping_pulses_are_counted_and_sequential_ones_are_not() {
    let mut first = SimLocker::new(3);
    let mut second = first.clone();
    let handle = first.handle();

    first.pulse(0, PULSE).await.expect("pulse");
    second.pulse(1, PULSE).await.expect("pulse");
    assert_eq!(handle.overlapping_pulses(), 0);

    // Two drivers of the same locker firing at once: the inrush the controller must prevent.
    let (a, b) = tokio::join!(first.pulse(1, PULSE), second.pulse(2, PULSE / 2));
    a.expect("pulse");
    b.expect("pulse");
    assert_eq!(handle.overlapping_pulses(), 1);
    assert_eq!(
        handle.energized(),
        None,
        "each pulse switches off only its own output"
    );
}

#[tokio::test(start_paused = true)]
async fn pulse_ending_keeps_an_overlapping_pulse_energized() {
    let mut first = SimLocker::new(2);
    let mut second = first.clone();
    let handle = first.handle();

    let mut long = Box::pin(first.pulse(0, PULSE));
    run_for(&mut long, Duration::from_millis(10)).await;
    second
        .pulse(1, Duration::from_millis(10))
        .await
        .expect("short pulse");
    assert_eq!(
        handle.energized(),
        Some(0),
        "the long pulse's output is still on"
    );
    long.await.expect("long pulse");
    assert_eq!(handle.energized(), None);
}

#[tokio::test(start_paused = true)]
async fn locker_without_channels_is_valid() {
    let mut sim = SimLocker::new(0);
    let handle = sim.handle();
    assert_eq!(
        (sim.latch_count(), sim.door_count(), handle.channels()),
        (0, 0, 0)
    );

    sim.all_off().await.expect("all off");
    sim.read_doors(&mut []).await.expect("read no doors");
    assert_eq!(kind(sim.pulse(0, PULSE).await), ErrorKind::Channel);
    assert_eq!(handle.door(0), None);
}

#[test]
fn errors_map_to_kinds_with_actionable_messages() {
    let mut sim = SimLocker::new(2);
    let handle = sim.handle();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");

    let err = runtime
        .block_on(sim.pulse(5, PULSE))
        .expect_err("channel 5");
    assert_eq!(err.kind(), ErrorKind::Channel);
    assert_eq!(
        err.to_string(),
        "channel 5 does not exist: the simulated locker has 2 channels"
    );

    handle.set_bus_failure(Some(ErrorKind::Protocol));
    let err = runtime.block_on(sim.all_off()).expect_err("bus down");
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.kind().is_bus_failure());
}

#[tokio::test(start_paused = true)]
async fn last_pulse_is_the_latest_channel_and_its_start() {
    let mut sim = SimLocker::new(4);
    let handle = sim.handle();
    assert_eq!(handle.last_pulse(), None);

    let first = Instant::now();
    sim.pulse(1, PULSE).await.expect("pulse");
    assert_eq!(handle.last_pulse(), Some((1, first)));

    sleep(Duration::from_secs(1)).await;
    let second = Instant::now();
    sim.pulse(3, PULSE).await.expect("pulse");
    // The start, not the end: a pulse's length is not part of a request's latency.
    assert_eq!(handle.last_pulse(), Some((3, second)));
    assert_eq!(second - first, PULSE + Duration::from_secs(1));
}
