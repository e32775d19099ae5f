//! The real `lockerd` binary as a child process: started over one state directory again and
//! again, found ready the way systemd finds it (`READY=1` on `NOTIFY_SOCKET`, whose `STATUS=`
//! line names the address of a listener on port 0), then `/healthz`; killed with SIGKILL.
//!
//! Port 0 and the notify socket rather than a fixed port: a port freed by a killed daemon could
//! be taken by anyone before the restart, and each start then gets a fresh address, so no
//! pooled connection to a dead daemon is ever reused.

use super::api::Api;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::net::UnixDatagram;
use tokio::process::{Child, Command};
use tokio::time::{Instant, timeout};

/// How long a start may take on a loaded two-core machine before the test gives up.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// The test config: the twelve simulated compartments of `common::config_text`, courier
/// sessions that outlive any run, and a keypad that never locks: a pickup retried after a
/// kill may legitimately meet a dead code, and a lockout would only stall the load.
pub fn config_text(state_dir: &Path) -> String {
    // Deliveries without an account (open drop) share the load; their ceiling per kiosk is
    // raised so the load never meets it (a courier's own, courier_opens, too: the MQTT fleet
    // bench runs the load for minutes), and their grace is short so a delivery whose answer
    // (and so its session) a kill took is stored by the locker.
    let policy = "courier_session = \"12h\"\nopens_per_credential = 100000\n\
                  opens_locker_wide = 100000\ncourier_opens = 100000\n\
                  deposit_grace = \"2s\"\n\n\
                  [delivery]\nopen_drop = true";
    let text = crate::common::config_text(state_dir, policy);
    let text = text.replace("keypad_max_failures = 3", "keypad_max_failures = 1000000");
    assert!(text.contains("keypad_max_failures = 1000000"), "{text}");
    text
}

pub struct Daemon {
    config: PathBuf,
    state: PathBuf,
    log: PathBuf,
    notify_path: PathBuf,
    notify: UnixDatagram,
    child: Option<Child>,
}

impl Daemon {
    /// A daemon (not started) whose config, log and state directory (`dir/state`) are in `dir`.
    pub fn new(dir: &Path) -> Daemon {
        let state = dir.join("state");
        let config = dir.join("lockerd.toml");
        std::fs::write(&config, config_text(&state)).expect("write config");
        let notify_path = dir.join("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).expect("bind the notify socket");
        Daemon {
            config,
            state,
            log: dir.join("lockerd.log"),
            notify_path,
            notify,
            child: None,
        }
    }

    /// Adds `extra` (tables such as `[mqtt]`) to the end of the config file.
    pub fn append_config(&self, extra: &str) {
        let text = std::fs::read_to_string(&self.config).expect("read config");
        std::fs::write(&self.config, format!("{text}\n{extra}\n")).expect("write config");
    }

    /// The running daemon's process id (the MQTT fleet bench reads its RSS).
    #[allow(dead_code)]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    pub fn state_dir(&self) -> &Path {
        &self.state
    }

    pub fn db_path(&self) -> PathBuf {
        self.state.join("lockerd.db")
    }

    /// Starts `lockerd run`; its log is appended to `lockerd.log` across starts.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "a daemon is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open the daemon log");
        let child = Command::new(env!("CARGO_BIN_EXE_lockerd"))
            .args(["run", "--config"])
            .arg(&self.config)
            .env("NOTIFY_SOCKET", &self.notify_path)
            .env_remove("WATCHDOG_USEC")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn lockerd");
        self.child = Some(child);
    }

    /// Waits for `READY=1`, then for `/healthz` to answer 200; returns the API.
    pub async fn ready(&mut self) -> Api {
        let deadline = Instant::now() + START_DEADLINE;
        let addr = loop {
            let mut buf = [0u8; 4096];
            match timeout(Duration::from_millis(200), self.notify.recv(&mut buf)).await {
                Ok(Ok(n)) => {
                    if let Some(addr) = ready_addr(&String::from_utf8_lossy(&buf[..n])) {
                        break addr;
                    }
                }
                Ok(Err(e)) => panic!("notify socket: {e}"),
                Err(_) => self.fail_if_exited(deadline).await,
            }
        };
        let api = Api::new(addr);
        loop {
            if let Ok((200, _)) = api.get("/healthz", None).await {
                return api;
            }
            self.fail_if_exited(deadline).await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn fail_if_exited(&mut self, deadline: Instant) {
        let child = self.child.as_mut().expect("started");
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!(
                "lockerd exited during start-up: {status}\n{}",
                self.log_tail()
            );
        }
        if Instant::now() > deadline {
            panic!(
                "lockerd not ready within {START_DEADLINE:?}\n{}",
                self.log_tail()
            );
        }
    }

    /// SIGKILL, as a power cut would: no draining, no all-off, no checkpoint. Whatever the dead
    /// daemon still had queued on the notify socket is discarded, so the next `ready` hears the
    /// next daemon.
    pub async fn kill(&mut self) {
        let mut child = self.child.take().expect("started");
        child.start_kill().expect("SIGKILL");
        child.wait().await.expect("reap");
        let mut buf = [0u8; 4096];
        while self.notify.try_recv(&mut buf).is_ok() {}
    }

    /// SIGTERM and the exit status of the graceful stop.
    pub async fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("started");
        let pid = child.id().expect("running") as libc::pid_t;
        // SAFETY: kill(2) on the pid of a child not yet reaped: it cannot have been reused.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM");
        timeout(START_DEADLINE, child.wait())
            .await
            .expect("a graceful stop in time")
            .expect("reap")
    }

    /// `lockerd ARGS --config CONFIG`, run to completion.
    pub async fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_lockerd"))
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env_remove("LOCKERD_TOKEN")
            .output()
            .await
            .expect("run lockerd")
    }

    /// The end of the daemon's log, for a failure message.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("--- end of {} ---\n{tail}", self.log.display())
    }
}

/// The address in a `READY=1` datagram's `STATUS=serving N compartments on ADDR; buses: ...`.
fn ready_addr(message: &str) -> Option<SocketAddr> {
    if !message.lines().any(|l| l == "READY=1") {
        return None;
    }
    let status = message.lines().find_map(|l| l.strip_prefix("STATUS="))?;
    let addr = status.split(" on ").nth(1)?.split(';').next()?;
    Some(
        addr.parse()
            .unwrap_or_else(|_| panic!("status line: {status}")),
    )
}
