//! Emulated relay boards for the tests and benchmarks of the driver, the daemon and the
//! commissioning CLI: a Modbus server that holds each unit's coils, holding registers and
//! discrete inputs, logs every request it receives, and misbehaves on demand.
//!
//! Built only with the `emulator` feature; the daemon itself never includes it.
//!
//! A [`Board`] is a bus of emulated units behind one clonable handle: tests set door inputs,
//! read back what went over the wire ([`Board::log`]) and arm faults ([`Board::inject`]).
//! [`serve_tcp`] puts it behind tokio-modbus's TCP server (with [`TcpServer`] for stopping and
//! restarting one on a loopback port); [`serve_rtu`] and [`serve_rtu_path`] behind its RTU server
//! on a serial port or pseudo-terminal. [`proxy::Proxy`] sits in front of a TCP server and
//! breaks the replies on their way back, where the board's own faults break the requests.
//!
//! What it emulates (see `docs/hardware.md`): FC01/02/03 reads, FC05 coil writes (coil `0x00FF`
//! switches every relay of a unit, as on Waveshare boards), FC06 register writes (stored as
//! written). Other functions answer `IllegalFunction`, addresses past [`POINTS`]
//! `IllegalDataAddress`. A unit id that is not on the bus stays silent, as on a real RS485 line.
//!
//! This file has the board and what a test does with it; `service` what the board does with one
//! request; `unit` one unit's points; `tcp`, `rtu` and `proxy` the servers in front of it.
//!
//! It depends on tokio and tokio-modbus only, never on the driver next to it: a test of the
//! driver must not pass because both sides share a mistake.

pub mod proxy;
mod rtu;
mod service;
mod tcp;
mod unit;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use service::Reply;
use unit::Unit;

pub use rtu::{serve_rtu, serve_rtu_path};
pub use tcp::{TcpServer, serve_tcp};
/// The types the log and faults are written in, so users need no tokio-modbus of their own.
pub use tokio_modbus::{ExceptionCode, Request, Response};
pub use unit::POINTS;

/// One request the emulated bus received.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    /// When the request arrived (tokio time, so `tokio::time::pause` applies).
    pub at: Instant,
    pub unit: u8,
    /// The function, address and value: `WriteSingleCoil(3, true)` is FC05 to coil 3, on.
    pub request: Request<'static>,
    /// The fault that hit this request, if any.
    pub fault: Option<Fault>,
}

impl Logged {
    /// The Modbus function code: 0x05 for a coil write, 0x02 for a read of inputs, ...
    pub fn function(&self) -> u8 {
        self.request.function_code().value()
    }
}

/// What an armed fault does to a request it hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No answer at all, and the request is not carried out: a dead or unplugged unit.
    Silent,
    /// The request is refused with this exception (and not carried out).
    Exception(ExceptionCode),
    /// The request is carried out but the answer is garbage: over TCP, bytes that are not a
    /// Modbus TCP frame (an MBAP header with protocol id `0x1234`); over RTU, where
    /// tokio-modbus's server owns the port, a well-formed answer to a different function.
    Garbage,
    /// The request is carried out and answered only after this long.
    Late(Duration),
}

/// Which requests an armed fault hits: `|unit, request| ...`.
type Matcher = Box<dyn Fn(u8, &Request<'_>) -> bool + Send>;

struct Armed {
    matches: Matcher,
    fault: Fault,
    remaining: usize,
}

/// A door that springs open when its latch releases.
#[derive(Debug, Clone, Copy)]
struct Spring {
    unit: u8,
    coil: u16,
    input: u16,
    open_when: bool,
}

#[derive(Default)]
struct State {
    units: BTreeMap<u8, Unit>,
    log: Vec<Logged>,
    faults: Vec<Armed>,
    springs: Vec<Spring>,
}

struct Shared {
    state: Mutex<State>,
    /// Bumped on every logged request, for [`Board::wait_for`].
    logged: watch::Sender<u64>,
    /// TCP connections open now, and accepted in all.
    connections: watch::Sender<(usize, usize)>,
}

/// A bus of emulated relay boards. Clones share it: keep one in the test, give one to the
/// server.
#[derive(Clone)]
pub struct Board {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("Board")
            .field("units", &state.units.keys().collect::<Vec<_>>())
            .field("logged", &state.log.len())
            .finish_non_exhaustive()
    }
}

