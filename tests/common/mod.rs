//! A real daemon on a simulated locker, driven over HTTP, for the end-to-end tests; and the
//! pieces every daemon test harness shares (`boot`, `Api`, `Harness` on any config).
//!
//! Each test gets its own state directory and port, a `ManualClock` (lockouts, grace periods
//! and expiry are tested by moving time, not by sleeping), and short latch timings so a jammed
//! latch gives up quickly. Waiting for the hardware is done by polling the API for the state a
//! user would see, with a deadline, never by fixed sleeps.

#![allow(dead_code)]

pub mod browser;

use lockerd::config::Config;
use lockerd::daemon::{self, Options, Running};
use lockerd::locker::{ManualClock, Principal, Role};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Twelve compartments like the default config: A1-A4 S, B1-B4 M, C1-C2 L, D1-D2 XL;
/// A1, A2, B1 accessible.
pub fn config_text(state_dir: &Path, extra_policy: &str) -> String {
    let mut text = format!(
        r#"
[locker]
name = "test-locker"
state_dir = "{}"

[api]
listen = "127.0.0.1:0"

[policy]
code_length = 6
keypad_max_failures = 3
keypad_lockout = "60s"
keypad_lockout_max = "10m"
{extra_policy}

[latch]
pulse = "20ms"
max_pulse = "100ms"
cooldown = "30ms"
open_timeout = "200ms"
retries = 1
door_left_open = "60s"

[[bus]]
name = "sim"
driver = "sim"
poll = "20ms"
"#,
        state_dir.display()
    );
    let compartments = [
        ("A1", "S", true),
        ("A2", "S", true),
        ("A3", "S", false),
        ("A4", "S", false),
        ("B1", "M", true),
        ("B2", "M", false),
        ("B3", "M", false),
        ("B4", "M", false),
        ("C1", "L", false),
        ("C2", "L", false),
        ("D1", "XL", false),
        ("D2", "XL", false),
    ];
    for (id, size, accessible) in compartments {
        text.push_str(&format!(
            "\n[[compartment]]\nid = \"{id}\"\nsize = \"{size}\"\naccessible = {accessible}\n\
             latch = {{ bus = \"sim\" }}\ndoor = {{ bus = \"sim\" }}\n"
        ));
    }
    text
}

/// How long the sim harness waits for any state (`Harness::patience`).
pub const SIM_PATIENCE: Duration = Duration::from_secs(5);

/// The bearer tokens a test drives the daemon with.
pub struct Tokens {
    pub operator: String,
    pub kiosk: String,
    pub sync: String,
}

/// Starts a daemon on `config_text` (as if read from `config_dir/lockerd.toml`), on the test
/// clock, listening on a free loopback port, and creates the test's tokens.
pub async fn boot(config_text: &str, config_dir: &Path, clock: &ManualClock) -> (Running, Tokens) {
    let running = launch(config_text, config_dir, clock).await;
    let tokens = create_tokens(&running).await;
    (running, tokens)
}

/// Starts a daemon on `config_text`, without creating any token (a restart over a state
/// directory that has them already).
pub async fn launch(config_text: &str, config_dir: &Path, clock: &ManualClock) -> Running {
    let config =
        Config::parse(config_text, &config_dir.join("lockerd.toml")).expect("test config is valid");
    let options = Options {
        clock: Arc::new(clock.clone()),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        drain: Duration::from_millis(500),
        ..Options::default()
    };
    daemon::start(config, options).await.expect("daemon starts")
}

/// Creates the operator `ops`, the kiosk `kiosk` and the sync client `cloud`.
pub async fn create_tokens(running: &Running) -> Tokens {
    let admin = Principal {
        role: Role::Operator,
        name: "test".into(),
        courier: None,
        parcel: None,
        mqtt: false,
    };
    let mut tokens = vec![];
    for (role, name) in [
        (Role::Operator, "ops"),
        (Role::Kiosk, "kiosk"),
        (Role::Sync, "cloud"),
    ] {
        let token = running.locker.create_token(role, name, &admin).await;
        tokens.push(token.expect("token"));
    }
    let [operator, kiosk, sync] = tokens.try_into().expect("three tokens");
    Tokens {
        operator,
        kiosk,
        sync,
    }
}

/// A daemon's HTTP API: requests answer `(status, JSON body or Null)`.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(addr: SocketAddr) -> Api {
        // The daemon closes a connection idle for 10 s (its header-read timeout): reusing one
        // idle that long races the close, so the pool lets them go sooner.
        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .expect("an HTTP client");
        Api {
            base: format!("http://{addr}"),
            http,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.parse().expect("method"), self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.request("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.request("POST", path, Some(token), Some(body)).await
    }

    /// Sends `POST path` from a task of its own, for a request that is to be in flight while
    /// the test does something else (stops the daemon, closes a door); the task answers the
    /// status, or the error if the daemon went away first.
    pub fn spawn_post(
        &self,
        path: &str,
        token: &str,
        body: Value,
    ) -> JoinHandle<reqwest::Result<u16>> {
        let req = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body);
        tokio::spawn(async move { req.send().await.map(|r| r.status().as_u16()) })
    }
}

