//! `lockerd courier|parcel|compartment` as an operator runs them on the Pi: the real binary,
//! with a config whose `api.listen` is a daemon this test started, judged by exit status, what
//! it prints, and what the daemon's API shows afterwards.
//!
//! The binary runs through `tokio::process`, so the in-process daemon keeps serving while the
//! test waits for it.

mod common;

use common::Harness;
use lockerd::domain::Timestamp;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A config file pointing at a daemon, and a token file, in a directory of their own.
struct Ops {
    dir: tempfile::TempDir,
}

impl Ops {
    /// For the harness's daemon, with its operator token in `token`.
    fn new(h: &Harness) -> Ops {
        Self::at(&h.running().addr.to_string(), &h.operator)
    }

    /// For a daemon at `listen` (as `api.listen` writes it). A listener on every address
    /// serves plain HTTP only with `allow_plaintext`.
    fn at(listen: &str, token: &str) -> Ops {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = common::config_text(&dir.path().join("state"), "").replace(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"{listen}\"\nallow_plaintext = true"),
        );
        assert!(text.contains(listen), "the config names {listen}");
        std::fs::write(dir.path().join("lockerd.toml"), text).expect("write config");
        std::fs::write(dir.path().join("token"), format!("{token}\n")).expect("write token");
        Ops { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("lockerd.toml")
    }

    fn token_file(&self) -> PathBuf {
        self.dir.path().join("token")
    }

    /// `lockerd ARGS --config CONFIG --token-file TOKEN`.
    async fn run(&self, args: &[&str]) -> Output {
        let token_file = self.token_file();
        let mut all = args.to_vec();
        all.extend(["--token-file", token_file.to_str().unwrap()]);
        self.run_env(&all, None).await
    }

    /// `lockerd ARGS --config CONFIG`, with `LOCKERD_TOKEN=token` if given and unset otherwise.
    async fn run_env(&self, args: &[&str], token: Option<&str>) -> Output {
        lockerd(&self.config(), args, token).await
    }
}

async fn lockerd(config: &Path, args: &[&str], token: Option<&str>) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_lockerd"));
    command.args(args).arg("--config").arg(config);
    command.env_remove("LOCKERD_TOKEN");
    if let Some(token) = token {
        command.env("LOCKERD_TOKEN", token);
    }
    command.output().await.expect("run lockerd")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        stdout(output),
        stderr(output)
    );
    stdout(output)
}

/// The value after `label` on its line of `text`.
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
        .trim()
}

async fn couriers(h: &Harness) -> Vec<Value> {
    let (status, body) = h.get("/api/v1/couriers", &h.operator).await;
    assert_eq!(status, 200, "{body}");
    body["couriers"].as_array().expect("couriers").clone()
}

fn millis_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn courier_add_prints_a_working_secret_on_stdout_only() {
    let h = Harness::start().await;
    let ops = Ops::new(&h);
    let output = ops.run(&["courier", "add", "dana"]).await;
    let out = assert_ok(&output);
    let secret = field(&out, "TOTP secret:");
    assert!(
        field(&out, "otpauth URL:").starts_with("otpauth://totp/"),
        "{out}"
    );
    assert!(!stderr(&output).contains(secret), "{}", stderr(&output));
    let listed = couriers(&h).await;
    assert!(
        listed
            .iter()
            .any(|c| c["name"] == "dana" && c["active"] == true),
        "{listed:?}"
    );
    // The printed secret is the courier's: its current code logs it in at the kiosk.
    h.login("dana", secret).await;
}

