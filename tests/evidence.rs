//! Evidence for a claim (issue 16, items 4 and 5): what `parcel.stored` says about who
//! delivered a parcel and whether a photo follows, `parcel.photo_taken` with the saved file's
//! digest, the photo for the sync agent, and `GET /api/v1/parcels/{id}/evidence` with
//! `lockerd parcel evidence`, checked against the audit log and `lockerd audit verify`.

mod common;

use common::{Harness, config_text};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// A tiny but well-formed JPEG: SOI, an APP0 segment, EOI.
const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xFF\xD9";

/// A daemon whose camera copies `JPEG` to the photo path.
async fn with_camera() -> (Harness, tempfile::TempDir) {
    let cameras = tempfile::tempdir().unwrap();
    let sample = cameras.path().join("sample.jpg");
    std::fs::write(&sample, JPEG).unwrap();
    let script = cameras.path().join("camera");
    let text = format!("#!/bin/sh\ncp '{}' \"$1\"\n", sample.display());
    std::fs::write(&script, text).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let h = Harness::start_config(Duration::from_secs(5), |dir| {
        config_text(dir, "")
            + &format!(
                "\n[photo]\ncommand = \"'{}' {{path}}\"\ntimeout = \"30s\"\nretention = \"7d\"\n",
                script.display()
            )
    })
    .await;
    (h, cameras)
}

