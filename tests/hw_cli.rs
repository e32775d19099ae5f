//! `lockerd hw` as an installer runs it at the locker: the real binary on a config in a fresh
//! directory, judged by its exit status, what it prints and what it leaves in the database.
//!
//! Every config names a free port as `api.listen`, so a daemon elsewhere on this machine
//! cannot make a command refuse; the refusal test binds that port itself.

use lockerd_hal::modbus::emulator::{Board, Request, TcpServer};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "hw_cli/boards.rs"]
mod boards;
#[path = "hw_cli/pulse.rs"]
mod pulse;

/// A locker directory: its config file and state directory.
struct Locker {
    dir: tempfile::TempDir,
}

impl Locker {
    /// A config of `buses_and_compartments`, listening on `port`, with short latch timings.
    fn new(port: u16, buses_and_compartments: &str) -> Locker {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!(
            r#"
[locker]
state_dir = "{}"

[api]
listen = "127.0.0.1:{port}"

[latch]
pulse = "50ms"
max_pulse = "100ms"
open_timeout = "1s"

{buses_and_compartments}
"#,
            dir.path().join("state").display()
        );
        std::fs::write(dir.path().join("lockerd.toml"), text).expect("write config");
        Locker { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("lockerd.toml")
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn hw(&self, args: &[&str]) -> Output {
        hw(&self.config(), args)
    }

    /// [`Locker::hw`] off the async runtime, which keeps serving the emulated boards meanwhile.
    async fn hw_async(&self, args: &[&str]) -> Output {
        let config = self.config();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            hw(
                &config,
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
            )
        })
        .await
        .expect("run lockerd")
    }

    /// The `(type, data)` of every event in the database.
    fn events(&self) -> Vec<(String, serde_json::Value)> {
        let db = rusqlite::Connection::open(self.state_dir().join("lockerd.db")).expect("open db");
        let mut query = db
            .prepare("SELECT type, data FROM events ORDER BY seq")
            .expect("query events");
        query
            .query_map([], |row| {
                let data: String = row.get(1)?;
                Ok((row.get(0)?, serde_json::from_str(&data).expect("json data")))
            })
            .expect("events")
            .collect::<Result<_, _>>()
            .expect("events")
    }
}

/// `lockerd hw ARGS[0] --config CONFIG ARGS[1..]`.
fn hw(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .arg("hw")
        .arg(args[0])
        .arg("--config")
        .arg(config)
        .args(&args[1..])
        .output()
        .expect("run lockerd")
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local addr").port()
}

fn sim_compartments(ids: &[&str]) -> String {
    let mut text = "[[bus]]\nname = \"sim\"\ndriver = \"sim\"\n".to_owned();
    for id in ids {
        text += &format!(
            "[[compartment]]\nid = \"{id}\"\nsize = \"S\"\nlatch = {{ bus = \"sim\" }}\n\
             door = {{ bus = \"sim\" }}\n"
        );
    }
    text
}

/// A Modbus TCP bus `net` at `port` with compartment `B1` on unit 1: latch on coil 0, door on
/// input 0 (on = open).
fn modbus_tcp(port: u16) -> String {
    format!(
        r#"
[[bus]]
name = "net"
driver = "modbus-tcp"
address = "127.0.0.1:{port}"
timeout = "150ms"

[[compartment]]
id = "B1"
size = "M"
latch = {{ bus = "net", unit = 1, coil = 0 }}
door = {{ bus = "net", unit = 1, input = 0, open_when = true }}
"#
    )
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts a plain failure: exit 1, one `error: ...` message containing `words`, no panic.
#[track_caller]
fn assert_fails(output: &Output, words: &[&str]) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "stderr:\n{err}");
    assert!(
        err.starts_with("error: ") || err.contains("\nerror: "),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    for word in words {
        assert!(err.contains(word), "expected {word:?} in stderr:\n{err}");
    }
}

/// The line of `text` listing compartment `id`.
fn line_of<'a>(text: &'a str, id: &str) -> &'a str {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(id))
        .unwrap_or_else(|| panic!("no line for {id} in:\n{text}"))
}

#[test]
fn status_on_a_sim_locker_shows_every_door_closed() {
    let ids = ["A1", "A2", "B1", "C1"];
    let locker = Locker::new(free_port(), &sim_compartments(&ids));
    let output = locker.hw(&["status"]);
    let out = stdout(&output);
    assert!(output.status.success(), "stderr:\n{}", stderr(&output));
    assert!(out.contains("bus sim (sim): ok"), "{out}");
    for id in ids {
        assert_eq!(
            line_of(&out, id).split_whitespace().collect::<Vec<_>>(),
            [id, "closed"]
        );
    }
}

#[test]
fn status_names_a_modbus_bus_that_does_not_answer_and_still_checks_the_others() {
    let text = sim_compartments(&["A1"]) + &modbus_tcp(free_port());
    let locker = Locker::new(free_port(), &text);
    let output = locker.hw(&["status"]);
    let out = stdout(&output);
    assert_fails(&output, &["1 of 2 buses did not answer: net"]);
    assert!(out.contains("bus sim (sim): ok"), "{out}");
    assert!(out.contains("bus net (modbus-tcp 127.0.0.1:"), "{out}");
    assert!(out.contains("not answering"), "{out}");
    assert!(line_of(&out, "A1").ends_with("closed"), "{out}");
    assert!(line_of(&out, "B1").ends_with("unknown"), "{out}");
}

