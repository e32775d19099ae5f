//! A real daemon on emulated Modbus relay boards, driven over HTTP, for the Modbus end-to-end
//! tests.
//!
//! The boards are `lockerd_hal::modbus::emulator` behind tokio-modbus's TCP server on a loopback
//! port; the daemon reaches them through a `modbus-tcp` bus named `net`, optionally beside a
//! `sim` bus. Doors move by setting the boards' discrete inputs, as reed switches would, and
//! the assertions read what the boards received. `Locker::start_through_proxy` puts the
//! emulator's fault-injecting proxy between the daemon and the boards. As in `common`, waiting is polling for what
//! a user would see, with a deadline; the clock of the locker is a `ManualClock`, the bus runs
//! on real time.

#![allow(dead_code)] // Each test binary uses its own part of this module.

use std::net::SocketAddr;
use std::ops::Deref;
use std::time::Duration;

use lockerd_hal::modbus::emulator::proxy::Proxy;
use lockerd_hal::modbus::emulator::{Board, Logged, Request, TcpServer};
use serde_json::Value;
use tokio::time::Instant;

use crate::common::Harness;

/// The Modbus bus's name in the config.
pub const BUS: &str = "net";

/// How long any awaited state may take. Generous: a bus that was down is retried with a
/// back-off that doubles while the fault lasts.
const DEADLINE: Duration = Duration::from_secs(20);

/// A compartment on the Modbus bus: latch on `unit`/`coil`, door on `unit`/`input`, with
/// `open_when = true` (input on = door open).
#[derive(Debug, Clone, Copy)]
pub struct OnBoard {
    pub id: &'static str,
    pub size: &'static str,
    pub unit: u8,
    pub coil: u16,
    pub input: u16,
}

impl OnBoard {
    /// Wired as the test boards are: latch on coil `n` and door on input `n` of `unit`.
    pub fn wired(id: &'static str, size: &'static str, unit: u8, n: u16) -> OnBoard {
        OnBoard {
            id,
            size,
            unit,
            coil: n,
            input: n,
        }
    }
}

/// What the daemon is built on.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `generic`, `waveshare` or `eletechsup`.
    pub profile: &'static str,
    pub pulse: &'static str,
    pub max_pulse: &'static str,
    /// The Modbus request timeout.
    pub timeout: &'static str,
    /// `latch.open_timeout`: how long a pulsed door has to be seen open.
    pub open_timeout: &'static str,
    pub poll: Duration,
    pub modbus: Vec<OnBoard>,
    /// `(id, size)` of compartments on a `sim` bus, configured before the Modbus bus.
    pub sim: Vec<(&'static str, &'static str)>,
}

impl Layout {
    pub fn compartment(&self, id: &str) -> OnBoard {
        *self
            .modbus
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("{id} is not on the Modbus bus"))
    }

    fn config_text(&self, state_dir: &std::path::Path, address: SocketAddr) -> String {
        let mut text = format!(
            r#"
[locker]
name = "modbus-test"
state_dir = "{state_dir}"

[api]
listen = "127.0.0.1:0"

[policy]
code_length = 6

[latch]
pulse = "{pulse}"
max_pulse = "{max_pulse}"
cooldown = "30ms"
open_timeout = "{open_timeout}"
retries = 1
door_left_open = "60s"
"#,
            state_dir = state_dir.display(),
            pulse = self.pulse,
            max_pulse = self.max_pulse,
            open_timeout = self.open_timeout,
        );
        if !self.sim.is_empty() {
            text.push_str("\n[[bus]]\nname = \"sim\"\ndriver = \"sim\"\npoll = \"20ms\"\n");
        }
        text.push_str(&format!(
            "\n[[bus]]\nname = \"{BUS}\"\ndriver = \"modbus-tcp\"\naddress = \"{address}\"\n\
             timeout = \"{}\"\npoll = \"{}ms\"\nprofile = \"{}\"\n",
            self.timeout,
            self.poll.as_millis(),
            self.profile
        ));
        for (id, size) in &self.sim {
            text.push_str(&format!(
                "\n[[compartment]]\nid = \"{id}\"\nsize = \"{size}\"\n\
                 latch = {{ bus = \"sim\" }}\ndoor = {{ bus = \"sim\" }}\n"
            ));
        }
        for c in &self.modbus {
            text.push_str(&format!(
                "\n[[compartment]]\nid = \"{}\"\nsize = \"{}\"\n\
                 latch = {{ bus = \"{BUS}\", unit = {}, coil = {} }}\n\
                 door = {{ bus = \"{BUS}\", unit = {}, input = {}, open_when = true }}\n",
                c.id, c.size, c.unit, c.coil, c.unit, c.input
            ));
        }
        text
    }
}

