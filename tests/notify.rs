//! The real binary under a fake systemd: a unix datagram socket as NOTIFY_SOCKET, and
//! WATCHDOG_USEC as `WatchdogSec=` would set it. READY=1 comes only once the API accepts, the
//! watchdog is fed while the controller loop turns and not once it is wedged (a test hook of
//! debug builds), and SIGTERM announces STOPPING=1.
//!
//! Each daemon is a child process, so the environment it is given never leaks into other tests.
//! Deadlines are generous (a loaded two-core machine); nothing asserts how fast anything is.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(60);

/// A daemon started on the test config, with the fake systemd's socket; killed if still running
/// when dropped. Its log goes to a file, shown when a test fails.
struct Daemon {
    child: Child,
    socket: UnixDatagram,
    log: PathBuf,
    state: PathBuf,
    _dir: tempfile::TempDir,
}

impl Daemon {
    fn start(watchdog: Duration, env: &[(&str, &str)]) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let config = dir.path().join("lockerd.toml");
        std::fs::write(&config, common::config_text(&state, "")).unwrap();
        let socket_path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&socket_path).unwrap();
        let log = dir.path().join("lockerd.log");
        let child = Command::new(env!("CARGO_BIN_EXE_lockerd"))
            .args(["run", "--config"])
            .arg(&config)
            .env("NOTIFY_SOCKET", &socket_path)
            .env("WATCHDOG_USEC", watchdog.as_micros().to_string())
            // sd-notify honours WATCHDOG_USEC only for the pid in WATCHDOG_PID, if set.
            .env_remove("WATCHDOG_PID")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon {
            child,
            socket,
            log,
            state,
            _dir: dir,
        }
    }

    /// The next notification (its lines), or None if none came before `until`.
    fn next(&self, until: Instant) -> Option<Vec<String>> {
        let left = until.checked_duration_since(Instant::now())?;
        self.socket
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        let mut buf = [0u8; 4096];
        match self.socket.recv(&mut buf) {
            Ok(n) => Some(
                String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .map(str::to_owned)
                    .collect(),
            ),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(e) => panic!("fake notify socket: {e}"),
        }
    }

    /// Reads notifications until one has `line`; returns it, and how many WATCHDOG=1 came first.
    fn wait_for(&mut self, line: &str) -> (Vec<String>, usize) {
        let until = Instant::now() + DEADLINE;
        let mut pings = 0;
        loop {
            let Some(message) = self.next(until) else {
                self.fail(&format!("no {line} within {DEADLINE:?}"));
            };
            if message.iter().any(|l| l == line) {
                return (message, pings);
            }
            pings += message.iter().filter(|l| *l == "WATCHDOG=1").count();
        }
    }

    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        panic!("{why}\n--- daemon log ---\n{log}");
    }

    fn terminate(&mut self) {
        let kill = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
    }

    fn exit_status(&mut self) -> ExitStatus {
        let until = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > until {
                self.fail("the daemon did not exit");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in `STATUS=serving N compartments on ADDR; buses: ...`.
fn status_addr(message: &[String]) -> String {
    let status = message
        .iter()
        .find_map(|l| l.strip_prefix("STATUS="))
        .unwrap_or_else(|| panic!("READY=1 comes with a status line: {message:?}"));
    let addr = status
        .split(" on ")
        .nth(1)
        .and_then(|r| r.split(';').next());
    addr.unwrap_or_else(|| panic!("no address in the status line: {status}"))
        .to_owned()
}

/// GET /healthz over a plain socket: the status line of the answer.
fn healthz(addr: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(DEADLINE))?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: lockerd\r\nConnection: close\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer.lines().next().unwrap_or_default().to_owned())
}

fn database_exists(state: &Path) -> bool {
    state.join("lockerd.db").exists()
}