#[test]
fn scan_of_a_sim_bus_is_a_plain_error() {
    let locker = Locker::new(free_port(), &sim_compartments(&["A1"]));
    let output = locker.hw(&["scan", "--bus", "sim"]);
    assert_fails(&output, &["bus sim uses the sim driver", "modbus"]);
}

#[test]
fn scan_of_an_unknown_bus_names_it() {
    let locker = Locker::new(free_port(), &sim_compartments(&["A1"]));
    let output = locker.hw(&["scan", "--bus", "rs485"]);
    assert_fails(&output, &["no bus \"rs485\""]);
}

#[test]
fn scan_of_a_modbus_bus_that_cannot_be_reached_says_so() {
    let locker = Locker::new(free_port(), &modbus_tcp(free_port()));
    let output = locker.hw(&["scan", "--bus", "net", "--units", "1-3"]);
    assert_fails(&output, &["bus net: cannot reach it"]);
}

#[test]
fn a_bad_units_range_is_bad_usage() {
    let locker = Locker::new(free_port(), &modbus_tcp(free_port()));
    let output = locker.hw(&["scan", "--bus", "net", "--units", "0-300"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--units"), "{}", stderr(&output));
}

#[test]
fn a_bad_config_exits_2_before_touching_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("lockerd.toml");
    std::fs::write(&file, "[api]\nlisen = \"127.0.0.1:8080\"\n").expect("write");
    for command in ["status", "pulse A1", "scan --bus net"] {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.insert(1, "--config");
        args.insert(2, file.to_str().expect("utf-8 path"));
        let output = Command::new(env!("CARGO_BIN_EXE_lockerd"))
            .arg("hw")
            .args(&args)
            .output()
            .expect("run lockerd");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{command}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains("api.lisen"), "{}", stderr(&output));
    }
}

#[test]
fn every_command_has_help() {
    for command in ["status", "pulse", "scan"] {
        let output = Command::new(env!("CARGO_BIN_EXE_lockerd"))
            .args(["hw", command, "--help"])
            .output()
            .expect("run lockerd");
        assert!(output.status.success(), "{command}: {}", stderr(&output));
        assert!(
            stdout(&output).contains(&format!("Usage: lockerd hw {command}")),
            "{}",
            stdout(&output)
        );
    }
}

/// Emulated relay boards answering as `units` on a loopback port.
async fn boards(units: &[u8]) -> (Board, TcpServer) {
    let board = Board::new(units);
    let server = TcpServer::start(board.clone()).await.expect("start boards");
    (board, server)
}

/// Where in the boards' log the first request matching `wanted` is.
fn position(board: &Board, wanted: impl Fn(&Request<'_>) -> bool) -> usize {
    let requests = board.requests();
    requests
        .iter()
        .position(|(_, r)| wanted(r))
        .unwrap_or_else(|| panic!("not sent: {requests:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn status_on_modbus_boards_switches_the_latches_off_before_reading_the_doors() {
    let (board, server) = boards(&[1]).await;
    board.set_input(1, 0, true);
    let locker = Locker::new(free_port(), &modbus_tcp(server.addr().port()));
    let output = locker.hw_async(&["status"]).await;
    let out = stdout(&output);
    assert!(output.status.success(), "stderr:\n{}", stderr(&output));
    assert!(out.contains("bus net (modbus-tcp 127.0.0.1:"), "{out}");
    assert!(line_of(&out, "B1").ends_with("open"), "{out}");
    let off = position(&board, |r| *r == Request::WriteSingleCoil(0, false));
    let read = position(&board, |r| matches!(r, Request::ReadDiscreteInputs(..)));
    assert!(off < read, "{:?}", board.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_lists_the_units_that_answer() {
    let (board, server) = boards(&[1, 3]).await;
    let locker = Locker::new(free_port(), &modbus_tcp(server.addr().port()));
    let output = locker
        .hw_async(&["scan", "--bus", "net", "--units", "1-4"])
        .await;
    let out = stdout(&output);
    assert!(output.status.success(), "stderr:\n{}", stderr(&output));
    assert!(out.contains("unit 1 answers\nunit 3 answers\n"), "{out}");
    assert!(out.contains("2 unit(s) answer: 1, 3"), "{out}");
    // The configured latch was driven off before the first probe.
    let off = position(&board, |r| *r == Request::WriteSingleCoil(0, false));
    let probe = position(&board, |r| matches!(r, Request::ReadCoils(..)));
    assert!(off < probe, "{:?}", board.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_where_no_unit_answers_fails() {
    let (_board, server) = boards(&[5]).await;
    let locker = Locker::new(free_port(), &modbus_tcp(server.addr().port()));
    let output = locker
        .hw_async(&["scan", "--bus", "net", "--units", "1-2"])
        .await;
    assert_fails(&output, &["bus net: no unit in 1-2 answers"]);
}
