//! Interoperability with an independent Modbus implementation: the deposit-and-pickup flow with
//! lockerd's drivers talking to pymodbus, once over Modbus TCP and once over Modbus RTU at 9600
//! baud on a socat pseudo-terminal pair.
//!
//! The peer is `tests/interop/pymodbus_board.py`: a relay board whose coil k, switched on, pops
//! door input k open (a spring-loaded door); the test closes the door through the script's stdin
//! and reads every coil write the board received from its stdout. So the assertions are about
//! what another implementation saw on the wire, not what lockerd believes it sent.
//!
//! Needs python3 with pymodbus 3.16 and pyserial, and socat; `.ci/run` installs them. Without
//! them the tests are skipped with a message, except under CI (`CI` set), where they fail.

mod common;

use common::Harness;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/interop/pymodbus_board.py"
);

/// The compartments of the test locker: id, size and the coil and input they are wired to.
const COMPARTMENTS: [(&str, &str, u16); 4] = [
    ("A1", "S", 0),
    ("A2", "M", 1),
    ("A3", "L", 2),
    ("A4", "XL", 3),
];

const PULSE: Duration = Duration::from_millis(150);
const MAX_PULSE: Duration = Duration::from_millis(500);

/// Patience for anything that crosses the wire (a few poll periods at most in practice).
const DEADLINE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposit_and_pickup_through_a_pymodbus_tcp_server() {
    if !peers_available(false) {
        return;
    }
    let board = Board::spawn(&["tcp", "--host", "127.0.0.1", "--port", "0"]).await;
    let port = board.ready["port"].as_u64().expect("tcp port");
    let bus = format!(
        "driver = \"modbus-tcp\"\naddress = \"127.0.0.1:{port}\"\ntimeout = \"300ms\"\n\
         poll = \"50ms\"\nprofile = \"generic\"\n"
    );
    flow(&board, &bus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposit_and_pickup_through_a_pymodbus_rtu_server_on_a_pty() {
    if !peers_available(true) {
        return;
    }
    let line = Socat::pty_pair();
    let board = Board::spawn(&["rtu", "--device", &line.ends[0], "--baud", "9600"]).await;
    let bus = format!(
        "driver = \"modbus-rtu\"\ndevice = \"{}\"\nbaud = 9600\ntimeout = \"300ms\"\n\
         poll = \"50ms\"\nprofile = \"generic\"\n",
        line.ends[1]
    );
    flow(&board, &bus).await;
}

/// The spine of lockerd against the board: start-up all-off, a courier's deposit, the door
/// closed and the deposit confirmed, the recipient's pickup, the door closed again.
async fn flow(board: &Board, bus: &str) {
    // lockerd with its compartments on the board's bus, and the tokens to drive it over HTTP.
    let daemon = Harness::start_config(DEADLINE, |state_dir| config_text(state_dir, bus)).await;

    // Before anything else, every configured latch output is driven off (profile generic:
    // FC05 off to each coil), and nothing is switched on.
    let start_up = board
        .wait_for_coil_writes(0, COMPARTMENTS.len(), "the start-up all-off")
        .await;
    let mut off: Vec<u16> = start_up.iter().map(|w| w.address).collect();
    off.sort_unstable();
    assert_eq!(off, [0, 1, 2, 3], "all-off at start: {start_up:?}");
    assert!(
        start_up
            .iter()
            .all(|w| w.unit == 1 && w.fc == 5 && !w.value),
        "all-off at start: {start_up:?}"
    );

    let courier = daemon.courier_session("alice").await;

    // The deposit: smallest fitting compartment for an L parcel is A3, on coil 2.
    let mark = board.coil_writes().len();
    let (status, deposit) = daemon.deposit(&courier, "PYM-1", "L").await;
    assert_eq!(status, 201, "{deposit}");
    assert_eq!(deposit["compartment"], json!({"id": "A3", "size": "L"}));
    let parcel = deposit["parcel_id"].as_str().expect("parcel id").to_owned();
    let coil = coil_of("A3");
    let pulse = board
        .wait_for_coil_writes(mark, 2, "the deposit pulse")
        .await;
    assert_pulse(&pulse, coil, "deposit");
    daemon
        .wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "open")
        .await;
    daemon
        .wait_for("/api/v1/compartments/A3", "door", "open")
        .await;

    // The courier shuts the door; the daemon sees it through two polls, then the confirm.
    board.close_door(coil).await;
    daemon
        .wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
        .await;
    let (status, stored) = daemon.confirm(&courier, &parcel).await;
    assert_eq!(
        (status, stored["state"].as_str()),
        (200, Some("stored")),
        "{stored}"
    );
    let a3 = daemon
        .get("/api/v1/compartments/A3", &daemon.operator)
        .await
        .1;
    assert_eq!(
        (a3["state"].as_str(), a3["door"].as_str()),
        (Some("occupied"), Some("closed")),
        "{a3}"
    );
    let code = daemon.code_of(&parcel).await;

    // The recipient's code pulses A3's latch and only that one.
    let mark = board.coil_writes().len();
    let (status, pickup) = daemon.enter_code(&code).await;
    assert_eq!(status, 200, "{pickup}");
    assert_eq!(
        pickup,
        json!({
            "parcel_id": parcel,
            "compartment": {"id": "A3"},
            "opened": [{"parcel_id": parcel, "compartment": {"id": "A3"}}],
        })
    );
    let pulse = board
        .wait_for_coil_writes(mark, 2, "the pickup pulse")
        .await;
    assert_pulse(&pulse, coil, "pickup");
    daemon
        .wait_for("/api/v1/compartments/A3", "door", "open")
        .await;
    assert_eq!(
        daemon.parcel(&parcel).await["state"],
        "stored",
        "collected only once the door closes"
    );

    board.close_door(coil).await;
    let collected = daemon
        .wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "collected")
        .await;
    assert!(collected["collected_at"].is_string(), "{collected}");
    daemon
        .wait_for("/api/v1/compartments/A3", "state", "free")
        .await;

    let (status, health) = daemon.request("GET", "/healthz", None, None).await;
    assert_eq!(
        (status, health["status"].as_str()),
        (200, Some("ok")),
        "{health}"
    );
    let types = daemon.event_types().await;
    for unwanted in ["door.forced", "bus.down"] {
        assert!(
            !types.iter().any(|t| t == unwanted),
            "{unwanted} in the feed: {types:?}"
        );
    }
    let writes = board.coil_writes();
    assert_eq!(
        writes.len(),
        COMPARTMENTS.len() + 4,
        "no coil written beyond the all-off and the two pulses: {writes:?}"
    );

    daemon.stop().await;
}