/// The event of `kind` about `parcel`, waited for (the camera runs after the deposit).
async fn event_of(h: &Harness, kind: &str, parcel: &str) -> Value {
    let deadline = tokio::time::Instant::now() + h.patience;
    loop {
        let found = h
            .events()
            .await
            .into_iter()
            .find(|e| e["type"] == kind && e["data"]["parcel_id"] == parcel);
        if let Some(event) = found {
            return event["data"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {kind} for {parcel}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn photo_path(h: &Harness, parcel: &str) -> PathBuf {
    h.dir
        .path()
        .join("state")
        .join("photos")
        .join(format!("{parcel}.jpg"))
}

#[tokio::test]
async fn parcel_stored_names_the_courier_and_whether_a_photo_follows() {
    let (h, _cameras) = with_camera().await;
    let courier = h.courier_session("alice").await;
    let (parcel, compartment, _) = h.deposit_stored(&courier, "EV-1", "S").await;
    let stored = event_of(&h, "parcel.stored", &parcel).await;
    assert_eq!(stored["tracking_id"], "EV-1");
    assert_eq!(stored["compartment"], compartment.as_str());
    assert_eq!(stored["delivered_by"], "courier:alice");
    assert!(
        stored["stored_at"].as_str().unwrap().ends_with('Z'),
        "{stored}"
    );
    assert_eq!(stored["photo"], true);
    assert_eq!(h.parcel(&parcel).await["delivered_by"], "courier:alice");

    // The photo is announced once saved, with the size and digest of the file on disk.
    let taken = event_of(&h, "parcel.photo_taken", &parcel).await;
    let file = std::fs::read(photo_path(&h, &parcel)).unwrap();
    assert_eq!(taken["bytes"], file.len());
    assert_eq!(taken["sha256"], sha256_hex(&file));
    assert_eq!(file, JPEG);

    // A reservation's `photo: false`: no photo, and the event says so.
    let body = json!({"size": "S", "photo": false});
    let path = "/api/v1/sync/reservations/EV-PRIVATE";
    let (status, answer) = h.request("PUT", path, Some(&h.sync), Some(body)).await;
    assert_eq!(status, 201, "{answer}");
    let (private, _, _) = h.deposit_stored(&courier, "EV-PRIVATE", "S").await;
    assert_eq!(
        event_of(&h, "parcel.stored", &private).await["photo"],
        false
    );
    // The camera works in order: once a later parcel's photo is announced, none came for it.
    let (later, _, _) = h.deposit_stored(&courier, "EV-LATER", "S").await;
    event_of(&h, "parcel.photo_taken", &later).await;
    let types: Vec<Value> = h
        .events()
        .await
        .into_iter()
        .filter(|e| e["data"]["parcel_id"] == private.as_str())
        .map(|e| e["type"].clone())
        .collect();
    assert!(!types.contains(&json!("parcel.photo_taken")), "{types:?}");
    h.stop().await;
}

#[tokio::test]
async fn without_a_camera_parcel_stored_says_no_photo() {
    let h = Harness::start().await;
    let courier = h.courier_session("bob").await;
    let (parcel, _, _) = h.deposit_stored(&courier, "EV-2", "M").await;
    let stored = event_of(&h, "parcel.stored", &parcel).await;
    assert_eq!(stored["photo"], false);
    assert_eq!(stored["delivered_by"], "courier:bob");
    h.stop().await;
}

#[tokio::test]
async fn the_sync_agent_may_fetch_the_photo_and_a_kiosk_may_not() {
    let (h, _cameras) = with_camera().await;
    let courier = h.courier_session("carol").await;
    let (parcel, _, _) = h.deposit_stored(&courier, "EV-3", "S").await;
    event_of(&h, "parcel.photo_taken", &parcel).await;
    let url = h.url(&format!("/api/v1/parcels/{parcel}/photo"));
    let answer = h.http.get(&url).bearer_auth(&h.sync).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(answer.bytes().await.unwrap().as_ref(), JPEG);
    let answer = h.http.get(&url).bearer_auth(&h.kiosk).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 403);
    let (status, _) = h
        .get(&format!("/api/v1/parcels/{parcel}/evidence"), &h.kiosk)
        .await;
    assert_eq!(status, 403);
    h.stop().await;
}

/// Every audit entry, through the API.
async fn audit_entries(h: &Harness) -> Vec<Value> {
    let (mut all, mut after) = (vec![], 0);
    loop {
        let path = format!("/api/v1/audit?after={after}&limit=500");
        let (status, page) = h.get(&path, &h.operator).await;
        assert_eq!(status, 200, "{page}");
        all.extend(page["entries"].as_array().unwrap().iter().cloned());
        match page["next"].as_i64() {
            Some(next) => after = next,
            None => return all,
        }
    }
}

/// `(open, cause)` of each door movement in `compartment`.
fn moves(evidence: &Value, compartment: &str) -> Vec<(bool, String)> {
    evidence["door_history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["compartment"] == compartment)
        .map(|d| {
            (
                d["open"].as_bool().unwrap(),
                d["cause"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn lockerd(args: &[&str], config: &Path, token: Option<&Path>) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lockerd"));
    command
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("LOCKERD_TOKEN");
    if let Some(token) = token {
        command.arg("--token-file").arg(token);
    }
    command.output().expect("run lockerd")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_of_a_photographed_and_collected_parcel_checks_against_the_audit_log() {
    let (h, _cameras) = with_camera().await;
    let courier = h.courier_session("dave").await;
    let (parcel, compartment, code) = h.deposit_stored(&courier, "EV-4", "S").await;
    let taken = event_of(&h, "parcel.photo_taken", &parcel).await;
    h.clock.advance(Duration::from_secs(3600));
    let (status, body) = h.enter_code(&code).await;
    assert_eq!(status, 200, "{body}");
    h.door(&compartment, false).await;
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "collected")
        .await;

    let path = format!("/api/v1/parcels/{parcel}/evidence");
    let (status, evidence) = h.get(&path, &h.operator).await;
    assert_eq!(status, 200, "{evidence}");
    let (status, for_sync) = h.get(&path, &h.sync).await;
    assert_eq!(status, 200, "{for_sync}");
    assert_eq!(evidence["parcel"]["id"], parcel.as_str());
    assert_eq!(evidence["parcel"]["state"], "collected");
    assert_eq!(evidence["parcel"]["delivered_by"], "courier:dave");
    assert_eq!(
        moves(&evidence, &compartment),
        [
            (true, "deposit".into()),
            (false, "deposit".into()),
            (true, "pickup".into()),
            (false, "pickup".into())
        ]
    );
    let types: Vec<&str> = evidence["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for kind in [
        "parcel.opening",
        "parcel.stored",
        "parcel.photo_taken",
        "parcel.collected",
    ] {
        assert!(types.contains(&kind), "{kind} missing from {types:?}");
    }
    assert_eq!(evidence["photo"]["sha256"], taken["sha256"]);
    assert_eq!(evidence["photo"]["sha256"], sha256_hex(JPEG));
    assert_eq!(evidence["incidents"], json!([]));

    // The feed still holds the code (nobody acknowledged): the evidence never does.
    assert!(
        h.events()
            .await
            .iter()
            .any(|e| e["data"]["pickup_code"] == code.as_str())
    );
    let text = evidence.to_string();
    assert!(!text.contains(&code), "the pickup code is in the evidence");
    assert!(
        !text.contains("pickup_code\""),
        "a pickup_code field is in the evidence"
    );

    // Its audit entries are the log's own, and the head covers them.
    let log = audit_entries(&h).await;
    let audit = evidence["audit"].as_array().unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"deposit.opening") && actions.contains(&"parcel.stored"),
        "{actions:?}"
    );
    assert!(actions.len() >= 3, "{actions:?}");
    for entry in audit {
        assert_eq!(entry["detail"]["parcel_id"], parcel.as_str());
        let same = log
            .iter()
            .find(|l| l["seq"] == entry["seq"])
            .expect("entry in the log");
        assert_eq!(same, entry);
    }
    let head = &evidence["audit_head"];
    let last = log.last().unwrap();
    assert_eq!((&head["seq"], &head["hash"]), (&last["seq"], &last["hash"]));

    // After the daemon stops, the chain verifies and its export holds the same entries.
    let dir = h.dir.clone();
    h.stop().await;
    let config = dir.path().join("lockerd.toml");
    std::fs::write(&config, config_text(&dir.path().join("state"), "")).unwrap();
    let verify = lockerd(&["audit", "verify"], &config, None);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let export = lockerd(&["audit", "export"], &config, None);
    assert!(export.status.success());
    let exported: Vec<Value> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for entry in audit.iter().chain([head]) {
        let same = exported
            .iter()
            .find(|x| x["seq"] == entry["seq"])
            .expect("exported");
        assert_eq!(same["hash"], entry["hash"]);
    }
}

#[tokio::test]
async fn evidence_of_an_unknown_parcel_is_not_found() {
    let h = Harness::start().await;
    let (status, body) = h
        .get("/api/v1/parcels/no-such-parcel/evidence", &h.operator)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_writes_the_evidence_to_a_file_and_never_overwrites_one() {
    let h = Harness::start().await;
    let courier = h.courier_session("erin").await;
    let (parcel, _, code) = h.deposit_stored(&courier, "EV-5", "S").await;
    let ops = tempfile::tempdir().unwrap();
    let listen = h.running().addr.to_string();
    let text = config_text(&ops.path().join("state"), "").replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"{listen}\""),
    );
    assert!(text.contains(&listen));
    let config = ops.path().join("lockerd.toml");
    std::fs::write(&config, text).unwrap();
    let token = ops.path().join("token");
    std::fs::write(&token, &h.operator).unwrap();
    let out = ops.path().join("claim.json");
    let args = [
        "parcel",
        "evidence",
        parcel.as_str(),
        "--out",
        out.to_str().unwrap(),
    ];

    let run = tokio::task::spawn_blocking({
        let (config, token) = (config.clone(), token.clone());
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let first = lockerd(&args, &config, Some(&token));
            let second = lockerd(&args, &config, Some(&token));
            (first, second)
        }
    });
    let (first, second) = run.await.unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let saved = std::fs::read_to_string(&out).unwrap();
    let doc: Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(doc["parcel"]["id"], parcel.as_str());
    assert_eq!(doc["parcel"]["state"], "stored");
    assert!(!saved.contains(&code));
    assert_eq!(second.status.code(), Some(2), "an existing file is refused");
    assert!(String::from_utf8_lossy(&second.stderr).contains("exists"));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        saved,
        "left as it was"
    );
    h.stop().await;
}
