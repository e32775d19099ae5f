//! The controller against the simulated locker, on paused tokio time: safety rules first
//! (all-off at start, one pulse at a time, capped pulses, cooldown), then confirmation,
//! retries, door alarms and a simulated door moved by hand. A bus going down and coming back
//! is in `buses`.

mod buses;

use super::build::{BusSlot, Channel, Hardware};
use super::*;
use lockerd_hal::sim::{LatchFault, SimHandle, SimLocker};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

const TIMING: Timing = Timing {
    pulse: Duration::from_millis(400),
    max_pulse: Duration::from_millis(1500),
    cooldown: Duration::from_secs(1),
    open_timeout: Duration::from_secs(3),
    retries: 1,
    door_left_open: Duration::from_secs(60),
};

fn id(n: usize) -> CompartmentId {
    CompartmentId(format!("C{n}"))
}

fn hardware(channels: usize) -> (Hardware, SimHandle) {
    let sim = SimLocker::new(channels);
    let handle = sim.handle();
    let ids: Vec<CompartmentId> = (0..channels).map(id).collect();
    let map: HashMap<CompartmentId, Channel> = ids
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), Channel { bus: 0, channel: i }))
        .collect();
    let hw = Hardware {
        buses: vec![BusSlot {
            name: "sim".into(),
            driver: Box::new(sim),
            poll: Duration::from_millis(250),
            doors: ids.clone(),
            stable_reads: 1,
            sensors: vec![],
        }],
        latches: map.clone(),
        doors: map,
        telemetry: Default::default(),
        occupancy: Default::default(),
        sim: Some((
            handle.clone(),
            ids.into_iter().enumerate().map(|(i, c)| (c, i)).collect(),
        )),
    };
    (hw, handle)
}

struct Rig {
    handle: ControllerHandle<u32>,
    events: mpsc::UnboundedReceiver<HwEvent<u32>>,
    sim: SimHandle,
    stop: Option<oneshot::Sender<()>>,
    join: tokio::task::JoinHandle<()>,
}

async fn rig(channels: usize, timing: Timing) -> Rig {
    let (hw, sim) = hardware(channels);
    let (stop, stopped) = oneshot::channel::<()>();
    let (handle, mut events, join) = spawn::<u32>(hw, timing, Heartbeat::default(), async {
        let _ = stopped.await;
    });
    match events.recv().await {
        Some(HwEvent::DoorsRead(doors)) => assert_eq!(doors.len(), channels),
        other => panic!("expected the initial door read first, got {other:?}"),
    }
    Rig {
        handle,
        events,
        sim,
        stop: Some(stop),
        join,
    }
}

impl Rig {
    async fn next(&mut self) -> HwEvent<u32> {
        self.events.recv().await.expect("controller running")
    }
}

#[tokio::test(start_paused = true)]
async fn every_output_is_driven_off_before_anything_else_and_at_shutdown() {
    let mut rig = rig(2, TIMING).await;
    assert_eq!(rig.sim.all_off_count(), 1);
    assert!(rig.sim.pulses().is_empty());
    rig.stop.take().unwrap().send(()).unwrap();
    (&mut rig.join).await.unwrap();
    assert_eq!(rig.sim.all_off_count(), 2);
}