fn coil_of(compartment: &str) -> u16 {
    COMPARTMENTS
        .iter()
        .find(|(id, _, _)| *id == compartment)
        .map(|(_, _, coil)| *coil)
        .expect("known compartment")
}

/// Exactly FC05 on, then FC05 off, of `coil` on unit 1, the coil on for at least about the
/// configured pulse and never past `latch.max_pulse`.
fn assert_pulse(writes: &[CoilWrite], coil: u16, what: &str) {
    let shape: Vec<(u8, u8, u16, bool)> = writes
        .iter()
        .map(|w| (w.unit, w.fc, w.address, w.value))
        .collect();
    assert_eq!(
        shape,
        [(1, 5, coil, true), (1, 5, coil, false)],
        "{what}: coil writes the board saw"
    );
    let on_for = Duration::from_secs_f64(writes[1].t - writes[0].t);
    assert!(
        on_for >= PULSE - Duration::from_millis(20) && on_for <= MAX_PULSE,
        "{what}: coil {coil} was on for {on_for:?}, want about {PULSE:?} and at most {MAX_PULSE:?}"
    );
}

/// Whether python3 with a usable pymodbus (and socat, if `socat` is asked for) are here. Under
/// CI they must be: `.ci/run` installs them.
fn peers_available(socat: bool) -> bool {
    let mut missing = vec![];
    match Command::new("python3").args([SCRIPT, "--check"]).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => missing.push(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
        Err(e) => missing.push(format!("python3: {e}")),
    }
    if socat
        && !Command::new("socat")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    {
        missing.push("socat is not installed (apt-get install socat)".into());
    }
    if missing.is_empty() {
        return true;
    }
    let why = missing.join("; ");
    if std::env::var_os("CI").is_some() {
        panic!("interop peers missing under CI, where .ci/run installs them: {why}");
    }
    eprintln!("SKIPPED: the pymodbus interop test needs {why}");
    false
}

/// A child process killed (and reaped) when dropped, so a failing test leaves nothing behind.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `socat` joining two pseudo-terminals: a null-modem cable between two serial ports.
struct Socat {
    ends: [String; 2],
    _child: Killed,
}

impl Socat {
    fn pty_pair() -> Socat {
        let mut child = Command::new("socat")
            .args(["-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("socat starts");
        let stderr = child.stderr.take().expect("socat stderr");
        let child = Killed(child);
        let (tx, rx) = std::sync::mpsc::channel();
        // socat names each pty ("N PTY is /dev/pts/3"), then says it is transferring; the
        // thread keeps draining its stderr afterwards so socat never blocks on the pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(path) = line.split("PTY is ").nth(1) {
                    let _ = tx.send(Some(path.trim().to_owned()));
                } else if line.contains("starting data transfer loop") {
                    let _ = tx.send(None);
                }
            }
        });
        let mut ends = vec![];
        loop {
            match rx.recv_timeout(DEADLINE) {
                Ok(Some(path)) => ends.push(path),
                Ok(None) if ends.len() == 2 => break,
                other => panic!("socat did not make a pty pair: {other:?}, {ends:?}"),
            }
        }
        Socat {
            ends: ends.try_into().expect("two ptys"),
            _child: child,
        }
    }
}