#[tokio::test]
async fn courier_list_then_remove_by_name() {
    let h = Harness::start().await;
    h.new_courier("eve").await;
    h.new_courier("frank").await;
    let ops = Ops::new(&h);
    let out = assert_ok(&ops.run(&["courier", "list"]).await);
    assert!(out.lines().any(|l| l.starts_with("eve ")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("frank ")), "{out}");

    let out = assert_ok(&ops.run(&["courier", "remove", "eve"]).await);
    assert!(out.contains("courier eve"), "{out}");
    let listed = couriers(&h).await;
    assert!(
        !listed
            .iter()
            .any(|c| c["name"] == "eve" && c["active"] == true),
        "{listed:?}"
    );
    assert!(
        listed
            .iter()
            .any(|c| c["name"] == "frank" && c["active"] == true),
        "{listed:?}"
    );

    let output = ops.run(&["courier", "remove", "nobody"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("\"nobody\""),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn parcel_list_and_show_a_stored_parcel() {
    let h = Harness::start().await;
    let session = h.courier_session("dana").await;
    let (parcel, compartment, _) = h.deposit_stored(&session, "TRK-42", "S").await;
    let ops = Ops::new(&h);

    let out = assert_ok(&ops.run(&["parcel", "list", "--state", "stored"]).await);
    let row = out
        .lines()
        .find(|l| l.starts_with(&parcel))
        .unwrap_or_else(|| panic!("no row for {parcel}:\n{out}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[1..4],
        ["TRK-42", "stored", compartment.as_str()],
        "{row}"
    );

    let out = assert_ok(&ops.run(&["parcel", "show", &parcel]).await);
    assert_eq!(field(&out, "tracking_id:"), "TRK-42");
    assert_eq!(field(&out, "compartment:"), compartment);

    let output = ops.run(&["parcel", "show", "no-such-parcel"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("404 not_found: "),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn parcel_extend_by_a_duration_or_until_a_time() {
    let h = Harness::start().await;
    let session = h.courier_session("dana").await;
    let (parcel, _, _) = h.deposit_stored(&session, "TRK-7", "S").await;
    let ops = Ops::new(&h);
    let expires = |p: &Value| {
        Timestamp::parse_rfc3339(p["expires_at"].as_str().expect("expires_at")).unwrap()
    };
    let before = expires(&h.parcel(&parcel).await);

    let day = Duration::from_secs(24 * 3600).as_millis() as i64;
    let (start, out, end) = (
        millis_now(),
        ops.run(&["parcel", "extend", &parcel, "--by", "24h"]).await,
        millis_now(),
    );
    assert_ok(&out);
    let after = expires(&h.parcel(&parcel).await);
    assert_ne!(after, before);
    assert!(
        (start + day..=end + day).contains(&after.0),
        "24h from the command's now, got {after:?}"
    );

    let out = assert_ok(
        &ops.run(&[
            "parcel",
            "extend",
            &parcel,
            "--until",
            "2099-01-31T18:00:00Z",
        ])
        .await,
    );
    assert!(out.contains("2099-01-31T18:00:00"), "{out}");
    assert_eq!(
        h.parcel(&parcel).await["expires_at"]
            .as_str()
            .unwrap()
            .get(..19),
        Some("2099-01-31T18:00:00")
    );
}

#[tokio::test]
async fn compartment_list_shows_all_twelve_through_a_wildcard_listen() {
    let h = Harness::start().await;
    // A daemon listening on every address is asked on loopback.
    let port = h.running().addr.port();
    let ops = Ops::at(&format!("0.0.0.0:{port}"), &h.operator);
    let out = assert_ok(&ops.run(&["compartment", "list"]).await);
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "SIZE", "STATE", "DOOR", "PARCEL"]);
    let ids: Vec<&str> = lines
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4", "C1", "C2", "D1", "D2"
        ]
    );
}

#[tokio::test]
async fn compartment_disable_then_enable() {
    let h = Harness::start().await;
    let ops = Ops::new(&h);
    let args = ["compartment", "disable", "C1", "--reason", "broken hinge"];
    let out = assert_ok(&ops.run(&args).await);
    assert!(out.contains("disabled"), "{out}");
    assert_eq!(h.compartment("C1").await["state"], "disabled");

    assert_ok(&ops.run(&["compartment", "enable", "C1"]).await);
    assert_eq!(h.compartment("C1").await["state"], "free");
}

#[tokio::test]
async fn compartment_open_needs_a_reason_and_opens_the_door() {
    let h = Harness::start().await;
    let ops = Ops::new(&h);
    let output = ops.run(&["compartment", "open", "A1"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--reason"), "{}", stderr(&output));

    assert_ok(
        &ops.run(&["compartment", "open", "A1", "--reason", "cleaning"])
            .await,
    );
    h.wait_for("/api/v1/compartments/A1", "door", "open").await;
}

#[tokio::test]
async fn json_output_is_the_apis_json() {
    let h = Harness::start().await;
    let ops = Ops::new(&h);
    let parse = |out: String| -> Value { serde_json::from_str(&out).expect("JSON") };

    let list = parse(assert_ok(
        &ops.run(&["compartment", "list", "--json"]).await,
    ));
    assert_eq!(list["compartments"].as_array().unwrap().len(), 12);
    assert_eq!(list["compartments"][0]["id"], "A1");

    let created = parse(assert_ok(
        &ops.run(&["courier", "add", "gil", "--json"]).await,
    ));
    assert!(created["totp_secret"].is_string(), "{created}");
    let couriers = parse(assert_ok(&ops.run(&["courier", "list", "--json"]).await));
    assert_eq!(couriers["couriers"][0]["id"], created["id"]);

    let parcels = parse(assert_ok(&ops.run(&["parcel", "list", "--json"]).await));
    assert_eq!(parcels["parcels"], serde_json::json!([]));
}

#[tokio::test]
async fn a_token_that_is_not_an_operators_is_refused_clearly() {
    let h = Harness::start().await;
    let ops = Ops::new(&h);
    for token in ["not-a-token", h.kiosk.as_str()] {
        let output = ops.run_env(&["compartment", "list"], Some(token)).await;
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{err}");
        assert!(err.contains("is not an operator token"), "{err}");
        assert!(err.contains("LOCKERD_TOKEN"), "{err}");
        assert!(!err.contains(token), "the token leaked: {err}");
        assert!(stdout(&output).is_empty());
    }
    assert_eq!(h.compartment("A1").await["state"], "free");
}

#[tokio::test]
async fn no_token_is_a_usage_error() {
    let h = Harness::start().await;
    let ops = Ops::new(&h);
    let output = ops.run_env(&["parcel", "list"], None).await;
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: no operator token: set LOCKERD_TOKEN or pass --token-file\n"
    );
}

#[tokio::test]
async fn a_daemon_that_is_not_running_is_named_by_its_address() {
    // A port that was free a moment ago and that nothing listens on now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ops = Ops::at(&format!("127.0.0.1:{port}"), "some-token");
    let output = ops.run(&["compartment", "list"]).await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "lockerd is not running at http://127.0.0.1:{port}"
        )),
        "{err}"
    );
    assert!(err.contains(ops.config().to_str().unwrap()), "{err}");
}

#[tokio::test]
async fn access_code_add_prints_a_code_that_opens_then_list_and_remove() {
    let h = Harness::start().await;
    // The owner's parcel comes through their delivery PIN for the same compartment: a scoped
    // standing code opens only what was delivered within its scope.
    let compartment = "A3".to_owned();
    let body = serde_json::json!({"name": "shop", "purpose": "delivery", "compartments": ["A3"]});
    let (status, pin) = h.post("/api/v1/access-codes", &h.operator, body).await;
    assert_eq!(status, 201, "{pin}");
    let body = serde_json::json!({"tracking_id": "OWN-1", "pin": pin["code"]});
    let (status, delivered) = h.post("/api/v1/deliveries", &h.kiosk, body).await;
    assert_eq!(status, 201, "{delivered}");
    assert_eq!(delivered["compartment"]["id"], "A3");
    let parcel = delivered["parcel_id"].as_str().unwrap().to_owned();
    h.door(&compartment, false).await;
    let token = delivered["token"].as_str().unwrap();
    h.confirm_once_closed(token, &parcel).await;
    let ops = Ops::new(&h);
    let args = [
        "access-code",
        "add",
        "owner",
        "--purpose",
        "pickup",
        "--uses",
        "5",
        "--expires-in",
        "30d",
        "--compartments",
        &compartment,
    ];
    let output = ops.run(&args).await;
    let out = assert_ok(&output);
    let code = field(&out, "Code:").to_owned();
    assert_eq!(code.len(), 6, "{out}");
    assert!(!stderr(&output).contains(&code));
    // The printed code is the owner's standing code: it collects the parcel.
    let (status, opened) = h.enter_code(&code).await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!(opened["parcel_id"], parcel.as_str());

    let out = assert_ok(&ops.run(&["access-code", "list"]).await);
    let row = out.lines().find(|l| l.starts_with("owner ")).expect(&out);
    assert!(row.contains("pickup") && row.contains(" 4 "), "{row}");
    assert!(row.contains(&compartment), "{row}");
    assert!(!out.contains(&code), "the list never shows a code: {out}");

    let out = assert_ok(&ops.run(&["access-code", "remove", "owner"]).await);
    assert!(out.contains("access code owner"), "{out}");
    let (_, listed) = h.get("/api/v1/access-codes", &h.operator).await;
    let names: Vec<&Value> = listed["access_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names, [&Value::from("shop")]);
    // A bad purpose is a usage error before anything is sent.
    let output = ops
        .run(&["access-code", "add", "x", "--purpose", "all"])
        .await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    h.stop().await;
}
