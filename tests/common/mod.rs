//! A real daemon on a simulated locker, driven over HTTP, for the end-to-end tests.
//!
//! Each test gets its own state directory and port, a `ManualClock` (lockouts, grace periods
//! and expiry are tested by moving time, not by sleeping), and short latch timings so a jammed
//! latch gives up quickly. Waiting for the hardware is done by polling the API for the state a
//! user would see, with a deadline, never by fixed sleeps.

#![allow(dead_code)]

use lockerd::config::Config;
use lockerd::daemon::{self, Options, Running};
use lockerd::locker::{ManualClock, Principal, Role};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

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

/// A running daemon plus the tokens and clock a test needs.
pub struct Harness {
    pub dir: Arc<tempfile::TempDir>,
    pub running: Option<Running>,
    pub clock: ManualClock,
    pub base: String,
    pub http: reqwest::Client,
    pub operator: String,
    pub kiosk: String,
    pub sync: String,
    extra_policy: String,
}

impl Harness {
    pub async fn start() -> Harness {
        Self::start_with("").await
    }

    /// Starts with extra `[policy]` lines.
    pub async fn start_with(extra_policy: &str) -> Harness {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        let clock = ManualClock::new();
        let running = launch(&dir, &clock, extra_policy).await;
        let admin = Principal {
            role: Role::Operator,
            name: "test".into(),
            courier: None,
        };
        let mut tokens = vec![];
        for (role, name) in [
            (Role::Operator, "ops"),
            (Role::Kiosk, "kiosk"),
            (Role::Sync, "cloud"),
        ] {
            tokens.push(
                running
                    .locker
                    .create_token(role, name, &admin)
                    .await
                    .expect("token"),
            );
        }
        let [operator, kiosk, sync] = tokens.try_into().expect("three tokens");
        Harness {
            base: format!("http://{}", running.addr),
            running: Some(running),
            dir,
            clock,
            http: reqwest::Client::new(),
            operator,
            kiosk,
            sync,
            extra_policy: extra_policy.to_owned(),
        }
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("daemon running")
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

    /// Stops the daemon gracefully and starts a new one over the same state directory (new
    /// simulated hardware: every door closed).
    pub async fn restart(&mut self) {
        let running = self.running.take().expect("running");
        running.stop().await.expect("clean stop");
        self.relaunch().await;
    }

    /// Kills every task of the daemon at once, as a crash or power cut would (no draining, no
    /// all-off), and starts a new one over the same state directory.
    pub async fn crash_and_restart(&mut self) {
        self.running.take().expect("running").crash();
        self.relaunch().await;
    }

    async fn relaunch(&mut self) {
        let running = launch(&self.dir, &self.clock, &self.extra_policy).await;
        self.base = format!("http://{}", running.addr);
        self.running = Some(running);
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method.parse().expect("method"), url);
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

    /// Polls `GET path` until `field` equals `want`; panics with the last answer after 5 s.
    pub async fn wait_for(&self, path: &str, field: &str, want: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let (_, body) = self.get(path, &self.operator).await;
            if body[field] == want {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
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

    /// Deposits, closes the door and confirms; returns (parcel id, compartment, pickup code).
    pub async fn deposit_stored(
        &self,
        courier: &str,
        tracking_id: &str,
        size: &str,
    ) -> (String, String, String) {
        let (status, body) = self
            .post(
                "/api/v1/deposits",
                courier,
                json!({"tracking_id": tracking_id, "size": size}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let parcel = body["parcel_id"].as_str().unwrap().to_owned();
        let compartment = body["compartment"]["id"].as_str().unwrap().to_owned();
        self.door(&compartment, false).await;
        self.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
            .await;
        let (status, body) = self
            .post(
                &format!("/api/v1/deposits/{parcel}/confirm"),
                courier,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let code = self.code_of(&parcel).await;
        (parcel, compartment, code)
    }

    /// The latest pickup code the event feed published for `parcel`.
    pub async fn code_of(&self, parcel: &str) -> String {
        let (status, feed) = self
            .get("/api/v1/sync/events?after=0&limit=1000", &self.sync)
            .await;
        assert_eq!(status, 200, "{feed}");
        feed["events"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|e| e["data"]["parcel_id"] == parcel && e["data"]["pickup_code"].is_string())
            .map(|e| e["data"]["pickup_code"].as_str().unwrap().to_owned())
            .expect("a published pickup code")
    }

    /// Every event type in the feed, in order.
    pub async fn event_types(&self) -> Vec<String> {
        let (_, feed) = self
            .get("/api/v1/sync/events?after=0&limit=1000", &self.sync)
            .await;
        feed["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    }
}

async fn launch(dir: &tempfile::TempDir, clock: &ManualClock, extra_policy: &str) -> Running {
    let text = config_text(&dir.path().join("state"), extra_policy);
    let config =
        Config::parse(&text, &dir.path().join("lockerd.toml")).expect("test config is valid");
    let options = Options {
        clock: Arc::new(clock.clone()),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        drain: std::time::Duration::from_millis(500),
    };
    daemon::start(config, options).await.expect("daemon starts")
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