/// One coil write as the board received it.
#[derive(Debug, Clone)]
struct CoilWrite {
    unit: u8,
    fc: u8,
    address: u16,
    value: bool,
    /// The board's monotonic clock, in seconds.
    t: f64,
}

/// The pymodbus relay board, with what it printed so far.
struct Board {
    ready: Value,
    stdin: Mutex<ChildStdin>,
    events: Arc<Mutex<Vec<Value>>>,
    stderr: Arc<Mutex<String>>,
    child: Mutex<Killed>,
}

impl Board {
    async fn spawn(args: &[&str]) -> Board {
        let mut child = Command::new("python3")
            .arg("-u")
            .arg(SCRIPT)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let events = Arc::new(Mutex::new(vec![]));
        let stderr = Arc::new(Mutex::new(String::new()));
        std::thread::spawn({
            let events = events.clone();
            move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let event = serde_json::from_str(&line)
                        .unwrap_or_else(|_| json!({"event": "text", "line": line}));
                    events.lock().unwrap().push(event);
                }
            }
        });
        std::thread::spawn({
            let stderr = stderr.clone();
            move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = err.read(&mut buf) {
                    stderr
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let mut board = Board {
            ready: Value::Null,
            stdin: Mutex::new(stdin),
            events,
            stderr,
            child: Mutex::new(Killed(child)),
        };
        board.ready = board
            .wait_event(0, "the board to be ready", |e| e["event"] == "ready")
            .await;
        board
    }

    /// Waits for the first event from the `from`th on that matches `want`, failing with the
    /// board's output if it does not come or the board exits.
    async fn wait_event(&self, from: usize, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(found) = self
                .events
                .lock()
                .unwrap()
                .iter()
                .skip(from)
                .find(|e| want(e))
            {
                return found.clone();
            }
            let exited = self.child.lock().unwrap().0.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() >= deadline {
                // Give the output threads a moment to collect the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                panic!(
                    "waiting for {what}: board {}; it printed {:?}; stderr: {}",
                    exited.map_or("still running".into(), |s| format!("exited ({s})")),
                    self.events.lock().unwrap(),
                    self.stderr.lock().unwrap()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn coil_writes(&self) -> Vec<CoilWrite> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "coil")
            .map(|e| CoilWrite {
                unit: e["unit"].as_u64().expect("unit") as u8,
                fc: e["fc"].as_u64().expect("fc") as u8,
                address: e["address"].as_u64().expect("address") as u16,
                value: e["value"].as_bool().expect("value"),
                t: e["t"].as_f64().expect("t"),
            })
            .collect()
    }

    /// Waits until the board has seen `count` coil writes after the first `from`; returns those.
    async fn wait_for_coil_writes(&self, from: usize, count: usize, what: &str) -> Vec<CoilWrite> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let writes = self.coil_writes();
            if writes.len() >= from + count {
                // Let anything that follows at once (a stray extra write) arrive and be seen.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return self.coil_writes()[from..].to_vec();
            }
            assert!(
                Instant::now() < deadline,
                "{what}: the board saw only {:?} after write {from}; stderr: {}",
                &writes[from.min(writes.len())..],
                self.stderr.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Closes the door on input `input` and waits for the board to say it did.
    async fn close_door(&self, input: u16) {
        let seen = self.events.lock().unwrap().len();
        {
            let mut stdin = self.stdin.lock().unwrap();
            writeln!(stdin, "close {input}").expect("board control");
            stdin.flush().expect("board control");
        }
        self.wait_event(seen, &format!("door {input} to close"), |e| {
            e["event"] == "door"
                && e["input"] == input
                && e["open"] == false
                && e["cause"] == "command"
        })
        .await;
    }
}

/// Four compartments on unit 1 of one Modbus bus (`bus` gives its driver keys); a door input
/// reads true while the door is open.
fn config_text(state_dir: &Path, bus: &str) -> String {
    let mut text = format!(
        r#"
[locker]
name = "interop-locker"
state_dir = "{}"

[api]
listen = "127.0.0.1:0"

[policy]
code_length = 6

[latch]
pulse = "{}ms"
max_pulse = "{}ms"
cooldown = "100ms"
open_timeout = "2s"
retries = 1
door_left_open = "60s"

[[bus]]
name = "net"
{bus}
"#,
        state_dir.display(),
        PULSE.as_millis(),
        MAX_PULSE.as_millis(),
    );
    for (id, size, channel) in COMPARTMENTS {
        text.push_str(&format!(
            "\n[[compartment]]\nid = \"{id}\"\nsize = \"{size}\"\n\
             latch = {{ bus = \"net\", unit = 1, coil = {channel} }}\n\
             door = {{ bus = \"net\", unit = 1, input = {channel}, open_when = true }}\n"
        ));
    }
    text
}
