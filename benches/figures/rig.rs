//! A real daemon started in-process on a wall of small compartments, on the simulated bus or on
//! the Modbus relay-board emulator over TCP loopback, driven over its HTTP API in rounds: fill
//! every compartment (deposit, close, confirm), then empty them (pickup, close), timing each
//! request from just before it leaves to the moment its latch is energized.
//!
//! Each timed request starts with every latch off, so no other pulse holds the controller,
//! after a random fraction of the door-poll period, since recipients come at any point of the
//! polling cycle. Doors spring open when their latch fires; the bench closes them, as a hand
//! would, once the daemon has seen them open, a whole round at a time.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use lockerd::config::Config;
use lockerd::daemon::{self, Options, Running};
use lockerd::domain::{CompartmentState, Door, ParcelState};
use lockerd_hal::modbus::emulator::{Board, Request, TcpServer};
use lockerd_hal::sim::SimHandle;
use tokio::time::{Instant, sleep};

use crate::api::Api;

/// How long any awaited state may take before the bench gives up.
const DEADLINE: Duration = Duration::from_secs(60);
/// Compartments per emulated relay board (units 1, 2, ...).
const PER_BOARD: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hardware {
    Sim,
    ModbusTcp,
}

impl Hardware {
    pub fn label(self) -> &'static str {
        match self {
            Hardware::Sim => "sim bus",
            Hardware::ModbusTcp => "Modbus TCP loopback",
        }
    }

    /// The door polling period: the default config's 50 ms on the simulated bus, the 20 ms a
    /// TCP board line affords.
    pub fn poll(self) -> Duration {
        match self {
            Hardware::Sim => Duration::from_millis(50),
            Hardware::ModbusTcp => Duration::from_millis(20),
        }
    }
}

/// Where compartment `n` is wired: its unit and coil (= door input) on the boards.
fn wiring(n: usize) -> (u8, u16) {
    let unit = u8::try_from(1 + n / PER_BOARD).expect("fewer than 255 boards");
    (
        unit,
        u16::try_from(n % PER_BOARD).expect("a small coil number"),
    )
}

fn compartment_id(n: usize) -> String {
    format!("C{:03}", n + 1)
}

fn config_text(state_dir: &Path, hardware: Hardware, count: usize, bus: &str) -> String {
    let mut text = format!(
        r#"
[locker]
name = "figures-bench"
state_dir = "{state_dir}"

[api]
listen = "127.0.0.1:0"

[policy]
code_length = 6
keypad_max_failures = 1000
courier_session = "24h"
# One bench courier fills the whole wall, round after round.
courier_opens = 1000000
dwell = "30d"
deposit_grace = "1h"

[latch]
pulse = "20ms"
max_pulse = "200ms"
cooldown = "100ms"
open_timeout = "5s"
retries = 1
door_left_open = "1h"

[[bus]]
name = "board"
poll = "{poll}ms"
{bus}"#,
        state_dir = state_dir.display(),
        poll = hardware.poll().as_millis(),
    );
    for n in 0..count {
        let id = compartment_id(n);
        let (latch, door) = match hardware {
            Hardware::Sim => (String::new(), String::new()),
            Hardware::ModbusTcp => {
                let (unit, coil) = wiring(n);
                (
                    format!(", unit = {unit}, coil = {coil}"),
                    format!(", unit = {unit}, input = {coil}, open_when = true"),
                )
            }
        };
        text.push_str(&format!(
            "\n[[compartment]]\nid = \"{id}\"\nsize = \"S\"\naccessible = false\n\
             latch = {{ bus = \"board\"{latch} }}\ndoor = {{ bus = \"board\"{door} }}\n"
        ));
    }
    text
}

/// The hardware under the daemon, as the bench sees and moves it.
enum Bank {
    Sim(SimHandle),
    Tcp { board: Board, _server: TcpServer },
}

/// A parcel waiting in a compartment, with its code.
pub struct Stored {
    parcel: String,
    compartment: usize,
    code: String,
}

