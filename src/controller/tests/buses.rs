//! The controller's supervision of a bus: one that stops answering goes down, fires nothing
//! while its outputs may be on, and comes back with its doors read afresh; an opening whose
//! door was unseen meanwhile is neither blamed nor pulsed twice.

use super::*;

#[tokio::test(start_paused = true)]
async fn a_bus_that_stops_answering_goes_down_and_comes_back_with_its_doors_reread() {
    let mut rig = rig(1, TIMING).await;
    rig.sim
        .set_bus_failure(Some(lockerd_hal::ErrorKind::Timeout));
    rig.handle.open(id(0), 9).unwrap();
    // The pulse fails, the all-off after it too: the bus is down, the compartment not to blame.
    assert!(matches!(rig.next().await, HwEvent::BusDown { .. }));
    match rig.next().await {
        HwEvent::OpenFailed {
            ticket: 9,
            bus_unavailable,
            ..
        } => assert!(bus_unavailable),
        other => panic!("{other:?}"),
    }
    let health = rig.handle.health();
    assert!(!health[0].ok);
    assert!(health[0].last_error.is_some());
    assert!(!rig.handle.available(&id(0)));
    // While down, nothing is pulsed.
    rig.handle.open(id(0), 10).unwrap();
    assert!(matches!(
        rig.next().await,
        HwEvent::OpenFailed {
            ticket: 10,
            bus_unavailable: true,
            ..
        }
    ));
    let pulses = rig.sim.pulses().len();
    // Back: outputs off first, then the doors, unknown meanwhile, are read afresh.
    rig.sim.set_bus_failure(None);
    rig.handle.poll_now();
    assert!(matches!(rig.next().await, HwEvent::BusUp { .. }));
    assert!(matches!(rig.next().await, HwEvent::DoorsRead(doors) if doors.len() == 1));
    assert!(rig.handle.health()[0].ok && rig.handle.available(&id(0)));
    rig.handle.open(id(0), 11).unwrap();
    assert!(matches!(
        rig.next().await,
        HwEvent::Opened { ticket: 11, .. }
    ));
    assert_eq!(rig.sim.pulses().len(), pulses + 1);
}

#[tokio::test(start_paused = true)]
async fn no_latch_fires_on_a_bus_whose_outputs_could_not_be_switched_off() {
    let (hw, sim) = hardware(1);
    sim.set_bus_failure(Some(lockerd_hal::ErrorKind::Disconnected));
    let (handle, mut events, _join) =
        spawn::<u32>(hw, TIMING, Heartbeat::default(), std::future::pending());
    assert!(matches!(events.recv().await, Some(HwEvent::BusDown { .. })));
    assert!(matches!(events.recv().await, Some(HwEvent::DoorsRead(doors)) if doors.is_empty()));
    assert!(
        !handle.health()[0].ok,
        "healthz must not say ok while outputs may be on"
    );
    handle.open(id(0), 1).unwrap();
    match events.recv().await {
        Some(HwEvent::OpenFailed {
            bus_unavailable, ..
        }) => assert!(bus_unavailable),
        other => panic!("{other:?}"),
    }
    assert!(
        sim.pulses().is_empty(),
        "nothing pulsed while outputs may be on"
    );
    // Once the bus answers, the all-off is retried first; then latches work again.
    sim.set_bus_failure(None);
    handle.poll_now();
    assert!(matches!(events.recv().await, Some(HwEvent::BusUp { .. })));
    assert!(matches!(events.recv().await, Some(HwEvent::DoorsRead(doors)) if doors.len() == 1));
    handle.open(id(0), 2).unwrap();
    assert!(matches!(
        events.recv().await,
        Some(HwEvent::Opened { ticket: 2, .. })
    ));
    assert_eq!(sim.all_off_count(), 1, "the retried all-off succeeded once");
}

#[tokio::test(start_paused = true)]
async fn a_door_that_opens_while_its_bus_blips_still_confirms_the_opening() {
    let mut rig = rig(1, TIMING).await;
    rig.sim.set_latch_fault(0, LatchFault::Jammed).unwrap();
    rig.handle.open(id(0), 5).unwrap();
    // The pulse is done and the opening awaits its door when the bus stops answering.
    tokio::time::sleep(TIMING.pulse + Duration::from_millis(10)).await;
    rig.sim
        .set_bus_failure(Some(lockerd_hal::ErrorKind::Timeout));
    assert!(matches!(rig.next().await, HwEvent::BusDown { .. }));
    rig.sim.set_door(0, true).unwrap();
    rig.sim.set_bus_failure(None);
    assert!(matches!(rig.next().await, HwEvent::BusUp { .. }));
    let next = rig.next().await;
    assert!(
        matches!(next, HwEvent::Opened { ticket: 5, .. }),
        "{next:?}"
    );
    assert_eq!(
        rig.sim.pulses().len(),
        1,
        "no second pulse on a door already open"
    );
}

#[tokio::test(start_paused = true)]
async fn a_latch_whose_door_cannot_be_watched_at_its_last_deadline_is_not_blamed() {
    let mut rig = rig(1, TIMING).await;
    rig.sim.set_latch_fault(0, LatchFault::Jammed).unwrap();
    rig.handle.open(id(0), 7).unwrap();
    // The last pulse the retries allow is done when the bus stops answering.
    let deadline = Instant::now() + TIMING.open_timeout * 3;
    while rig.sim.pulses().len() < 2 {
        assert!(Instant::now() < deadline, "no second pulse");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    rig.sim
        .set_bus_failure(Some(lockerd_hal::ErrorKind::Timeout));
    assert!(matches!(rig.next().await, HwEvent::BusDown { .. }));
    match rig.next().await {
        HwEvent::OpenFailed {
            ticket: 7,
            bus_unavailable,
            ..
        } => assert!(bus_unavailable, "whether the door opened is unknown"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_door_read_open_once_by_its_deadline_is_read_again_not_pulsed_again() {
    let (mut hw, sim) = hardware(1);
    hw.buses[0].stable_reads = 2;
    let (handle, mut events, _join) =
        spawn::<u32>(hw, TIMING, Heartbeat::default(), std::future::pending());
    assert!(matches!(events.recv().await, Some(HwEvent::DoorsRead(_))));
    let start = Instant::now();
    handle.open(id(0), 3).unwrap();
    // Mid-pulse the bus stops answering: the door pops open unseen, and is unknown.
    tokio::time::sleep(TIMING.pulse / 2).await;
    sim.set_bus_failure(Some(lockerd_hal::ErrorKind::Timeout));
    assert!(matches!(events.recv().await, Some(HwEvent::BusDown { .. })));
    // It answers again just before the deadline: the door is read open once.
    let deadline = start + TIMING.pulse + TIMING.open_timeout;
    tokio::time::sleep_until(deadline - Duration::from_millis(100)).await;
    sim.set_bus_failure(None);
    handle.poll_now();
    assert!(matches!(events.recv().await, Some(HwEvent::BusUp { .. })));
    let next = events.recv().await;
    assert!(
        matches!(next, Some(HwEvent::Opened { ticket: 3, .. })),
        "{next:?}"
    );
    assert_eq!(sim.pulses().len(), 1, "the open door was not pulsed again");
}