/// A running daemon on emulated boards; the daemon's `Harness` (API, tokens, clock) is reached
/// through it.
pub struct Locker {
    pub layout: Layout,
    pub board: Board,
    /// The boards' server; `None` while a test has taken it away.
    pub server: Option<TcpServer>,
    /// The boards' server's address.
    pub addr: SocketAddr,
    /// The proxy the daemon reaches the boards through, if any.
    pub proxy: Option<Proxy>,
    pub harness: Harness,
}

impl Deref for Locker {
    type Target = Harness;

    fn deref(&self) -> &Harness {
        &self.harness
    }
}

impl Locker {
    /// Serves `board` on a loopback port and starts a daemon on it; returns once the daemon is
    /// ready (outputs driven off, doors read).
    pub async fn start(layout: Layout, board: Board) -> Locker {
        Self::start_on(layout, board, false).await
    }

    /// As `start`, with a fault-injecting proxy between the daemon and the boards.
    pub async fn start_through_proxy(layout: Layout, board: Board) -> Locker {
        Self::start_on(layout, board, true).await
    }

    async fn start_on(layout: Layout, board: Board, proxied: bool) -> Locker {
        let server = TcpServer::start(board.clone()).await.expect("serve boards");
        let addr = server.addr();
        let proxy = match proxied {
            true => Some(Proxy::start(addr).await.expect("proxy")),
            false => None,
        };
        let target = proxy.as_ref().map_or(addr, Proxy::addr);
        let harness =
            Harness::start_config(DEADLINE, |state_dir| layout.config_text(state_dir, target))
                .await;
        Locker {
            layout,
            board,
            server: Some(server),
            addr,
            proxy,
            harness,
        }
    }

    /// The proxy of a locker started `start_through_proxy`.
    pub fn proxy(&self) -> &Proxy {
        self.proxy.as_ref().expect("started through a proxy")
    }

    /// Stops the daemon gracefully; fails the test if a task of it panicked.
    pub async fn stop(self) {
        self.harness.stop().await;
    }

    /// Polls `/healthz` until the Modbus bus shows `ok`; returns the whole answer.
    pub async fn wait_bus_ok(&self, ok: bool) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let (status, health) = self.request("GET", "/healthz", None, None).await;
            if bus_health(&health, BUS)["ok"] == ok {
                assert_eq!(status, 200, "the database works: {health}");
                return health;
            }
            assert!(
                Instant::now() < deadline,
                "bus {BUS} never became ok = {ok}: {health}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until the boards' log, from entry `from` on, satisfies `done`; returns that part.
    pub async fn wait_log(&self, from: usize, done: impl Fn(&[Logged]) -> bool) -> Vec<Logged> {
        let waited = self
            .board
            .wait_for(|log| done(log.get(from..).unwrap_or(&[])));
        let log = tokio::time::timeout(DEADLINE, waited)
            .await
            .unwrap_or_else(|_| panic!("the boards never saw it: {:#?}", self.board.requests()));
        log[from..].to_vec()
    }

    /// Moves a door on the boards, as a hand would: its input reads `open` (`open_when = true`).
    pub fn set_door(&self, compartment: &str, open: bool) {
        let c = self.layout.compartment(compartment);
        self.board.set_input(c.unit, c.input, open);
    }

    /// Waits for the first latch pulse the boards receive from log entry `from` on and opens
    /// that compartment's door, as the courier or recipient in front of it would; returns the
    /// compartment. A pulse is FC05 on then off to one coil, or an Eletechsup timed FC06.
    pub async fn hand_opens_released_door(&self, from: usize) -> &'static str {
        let log = self.wait_log(from, |log| released(log).is_some()).await;
        let (unit, coil) = released(&log).expect("a pulse");
        let c = self
            .layout
            .modbus
            .iter()
            .find(|c| (c.unit, c.coil) == (unit, coil))
            .unwrap_or_else(|| panic!("unit {unit} coil {coil} is no compartment's latch"));
        self.set_door(c.id, true);
        c.id
    }

