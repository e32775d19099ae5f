//! The API in clear on the LAN (issue 14, item 8): bearer tokens, the kiosk's cookies and
//! typed codes readable by anyone on the site's network. Over TLS the daemon answers only in
//! TLS and marks its cookies `Secure`; a LAN listener or push URL in clear is refused before
//! anything starts unless the file allows it in so many words.

use crate::common::{self, totp_now};
use lockerd::locker::ManualClock;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn lockerd(args: &[&str], config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("run lockerd")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_speaks_only_tls_and_its_cookies_are_secure() {
    let dir = tempfile::tempdir().unwrap();
    let fingerprint = self_signed(&dir.path().join("tls"));
    let config = common::config_text(&dir.path().join("state"), "").replace(
        "listen = \"127.0.0.1:0\"",
        "listen = \"127.0.0.1:0\"\ntls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"",
    );
    let clock = ManualClock::new();
    let (running, tokens) = common::boot(&config, dir.path(), &clock).await;
    let addr = running.addr;
    let site = Site::new(&dir.path().join("tls/cert.pem"), addr);

    let health = site.http.get(site.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let clear = reqwest::get(format!("http://{addr}/healthz")).await;
    assert!(clear.is_err(), "nothing is answered in clear: {clear:?}");
    cookies_are_secure(&site, &tokens.operator, &clock).await;

    // What an operator compares with the browser, and the operator commands on this machine.
    let file = dir.path().join("lockerd.toml");
    std::fs::write(&file, config.replace("127.0.0.1:0", &addr.to_string())).unwrap();
    let shown = lockerd(&["tls", "fingerprint"], &file);
    assert_eq!(text(&shown.stdout), fingerprint, "{}", text(&shown.stderr));
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, &tokens.operator).unwrap();
    let token_file = token_file.to_str().unwrap();
    let listed = lockerd(&["compartment", "list", "--token-file", token_file], &file);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert!(
        text(&listed.stdout).contains("D2"),
        "{}",
        text(&listed.stdout)
    );
    running.stop().await.expect("clean stop");
}

/// `lockerd tls self-signed` into `out`; the fingerprint it prints.
fn self_signed(out: &Path) -> String {
    let made = Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .args(["tls", "self-signed", "--host", "locker.test", "--out-dir"])
        .arg(out)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made.stderr));
    let mode = std::fs::metadata(out.join("key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the key is private");
    text(&made.stdout)
}

/// A client that trusts the locker's certificate and reaches it as `locker.test`.
struct Site {
    http: reqwest::Client,
    base: String,
}

impl Site {
    fn new(cert: &Path, addr: SocketAddr) -> Site {
        let cert = reqwest::Certificate::from_pem(&std::fs::read(cert).unwrap()).unwrap();
        let http = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(cert)
            .resolve("locker.test", addr)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = format!("https://locker.test:{}", addr.port());
        Site { http, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        let answer = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body);
        answer.send().await.unwrap().json().await.unwrap()
    }
}

/// The kiosk's cookie, set by pairing, and a courier's, set by a login through the page.
async fn cookies_are_secure(site: &Site, operator: &str, clock: &ManualClock) {
    let pairing = site
        .post("/api/v1/kiosk/pairings", operator, json!({"name": "lobby"}))
        .await;
    let paired = site.http.get(site.url(pairing["url"].as_str().unwrap()));
    let paired = paired.send().await.unwrap();
    assert_eq!(paired.status(), 303);
    let kiosk_cookie = paired.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(kiosk_cookie.contains("; Secure"), "{kiosk_cookie}");

    let courier = site
        .post("/api/v1/couriers", operator, json!({"name": "alice"}))
        .await;
    let code = totp_now(courier["totp_secret"].as_str().unwrap(), clock);
    let login = site
        .http
        .post(site.url("/api/v1/courier/login"))
        .header(COOKIE, kiosk_cookie.split(';').next().unwrap())
        .header("x-lockerd-csrf", "1")
        .json(&json!({"courier": "alice", "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let courier_cookie = login.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        courier_cookie.starts_with("lockerd_courier="),
        "{courier_cookie}"
    );
    assert!(courier_cookie.contains("; Secure"), "{courier_cookie}");
}

#[test]
fn a_lan_listener_or_push_in_clear_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let file = dir.path().join("lockerd.toml");
    let base = common::config_text(&state, "");
    let lan = base.replace("127.0.0.1:0", "0.0.0.0:8443");
    let write = |text: &str| std::fs::write(&file, text).unwrap();

    write(&lan);
    for command in [&["check-config"][..], &["run"][..]] {
        let out = lockerd(command, &file);
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("api.listen"), "{stderr}");
        assert!(stderr.contains("api.allow_plaintext"), "{stderr}");
    }
    assert!(
        !state.exists(),
        "refused before the state directory or hardware"
    );
    write(&lan.replace("[api]", "[api]\nallow_plaintext = true"));
    assert!(lockerd(&["check-config"], &file).status.success());

    // 192.0.2.0/24 is documentation space: nothing is sent, the file is only checked.
    let push = format!(
        "{base}\n[sync.push]\nurl = \"http://192.0.2.10/in\"\nsecret = \"{}\"\n",
        "s".repeat(32)
    );
    write(&push);
    let out = lockerd(&["check-config"], &file);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("sync.push.url"), "{stderr}");
    assert!(stderr.contains("sync.push.allow_plaintext"), "{stderr}");
    write(&format!("{push}allow_plaintext = true\n"));
    assert!(lockerd(&["check-config"], &file).status.success());
}
