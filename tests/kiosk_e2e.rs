//! The kiosk page in a real browser: the real `lockerd` binary on a simulated locker, and the
//! Node tests in `tests/e2e/` driving headless Chromium through playwright-core against it
//! (courier, delivery and recipient flows through the page only, pairing, a cross-site POST,
//! layouts).
//!
//! This test starts the daemon, creates the operator token with `lockerd token create`, and
//! runs `node --test` with the daemon's address and the token in the environment; it fails
//! with node's output when node fails. The tests of open drop (`OPEN_DROP_TESTS`) run in a
//! second `node --test` against a second daemon with `[delivery] open_drop = true`, which
//! would admit every delivery the others expect refused. Screenshots of every step land in
//! `<target dir>/kiosk-e2e/`.
//!
//! `E2E_ONLY=console` runs only the test files whose names contain `console` (while working on
//! one page); unset, every file runs.
//!
//! Needs node (20 or newer), Debian's chromium and `npm ci` in tests/e2e; `.ci/run` installs
//! them. Without them the test is skipped with a message, except under CI (`CI` set), where it
//! fails.

mod common;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const E2E_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e");
const LOCKERD: &str = env!("CARGO_BIN_EXE_lockerd");
/// tests/common's config locks the keypad after this many wrong codes.
const KEYPAD_MAX_FAILURES: u32 = 3;
/// Start-up of the daemon, generous for a loaded two-core machine.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// The whole browser suite; each Node test waits for its own states with shorter deadlines.
const RUN_DEADLINE: Duration = Duration::from_secs(15 * 60);
/// The test files that need open drop on, run against a daemon of their own.
const OPEN_DROP_TESTS: &[&str] = &["open-drop.test.js"];
/// What that daemon's config adds.
const OPEN_DROP_CONFIG: &str = "\n[delivery]\nopen_drop = true\n";

#[test]
fn kiosk_page_end_to_end_in_headless_chromium() {
    let Some(chromium) = prerequisites() else {
        return;
    };
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target dir")
        .join("kiosk-e2e");
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");

    let only = std::env::var("E2E_ONLY").ok();
    let (open_drop, others): (Vec<String>, Vec<String>) = test_files()
        .into_iter()
        .filter(|f| only.as_deref().is_none_or(|o| f.contains(o)))
        .partition(|f| OPEN_DROP_TESTS.contains(&f.as_str()));
    if only.is_none() {
        assert_eq!(
            open_drop.len(),
            OPEN_DROP_TESTS.len(),
            "every open drop test file exists"
        );
    }
    for (config, files) in [("", &others), (OPEN_DROP_CONFIG, &open_drop)] {
        if !files.is_empty() {
            run_suite(&Daemon::start(config), files, &chromium, &artifacts);
        }
    }
    println!("screenshots: {}", artifacts.display());
}

/// The `*.test.js` files in tests/e2e, sorted (the order `node --test` would take them in).
fn test_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(E2E_DIR)
        .expect("tests/e2e")
        .map(|entry| entry.expect("a directory entry").file_name())
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.ends_with(".test.js"))
        .collect();
    files.sort();
    files
}

/// `node --test` on `files` against `daemon`; fails with node's output and the daemon's log.
fn run_suite(daemon: &Daemon, files: &[String], chromium: &Path, artifacts: &Path) {
    let token = daemon.operator_token();
    let node = Command::new("node")
        .args(["--test", "--test-concurrency=1"])
        .args(files)
        .current_dir(E2E_DIR)
        .env("KIOSK_BASE_URL", format!("http://{}", daemon.addr))
        .env("KIOSK_OPERATOR_TOKEN", token.trim())
        .env("KIOSK_KEYPAD_MAX_FAILURES", KEYPAD_MAX_FAILURES.to_string())
        .env("KIOSK_E2E_ARTIFACTS", artifacts)
        .env("KIOSK_CHROMIUM", chromium)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let (status, output) = wait_with_deadline(node, RUN_DEADLINE);
    println!("{output}");
    match status {
        Some(s) if s.success() => {}
        Some(s) => daemon.fail(&format!("the browser tests failed ({s}); output above")),
        None => daemon.fail(&format!(
            "the browser tests did not finish within {RUN_DEADLINE:?}; output above"
        )),
    }
}

