//! The real binary: it starts on a config, serves, and on SIGTERM stops cleanly with status 0.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_daemon_with_status_zero() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lockerd.toml");
    std::fs::write(&config, common::config_text(&dir.path().join("state"), "")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // The daemon logs its address once it is ready (the config asks for port 0).
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "daemon exited before it was ready"
        );
        assert!(
            !line.contains('\u{1b}'),
            "no colour codes when stderr is not a terminal: {line}"
        );
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let health: serde_json::Value = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "daemon did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    assert!(
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .is_err(),
        "no longer listening"
    );
}

#[test]
fn a_bad_config_exits_before_creating_any_state() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lockerd.toml");
    let text = common::config_text(&dir.path().join("state"), "")
        .replace("[api]", "[api]\nlisten_typo = 1");
    std::fs::write(&config, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("api.listen_typo"), "{stderr}");
    assert!(
        !dir.path().join("state").exists(),
        "nothing created for a bad config"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_cannot_keep_the_daemon_from_stopping() {
    use tokio::io::AsyncWriteExt;
    let h = common::Harness::start().await;
    let mut stalled = tokio::net::TcpStream::connect(h.running().addr)
        .await
        .unwrap();
    let head = format!(
        "POST /api/v1/pickup HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{",
        h.kiosk
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    let sim = h.sim();
    let stop = tokio::time::timeout(Duration::from_secs(10), h.running.unwrap().stop()).await;
    assert!(
        stop.expect("stop finished despite the stalled request")
            .is_ok()
    );
    assert_eq!(
        sim.all_off_count(),
        2,
        "outputs switched off at start and at stop"
    );
}
