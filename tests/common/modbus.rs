//! A real daemon on emulated Modbus relay boards, driven over HTTP, for the Modbus end-to-end
//! tests.
//!
//! The boards are `lockerd_hal::modbus::emulator` behind tokio-modbus's TCP server on a loopback
//! port; the daemon reaches them through a `modbus-tcp` bus named `net`, optionally beside a
//! `sim` bus. Doors move by setting the boards' discrete inputs, as reed switches would, and
//! the assertions read what the boards received. As in `common`, waiting is polling for what
//! a user would see, with a deadline; the clock of the locker is a `ManualClock`, the bus runs
//! on real time.

#![allow(dead_code)] // Each test binary uses its own part of this module.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lockerd::config::Config;
use lockerd::daemon::{self, Options, Running};
use lockerd::locker::{ManualClock, Principal, Role};
use lockerd_hal::modbus::emulator::{Board, Logged, Request, TcpServer};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::common::totp_now;

/// The Modbus bus's name in the config.
pub const BUS: &str = "net";

/// How long any awaited state may take. Generous: a bus that was down is retried with a
/// back-off that doubles while the fault lasts.
const DEADLINE: Duration = Duration::from_secs(20);

/// A compartment on the Modbus bus: latch on `unit`/`coil`, door on `unit`/`input`, with
/// `open_when = true` (input on = door open).
#[derive(Debug, Clone, Copy)]
pub struct OnBoard {
    pub id: &'static str,
    pub size: &'static str,
    pub unit: u8,
    pub coil: u16,
    pub input: u16,
}

/// What the daemon is built on.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `generic`, `waveshare` or `eletechsup`.
    pub profile: &'static str,
    pub pulse: &'static str,
    pub max_pulse: &'static str,
    /// The Modbus request timeout.
    pub timeout: &'static str,
    pub poll: Duration,
    pub modbus: Vec<OnBoard>,
    /// `(id, size)` of compartments on a `sim` bus, configured before the Modbus bus.
    pub sim: Vec<(&'static str, &'static str)>,
}

impl Layout {
    pub fn compartment(&self, id: &str) -> OnBoard {
        *self
            .modbus
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("{id} is not on the Modbus bus"))
    }

    fn config_text(&self, state_dir: &std::path::Path, address: SocketAddr) -> String {
        let mut text = format!(
            r#"
[locker]
name = "modbus-test"
state_dir = "{state_dir}"

[api]
listen = "127.0.0.1:0"

[policy]
code_length = 6

[latch]
pulse = "{pulse}"
max_pulse = "{max_pulse}"
cooldown = "30ms"
open_timeout = "5s"
retries = 1
door_left_open = "60s"
"#,
            state_dir = state_dir.display(),
            pulse = self.pulse,
            max_pulse = self.max_pulse,
        );
        if !self.sim.is_empty() {
            text.push_str("\n[[bus]]\nname = \"sim\"\ndriver = \"sim\"\npoll = \"20ms\"\n");
        }
        text.push_str(&format!(
            "\n[[bus]]\nname = \"{BUS}\"\ndriver = \"modbus-tcp\"\naddress = \"{address}\"\n\
             timeout = \"{}\"\npoll = \"{}ms\"\nprofile = \"{}\"\n",
            self.timeout,
            self.poll.as_millis(),
            self.profile
        ));
        for (id, size) in &self.sim {
            text.push_str(&format!(
                "\n[[compartment]]\nid = \"{id}\"\nsize = \"{size}\"\n\
                 latch = {{ bus = \"sim\" }}\ndoor = {{ bus = \"sim\" }}\n"
            ));
        }
        for c in &self.modbus {
            text.push_str(&format!(
                "\n[[compartment]]\nid = \"{}\"\nsize = \"{}\"\n\
                 latch = {{ bus = \"{BUS}\", unit = {}, coil = {} }}\n\
                 door = {{ bus = \"{BUS}\", unit = {}, input = {}, open_when = true }}\n",
                c.id, c.size, c.unit, c.coil, c.unit, c.input
            ));
        }
        text
    }
}