impl Board {
    /// Boards answering as `units`, every coil, register and input at 0.
    pub fn new(units: &[u8]) -> Self {
        let state = State {
            units: units.iter().map(|&id| (id, Unit::new())).collect(),
            ..State::default()
        };
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                logged: watch::Sender::new(0),
                connections: watch::Sender::new((0, 0)),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already; its state is still
        // the best account of what went over the wire.
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_unit<T>(&self, unit: u8, f: impl FnOnce(&mut Unit) -> T) -> T {
        let mut state = self.state();
        let board = state.units.get_mut(&unit);
        f(board.unwrap_or_else(|| panic!("unit {unit} is not on the emulated bus")))
    }

    /// Every request received so far, in order of arrival.
    pub fn log(&self) -> Vec<Logged> {
        self.state().log.clone()
    }

    /// Every request received so far as `(unit, request)`.
    pub fn requests(&self) -> Vec<(u8, Request<'static>)> {
        let state = self.state();
        state
            .log
            .iter()
            .map(|l| (l.unit, l.request.clone()))
            .collect()
    }

    pub fn clear_log(&self) {
        self.state().log.clear();
    }

    /// Waits until `done` holds for the log and returns the log. No deadline of its own: wrap
    /// it in `tokio::time::timeout`.
    pub async fn wait_for(&self, mut done: impl FnMut(&[Logged]) -> bool) -> Vec<Logged> {
        // Subscribed before looking, so a request logged in between is not missed.
        let mut logged = self.shared.logged.subscribe();
        loop {
            let log = self.log();
            if done(&log) {
                return log;
            }
            // The sender lives in `self`: it cannot close while we wait.
            let _ = logged.changed().await;
        }
    }

    pub fn coil(&self, unit: u8, coil: u16) -> bool {
        self.with_unit(unit, |u| u.coils[usize::from(coil)])
    }

    pub fn set_coil(&self, unit: u8, coil: u16, on: bool) {
        self.with_unit(unit, |u| u.coils[usize::from(coil)] = on);
    }

    pub fn register(&self, unit: u8, register: u16) -> u16 {
        self.with_unit(unit, |u| u.registers[usize::from(register)])
    }

    pub fn set_register(&self, unit: u8, register: u16, value: u16) {
        self.with_unit(unit, |u| u.registers[usize::from(register)] = value);
    }

    pub fn input(&self, unit: u8, input: u16) -> bool {
        self.with_unit(unit, |u| u.inputs[usize::from(input)])
    }

    /// Sets a discrete input, as a door's reed switch would.
    pub fn set_input(&self, unit: u8, input: u16, value: bool) {
        self.with_unit(unit, |u| u.inputs[usize::from(input)] = value);
    }

    /// From now on, whenever relay `coil` of `unit` is energized (FC05 on to the coil, FC05 on
    /// to coil `0x00FF`, or FC06 `0x01XX`/`0x06XX` to register `coil + 1`, the Eletechsup
    /// numbering) input `input` of that unit becomes `open_when`: a door that springs open
    /// when its latch releases. Closing it again is [`Board::set_input`], as a hand would.
    pub fn spring_door(&self, unit: u8, coil: u16, input: u16, open_when: bool) {
        self.state().springs.push(Spring {
            unit,
            coil,
            input,
            open_when,
        });
    }

    /// Hits the next `times` requests for which `matches(unit, request)` holds with `fault`
    /// (`usize::MAX`: until [`Board::clear_faults`]). The first armed fault that matches wins.
    pub fn inject(
        &self,
        fault: Fault,
        times: usize,
        matches: impl Fn(u8, &Request<'_>) -> bool + Send + 'static,
    ) {
        self.state().faults.push(Armed {
            matches: Box::new(matches),
            fault,
            remaining: times,
        });
    }

    /// Disarms every fault: the bus behaves again.
    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// TCP connections accepted in all, by every server of this board.
    pub fn accepted(&self) -> usize {
        self.shared.connections.borrow().1
    }

    /// TCP connections open now.
    pub fn open_connections(&self) -> usize {
        self.shared.connections.borrow().0
    }

    /// Waits until no TCP connection to this board is open (after a server was stopped).
    pub async fn wait_disconnected(&self) {
        let mut connections = self.shared.connections.subscribe();
        // The sender lives in `self`: it cannot close while we wait.
        let _ = connections.wait_for(|(open, _)| *open == 0).await;
    }

    fn connected(&self) {
        let count = &self.shared.connections;
        count.send_modify(|(open, total)| (*open, *total) = (*open + 1, *total + 1));
    }

    fn disconnected(&self) {
        self.shared.connections.send_modify(|(open, _)| *open -= 1);
    }
}
