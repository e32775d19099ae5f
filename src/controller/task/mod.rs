//! The controller's loop: one pulse at a time, confirmations, retries and alarms. Reading
//! doors and supervising buses is in `doors`.

mod doors;

use super::build::{Channel, Hardware};
use super::{BusHealth, Heartbeat};
use super::{Command, HwEvent, Timing};
use crate::domain::CompartmentId;
use lockerd_hal::DoorState;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

/// An opening not yet confirmed.
struct Job<T> {
    compartment: CompartmentId,
    ticket: T,
    /// Pulses already spent on it.
    pulses: u32,
}

/// A job whose latch was pulsed; the door must be seen open by `deadline`.
struct Waiting<T> {
    job: Job<T>,
    deadline: Instant,
}

#[derive(Default)]
struct DoorView {
    state: Option<DoorState>,
    open_since: Option<Instant>,
    left_open_reported: bool,
    /// A reading that differs from `state`, and how many polls in a row it has been read.
    candidate: Option<(DoorState, u8)>,
}

pub(super) struct Task<T> {
    hw: Hardware,
    timing: Timing,
    commands: mpsc::UnboundedReceiver<Command<T>>,
    events: mpsc::UnboundedSender<HwEvent<T>>,
    health: Arc<Mutex<Vec<BusHealth>>>,
    doors: HashMap<CompartmentId, DoorView>,
    queue: VecDeque<Job<T>>,
    waiting: HashMap<CompartmentId, Waiting<T>>,
    rested_at: HashMap<CompartmentId, Instant>,
    next_poll: Vec<Instant>,
    /// Per bus: every output is known to be off (see `make_safe`).
    safe: Vec<bool>,
    /// Per bus: its last request was answered.
    up: Vec<bool>,
    /// Per bus: how long to wait before trying a down bus again.
    backoff: Vec<Duration>,
    heartbeat: Heartbeat,
    last_beat: Instant,
}

