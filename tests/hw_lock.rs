//! One master per bus: while a daemon owns the hardware of a state directory, the `lockerd hw`
//! tools keep off it, even when they cannot find the daemon's listener.

mod common;

use common::Harness;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hw_tools_refuse_while_a_daemon_holds_the_hardware() {
    let h = Harness::start().await;
    // The same state directory, but a listen address nothing answers on (port 0): only the
    // hardware lock can tell that the daemon runs.
    let config = h.dir.path().join("hw.toml");
    std::fs::write(
        &config,
        common::config_text(&h.dir.path().join("state"), ""),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .args(["hw", "status", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "hw status ran beside the daemon: {stderr}"
    );
    assert!(stderr.contains("another lockerd"), "{stderr}");

    // Once the daemon has stopped, the tool runs.
    let dir = h.dir.clone();
    h.stop().await;
    let out = Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .args(["hw", "status", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(dir);
}