/// A running daemon plus the tokens and clock a test needs: by default on the simulated
/// locker of `config_text`, or on any config (`Harness::start_config`).
pub struct Harness {
    pub dir: Arc<tempfile::TempDir>,
    pub running: Option<Running>,
    pub clock: ManualClock,
    pub api: Api,
    pub operator: String,
    pub kiosk: String,
    pub sync: String,
    /// How long `wait_for` and `wait_for_pulses` wait.
    pub patience: Duration,
    /// The config text, for restarts.
    config: String,
}

/// `h.request`, `h.get`, `h.post`, `h.base`, ...: the harness's API of the moment (a restart
/// gives a new port).
impl Deref for Harness {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Harness {
    /// A config file for the CLI's commands that write the harness's own state directory
    /// (`kiosk pair`, `console link`), with the address an operator would configure: the API on
    /// every address, port 8080 (plain HTTP allowed for the test).
    pub fn cli_config(&self) -> std::path::PathBuf {
        let config = self.dir.path().join("cli.toml");
        let text = config_text(&self.dir.path().join("state"), "").replace(
            "listen = \"127.0.0.1:0\"",
            "listen = \"0.0.0.0:8080\"\nallow_plaintext = true",
        );
        std::fs::write(&config, text).unwrap();
        config
    }

    pub async fn start() -> Harness {
        Self::start_with("").await
    }

    /// Starts with extra `[policy]` lines.
    pub async fn start_with(extra_policy: &str) -> Harness {
        Self::start_config(SIM_PATIENCE, |state_dir| {
            config_text(state_dir, extra_policy)
        })
        .await
    }

    /// Starts a daemon on the config `config(state_dir)` in a new temporary directory; its
    /// awaited states may take up to `patience`.
    pub async fn start_config(patience: Duration, config: impl FnOnce(&Path) -> String) -> Harness {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        let config = config(&dir.path().join("state"));
        let clock = ManualClock::new();
        let (running, tokens) = boot(&config, dir.path(), &clock).await;
        Harness {
            api: Api::new(running.addr),
            running: Some(running),
            dir,
            clock,
            operator: tokens.operator,
            kiosk: tokens.kiosk,
            sync: tokens.sync,
            patience,
            config,
        }
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("daemon running")
    }

    /// Stops the daemon gracefully; fails the test if a task of it panicked.
    pub async fn stop(mut self) {
        self.stop_running().await;
    }

    async fn stop_running(&mut self) {
        let running = self.running.take().expect("running");
        running.stop().await.expect("clean stop, no panic");
    }

    /// Stops the daemon gracefully and starts a new one over the same state directory (new
    /// simulated hardware: every door closed).
    pub async fn restart(&mut self) {
        self.stop_running().await;
        self.relaunch().await;
    }

    /// Kills every task of the daemon at once, as a crash or power cut would (no draining, no
    /// all-off), and starts a new one over the same state directory.
    pub async fn crash_and_restart(&mut self) {
        self.running.take().expect("running").crash().await;
        self.relaunch().await;
    }

    async fn relaunch(&mut self) {
        let running = launch(&self.config, self.dir.path(), &self.clock).await;
        self.api = Api::new(running.addr);
        self.running = Some(running);
    }

    pub fn sim(&self) -> lockerd_hal::sim::SimHandle {
        self.running().sim.clone().expect("sim bus")
    }

    /// The sim channel of compartment `id` (channels follow the config order above).
    pub fn channel(id: &str) -> usize {
        [
            "A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4", "C1", "C2", "D1", "D2",
        ]
        .iter()
        .position(|c| *c == id)
        .expect("known compartment")
    }