impl<T: Send + 'static> Task<T> {
    pub(super) fn new(
        hw: Hardware,
        timing: Timing,
        commands: mpsc::UnboundedReceiver<Command<T>>,
        events: mpsc::UnboundedSender<HwEvent<T>>,
        health: Arc<Mutex<Vec<BusHealth>>>,
        heartbeat: Heartbeat,
    ) -> Self {
        let next_poll = vec![Instant::now(); hw.buses.len()];
        let safe = vec![false; hw.buses.len()];
        let (up, backoff) = (
            vec![true; hw.buses.len()],
            vec![Duration::ZERO; hw.buses.len()],
        );
        Self {
            hw,
            timing,
            commands,
            events,
            health,
            doors: HashMap::new(),
            queue: VecDeque::new(),
            waiting: HashMap::new(),
            rested_at: HashMap::new(),
            next_poll,
            safe,
            up,
            backoff,
            heartbeat,
            last_beat: Instant::now(),
        }
    }

    pub(super) async fn run(mut self, shutdown: impl std::future::Future<Output = ()> + Send) {
        #[cfg(debug_assertions)]
        let wedge_at = self
            .heartbeat
            .wedge_after()
            .map(|after| Instant::now() + after);
        // A coil left energized by a crash overheats: make every output safe before anything else.
        self.all_off().await;
        let initial = self.read_all_doors().await;
        self.emit(HwEvent::doors_read(initial));
        tokio::pin!(shutdown);
        // On shutdown, openings already asked for are finished (confirmed or given up) before
        // the loop ends: dropping them would leave a recipient's code held and a deposit
        // reserved with nobody to settle them.
        let mut draining = false;
        let mut commands_open = true;
        loop {
            #[cfg(debug_assertions)]
            if wedge_at.is_some_and(|at| at <= Instant::now()) {
                tracing::warn!("test hook: the controller loop wedges now");
                std::future::pending::<()>().await;
            }
            self.heartbeat.beat();
            self.last_beat = Instant::now();
            if (draining || !commands_open) && self.queue.is_empty() && self.waiting.is_empty() {
                // Requests sent before the stop still count.
                while let Ok(command) = self.commands.try_recv() {
                    self.command(command).await;
                }
                if self.queue.is_empty() && self.waiting.is_empty() {
                    break;
                }
            }
            if let Some(job) = self.next_ready_job() {
                self.pulse(job).await;
                continue;
            }
            let wake = self.next_wake();
            tokio::select! {
                biased;
                _ = &mut shutdown, if !draining => draining = true,
                command = self.commands.recv(), if commands_open => match command {
                    Some(command) => self.command(command).await,
                    None => commands_open = false,
                },
                _ = sleep_until(wake) => {
                    self.poll_due().await;
                    self.check_deadlines();
                }
            }
        }
        self.all_off().await;
    }

    async fn command(&mut self, command: Command<T>) {
        match command {
            Command::Open {
                compartment,
                ticket,
            } => self.enqueue(compartment, ticket),
            Command::PollNow => self.poll_all().await,
            Command::MoveSimDoor {
                compartment,
                open,
                reply,
            } => {
                let moved = self.hw.move_sim_door(&compartment, open);
                let read = moved.is_ok();
                // Answered before the read: a slow bus must not hold up the hand; what the
                // read finds is reported like any other door change.
                let _ = reply.send(moved);
                if read {
                    self.poll_all().await;
                }
            }
        }
    }

    fn emit(&self, event: HwEvent<T>) {
        // The receiver is gone only while the daemon shuts down.
        let _ = self.events.send(event);
    }

    async fn all_off(&mut self) {
        for bus in 0..self.hw.buses.len() {
            self.make_safe(bus).await;
        }
    }

    fn enqueue(&mut self, compartment: CompartmentId, ticket: T) {
        let job = Job {
            compartment,
            ticket,
            pulses: 0,
        };
        if !self.hw.latches.contains_key(&job.compartment) {
            return self.fail(job, "compartment has no latch".into(), false);
        }
        // Already open (a door left open, or opened by hand): nothing to pulse.
        if self.door_state(&job.compartment) == Some(DoorState::Open) {
            return self.succeed(job);
        }
        self.queue.push_back(job);
    }

    fn door_state(&self, c: &CompartmentId) -> Option<DoorState> {
        self.doors.get(c).and_then(|d| d.state)
    }

    /// The job's door is open: its opening is done.
    fn succeed(&self, job: Job<T>) {
        let Job {
            compartment,
            ticket,
            ..
        } = job;
        self.emit(HwEvent::Opened {
            compartment,
            ticket,
        });
    }

    fn fail(&self, job: Job<T>, reason: String, bus_unavailable: bool) {
        self.emit(HwEvent::OpenFailed {
            compartment: job.compartment,
            ticket: job.ticket,
            reason,
            bus_unavailable,
        });
    }

    /// The first queued job whose latch has rested; jobs behind a resting latch may go first.
    fn next_ready_job(&mut self) -> Option<Job<T>> {
        let now = Instant::now();
        let ready = self
            .queue
            .iter()
            .position(|j| self.rested_at.get(&j.compartment).is_none_or(|t| *t <= now))?;
        self.queue.remove(ready)
    }

    async fn pulse(&mut self, mut job: Job<T>) {
        let Channel { bus, channel } = self.hw.latches[&job.compartment];
        if let Some(down) = self.unusable_bus(&job.compartment) {
            let reason = self.why_unavailable(down);
            return self.fail(job, reason, true);
        }
        // Already open (seen between retries, or after a bus blip): nothing to pulse.
        if self.door_state(&job.compartment) == Some(DoorState::Open) {
            return self.succeed(job);
        }
        let length = self.timing.pulse_length();
        job.pulses += 1;
        tracing::debug!(compartment = %job.compartment, pulse = job.pulses, "pulsing latch");
        let result = self.hw.buses[bus].driver.pulse(channel, length).await;
        let labels = crate::telemetry::BusLabels {
            bus: self.hw.buses[bus].name.clone(),
        };
        self.hw.telemetry.latch_pulses.get_or_create(&labels).inc();
        if result.is_err() {
            self.hw.telemetry.bus_errors.get_or_create(&labels).inc();
        }
        self.rested_at.insert(
            job.compartment.clone(),
            Instant::now() + self.timing.cooldown,
        );
        match result {
            Err(e) if e.kind == lockerd_hal::ErrorKind::Channel => {
                // A wiring or config mistake: another pulse cannot help.
                self.fail(job, format!("latch channel error: {e}"), false);
            }
            Err(e) => {
                tracing::warn!(compartment = %job.compartment, error = %e, "latch pulse failed");
                // The pulse may have been cut off with the output still on; a bus that cannot
                // even switch its outputs off is down.
                self.make_safe(bus).await;
                // The on write may have reached the board and released the latch before the
                // answer was lost (or the off write's answer was; the driver's error cannot
                // tell which). A pulse now could release it a second time for one request, so
                // this counts as a pulse: the door is awaited, and only a door not seen open by
                // the deadline earns another.
                self.await_door(job).await;
            }
            Ok(()) => self.await_door(job).await,
        }
    }

    /// The job's latch was pulsed (or may have been): its door must be seen open within
    /// `latch.open_timeout`.
    async fn await_door(&mut self, job: Job<T>) {
        let deadline = Instant::now() + self.timing.open_timeout;
        let door = self.hw.doors.get(&job.compartment).copied();
        self.waiting
            .insert(job.compartment.clone(), Waiting { job, deadline });
        // The door often pops during the pulse: look now rather than at the next poll. A bus
        // that just went down is retried on its back-off instead.
        if let Some(door) = door.filter(|d| self.up[d.bus]) {
            self.poll_bus(door.bus).await;
        }
    }

    /// The first bus of `c`'s latch and door that is down or not known safe: while there is
    /// one, `c` can neither be pulsed nor seen.
    fn unusable_bus(&self, c: &CompartmentId) -> Option<usize> {
        let latch = self.hw.latches.get(c).map(|l| l.bus);
        let door = self.hw.doors.get(c).map(|d| d.bus);
        [latch, door]
            .into_iter()
            .flatten()
            .find(|&b| !(self.up[b] && self.safe[b]))
    }

    /// The job's door was not seen open by its deadline. The latch is pulsed again only if the
    /// door is known closed: one whose bus went down, or came back without the door yet read
    /// open as often as a change needs, may have opened, and a pulse could release it a second
    /// time. Whether it opened is unknown then, and the compartment is not to blame.
    fn retry_or_fail(&mut self, job: Job<T>, reason: String) {
        if self.door_state(&job.compartment) != Some(DoorState::Closed) {
            let reason = "its door could not be read after the pulse".to_owned();
            self.fail(job, reason, true);
        } else if job.pulses <= self.timing.retries {
            self.queue.push_front(job);
        } else {
            tracing::warn!(compartment = %job.compartment, pulses = job.pulses, "latch gave up");
            self.fail(job, reason, false);
        }
    }

    fn next_wake(&self) -> Instant {
        let far = Instant::now() + std::time::Duration::from_secs(3600);
        let polls = self.next_poll.iter().copied();
        let deadlines = self.waiting.values().map(|w| w.deadline);
        let rests = self
            .queue
            .iter()
            .filter_map(|j| self.rested_at.get(&j.compartment).copied());
        let alarms = self.doors.values().filter_map(|d| {
            (!d.left_open_reported)
                .then_some(d.open_since?)
                .map(|t| t + self.timing.door_left_open)
        });
        let beat = self.heartbeat.period().map(|every| self.last_beat + every);
        polls
            .chain(deadlines)
            .chain(rests)
            .chain(alarms)
            .chain(beat)
            .min()
            .unwrap_or(far)
    }

    fn check_deadlines(&mut self) {
        let now = Instant::now();
        let expired: Vec<CompartmentId> = self
            .waiting
            .iter()
            .filter(|(_, w)| w.deadline <= now)
            .map(|(c, _)| c.clone())
            .collect();
        for c in expired {
            let Some(mut w) = self.waiting.remove(&c) else {
                continue;
            };
            match self.confirming(&c) {
                // Read open, not yet as often as a change needs: the next poll settles it.
                Some(next_read) => {
                    w.deadline = next_read;
                    self.waiting.insert(c, w);
                }
                None => {
                    self.retry_or_fail(w.job, "door not seen open after the latch pulse".into())
                }
            }
        }
        let left_open: Vec<CompartmentId> = self
            .doors
            .iter_mut()
            .filter(|(_, d)| {
                !d.left_open_reported
                    && d.open_since
                        .is_some_and(|t| t + self.timing.door_left_open <= now)
            })
            .map(|(c, d)| {
                d.left_open_reported = true;
                c.clone()
            })
            .collect();
        for c in left_open {
            self.emit(HwEvent::DoorLeftOpen(c));
        }
    }
}