/// A daemon on a wall of `count` small compartments, and the bench's hands on its hardware.
pub struct Rig {
    running: Option<Running>,
    api: Api,
    bank: Bank,
    count: usize,
    poll: Duration,
    /// Parcels deposited so far (for unique tracking ids).
    deposits: usize,
    /// From `daemon::start` called to it returning (database open, buses safe, listening).
    pub started_in: Duration,
}

impl Rig {
    /// Starts the daemon with its state in `state_dir` (which may hold a database already).
    pub async fn start(hardware: Hardware, count: usize, state_dir: &Path) -> anyhow::Result<Rig> {
        let (bus, bank) = match hardware {
            Hardware::Sim => ("driver = \"sim\"\n".to_owned(), None),
            Hardware::ModbusTcp => {
                let units: Vec<u8> = (0..count).map(|n| wiring(n).0).collect();
                let board = Board::new(&units);
                for n in 0..count {
                    let (unit, coil) = wiring(n);
                    board.spring_door(unit, coil, coil, true);
                }
                let server = TcpServer::start(board.clone()).await?;
                let bus = format!(
                    "driver = \"modbus-tcp\"\naddress = \"{}\"\nprofile = \"generic\"\n\
                     timeout = \"300ms\"\n",
                    server.addr()
                );
                (bus, Some((board, server)))
            }
        };
        let text = config_text(state_dir, hardware, count, &bus);
        let config = Config::parse(&text, &state_dir.join("lockerd.toml"))
            .map_err(|e| anyhow::anyhow!("bench config: {e}"))?;
        let options = Options {
            listen: Some("127.0.0.1:0".parse()?),
            ..Options::default()
        };
        let t = std::time::Instant::now();
        let running = daemon::start(config, options).await?;
        let started_in = t.elapsed();
        let bank = match bank {
            Some((board, server)) => Bank::Tcp {
                board,
                _server: server,
            },
            None => Bank::Sim(running.sim.clone().context("the sim bus")?),
        };
        Ok(Rig {
            api: Api::new(&running).await?,
            running: Some(running),
            bank,
            count,
            poll: hardware.poll(),
            deposits: 0,
            started_in,
        })
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.running.take().expect("running").stop().await
    }

    fn running(&self) -> &Running {
        self.running.as_ref().expect("running")
    }

    /// Deposits into every compartment (timing each when `timed` is given), closes the doors,
    /// confirms the deposits and reads their codes.
    pub async fn fill(
        &mut self,
        mut timed: Option<&mut Vec<Duration>>,
    ) -> anyhow::Result<Vec<Stored>> {
        let mut opened = Vec::with_capacity(self.count);
        for _ in 0..self.count {
            let tracking = format!("BENCH-{}", self.deposits);
            self.deposits += 1;
            let (parcel, compartment) = match timed.as_deref_mut() {
                Some(samples) => {
                    let t0 = self.quiet_start().await?;
                    let (parcel, compartment) = self.api.deposit(&tracking).await?;
                    let n = index_of(&compartment)?;
                    samples.push(self.latch_on(n, t0)? - t0);
                    (parcel, n)
                }
                None => {
                    let (parcel, compartment) = self.api.deposit(&tracking).await?;
                    (parcel, index_of(&compartment)?)
                }
            };
            opened.push((parcel, compartment));
        }
        let compartments: Vec<usize> = opened.iter().map(|(_, n)| *n).collect();
        self.close_seen_open(&compartments).await?;
        for (parcel, _) in &opened {
            self.wait_parcel_closed(parcel).await?;
            self.api.confirm(parcel).await?;
        }
        let mut codes: HashMap<String, String> = self.api.new_codes().await?.into_iter().collect();
        opened
            .into_iter()
            .map(|(parcel, compartment)| {
                let code = codes
                    .remove(&parcel)
                    .with_context(|| format!("no code for {parcel}"))?;
                Ok(Stored {
                    parcel,
                    compartment,
                    code,
                })
            })
            .collect()
    }

