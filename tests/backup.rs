//! `lockerd backup` under write load: the copy is consistent, restores, and its audit chain
//! verifies.

mod common;

use common::{Harness, config_text};
use serde_json::json;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn lockerd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .args(args)
        .output()
        .expect("lockerd runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_restores_and_its_audit_log_verifies() {
    let h = Harness::start().await;
    let dir = h.dir.clone(); // outlives the daemon: the backup and the key are copied later
    let state = dir.path().join("state");
    let config = h.dir.path().join("lockerd.toml");
    std::fs::write(&config, config_text(&state, "")).unwrap();
    let courier = h.courier_session("alice").await;
    h.deposit_stored(&courier, "B-1", "S").await;

    // Writes keep coming while the backup runs: compartments disabled and enabled.
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (api, token, writing) = (h.api.clone(), h.operator.clone(), writing.clone());
        tokio::spawn(async move {
            let mut writes = 0;
            while writing.load(Ordering::SeqCst) {
                for action in ["disable", "enable"] {
                    let path = format!("/api/v1/compartments/B3/{action}");
                    let (status, _) = api.post(&path, &token, json!({"reason": "load"})).await;
                    assert_eq!(status, 200);
                    writes += 1;
                }
            }
            writes
        })
    };
    let out = dir.path().join("backup.db");
    let (config_arg, out_arg) = (config.display().to_string(), out.display().to_string());
    let backed_up = tokio::task::spawn_blocking(move || {
        lockerd(&["backup", "--config", &config_arg, &out_arg])
    })
    .await
    .unwrap();
    writing.store(false, Ordering::SeqCst);
    let writes = writer.await.unwrap();
    let stdout = String::from_utf8_lossy(&backed_up.stdout);
    let stderr = String::from_utf8_lossy(&backed_up.stderr);
    assert!(backed_up.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("schema version"), "{stdout}");
    assert!(
        stderr.contains("install.key"),
        "the key is needed too: {stderr}"
    );
    assert!(writes > 0);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the backup holds secrets");
    // A second backup to the same name is refused, the first left alone.
    let again = lockerd(&[
        "backup",
        "--config",
        &config.display().to_string(),
        &out.display().to_string(),
    ]);
    assert!(!again.status.success());
    h.stop().await;

    // Restore: the copy and the install key into a fresh state directory.
    let restored = tempfile::tempdir().unwrap();
    let restored_state = restored.path().join("state");
    std::fs::create_dir(&restored_state).unwrap();
    std::fs::copy(&out, restored_state.join("lockerd.db")).unwrap();
    std::fs::copy(
        state.join("install.key"),
        restored_state.join("install.key"),
    )
    .unwrap();
    let restored_config = restored.path().join("lockerd.toml");
    std::fs::write(&restored_config, config_text(&restored_state, "")).unwrap();
    let verified = lockerd(&[
        "audit",
        "verify",
        "--config",
        &restored_config.display().to_string(),
    ]);
    assert!(
        verified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
    let db = rusqlite::Connection::open(restored_state.join("lockerd.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let (events, stored): (i64, i64) = db
        .query_row(
            "SELECT (SELECT max(seq) FROM events), (SELECT count(*) FROM parcels WHERE state = 'stored')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(stored, 1, "the parcel is in the backup");
    // What the command reported is what the copy holds: one snapshot, whenever it was taken
    // among the concurrent writes.
    assert!(
        stdout.contains(&format!("events up to seq {events}")),
        "{stdout}"
    );
    drop(db);
    // The daemon starts on it and the parcel is there.
    let clock = lockerd::locker::ManualClock::new();
    let text = config_text(&restored_state, "");
    let running = common::launch(&text, restored.path(), &clock).await;
    let stats = running.locker.state_counts().await.unwrap();
    assert!(
        stats.parcels.contains(&("stored", 1)),
        "{:?}",
        stats.parcels
    );
    running.stop().await.unwrap();
}
