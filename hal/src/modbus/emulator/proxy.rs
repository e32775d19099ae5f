//! A Modbus TCP proxy that misbehaves on command: it sits between a client (the daemon's
//! `modbus-tcp` bus) and a server (a [`TcpServer`](super::TcpServer)), passes requests through
//! untouched, and drops, delays, corrupts or replaces the replies a test tells it to.
//!
//! Faults are on replies only, so every request the client sends reaches the board and is
//! carried out: the board's log ([`Board::log`](super::Board::log)) is what really happened,
//! the client's view is what the proxy let through. That is the nastiest case for a coil write:
//! the relay switched, and the client never heard.
//!
//! Each client connection gets its own upstream connection, and the proxy reads whole frames
//! (the MBAP header's length says where one ends) in both directions, so it knows which
//! request each reply answers (by transaction id) and can break a frame in named ways. What
//! it did is recorded ([`Proxy::applied`]) so a test can tell that a fault actually hit.
//!
//! On reordering: a client here has one request in flight per connection and reconnects after
//! any timeout, so two replies of one connection can never swap places. What such a client
//! does meet is a late reply delivered in place of the next one — a TCP-to-RTU gateway that
//! forwards a late serial answer to whoever asks next. [`Mode::Stale`] is that.
//!
//! It depends on tokio only: it must not share a frame codec with the client it tests.

mod frame;

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep};

pub use frame::Corruption;
use frame::{Frame, read_frame};

/// What the proxy does to a reply a rule hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The reply never reaches the client; the connection stays open. The request was carried
    /// out.
    Drop,
    /// The reply reaches the client this much later.
    Delay(Duration),
    /// The reply reaches the client broken this way.
    Corrupt(Corruption),
    /// The reply is held back (the client gets no answer) and sent in place of the next reply
    /// the proxy relays, on whichever connection that is; that reply is discarded. With
    /// `restamp`, the held frame carries the transaction id and unit of the request it now
    /// answers, as a gateway that forwards a late serial answer would stamp it; without, it
    /// keeps its own, as a stale frame left in a stream would (tokio-modbus numbers
    /// transactions from 0 on every connection, so one that answered an earlier connection's
    /// first request still passes the id check of a new connection's first).
    Stale { restamp: bool },
}

/// What the proxy did to one reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Did {
    Dropped,
    Delayed(Duration),
    Corrupted(Corruption),
    /// Held back by [`Mode::Stale`].
    Held,
    /// Discarded, and a held reply sent in its place.
    ReplacedByStale {
        restamped: bool,
    },
}

impl Did {
    /// A short name for tallies: `dropped`, `delayed`, `corrupted:flip_bit`, ...
    pub fn name(&self) -> String {
        match self {
            Did::Dropped => "dropped".into(),
            Did::Delayed(_) => "delayed".into(),
            Did::Corrupted(c) => format!("corrupted:{}", c.name()),
            Did::Held => "held".into(),
            Did::ReplacedByStale { restamped: true } => "replaced_by_stale:restamped".into(),
            Did::ReplacedByStale { restamped: false } => "replaced_by_stale".into(),
        }
    }
}

/// One fault the proxy applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// When the reply arrived from the server (tokio time).
    pub at: Instant,
    /// The request the reply answered.
    pub request: Sent,
    pub did: Did,
}

/// A request as the proxy saw it go to the server: what rules match on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub transaction: u16,
    pub unit: u8,
    pub function: u8,
    /// The PDU after the function code.
    pub data: Vec<u8>,
}

impl Sent {
    /// `(coil, on)` for an FC05 write.
    pub fn coil_write(&self) -> Option<(u16, bool)> {
        match (self.function, self.data.as_slice()) {
            (0x05, [a, b, v, _]) => Some((u16::from_be_bytes([*a, *b]), *v == 0xFF)),
            _ => None,
        }
    }
}

/// Which replies a rule hits, by the request they answer.
type Matcher = Box<dyn Fn(&Sent) -> bool + Send>;

struct Rule {
    mode: Mode,
    remaining: usize,
    matches: Matcher,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    /// A reply held by [`Mode::Stale`], and whether to restamp it.
    held: Option<(Frame, bool)>,
    applied: Vec<Applied>,
    relayed: usize,
}

/// What to do with one reply, decided under the lock and carried out after it.
enum Action {
    Send(Frame),
    Nothing,
    Delay(Duration, Frame),
    /// Write these bytes, then close the connection if `close`.
    Bytes(Vec<u8>, bool),
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked holding the lock has failed already.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decides the fate of `reply`, the answer to `request`, and records it.
    fn decide(&self, request: Sent, reply: Frame) -> Action {
        let mut state = self.state();
        let at = Instant::now();
        if let Some((mut stale, restamp)) = state.held.take() {
            if restamp {
                stale.set_transaction(reply.transaction());
                stale.set_unit(reply.unit());
            }
            let did = Did::ReplacedByStale { restamped: restamp };
            state.applied.push(Applied { at, request, did });
            return Action::Send(stale);
        }
        let rule = state
            .rules
            .iter_mut()
            .find(|rule| rule.remaining > 0 && (rule.matches)(&request));
        let Some(rule) = rule else {
            state.relayed += 1;
            return Action::Send(reply);
        };
        rule.remaining -= 1;
        let (did, action) = match rule.mode {
            Mode::Drop => (Did::Dropped, Action::Nothing),
            Mode::Delay(by) => (Did::Delayed(by), Action::Delay(by, reply)),
            Mode::Corrupt(how) => {
                let (bytes, close) = how.apply(reply);
                (Did::Corrupted(how), Action::Bytes(bytes, close))
            }
            Mode::Stale { restamp } => {
                state.held = Some((reply, restamp));
                (Did::Held, Action::Nothing)
            }
        };
        state.applied.push(Applied { at, request, did });
        action
    }
}

