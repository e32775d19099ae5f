//! Proof that the controller's loop is turning, for the systemd watchdog (`crate::systemd`).
//!
//! The loop counts a beat each time round. A wedged loop (an await that never returns, a
//! blocking call) stops counting, and whoever watches the count stops vouching for the daemon.
//! The loop sleeps until its next poll, deadline or alarm, which may be far off (a down bus is
//! retried after up to 30 s, a locker without buses polls nothing): with `every` set it also
//! wakes at least that often, so an idle loop is never taken for a wedged one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The controller loop's beat counter, shared with whoever watches it.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    beats: Arc<AtomicU64>,
    every: Option<Duration>,
    /// Test hook, absent from release builds (see `wedged_after`).
    #[cfg(debug_assertions)]
    wedge_after: Option<Duration>,
}

impl Heartbeat {
    /// A heartbeat the loop keeps at least every `every`, even when it has nothing to do.
    pub fn every(every: Duration) -> Self {
        Heartbeat {
            every: Some(every),
            ..Heartbeat::default()
        }
    }

    /// How many times the loop has gone round.
    pub fn beats(&self) -> u64 {
        self.beats.load(Ordering::Relaxed)
    }

    /// Test hook, compiled only with debug assertions (so never into a release build): the loop
    /// stalls for good once it has run for `after`, as a loop stuck on a hung await would. It
    /// stops beating, and stops taking commands and polling doors.
    #[cfg(debug_assertions)]
    pub fn wedged_after(mut self, after: Duration) -> Self {
        self.wedge_after = Some(after);
        self
    }

    #[cfg(debug_assertions)]
    pub(super) fn wedge_after(&self) -> Option<Duration> {
        self.wedge_after
    }

    pub(super) fn period(&self) -> Option<Duration> {
        self.every
    }

    pub(super) fn beat(&self) {
        self.beats.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::{Hardware, Timing, spawn};
    use std::collections::HashMap;

    const TIMING: Timing = Timing {
        pulse: Duration::from_millis(400),
        max_pulse: Duration::from_millis(1500),
        cooldown: Duration::from_secs(1),
        open_timeout: Duration::from_secs(3),
        retries: 1,
        door_left_open: Duration::from_secs(60),
    };

    /// A locker without buses: the loop has nothing to poll and nothing to wait for.
    fn idle_hardware() -> Hardware {
        Hardware {
            buses: vec![],
            latches: HashMap::new(),
            doors: HashMap::new(),
            sim: None,
            telemetry: Default::default(),
            occupancy: Default::default(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_loop_still_beats_at_its_period() {
        let heartbeat = Heartbeat::every(Duration::from_secs(1));
        let (_handle, _events, _join) = spawn::<u32>(
            idle_hardware(),
            TIMING,
            heartbeat.clone(),
            std::future::pending(),
        );
        tokio::time::sleep(Duration::from_millis(10_500)).await;
        // Once at start, then once a second.
        assert!(heartbeat.beats() >= 10, "beats: {}", heartbeat.beats());
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_period_an_idle_loop_sleeps() {
        let heartbeat = Heartbeat::default();
        let (_handle, _events, _join) = spawn::<u32>(
            idle_hardware(),
            TIMING,
            heartbeat.clone(),
            std::future::pending(),
        );
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(heartbeat.beats(), 1);
    }

    #[cfg(debug_assertions)]
    #[tokio::test(start_paused = true)]
    async fn a_wedged_loop_stops_beating_and_taking_commands() {
        let heartbeat =
            Heartbeat::every(Duration::from_secs(1)).wedged_after(Duration::from_secs(5));
        let (handle, mut events, _join) = spawn::<u32>(
            idle_hardware(),
            TIMING,
            heartbeat.clone(),
            std::future::pending(),
        );
        tokio::time::sleep(Duration::from_secs(6)).await;
        let wedged = heartbeat.beats();
        assert!(wedged >= 5, "it beat until the wedge: {wedged}");
        assert!(matches!(
            events.recv().await,
            Some(crate::controller::HwEvent::DoorsRead(_))
        ));
        handle
            .open(crate::domain::CompartmentId("A1".into()), 7)
            .unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(heartbeat.beats(), wedged);
        assert!(events.try_recv().is_err(), "a wedged loop answers nothing");
    }
}
