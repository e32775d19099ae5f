//! Courier TOTP secrets at rest: not in the database files nor in a backup; a clear row is
//! refused and sealed at the next start; a backup logs couriers in only beside its install key.

use crate::common::{Api, Harness, config_text, launch, totp_now};
use lockerd::config::Config;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// Every byte of `files` that exist.
fn bytes_of(files: &[&Path]) -> Vec<u8> {
    files
        .iter()
        .filter_map(|f| std::fs::read(f).ok())
        .flatten()
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The raw bytes of a base32 TOTP secret.
pub(super) fn decoded(secret: &str) -> Vec<u8> {
    totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap()
}

fn database_files(state: &Path) -> [std::path::PathBuf; 2] {
    [state.join("lockerd.db"), state.join("lockerd.db-wal")]
}

/// `POST /api/v1/courier/login` with the courier's current TOTP: status and error code.
async fn login(
    api: &Api,
    kiosk: &str,
    name: &str,
    secret: &str,
    clock: &lockerd::locker::ManualClock,
) -> (u16, Value) {
    let code = totp_now(secret, clock);
    let (status, body) = api
        .post(
            "/api/v1/courier/login",
            kiosk,
            json!({"courier": name, "code": code}),
        )
        .await;
    (status, body["error"]["code"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_the_database_does_not_hold_a_courier_secret_and_old_clear_ones_get_sealed() {
    let mut h = Harness::start().await;
    let state = h.dir.path().join("state");
    let [db, wal] = database_files(&state);
    let secret = h.new_courier("alice").await;
    let raw = decoded(&secret);
    h.restart().await;
    let on_disk = bytes_of(&[&db, &wal]);
    assert!(!contains(&on_disk, secret.as_bytes()) && !contains(&on_disk, &raw));
    assert_eq!(
        login(&h.api, &h.kiosk, "alice", &secret, &h.clock).await.0,
        200
    );

    // A database from before sealing, or one edited behind lockerd's back, holds it clear.
    let clear = rusqlite::Connection::open(&db).unwrap();
    clear
        .execute(
            "UPDATE couriers SET totp_secret = ?1, totp_sealed = 0 WHERE name = 'alice'",
            [&raw],
        )
        .unwrap();
    drop(clear);
    assert!(
        contains(&bytes_of(&[&db, &wal]), &raw),
        "the search finds a clear secret"
    );
    h.clock.advance(Duration::from_secs(30));
    let refused = login(&h.api, &h.kiosk, "alice", &secret, &h.clock).await;
    assert_eq!(
        refused,
        (401, json!("invalid_credentials")),
        "a clear row is never used"
    );

    // The next start seals it, and the clear bytes leave the files.
    h.restart().await;
    assert!(!contains(&bytes_of(&[&db, &wal]), &raw), "sealed at start");
    h.clock.advance(Duration::from_secs(30));
    assert_eq!(
        login(&h.api, &h.kiosk, "alice", &secret, &h.clock).await.0,
        200
    );
    h.stop().await;
    assert!(!contains(&bytes_of(&[&db, &wal]), &raw));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_logs_couriers_in_only_beside_its_install_key() {
    let h = Harness::start().await;
    let dir = h.dir.clone();
    let state = dir.path().join("state");
    let secret = h.new_courier("bob").await;
    let config = Config::parse(&config_text(&state, ""), &dir.path().join("lockerd.toml")).unwrap();
    let backup = dir.path().join("backup.db");
    let out = backup.clone();
    tokio::task::spawn_blocking(move || lockerd::cli::backup::backup(&config, &out))
        .await
        .unwrap()
        .unwrap();
    let (kiosk, clock) = (h.kiosk.clone(), h.clock.clone());
    h.stop().await;
    let copy = bytes_of(&[&backup]);
    assert!(!copy.is_empty());
    assert!(!contains(&copy, secret.as_bytes()) && !contains(&copy, &decoded(&secret)));

    for with_key in [true, false] {
        let restored = tempfile::tempdir().unwrap();
        let restored_state = restored.path().join("state");
        std::fs::create_dir(&restored_state).unwrap();
        std::fs::copy(&backup, restored_state.join("lockerd.db")).unwrap();
        if with_key {
            std::fs::copy(
                state.join("install.key"),
                restored_state.join("install.key"),
            )
            .unwrap();
        }
        let running = launch(&config_text(&restored_state, ""), restored.path(), &clock).await;
        let api = Api::new(running.addr);
        clock.advance(Duration::from_secs(30));
        let answer = login(&api, &kiosk, "bob", &secret, &clock).await;
        let expected = match with_key {
            true => (200, Value::Null),
            // A new install key: the secret no longer opens (README, Security).
            false => (401, json!("invalid_credentials")),
        };
        assert_eq!(answer, expected, "restored with the key: {with_key}");
        running.stop().await.unwrap();
    }
}