    /// Polls the sim until it has seen `count` latch pulses in all; fails with "no `what`".
    pub async fn wait_for_pulses(&self, count: usize, what: &str) {
        let deadline = Instant::now() + self.patience;
        while self.sim().pulses().len() < count {
            assert!(Instant::now() < deadline, "no {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Moves a simulated door as a hand would.
    pub async fn door(&self, compartment: &str, open: bool) {
        let (status, body) = self
            .post(
                &format!("/api/v1/sim/doors/{compartment}"),
                &self.operator,
                json!({"open": open}),
            )
            .await;
        assert_eq!(status, 204, "sim door: {body}");
    }

    pub async fn parcel(&self, id: &str) -> Value {
        let (status, body) = self
            .get(&format!("/api/v1/parcels/{id}"), &self.operator)
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn compartment(&self, id: &str) -> Value {
        let (status, body) = self
            .get(&format!("/api/v1/compartments/{id}"), &self.operator)
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Polls `GET path` until `field` equals `want`; panics with the last answer after
    /// `patience`.
    pub async fn wait_for(&self, path: &str, field: &str, want: &str) -> Value {
        let deadline = Instant::now() + self.patience;
        loop {
            let (_, body) = self.get(path, &self.operator).await;
            if body[field] == want {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{path}: {field} never became {want}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Creates a courier and logs it in at the kiosk; returns the session token.
    pub async fn courier_session(&self, name: &str) -> String {
        let secret = self.new_courier(name).await;
        self.login(name, &secret).await
    }

    /// Creates a courier; returns its TOTP secret.
    pub async fn new_courier(&self, name: &str) -> String {
        let (status, courier) = self
            .post("/api/v1/couriers", &self.operator, json!({"name": name}))
            .await;
        assert_eq!(status, 201, "{courier}");
        courier["totp_secret"].as_str().expect("secret").to_owned()
    }

    /// Logs a courier in at the kiosk with its current TOTP; returns the session token.
    pub async fn login(&self, name: &str, secret: &str) -> String {
        let code = totp_now(secret, &self.clock);
        let (status, session) = self
            .post(
                "/api/v1/courier/login",
                &self.kiosk,
                json!({"courier": name, "code": code}),
            )
            .await;
        assert_eq!(status, 200, "{session}");
        session["token"].as_str().expect("token").to_owned()
    }

    /// `POST /api/v1/deposits` of a parcel `tracking_id` of `size` with the session `courier`.
    pub async fn deposit(&self, courier: &str, tracking_id: &str, size: &str) -> (u16, Value) {
        let body = json!({"tracking_id": tracking_id, "size": size});
        self.post("/api/v1/deposits", courier, body).await
    }

    /// `POST /api/v1/deposits/{parcel}/confirm` with the session `courier`.
    pub async fn confirm(&self, courier: &str, parcel: &str) -> (u16, Value) {
        let path = format!("/api/v1/deposits/{parcel}/confirm");
        self.post(&path, courier, json!({})).await
    }

    /// `POST /api/v1/deposits/{parcel}/resize` to `size` with the session `courier`.
    pub async fn resize(&self, courier: &str, parcel: &str, size: &str) -> (u16, Value) {
        let path = format!("/api/v1/deposits/{parcel}/resize");
        self.post(&path, courier, json!({"size": size})).await
    }

    /// `POST /api/v1/deposits/{parcel}/cancel` with the session `courier`.
    pub async fn cancel(&self, courier: &str, parcel: &str) -> (u16, Value) {
        let path = format!("/api/v1/deposits/{parcel}/cancel");
        self.post(&path, courier, json!({})).await
    }

    /// A recipient types `code` at the kiosk: `POST /api/v1/pickup` with the kiosk token.
    pub async fn enter_code(&self, code: &str) -> (u16, Value) {
        self.post("/api/v1/pickup", &self.kiosk, json!({"code": code}))
            .await
    }

    /// Deposits, closes the door and confirms; returns (parcel id, compartment, pickup code).
    pub async fn deposit_stored(
        &self,
        courier: &str,
        tracking_id: &str,
        size: &str,
    ) -> (String, String, String) {
        let (status, body) = self.deposit(courier, tracking_id, size).await;
        assert_eq!(status, 201, "{body}");
        let parcel = body["parcel_id"].as_str().unwrap().to_owned();
        let compartment = body["compartment"]["id"].as_str().unwrap().to_owned();
        self.door(&compartment, false).await;
        let code = self.confirm_once_closed(courier, &parcel).await;
        (parcel, compartment, code)
    }

    /// Waits until the deposit `parcel`'s door is seen closed, confirms it; returns its pickup
    /// code.
    pub async fn confirm_once_closed(&self, courier: &str, parcel: &str) -> String {
        self.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
            .await;
        let (status, body) = self.confirm(courier, parcel).await;
        assert_eq!(status, 200, "{body}");
        self.code_of(parcel).await
    }

    /// The latest pickup code the event feed published for `parcel`.
    pub async fn code_of(&self, parcel: &str) -> String {
        self.events()
            .await
            .iter()
            .rev()
            .find(|e| e["data"]["parcel_id"] == parcel && e["data"]["pickup_code"].is_string())
            .map(|e| e["data"]["pickup_code"].as_str().unwrap().to_owned())
            .expect("a published pickup code")
    }

    /// Every event of the sync feed, in order.
    pub async fn events(&self) -> Vec<Value> {
        let (status, feed) = self
            .get("/api/v1/sync/events?after=0&limit=1000", &self.sync)
            .await;
        assert_eq!(status, 200, "{feed}");
        feed["events"].as_array().expect("events").clone()
    }

    /// Every event type in the feed, in order.
    pub async fn event_types(&self) -> Vec<String> {
        self.events()
            .await
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// The courier's current TOTP on the test clock.
pub fn totp_now(secret_base32: &str, clock: &ManualClock) -> String {
    use lockerd::locker::Clock;
    let secret = totp_rs::Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .expect("base32");
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 0, 30, secret, None, "t".into())
        .expect("totp");
    totp.generate(clock.now().0 as u64 / 1000)
}