/// A running daemon on emulated boards, with the tokens a test needs.
pub struct Locker {
    pub layout: Layout,
    pub board: Board,
    /// The boards' server; `None` while a test has taken it away.
    pub server: Option<TcpServer>,
    pub addr: SocketAddr,
    pub running: Option<Running>,
    pub clock: ManualClock,
    pub base: String,
    pub http: reqwest::Client,
    pub operator: String,
    pub kiosk: String,
    pub sync: String,
    _dir: tempfile::TempDir,
}

impl Locker {
    /// Serves `board` on a loopback port and starts a daemon on it; returns once the daemon is
    /// ready (outputs driven off, doors read).
    pub async fn start(layout: Layout, board: Board) -> Locker {
        let server = TcpServer::start(board.clone()).await.expect("serve boards");
        let addr = server.addr();
        let dir = tempfile::tempdir().expect("tempdir");
        let text = layout.config_text(&dir.path().join("state"), addr);
        let config =
            Config::parse(&text, &dir.path().join("lockerd.toml")).expect("test config is valid");
        let clock = ManualClock::new();
        let options = Options {
            clock: Arc::new(clock.clone()),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            drain: Duration::from_millis(500),
        };
        let running = daemon::start(config, options).await.expect("daemon starts");
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
            let token = running.locker.create_token(role, name, &admin).await;
            tokens.push(token.expect("token"));
        }
        let [operator, kiosk, sync] = tokens.try_into().expect("three tokens");
        Locker {
            layout,
            board,
            server: Some(server),
            addr,
            base: format!("http://{}", running.addr),
            running: Some(running),
            clock,
            http: reqwest::Client::new(),
            operator,
            kiosk,
            sync,
            _dir: dir,
        }
    }

    /// Stops the daemon gracefully; fails the test if a task of it panicked.
    pub async fn stop(mut self) {
        let running = self.running.take().expect("running");
        running.stop().await.expect("clean stop, no panic");
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

    /// Polls `GET path` until `field` equals `want`.
    pub async fn wait_for(&self, path: &str, field: &str, want: &str) -> Value {
        let deadline = Instant::now() + DEADLINE;
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

    /// Polls `/healthz` until the Modbus bus shows `ok`; returns the whole answer.
    pub async fn wait_bus_ok(&self, ok: bool) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let (status, health) = self.request("GET", "/healthz", None, None).await;
            if bus_health(&health, BUS)["ok"] == ok {
                assert_eq!(status, 200, "the database works: {health}");
                return health;
            }
            assert!(
                Instant::now() < deadline,
                "bus {BUS} never became ok = {ok}: {health}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until the boards' log, from entry `from` on, satisfies `done`; returns that part.
    pub async fn wait_log(&self, from: usize, done: impl Fn(&[Logged]) -> bool) -> Vec<Logged> {
        let waited = self
            .board
            .wait_for(|log| done(log.get(from..).unwrap_or(&[])));
        let log = tokio::time::timeout(DEADLINE, waited)
            .await
            .unwrap_or_else(|_| panic!("the boards never saw it: {:#?}", self.board.requests()));
        log[from..].to_vec()
    }

    /// Moves a door on the boards, as a hand would: its input reads `open` (`open_when = true`).
    pub fn set_door(&self, compartment: &str, open: bool) {
        let c = self.layout.compartment(compartment);
        self.board.set_input(c.unit, c.input, open);
    }

    /// Waits for the first latch pulse the boards receive from log entry `from` on and opens
    /// that compartment's door, as the courier or recipient in front of it would; returns the
    /// compartment. A pulse is FC05 on then off to one coil, or an Eletechsup timed FC06.
    pub async fn hand_opens_released_door(&self, from: usize) -> &'static str {
        let log = self.wait_log(from, |log| released(log).is_some()).await;
        let (unit, coil) = released(&log).expect("a pulse");
        let c = self
            .layout
            .modbus
            .iter()
            .find(|c| (c.unit, c.coil) == (unit, coil))
            .unwrap_or_else(|| panic!("unit {unit} coil {coil} is no compartment's latch"));
        self.set_door(c.id, true);
        c.id
    }

    /// Creates a courier and logs it in at the kiosk; returns the session token.
    pub async fn courier_session(&self, name: &str) -> String {
        let (status, courier) = self
            .post("/api/v1/couriers", &self.operator, json!({"name": name}))
            .await;
        assert_eq!(status, 201, "{courier}");
        let secret = courier["totp_secret"].as_str().expect("secret");
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

    /// Deposits into a Modbus compartment: the door is opened by hand once its latch released,
    /// closed, and the deposit confirmed. Returns (parcel id, compartment, pickup code).
    pub async fn deposit_stored(
        &self,
        courier: &str,
        tracking_id: &str,
        size: &str,
    ) -> (String, String, String) {
        let from = self.board.log().len();
        let body = json!({"tracking_id": tracking_id, "size": size});
        let ((status, body), opened) = tokio::join!(
            self.post("/api/v1/deposits", courier, body),
            self.hand_opens_released_door(from)
        );
        assert_eq!(status, 201, "{body}");
        let parcel = body["parcel_id"].as_str().unwrap().to_owned();
        let compartment = body["compartment"]["id"].as_str().unwrap().to_owned();
        assert_eq!(compartment, opened, "the door opened is the one assigned");
        self.set_door(&compartment, false);
        self.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
            .await;
        let confirm = format!("/api/v1/deposits/{parcel}/confirm");
        let (status, body) = self.post(&confirm, courier, json!({})).await;
        assert_eq!(status, 200, "{body}");
        let code = self.code_of(&parcel).await;
        (parcel, compartment, code)
    }

    /// Picks up with `code` from a Modbus compartment: the door is opened by hand once its
    /// latch released, and closed; waits until the parcel is collected.
    pub async fn pickup(&self, code: &str) -> String {
        let from = self.board.log().len();
        let ((status, body), opened) = tokio::join!(
            self.post("/api/v1/pickup", &self.kiosk, json!({"code": code})),
            self.hand_opens_released_door(from)
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["compartment"]["id"], opened, "{body}");
        let parcel = body["parcel_id"].as_str().unwrap().to_owned();
        self.set_door(opened, false);
        self.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "collected")
            .await;
        parcel
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

    /// Every compartment as the API shows it.
    pub async fn compartments(&self) -> Vec<Value> {
        let (status, body) = self.get("/api/v1/compartments", &self.operator).await;
        assert_eq!(status, 200, "{body}");
        body["compartments"]
            .as_array()
            .expect("compartments")
            .clone()
    }
}

/// One bus's entry in a `/healthz` answer.
pub fn bus_health<'a>(health: &'a Value, bus: &str) -> &'a Value {
    health["buses"]
        .as_array()
        .and_then(|buses| buses.iter().find(|b| b["name"] == bus))
        .unwrap_or(&Value::Null)
}

/// The first completed latch pulse in `log`, as `(unit, coil)`.
fn released(log: &[Logged]) -> Option<(u8, u16)> {
    log.iter().enumerate().find_map(|(i, l)| match l.request {
        Request::WriteSingleCoil(coil, true) => {
            let off = Request::WriteSingleCoil(coil, false);
            log[i + 1..]
                .iter()
                .any(|later| later.unit == l.unit && later.request == off)
                .then_some((l.unit, coil))
        }
        Request::WriteSingleRegister(register, value) if value >> 8 == 0x06 => {
            Some((l.unit, register.checked_sub(1)?))
        }
        _ => None,
    })
}

/// The coil writes (FC05) in `log`, as `(unit, coil, on)`.
pub fn coil_writes(log: &[Logged]) -> Vec<(u8, u16, bool)> {
    log.iter()
        .filter_map(|l| match l.request {
            Request::WriteSingleCoil(coil, on) => Some((l.unit, coil, on)),
            _ => None,
        })
        .collect()
}