/// The browser, when node, the browser and tests/e2e's packages are all here. Under CI they
/// must be: `.ci/run` installs them.
fn prerequisites() -> Option<PathBuf> {
    let mut missing = vec![];
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout);
            let major: u32 = version
                .trim()
                .trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            if major < 20 {
                missing.push(format!("node 20 or newer (found {})", version.trim()));
            }
        }
        _ => missing.push("node (apt-get install nodejs npm)".into()),
    }
    let chromium = std::env::var_os("KIOSK_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.exists() {
        missing.push(format!("{} (apt-get install chromium)", chromium.display()));
    }
    let package = Path::new(E2E_DIR).join("node_modules/playwright-core/package.json");
    if !package.exists() {
        missing.push("tests/e2e/node_modules (npm ci in tests/e2e)".into());
    }
    if missing.is_empty() {
        return Some(chromium);
    }
    let why = missing.join("; ");
    if std::env::var_os("CI").is_some() {
        panic!(
            "the kiosk browser test's tools are missing under CI, where .ci/run installs them: {why}"
        );
    }
    eprintln!("SKIPPED: the kiosk browser test needs {why}");
    None
}

/// Waits for `child`, collecting its stdout and stderr; kills it after `deadline`. Returns the
/// exit status (None on the deadline) and everything it printed.
fn wait_with_deadline(
    mut child: Child,
    deadline: Duration,
) -> (Option<std::process::ExitStatus>, String) {
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut stream| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stream.read_to_string(&mut text);
            text
        })
    })
    .collect();
    let until = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = readers
        .into_iter()
        .map(|r| r.join().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    (status, output)
}

/// `lockerd run` on tests/common's simulated twelve-compartment locker (with `extra` appended to
/// its config), on a free loopback port; killed when dropped. Its log goes to a file, shown
/// when the test fails.
struct Daemon {
    child: Child,
    addr: String,
    config: PathBuf,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Daemon {
    fn start(extra: &str) -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        // A port that was free a moment ago; nothing else on this machine picks ports so.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let text = common::config_text(&dir.path().join("state"), "")
            .replace("listen = \"127.0.0.1:0\"", &format!("listen = \"{addr}\""))
            + extra;
        assert!(text.contains(&addr), "the config listens on {addr}");
        let config = dir.path().join("lockerd.toml");
        std::fs::write(&config, text).expect("write config");
        let log = dir.path().join("lockerd.log");
        let child = Command::new(LOCKERD)
            .args(["run", "--config"])
            .arg(&config)
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("lockerd starts");
        let mut daemon = Daemon {
            child,
            addr,
            config,
            log,
            _dir: dir,
        };
        daemon.wait_ready();
        daemon
    }

    /// Polls /healthz until it answers 200, or fails with the daemon's log.
    fn wait_ready(&mut self) {
        let until = Instant::now() + START_DEADLINE;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.fail(&format!("lockerd exited at start-up ({status})"));
            }
            if healthz(&self.addr).is_some_and(|line| line.contains(" 200 ")) {
                return;
            }
            if Instant::now() >= until {
                self.fail(&format!("lockerd did not answer on {} in time", self.addr));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `lockerd token create --role operator`: the token it prints.
    fn operator_token(&self) -> String {
        let out: Output = Command::new(LOCKERD)
            .args(["token", "create", "--config"])
            .arg(&self.config)
            .args(["--role", "operator", "--name", "e2e-operator"])
            .output()
            .expect("lockerd token create runs");
        if !out.status.success() {
            self.fail(&format!(
                "lockerd token create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let token = String::from_utf8(out.stdout).expect("utf-8 token");
        assert!(!token.trim().is_empty(), "a token was printed");
        token
    }

    fn fail(&self, why: &str) -> ! {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        panic!("{why}\n--- lockerd log ---\n{log}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status line of GET /healthz, if anything answered.
fn healthz(addr: &str) -> Option<String> {
    use std::io::Write;
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: lockerd\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.lines().next().map(str::to_owned)
}