#[test]
fn ready_once_the_api_accepts_watchdog_while_healthy_stopping_on_sigterm() {
    let mut daemon = Daemon::start(Duration::from_secs(2), &[]);
    let (ready, _) = daemon.wait_for("READY=1");
    let addr = status_addr(&ready);
    // At the moment READY=1 is read, the listener is bound and the database open.
    let answer = healthz(&addr);
    assert!(
        matches!(&answer, Ok(line) if line.contains(" 200 ")),
        "/healthz right after READY=1: {answer:?}"
    );
    assert!(database_exists(&daemon.state));
    let status = ready.iter().find(|l| l.starts_with("STATUS=")).unwrap();
    assert_eq!(
        status,
        &format!("STATUS=serving 12 compartments on {addr}; buses: sim ok")
    );

    // Fed while the controller loop turns: three pings in a row.
    let until = Instant::now() + DEADLINE;
    let mut pings = 0;
    while pings < 3 {
        let Some(message) = daemon.next(until) else {
            daemon.fail(&format!(
                "only {pings} WATCHDOG=1 after READY=1 in {DEADLINE:?}"
            ));
        };
        assert!(
            !message.iter().any(|l| l == "STOPPING=1"),
            "stopping unasked"
        );
        pings += message.iter().filter(|l| *l == "WATCHDOG=1").count();
    }

    daemon.terminate();
    daemon.wait_for("STOPPING=1");
    let status = daemon.exit_status();
    assert_eq!(status.code(), Some(0), "a graceful stop exits 0");
}

/// systemd may stop the daemon the moment it reports READY=1 (`systemctl start` then `stop`).
/// The signal must already be caught then: a default SIGTERM would kill it mid-way, skipping the
/// graceful stop (no STOPPING=1, killed by the signal rather than exiting 0).
#[test]
fn sigterm_as_soon_as_ready_is_a_graceful_stop() {
    for _ in 0..5 {
        let mut daemon = Daemon::start(Duration::from_secs(30), &[]);
        daemon.wait_for("READY=1");
        // kill(2) at once: spawning kill(1) would give the daemon a few milliseconds.
        let pid = libc::pid_t::try_from(daemon.child.id()).unwrap();
        // SAFETY: kill(2) on our own child, not yet reaped.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let status = daemon.exit_status();
        assert_eq!(status.code(), Some(0), "a graceful stop exits 0: {status}");
        daemon.wait_for("STOPPING=1");
    }
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "the wedge hook exists only in builds with debug assertions"
)]
fn a_wedged_controller_loop_stops_feeding_the_watchdog() {
    let watchdog = Duration::from_secs(2);
    let mut daemon = Daemon::start(watchdog, &[("LOCKERD_TEST_WEDGE_CONTROLLER_AFTER", "1s")]);
    let (ready, mut pings) = daemon.wait_for("READY=1");
    let addr = status_addr(&ready);

    // Silence for three watchdog timeouts: far past the point where systemd would restart it.
    let silence = 3 * watchdog;
    let until = Instant::now() + DEADLINE;
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < silence {
        if Instant::now() > until {
            daemon.fail(&format!(
                "WATCHDOG=1 still coming {DEADLINE:?} after READY=1, with the loop wedged"
            ));
        }
        if let Some(message) = daemon.next(quiet_since + silence) {
            let n = message.iter().filter(|l| *l == "WATCHDOG=1").count();
            if n > 0 {
                pings += n;
                quiet_since = Instant::now();
            }
        }
    }
    // The watchdog was on in this run (the first ping goes out as it starts, before the wedge),
    // and the silence is the wedge's, not a crash's: the process lives and the API answers.
    assert!(pings > 0, "the watchdog was never fed: was it enabled?");
    assert!(daemon.child.try_wait().unwrap().is_none(), "still running");
    let answer = healthz(&addr);
    assert!(
        matches!(&answer, Ok(line) if line.contains(" 200 ")),
        "/healthz with the controller loop wedged: {answer:?}"
    );
}