    /// Picks every parcel up, timing each pickup to its latch, then closes the doors.
    pub async fn empty(
        &mut self,
        stored: Vec<Stored>,
        samples: &mut Vec<Duration>,
    ) -> anyhow::Result<()> {
        for s in &stored {
            let t0 = self.quiet_start().await?;
            let opened = index_of(&self.api.pickup(&s.code).await?)?;
            ensure!(opened == s.compartment, "{} opened {opened}", s.parcel);
            samples.push(self.latch_on(s.compartment, t0)? - t0);
        }
        let compartments: Vec<usize> = stored.iter().map(|s| s.compartment).collect();
        self.close_seen_open(&compartments).await?;
        self.wait_until("every compartment free", |all| {
            all.iter().all(|c| c.state == CompartmentState::Free)
        })
        .await
    }

    /// Waits for every latch to be off, then a random fraction of the poll period; the
    /// instant a timed request leaves.
    async fn quiet_start(&self) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + DEADLINE;
        while self.energized() {
            ensure!(Instant::now() < deadline, "a latch stayed energized");
            sleep(Duration::from_millis(1)).await;
        }
        sleep(self.poll.mul_f64(rand::random::<f64>())).await;
        if let Bank::Tcp { board, .. } = &self.bank {
            board.clear_log();
        }
        Ok(Instant::now())
    }

    fn energized(&self) -> bool {
        match &self.bank {
            Bank::Sim(sim) => sim.energized().is_some(),
            Bank::Tcp { board, .. } => (0..self.count).any(|n| {
                let (unit, coil) = wiring(n);
                board.coil(unit, coil)
            }),
        }
    }

    /// When compartment `n`'s latch was energized, at or after `t0`.
    fn latch_on(&self, n: usize, t0: Instant) -> anyhow::Result<Instant> {
        let at = match &self.bank {
            Bank::Sim(sim) => sim
                .last_pulse()
                .filter(|&(channel, at)| channel == n && at >= t0)
                .map(|(_, at)| at),
            Bank::Tcp { board, .. } => {
                let (unit, coil) = wiring(n);
                let on = Request::WriteSingleCoil(coil, true);
                let log = board.log();
                log.iter()
                    .find(|l| l.at >= t0 && l.unit == unit && l.request == on)
                    .map(|l| l.at)
            }
        };
        at.with_context(|| format!("no latch-on for {} after the request", compartment_id(n)))
    }

    /// Once the daemon has seen each of `compartments` open, closes their doors.
    async fn close_seen_open(&self, compartments: &[usize]) -> anyhow::Result<()> {
        let ids: Vec<String> = compartments.iter().map(|&n| compartment_id(n)).collect();
        self.wait_until("the opened doors seen open", |all| {
            all.iter()
                .filter(|c| ids.contains(&c.id.0))
                .all(|c| c.door == Door::Open)
        })
        .await?;
        for &n in compartments {
            match &self.bank {
                Bank::Sim(sim) => sim.set_door(n, false)?,
                Bank::Tcp { board, .. } => {
                    let (unit, input) = wiring(n);
                    board.set_input(unit, input, false);
                }
            }
        }
        Ok(())
    }

    async fn wait_parcel_closed(&self, parcel: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let state = self.running().locker.parcel(parcel).await?.state;
            if matches!(state, ParcelState::Closed | ParcelState::Stored) {
                return Ok(());
            }
            ensure!(Instant::now() < deadline, "{parcel} stayed {state:?}");
            sleep(Duration::from_millis(5)).await;
        }
    }

    /// Polls the compartments (in-process, no HTTP) until `done` holds.
    async fn wait_until(
        &self,
        what: &str,
        done: impl Fn(&[lockerd::domain::Compartment]) -> bool,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if done(&self.running().locker.compartments().await?) {
                return Ok(());
            }
            ensure!(Instant::now() < deadline, "timed out waiting for {what}");
            sleep(Duration::from_millis(5)).await;
        }
    }
}

fn index_of(compartment: &str) -> anyhow::Result<usize> {
    compartment
        .strip_prefix('C')
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| n.checked_sub(1))
        .with_context(|| format!("{compartment} is not a bench compartment"))
}
