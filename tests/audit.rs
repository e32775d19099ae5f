//! The audit log end to end: real API calls build the chain, `GET /api/v1/audit` shows who did
//! what, and the real `lockerd audit verify` accepts the chain and names the entry that was
//! edited or deleted in the SQLite file. No code, token or secret ever reaches an entry.

mod common;

use common::{Harness, config_text};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `lockerd audit SUBCOMMAND --config CONFIG`.
fn audit(subcommand: &str, config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .args(["audit", subcommand, "--config"])
        .arg(config)
        .output()
        .expect("run lockerd")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts `audit verify` refuses the chain and names entry `seq`.
#[track_caller]
fn assert_broken_at(config: &Path, seq: i64) {
    let output = audit("verify", config);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        stderr.contains(&format!("audit log broken at entry {seq}: ")),
        "expected entry {seq} named:\n{stderr}"
    );
}

/// Every entry, read through the API a page at a time.
async fn entries(h: &Harness) -> Vec<Value> {
    let (mut all, mut after) = (vec![], 0);
    loop {
        let path = format!("/api/v1/audit?after={after}&limit=7");
        let (status, page) = h.get(&path, &h.operator).await;
        assert_eq!(status, 200, "{page}");
        all.extend(page["entries"].as_array().expect("entries").clone());
        match page["next"].as_i64() {
            Some(next) => after = next,
            None => return all,
        }
    }
}