    /// Deposits into a Modbus compartment: the door is opened by hand once its latch released,
    /// closed, and the deposit confirmed. Returns (parcel id, compartment, pickup code).
    pub async fn deposit_stored(
        &self,
        courier: &str,
        tracking_id: &str,
        size: &str,
    ) -> (String, String, String) {
        let from = self.board.log().len();
        let ((status, body), opened) = tokio::join!(
            self.deposit(courier, tracking_id, size),
            self.hand_opens_released_door(from)
        );
        assert_eq!(status, 201, "{body}");
        let parcel = body["parcel_id"].as_str().unwrap().to_owned();
        let compartment = body["compartment"]["id"].as_str().unwrap().to_owned();
        assert_eq!(compartment, opened, "the door opened is the one assigned");
        self.set_door(&compartment, false);
        let code = self.confirm_once_closed(courier, &parcel).await;
        (parcel, compartment, code)
    }

    /// Picks up with `code` from a Modbus compartment: the door is opened by hand once its
    /// latch released, and closed; waits until the parcel is collected.
    pub async fn pickup(&self, code: &str) -> String {
        let from = self.board.log().len();
        let ((status, body), opened) =
            tokio::join!(self.enter_code(code), self.hand_opens_released_door(from));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["compartment"]["id"], opened, "{body}");
        let parcel = body["parcel_id"].as_str().unwrap().to_owned();
        self.set_door(opened, false);
        self.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "collected")
            .await;
        parcel
    }

    /// Every compartment as the API shows it.
    pub async fn compartments(&self) -> Vec<Value> {
        let (status, body) = self.get("/api/v1/compartments", &self.operator).await;
        assert_eq!(status, 200, "{body}");
        body["compartments"]
            .as_array()
            .expect("compartments")
            .clone()
    }
}

/// One bus's entry in a `/healthz` answer.
pub fn bus_health<'a>(health: &'a Value, bus: &str) -> &'a Value {
    health["buses"]
        .as_array()
        .and_then(|buses| buses.iter().find(|b| b["name"] == bus))
        .unwrap_or(&Value::Null)
}

/// The first completed latch pulse in `log`, as `(unit, coil)`.
fn released(log: &[Logged]) -> Option<(u8, u16)> {
    log.iter().enumerate().find_map(|(i, l)| match l.request {
        Request::WriteSingleCoil(coil, true) => {
            let off = Request::WriteSingleCoil(coil, false);
            log[i + 1..]
                .iter()
                .any(|later| later.unit == l.unit && later.request == off)
                .then_some((l.unit, coil))
        }
        Request::WriteSingleRegister(register, value) if value >> 8 == 0x06 => {
            Some((l.unit, register.checked_sub(1)?))
        }
        _ => None,
    })
}

/// The coil writes (FC05) in `log`, as `(unit, coil, on)`.
pub fn coil_writes(log: &[Logged]) -> Vec<(u8, u16, bool)> {
    log.iter()
        .filter_map(|l| match l.request {
            Request::WriteSingleCoil(coil, on) => Some((l.unit, coil, on)),
            _ => None,
        })
        .collect()
}