/// A fault-injecting proxy on a loopback port in front of one Modbus TCP server.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("Shared")
            .field("rules", &state.rules.len())
            .field("applied", &state.applied.len())
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// Listens on a free loopback port and relays every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let task = tokio::spawn(accept(listener, upstream, shared.clone()));
        Ok(Self { addr, shared, task })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Applies `mode` to the next `times` replies (`usize::MAX`: until [`Proxy::clear`]) whose
    /// request satisfies `matches`. The first armed rule that matches wins.
    pub fn inject(
        &self,
        mode: Mode,
        times: usize,
        matches: impl Fn(&Sent) -> bool + Send + 'static,
    ) {
        self.shared.state().rules.push(Rule {
            mode,
            remaining: times,
            matches: Box::new(matches),
        });
    }

    /// Applies `mode` to every reply until [`Proxy::clear`].
    pub fn set(&self, mode: Mode) {
        self.inject(mode, usize::MAX, |_| true);
    }

    /// Disarms every rule and forgets a held reply: from now on every reply passes untouched.
    pub fn clear(&self) {
        let mut state = self.shared.state();
        state.rules.clear();
        state.held = None;
    }

    /// Every fault applied so far, in order.
    pub fn applied(&self) -> Vec<Applied> {
        self.shared.state().applied.clone()
    }

    /// How many replies each kind of fault hit ([`Did::name`]).
    pub fn tally(&self) -> BTreeMap<String, usize> {
        let mut tally = BTreeMap::new();
        for applied in &self.shared.state().applied {
            *tally.entry(applied.did.name()).or_default() += 1;
        }
        tally
    }

    /// How many replies passed untouched.
    pub fn relayed(&self) -> usize {
        self.shared.state().relayed
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The connections live in the accept task's `JoinSet`: they end with it.
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        connections.spawn(relay(client, upstream, shared.clone()));
        // Reap finished connections so a long test does not accumulate them.
        while connections.try_join_next().is_some() {}
    }
}

/// Relays one client connection until either side closes it. A server that refuses the
/// upstream connection closes the client's, as a gateway without its backend would.
async fn relay(client: TcpStream, upstream: SocketAddr, shared: Arc<Shared>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    // Frames are small and someone waits for each: never hold them back.
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (from_client, to_client) = client.into_split();
    let (from_server, to_server) = server.into_split();
    let (sent, pending) = mpsc::unbounded_channel();
    // Whichever direction ends first ends both: dropping the halves closes the sockets.
    tokio::select! {
        _ = requests(from_client, to_server, sent) => {}
        _ = replies(from_server, to_client, pending, shared) => {}
    }
}

/// Client to server: frames passed on untouched, each noted as awaiting its reply.
async fn requests(
    mut from_client: OwnedReadHalf,
    mut to_server: OwnedWriteHalf,
    sent: mpsc::UnboundedSender<Sent>,
) -> io::Result<()> {
    while let Some(frame) = read_frame(&mut from_client).await? {
        // Noted before it leaves, so its reply always finds it.
        let _ = sent.send(frame.as_sent());
        to_server.write_all(frame.bytes()).await?;
    }
    Ok(())
}

/// Server to client: each reply matched to its request and put through the rules.
async fn replies(
    mut from_server: OwnedReadHalf,
    mut to_client: OwnedWriteHalf,
    mut sent: mpsc::UnboundedReceiver<Sent>,
    shared: Arc<Shared>,
) -> io::Result<()> {
    let mut pending = VecDeque::new();
    while let Some(reply) = read_frame(&mut from_server).await? {
        while let Ok(request) = sent.try_recv() {
            pending.push_back(request);
        }
        // A server answers in order; requests it never answered are skipped over.
        let Some(at) = pending
            .iter()
            .position(|r| r.transaction == reply.transaction())
        else {
            to_client.write_all(reply.bytes()).await?;
            continue;
        };
        let request = pending
            .drain(..=at)
            .next_back()
            .expect("position is in range");
        match shared.decide(request, reply) {
            Action::Send(frame) => to_client.write_all(frame.bytes()).await?,
            Action::Nothing => {}
            Action::Delay(by, frame) => {
                sleep(by).await;
                to_client.write_all(frame.bytes()).await?;
            }
            Action::Bytes(bytes, close) => {
                to_client.write_all(&bytes).await?;
                if close {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}
