//! Proof-of-delivery photos: the camera command runs after a deposit is stored, never through a
//! shell, and whatever it does (fail, hang, write garbage) the parcel is stored anyway.

mod common;

use common::{Harness, config_text};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A tiny but well-formed JPEG: SOI, an APP0 segment, EOI.
const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xFF\xD9";

/// Writes an executable camera script into `dir`. Each run appends its first argument to
/// `dir/runs.log`, so a test can tell whether the camera was asked at all.
fn camera(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let log = dir.join("runs.log");
    let script = format!("#!/bin/sh\necho \"$1\" >> '{}'\n{body}\n", log.display());
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn runs(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("runs.log"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// A daemon whose camera is the script `body` (with the photo path as `$1`), given the time a
/// loaded machine may need to start a shell and copy a file: a camera meant to succeed must
/// not be killed by a short test timeout.
async fn with_camera(body: &str) -> (Harness, tempfile::TempDir) {
    with_camera_timeout(body, "30s").await
}

/// Like `with_camera`, killed after `timeout`.
async fn with_camera_timeout(body: &str, timeout: &str) -> (Harness, tempfile::TempDir) {
    let cameras = tempfile::tempdir().unwrap();
    let jpeg = cameras.path().join("sample.jpg");
    std::fs::write(&jpeg, JPEG).unwrap();
    let body = body.replace("SAMPLE", &jpeg.display().to_string());
    let script = camera(cameras.path(), "camera", &body);
    let h = Harness::start_config(Duration::from_secs(5), |dir| {
        config_text(dir, "")
            + &format!(
                "\n[photo]\ncommand = \"'{}' {{path}}\"\ntimeout = \"{timeout}\"\nretention = \"7d\"\n",
                script.display()
            )
    })
    .await;
    (h, cameras)
}

async fn photo_of(h: &Harness, parcel: &str) -> (u16, Vec<u8>, Option<String>) {
    let response = h
        .http
        .get(h.url(&format!("/api/v1/parcels/{parcel}/photo")))
        .bearer_auth(&h.operator)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.bytes().await.unwrap().to_vec(), kind)
}

async fn wait_runs(h: &Harness, cameras: &Path, count: usize) {
    let deadline = tokio::time::Instant::now() + h.patience;
    while runs(cameras) < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the camera never ran"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The names of the files in the photo directory (none when it does not exist).
fn photo_files(h: &Harness) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(h.dir.path().join("state").join("photos"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
        .unwrap_or_default()
}

/// Waits until the photo directory holds no file. Polled, not read once: `wait_runs` sees a
/// capture start, and that capture may still be writing its partial file, which the daemon
/// deletes only once the command has ended. A capture the camera task has finished (all but
/// the latest) must have left nothing, so a file it kept or left half-written fails here.
async fn wait_no_photo_files(h: &Harness, what: &str) {
    let deadline = tokio::time::Instant::now() + h.patience;
    loop {
        let left = photo_files(h);
        if left.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: nothing kept, nothing half-written: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the parcel's `photo` is `want`.
async fn wait_photo(h: &Harness, parcel: &str, want: bool) {
    let deadline = tokio::time::Instant::now() + h.patience;
    while h.parcel(parcel).await["photo"] != want {
        assert!(tokio::time::Instant::now() < deadline, "photo never {want}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_stored_deposit_gets_its_photo_and_loses_it_after_retention() {
    let (h, cameras) = with_camera("cp SAMPLE \"$1\"").await;
    let courier = h.courier_session("alice").await;
    let (parcel, _, _) = h.deposit_stored(&courier, "P-1", "S").await;
    wait_photo(&h, &parcel, true).await;
    let (status, body, kind) = photo_of(&h, &parcel).await;
    assert_eq!(status, 200);
    assert_eq!(kind.as_deref(), Some("image/jpeg"));
    assert_eq!(body, JPEG);
    let photos = h.dir.path().join("state").join("photos");
    assert!(photos.join(format!("{parcel}.jpg")).exists());

    h.clock.advance(Duration::from_secs(8 * 24 * 3600));
    wait_photo(&h, &parcel, false).await;
    assert_eq!(photo_of(&h, &parcel).await.0, 404);
    assert!(!photos.join(format!("{parcel}.jpg")).exists());
    assert_eq!(runs(cameras.path()), 1);
    h.stop().await;
}

#[tokio::test]
async fn a_failing_hanging_or_garbage_camera_leaves_the_parcel_stored_without_photo() {
    for (body, what) in [
        ("exit 3", "failing"),
        ("sleep 30", "hanging"),
        ("echo 'not a picture' > \"$1\"", "garbage"),
        ("true", "silent"),
    ] {
        // Short, so the hanging camera is given up on quickly.
        let (h, cameras) = with_camera_timeout(body, "300ms").await;
        let courier = h.courier_session("bob").await;
        let (parcel, _, code) = h.deposit_stored(&courier, "P-2", "S").await;
        assert_eq!(h.parcel(&parcel).await["state"], "stored", "{what}");
        wait_runs(&h, cameras.path(), 1).await;
        // A second deposit is served while (or after) the camera misbehaves.
        let (second, _, _) = h.deposit_stored(&courier, "P-3", "S").await;
        wait_runs(&h, cameras.path(), 2).await;
        assert_eq!(photo_of(&h, &parcel).await.0, 404, "{what}");
        assert_eq!(h.parcel(&second).await["photo"], false, "{what}");
        let (status, health) = h.request("GET", "/healthz", None, None).await;
        assert_eq!(status, 200, "{what}: {health}");
        assert_eq!(h.enter_code(&code).await.0, 200, "{what}");
        wait_no_photo_files(&h, what).await;
        h.stop().await;
    }
}

#[tokio::test]
async fn a_reservation_that_says_no_photo_never_runs_the_camera() {
    let (h, cameras) = with_camera("cp SAMPLE \"$1\"").await;
    let (status, body) = h
        .request(
            "PUT",
            "/api/v1/sync/reservations/NO-PHOTO",
            Some(&h.sync),
            Some(json!({"size": "S", "photo": false})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let courier = h.courier_session("carol").await;
    let (private, _, _) = h.deposit_stored(&courier, "NO-PHOTO", "S").await;
    // The camera takes photos in order: once the next parcel's is done, the first was skipped.
    let (next, _, _) = h.deposit_stored(&courier, "WITH-PHOTO", "S").await;
    wait_photo(&h, &next, true).await;
    assert_eq!(
        runs(cameras.path()),
        1,
        "the camera ran for the private parcel"
    );
    assert_eq!(h.parcel(&private).await["photo"], false);
    assert_eq!(photo_of(&h, &private).await.0, 404);
    h.stop().await;
}

#[test]
fn a_photo_command_without_path_or_unbalanced_quotes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (command, says) in [
        ("rpicam-still -n -o out.jpg", "{path}"),
        ("rpicam-still -o '{path}", "split"),
    ] {
        let text = config_text(dir.path(), "") + &format!("\n[photo]\ncommand = \"{command}\"\n");
        let err = lockerd::config::Config::parse(&text, &dir.path().join("lockerd.toml"))
            .expect_err(command)
            .to_string();
        assert!(err.contains("photo.command") && err.contains(says), "{err}");
    }
}

#[tokio::test]
async fn a_stop_during_a_capture_and_a_restart_leave_no_stray_files() {
    // The camera starts writing, then hangs: a wrapper whose child outlives it would too.
    let (mut h, cameras) =
        with_camera_timeout("echo partial > \"$1\"; sleep 30 & wait", "60s").await;
    let courier = h.courier_session("dan").await;
    h.deposit_stored(&courier, "S-1", "S").await;
    wait_runs(&h, cameras.path(), 1).await;
    let photos = h.dir.path().join("state").join("photos");
    // A file a crash might have left behind, for a parcel that never got its photo recorded.
    std::fs::write(
        photos.join("00000000-0000-0000-0000-000000000000.jpg"),
        JPEG,
    )
    .unwrap();
    h.restart().await;
    let left = photo_files(&h);
    assert!(
        left.is_empty(),
        "stray photo files after a restart: {left:?}"
    );
    h.stop().await;
}