/// Drives every audited action through the API; returns the secrets it came across.
async fn act(h: &Harness) -> Vec<String> {
    let mut secrets = vec![h.operator.clone(), h.kiosk.clone(), h.sync.clone()];
    let totp = h.new_courier("alice").await;
    let session = h.login("alice", &totp).await;
    let (parcel, compartment, code) = h.deposit_stored(&session, "AUD-1", "S").await;
    let (status, body) = h.enter_code(&code).await;
    assert_eq!(status, 200, "{body}");
    h.door(&compartment, false).await;

    let (kept, _, kept_code) = h.deposit_stored(&session, "AUD-2", "M").await;
    let until = json!({"until": "2099-01-01T00:00:00Z"});
    let (status, body) = h
        .post(
            &format!("/api/v1/parcels/{kept}/extend"),
            &h.operator,
            until,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = h
        .post(
            &format!("/api/v1/parcels/{kept}/new-code"),
            &h.operator,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let new_code = h.code_of(&kept).await;
    assert_ne!(new_code, kept_code);

    let reason = json!({"reason": "hinge check"});
    let (status, body) = h
        .post("/api/v1/compartments/C1/open", &h.operator, reason.clone())
        .await;
    assert_eq!(status, 202, "{body}");
    h.wait_for("/api/v1/compartments/C1", "door", "open").await;
    h.door("C1", false).await;
    for action in ["disable", "enable"] {
        let path = format!("/api/v1/compartments/D1/{action}");
        let (status, body) = h.post(&path, &h.operator, reason.clone()).await;
        assert_eq!(status, 200, "{body}");
    }

    for _ in 0..3 {
        let (status, _) = h.enter_code("000000").await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        h.enter_code("000000").await.0,
        429,
        "the keypad is locked out"
    );
    let (status, _) = h
        .post("/api/v1/keypad/unlock", &h.operator, json!({}))
        .await;
    assert_eq!(status, 204);

    let new_token = json!({"role": "kiosk", "name": "lobby"});
    let (status, body) = h.post("/api/v1/tokens", &h.operator, new_token).await;
    assert_eq!(status, 201, "{body}");
    secrets.push(body["token"].as_str().expect("token").to_owned());
    let (status, _) = h
        .request("DELETE", "/api/v1/tokens/lobby", Some(&h.operator), None)
        .await;
    assert_eq!(status, 204);

    let cloud_code = "135790";
    let reservation = json!({"size": "S", "pickup_code": cloud_code});
    let path = "/api/v1/sync/reservations/RES-1";
    let (status, body) = h
        .request("PUT", path, Some(&h.sync), Some(reservation))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = h.request("DELETE", path, Some(&h.sync), None).await;
    assert_eq!(status, 204);

    let (status, bob) = h
        .post("/api/v1/couriers", &h.operator, json!({"name": "bob"}))
        .await;
    assert_eq!(status, 201, "{bob}");
    secrets.push(bob["totp_secret"].as_str().unwrap().to_owned());
    let bob_path = format!("/api/v1/couriers/{}", bob["id"].as_str().unwrap());
    let (status, _) = h
        .request("DELETE", &bob_path, Some(&h.operator), None)
        .await;
    assert_eq!(status, 204);

    let (status, _) = h.post("/api/v1/courier/logout", &session, json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(h.parcel(&parcel).await["state"], "collected");
    secrets.extend([
        totp,
        session,
        code,
        kept_code,
        new_code,
        cloud_code.to_owned(),
    ]);
    secrets
}

/// Writes the harness's config where `lockerd audit` can read it.
fn config_file(dir: &Path) -> PathBuf {
    let file = dir.join("lockerd.toml");
    std::fs::write(&file, config_text(&dir.join("state"), "")).expect("write config");
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_built_by_api_calls_verifies_and_an_edit_or_deletion_is_named() {
    let h = Harness::start().await;
    let secrets = act(&h).await;
    let entries = entries(&h).await;

    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=entries.len() as i64).collect::<Vec<_>>());
    let did = |actor: &str, action: &str| {
        entries
            .iter()
            .any(|e| e["actor"] == actor && e["action"] == action)
    };
    for (actor, action) in [
        ("lockerd", "daemon.started"),
        ("operator:test", "token.created"),
        ("operator:ops", "courier.created"),
        ("courier:alice", "courier.logged_in"),
        ("courier:alice", "deposit.opening"),
        ("courier:alice", "parcel.stored"),
        ("kiosk:kiosk", "pickup.opening"),
        ("operator:ops", "parcel.extended"),
        ("operator:ops", "parcel.new_code"),
        ("operator:ops", "maintenance.opening"),
        ("operator:ops", "compartment.disabled"),
        ("operator:ops", "compartment.enabled"),
        ("lockerd", "keypad.locked_out"),
        ("operator:ops", "keypad.unlocked"),
        ("operator:ops", "token.created"),
        ("operator:ops", "token.removed"),
        ("sync:cloud", "reservation.created"),
        ("sync:cloud", "reservation.withdrawn"),
        ("operator:ops", "courier.removed"),
        ("courier:alice", "courier.logged_out"),
    ] {
        assert!(did(actor, action), "no {action} by {actor}: {entries:#?}");
    }
    let started = &entries[0];
    assert_eq!(started["action"], "daemon.started");
    assert_eq!(started["detail"]["compartments"], 12);
    assert_eq!(started["detail"]["buses"], json!(["sim"]));
    assert_eq!(
        started["detail"]["config_sha256"].as_str().unwrap().len(),
        64
    );
    let maintenance = entries
        .iter()
        .find(|e| e["action"] == "maintenance.opening")
        .unwrap();
    assert_eq!(
        maintenance["detail"],
        json!({"compartment": "C1", "reason": "hinge check"})
    );
    let reserved = entries
        .iter()
        .find(|e| e["action"] == "reservation.created")
        .unwrap();
    assert_eq!(reserved["detail"]["has_code"], true);
    for e in &entries {
        let hash = e["hash"].as_str().unwrap();
        assert!(
            hash.len() == 64
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert!(e["at"].as_str().unwrap().ends_with('Z'), "{e}");
        assert!(e["detail"].is_object(), "{e}");
    }
    let all = serde_json::to_string(&entries).unwrap();
    for secret in &secrets {
        assert!(
            !all.contains(secret.as_str()),
            "{secret:?} is in the audit log"
        );
    }

    let dir = h.dir.clone();
    h.stop().await;
    let config = config_file(dir.path());
    let output = audit("verify", &config);
    assert!(output.status.success(), "stderr:\n{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout).trim(),
        format!("audit log intact: {} entries", entries.len())
    );

    let output = audit("export", &config);
    assert!(output.status.success(), "stderr:\n{}", text(&output.stderr));
    let exported: Vec<Value> = text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert_eq!(exported, entries, "the export shows what the API shows");

    let db = rusqlite::Connection::open(dir.path().join("state/lockerd.db")).unwrap();
    let seq = maintenance["seq"].as_i64().unwrap();
    let original: String = db
        .query_row("SELECT detail FROM audit WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .unwrap();
    let edit = "UPDATE audit SET detail = ?2 WHERE seq = ?1";
    db.execute(
        edit,
        rusqlite::params![seq, r#"{"compartment":"C1","reason":"routine"}"#],
    )
    .unwrap();
    assert_broken_at(&config, seq);
    db.execute(edit, rusqlite::params![seq, original]).unwrap();
    assert!(audit("verify", &config).status.success(), "restored");

    let middle = seq + 2;
    db.execute("DELETE FROM audit WHERE seq = ?1", [middle])
        .unwrap();
    assert_broken_at(&config, middle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_last_entry_is_named_and_verify_runs_beside_the_daemon() {
    let h = Harness::start().await;
    let config = config_file(h.dir.path());
    let unlock = || h.post("/api/v1/keypad/unlock", &h.operator, json!({}));
    assert_eq!(unlock().await.0, 204);
    let output = audit("verify", &config);
    assert!(output.status.success(), "stderr:\n{}", text(&output.stderr));
    let count = entries(&h).await.len() as i64;
    assert!(text(&output.stdout).contains(&format!("intact: {count} entries")));
    // The API's form of the check (the console's Health view) agrees.
    let (status, check) = h.get("/api/v1/audit/verify", &h.operator).await;
    assert_eq!(status, 200, "{check}");
    assert_eq!(check["intact"], true, "{check}");
    assert_eq!(check["entries"], count);
    assert_eq!(check["head"]["seq"], count);
    assert!(check["db_bytes"].as_u64().unwrap() > 0);

    let db = rusqlite::Connection::open(h.dir.path().join("state/lockerd.db")).unwrap();
    db.execute("DELETE FROM audit WHERE seq = ?1", [count])
        .unwrap();
    assert_broken_at(&config, count);
    let (_, check) = h.get("/api/v1/audit/verify", &h.operator).await;
    assert_eq!(check["intact"], false, "{check}");
    let broken = check["broken"].as_str().unwrap();
    assert!(broken.contains(&format!("entry {count}")), "{broken}");
    // Not even a later entry hides the gap.
    assert_eq!(unlock().await.0, 204);
    assert_broken_at(&config, count);
    h.stop().await;
}

#[test]
fn a_missing_database_is_an_error_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    let output = audit("verify", &config);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("no database at"),
        "{}",
        text(&output.stderr)
    );
    assert!(!dir.path().join("state/lockerd.db").exists());
}
