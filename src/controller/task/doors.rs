//! Reading doors and supervising buses: polling, debounce, a bus going down and coming back.

use super::Task;
use crate::controller::{BusError, HwEvent};
use crate::domain::CompartmentId;
use lockerd_hal::DoorState;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// A down bus is retried at its poll period, doubling up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl<T: Send + 'static> Task<T> {
    /// The doors of every bus that answers, at start.
    pub(super) async fn read_all_doors(&mut self) -> HashMap<CompartmentId, DoorState> {
        let mut all = HashMap::new();
        for bus in 0..self.hw.buses.len() {
            if let Some(states) = self.read_bus(bus).await {
                for (c, state) in self.hw.buses[bus].doors.clone().into_iter().zip(states) {
                    self.door_known(&c, state);
                    all.insert(c, state);
                }
            }
        }
        all
    }

    /// A door read after being unknown: taken as it is, not as a change.
    pub(super) fn door_known(&mut self, c: &CompartmentId, state: DoorState) {
        let view = self.doors.entry(c.clone()).or_default();
        (view.state, view.candidate, view.left_open_reported) = (Some(state), None, false);
        view.open_since = (state == DoorState::Open).then(Instant::now);
    }

    pub(super) async fn read_bus(&mut self, bus: usize) -> Option<Vec<DoorState>> {
        let slot = &mut self.hw.buses[bus];
        let mut states = vec![DoorState::Closed; slot.driver.door_count()];
        let started = Instant::now();
        let result = slot.driver.read_doors(&mut states).await;
        self.count_request(bus, started, result.is_ok());
        self.next_poll[bus] = Instant::now() + self.hw.buses[bus].poll;
        match result {
            Ok(()) => {
                self.bus_ok(bus);
                self.read_occupancy(bus);
                Some(states)
            }
            Err(e) => {
                self.bus_failed(bus, &e);
                None
            }
        }
    }

    /// What the door read of `bus` read of its occupancy sensors, before any door change it
    /// brings is reported: whoever handles a door closing sees what is inside now.
    fn read_occupancy(&mut self, bus: usize) {
        let slot = &self.hw.buses[bus];
        if slot.sensors.is_empty() {
            return;
        }
        let mut read = vec![None; slot.driver.occupancy_count()];
        slot.driver.occupancy(&mut read);
        let mut occupancy = self.hw.occupancy.lock().unwrap_or_else(|e| e.into_inner());
        for (c, occupied) in slot.sensors.iter().zip(read) {
            self.hw.telemetry.set_occupied(c.as_str(), occupied);
            match occupied {
                Some(occupied) => occupancy.insert(c.clone(), occupied),
                None => occupancy.remove(c),
            };
        }
    }

    pub(super) async fn poll_bus(&mut self, bus: usize) {
        if !self.safe[bus] && !self.make_safe(bus).await {
            return;
        }
        let Some(states) = self.read_bus(bus).await else {
            return;
        };
        let doors = self.hw.buses[bus].doors.clone();
        let stable_reads = self.hw.buses[bus].stable_reads;
        let mut fresh = HashMap::new();
        for (c, state) in doors.into_iter().zip(states) {
            if self.door_state(&c).is_none() {
                let awaited =
                    self.waiting.contains_key(&c) || self.queue.iter().any(|j| j.compartment == c);
                if awaited && state == DoorState::Open {
                    // Its bus blipped while an opening was under way: this is that opening, once
                    // read as often as any change (one bad read must not confirm it).
                    if self.settled_while_unknown(&c, stable_reads) {
                        self.door_changed(c, state);
                    }
                } else {
                    self.door_known(&c, state);
                    fresh.insert(c, state);
                }
            } else if self.settled(&c, state, stable_reads) {
                self.door_changed(c, state);
            }
        }
        if !fresh.is_empty() {
            self.emit(HwEvent::doors_read(fresh));
        }
    }

    /// Whether `read` is a door change that has now been read `stable_reads` polls in a row
    /// (a bouncing reed switch must not produce forced/closed storms). The first reading of a
    /// door whose state is unknown counts at once.
    pub(super) fn settled(&mut self, c: &CompartmentId, read: DoorState, stable_reads: u8) -> bool {
        let view = self.doors.entry(c.clone()).or_default();
        if view.state == Some(read) {
            view.candidate = None;
            return false;
        }
        if view.state.is_none() {
            return true;
        }
        let seen = match view.candidate {
            Some((state, n)) if state == read => n.saturating_add(1),
            _ => 1,
        };
        view.candidate = Some((read, seen));
        seen >= stable_reads
    }

    /// Whether an awaited door whose state is unknown has now read open `stable_reads` polls
    /// in a row. Until then it stays unknown: a read of it closed makes it known closed.
    fn settled_while_unknown(&mut self, c: &CompartmentId, stable_reads: u8) -> bool {
        let view = self.doors.entry(c.clone()).or_default();
        let seen = match view.candidate {
            Some((DoorState::Open, n)) => n.saturating_add(1),
            _ => 1,
        };
        view.candidate = Some((DoorState::Open, seen));
        seen >= stable_reads
    }

    /// When the next read of `c`'s door is due, if it has been read open but not yet
    /// `stable_reads` times in a row and its bus answers. Each read either confirms it, reads
    /// it closed or fails, so this ends within `stable_reads` polls.
    pub(super) fn confirming(&self, c: &CompartmentId) -> Option<Instant> {
        let bus = self.hw.doors.get(c)?.bus;
        let view = self.doors.get(c)?;
        let pending = matches!(view.candidate, Some((DoorState::Open, _)));
        (pending && self.up[bus]).then_some(self.next_poll[bus])
    }

    pub(super) fn door_changed(&mut self, c: CompartmentId, state: DoorState) {
        let view = self.doors.entry(c.clone()).or_default();
        view.state = Some(state);
        view.candidate = None;
        match state {
            DoorState::Open => {
                view.open_since = Some(Instant::now());
                view.left_open_reported = false;
                if let Some(w) = self.waiting.remove(&c) {
                    self.succeed(w.job);
                } else if let Some(i) = self.queue.iter().position(|j| j.compartment == c) {
                    // Opened late, between retries: that is the opening the job asked for.
                    let job = self.queue.remove(i).expect("index from position");
                    self.succeed(job);
                } else {
                    self.emit(HwEvent::DoorForced(c));
                }
            }
            DoorState::Closed => {
                view.open_since = None;
                self.emit(HwEvent::DoorClosed(c));
            }
        }
    }

    pub(super) async fn poll_due(&mut self) {
        let now = Instant::now();
        for bus in 0..self.hw.buses.len() {
            if self.next_poll[bus] <= now {
                self.poll_bus(bus).await;
            }
        }
    }

    pub(super) async fn poll_all(&mut self) {
        for bus in 0..self.hw.buses.len() {
            self.poll_bus(bus).await;
        }
    }

    /// Drives every output of `bus` off. Until that has succeeded the bus is not safe: no latch
    /// on it is pulsed (a relay left on by a crash must not stay on while others fire), and
    /// the attempt is repeated at every poll. Returns whether the bus is safe.
    pub(super) async fn make_safe(&mut self, bus: usize) -> bool {
        let started = Instant::now();
        let result = self.hw.buses[bus].driver.all_off().await;
        self.count_request(bus, started, result.is_ok());
        match result {
            Ok(()) => {
                self.safe[bus] = true;
                self.bus_ok(bus);
                true
            }
            Err(e) => {
                if self.up[bus] {
                    // Once per outage: the retries at every poll would flood the log.
                    tracing::error!(bus = %self.hw.buses[bus].name, error = %e, "could not switch the latch outputs off");
                }
                self.safe[bus] = false;
                self.bus_failed(bus, &e);
                false
            }
        }
    }

    /// The bus answered. If it was down, it is back: its compartments are available again and
    /// its doors, unknown meanwhile, are read afresh and reconciled (`DoorsRead`).
    pub(super) fn bus_ok(&mut self, bus: usize) {
        if !self.up[bus] {
            self.up[bus] = true;
            self.backoff[bus] = Duration::ZERO;
            let name = self.hw.buses[bus].name.clone();
            tracing::info!(bus = %name, "bus answers again");
            self.emit(HwEvent::BusUp { bus: name });
        }
        self.publish_health(bus, None);
    }

    /// A request failed: the bus is down until it answers again. Its compartments are
    /// unavailable, its doors unknown, and it is retried with back-off.
    pub(super) fn bus_failed(&mut self, bus: usize, error: &BusError) {
        if self.up[bus] {
            self.up[bus] = false;
            let name = self.hw.buses[bus].name.clone();
            tracing::warn!(bus = %name, error = %error, "bus down");
            self.emit(HwEvent::BusDown {
                bus: name,
                error: error.message.clone(),
            });
            for c in self.hw.buses[bus].doors.clone() {
                let view = self.doors.entry(c).or_default();
                (view.state, view.candidate, view.open_since) = (None, None, None);
            }
            let mut occupancy = self.hw.occupancy.lock().unwrap_or_else(|e| e.into_inner());
            for c in &self.hw.buses[bus].sensors {
                occupancy.remove(c);
                self.hw.telemetry.set_occupied(c.as_str(), None);
            }
        }
        let poll = self.hw.buses[bus].poll;
        self.backoff[bus] = (self.backoff[bus] * 2).clamp(poll, MAX_BACKOFF.max(poll));
        self.next_poll[bus] = Instant::now() + self.backoff[bus];
        self.publish_health(bus, Some(error.message.clone()));
    }

    /// Why `bus` can take no opening now, with the driver's last error: its outputs are not
    /// known off (the last all-off failed), or it stopped answering.
    pub(super) fn why_unavailable(&self, bus: usize) -> String {
        let name = &self.hw.buses[bus].name;
        let why = match self.safe[bus] {
            false => "cannot switch the latches off",
            true => "it does not answer",
        };
        let health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        match health.get(bus).and_then(|h| h.last_error.as_deref()) {
            Some(error) => format!("bus {name} is unavailable: {why}: {error}"),
            None => format!("bus {name} is unavailable: {why}"),
        }
    }

    /// `/healthz`: a bus is ok only while it answers and its outputs are known off.
    pub(super) fn publish_health(&self, bus: usize, error: Option<String>) {
        let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = health.get_mut(bus) {
            h.ok = self.up[bus] && self.safe[bus];
            if error.is_some() {
                h.last_error = error;
            }
        }
    }

    /// Counts one request to `bus` for `/metrics`: how long it took, and whether it failed.
    /// Pulses are not timed here: a pulse lasts as long as the latch is energized.
    fn count_request(&self, bus: usize, started: Instant, ok: bool) {
        let labels = crate::telemetry::BusLabels {
            bus: self.hw.buses[bus].name.clone(),
        };
        let telemetry = &self.hw.telemetry;
        let seconds = started.elapsed().as_secs_f64();
        telemetry
            .bus_requests
            .get_or_create(&labels)
            .observe(seconds);
        if !ok {
            telemetry.bus_errors.get_or_create(&labels).inc();
        }
    }
}