#[tokio::test(start_paused = true)]
async fn one_latch_at_a_time_across_the_locker() {
    let mut rig = rig(6, TIMING).await;
    for n in 0..6 {
        rig.handle.open(id(n), n as u32).unwrap();
    }
    let start = Instant::now();
    let mut opened = vec![];
    for _ in 0..6 {
        match rig.next().await {
            HwEvent::Opened { ticket, .. } => opened.push(ticket),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(opened, [0, 1, 2, 3, 4, 5], "in request order");
    assert_eq!(rig.sim.overlapping_pulses(), 0);
    assert!(
        start.elapsed() >= TIMING.pulse * 6,
        "pulses ran one after another"
    );
}

#[tokio::test(start_paused = true)]
async fn a_pulse_never_exceeds_max_pulse() {
    let timing = Timing {
        pulse: Duration::from_secs(3),
        max_pulse: Duration::from_millis(1500),
        ..TIMING
    };
    let mut rig = rig(1, timing).await;
    rig.handle.open(id(0), 1).unwrap();
    assert!(matches!(rig.next().await, HwEvent::Opened { .. }));
    assert_eq!(rig.sim.pulses()[0].duration, Duration::from_millis(1500));
}

#[tokio::test(start_paused = true)]
async fn a_latch_rests_for_its_cooldown_between_pulses() {
    let mut rig = rig(1, TIMING).await;
    rig.handle.open(id(0), 1).unwrap();
    assert!(matches!(rig.next().await, HwEvent::Opened { .. }));
    let first_end = Instant::now();
    rig.handle.move_sim_door(id(0), false).await.unwrap();
    assert!(matches!(rig.next().await, HwEvent::DoorClosed(_)));
    rig.handle.open(id(0), 2).unwrap();
    assert!(matches!(
        rig.next().await,
        HwEvent::Opened { ticket: 2, .. }
    ));
    // The second pulse could start only after the cooldown, and lasts a pulse.
    assert!(
        first_end.elapsed() >= TIMING.cooldown + TIMING.pulse,
        "{:?}",
        first_end.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_jammed_latch_is_retried_then_reported_failed() {
    let mut rig = rig(1, TIMING).await;
    rig.sim.set_latch_fault(0, LatchFault::Jammed).unwrap();
    rig.handle.open(id(0), 7).unwrap();
    match rig.next().await {
        HwEvent::OpenFailed {
            compartment,
            ticket,
            reason,
            bus_unavailable,
        } => {
            assert_eq!((compartment, ticket), (id(0), 7));
            assert!(reason.contains("not seen open"), "{reason}");
            assert!(
                !bus_unavailable,
                "a jammed latch is the compartment's fault"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rig.sim.pulses().len(), 1 + TIMING.retries as usize);
}

#[tokio::test(start_paused = true)]
async fn a_door_already_open_needs_no_pulse() {
    let mut rig = rig(1, TIMING).await;
    rig.handle.move_sim_door(id(0), true).await.unwrap();
    assert!(matches!(rig.next().await, HwEvent::DoorForced(_)));
    rig.handle.open(id(0), 3).unwrap();
    assert!(matches!(
        rig.next().await,
        HwEvent::Opened { ticket: 3, .. }
    ));
    assert!(rig.sim.pulses().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_door_left_open_is_reported_once() {
    let mut rig = rig(1, TIMING).await;
    rig.handle.open(id(0), 1).unwrap();
    assert!(matches!(rig.next().await, HwEvent::Opened { .. }));
    let opened = Instant::now();
    assert!(matches!(rig.next().await, HwEvent::DoorLeftOpen(_)));
    assert!(opened.elapsed() >= TIMING.door_left_open);
    // Nothing more until the door moves again.
    tokio::time::sleep(TIMING.door_left_open * 3).await;
    assert!(rig.events.try_recv().is_err());
}

#[tokio::test(start_paused = true)]
async fn shutdown_finishes_openings_already_asked_for() {
    let mut rig = rig(2, TIMING).await;
    rig.sim.set_latch_fault(1, LatchFault::Jammed).unwrap();
    rig.handle.open(id(0), 1).unwrap();
    rig.handle.open(id(1), 2).unwrap();
    rig.stop.take().unwrap().send(()).unwrap();
    let mut outcomes = vec![];
    while let Some(event) = rig.events.recv().await {
        match event {
            HwEvent::Opened { ticket, .. } => outcomes.push((ticket, true)),
            HwEvent::OpenFailed { ticket, .. } => outcomes.push((ticket, false)),
            _ => {}
        }
    }
    assert_eq!(
        outcomes,
        [(1, true), (2, false)],
        "both settled before the controller stopped"
    );
    assert_eq!(rig.sim.all_off_count(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_bouncing_door_is_not_reported_until_it_reads_the_same_twice() {
    let (mut hw, sim) = hardware(1);
    hw.buses[0].stable_reads = 2;
    let (handle, mut events, _join) =
        spawn::<u32>(hw, TIMING, Heartbeat::default(), std::future::pending());
    assert!(matches!(events.recv().await, Some(HwEvent::DoorsRead(_))));
    // Open for one poll, then closed again: a bounce, no event.
    sim.set_door(0, true).unwrap();
    handle.poll_now();
    tokio::time::sleep(Duration::from_millis(10)).await;
    sim.set_door(0, false).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(events.try_recv().is_err(), "a bounce produced an event");
    // Open for two polls in a row: reported once.
    sim.set_door(0, true).unwrap();
    assert!(matches!(events.recv().await, Some(HwEvent::DoorForced(_))));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(events.try_recv().is_err());
}

#[tokio::test(start_paused = true)]
async fn only_a_door_on_a_sim_bus_moves_by_hand() {
    let rig = rig(1, TIMING).await;
    assert!(rig.handle.has_sim());
    let elsewhere = rig.handle.move_sim_door(id(5), true).await;
    assert_eq!(elsewhere, Err(SimDoorError::NotSimulated));
    assert_eq!(rig.sim.door(0), Some(lockerd_hal::DoorState::Closed));

    let (mut hw, sim) = hardware(1);
    hw.sim = None;
    let (handle, _events, _join) =
        spawn::<u32>(hw, TIMING, Heartbeat::default(), std::future::pending());
    assert!(!handle.has_sim());
    let unsimulated = handle.move_sim_door(id(0), true).await;
    assert_eq!(unsimulated, Err(SimDoorError::NotSimulated));
    assert_eq!(sim.door(0), Some(lockerd_hal::DoorState::Closed));
}
