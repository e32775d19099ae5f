//! A daemon started in-process on emulated relay boards with spring doors, driven over its
//! HTTP API as a courier and a recipient would: deposits (the door springs open when its latch
//! is energized, the bench closes it by setting its input, as a hand would) and timed pickups.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use lockerd::config::Config;
use lockerd::daemon::{self, Options, Running};
use lockerd::locker::{Clock, Principal, Role, SystemClock};
use lockerd_hal::modbus::emulator::{Board, Logged, Request};
use serde_json::{Value, json};
use tokio::time::{Instant, sleep};

use crate::line::{self, Line, Transport};

/// Compartments A1..A8: unit 1, coils 0..7, door inputs 0..7 (input on = door open).
pub const COMPARTMENTS: u16 = 8;
const UNIT: u8 = 1;
/// How long any awaited state may take before the bench gives up.
const DEADLINE: Duration = Duration::from_secs(10);

fn config_text(state_dir: &Path, transport: Transport, bus: &str) -> String {
    let mut text = format!(
        r#"
[locker]
name = "pickup-latency-bench"
state_dir = "{}"

[api]
listen = "127.0.0.1:0"

[policy]
code_length = 6
keypad_max_failures = 1000
courier_session = "24h"

[latch]
pulse = "50ms"
max_pulse = "200ms"
cooldown = "100ms"
open_timeout = "2s"
retries = 1
door_left_open = "60s"

[[bus]]
name = "board"
profile = "generic"
timeout = "300ms"
poll = "{poll}ms"
{bus}"#,
        state_dir.display(),
        poll = transport.poll().as_millis(),
    );
    for coil in 0..COMPARTMENTS {
        text.push_str(&format!(
            "\n[[compartment]]\nid = \"{}\"\nsize = \"S\"\naccessible = false\n\
             latch = {{ bus = \"board\", unit = {UNIT}, coil = {coil} }}\n\
             door = {{ bus = \"board\", unit = {UNIT}, input = {coil}, open_when = true }}\n",
            compartment(coil)
        ));
    }
    text
}

fn compartment(coil: u16) -> String {
    format!("A{}", coil + 1)
}

fn coil_of(compartment: &str) -> anyhow::Result<u16> {
    (0..COMPARTMENTS)
        .find(|&coil| self::compartment(coil) == compartment)
        .with_context(|| format!("{compartment} is not a bench compartment"))
}

/// A parcel waiting in a compartment.
pub struct Stored {
    parcel: String,
    coil: u16,
    code: String,
    /// When its latch was last energized (the deposit).
    pulsed_at: Instant,
}

/// One timed pickup.
pub struct Sample {
    /// From just before the HTTP request left to the boards' receipt of the FC05 on.
    pub latency: Duration,
    /// Since the previous pulse of the same latch.
    pub rested: Duration,
    /// Door polls the boards received between the request and the latch write.
    pub polls_before: usize,
}

/// A daemon on emulated boards, with the tokens and the courier session the bench uses.
pub struct Bench {
    board: Board,
    running: Option<Running>,
    http: reqwest::Client,
    base: String,
    operator: String,
    kiosk: String,
    sync: String,
    courier: String,
    /// The sync feed's last event already read.
    feed_seq: u64,
    /// The door polling period of the bus.
    poll: Duration,
    _line: Line,
    _dir: tempfile::TempDir,
}

impl Bench {
    pub async fn start(transport: Transport) -> anyhow::Result<Bench> {
        let board = Board::new(&[UNIT]);
        for coil in 0..COMPARTMENTS {
            board.spring_door(UNIT, coil, coil, true);
        }
        let (bus, line) = line::serve(transport, &board).await?;
        let dir = tempfile::tempdir()?;
        let text = config_text(&dir.path().join("state"), transport, &bus);
        let config = Config::parse(&text, &dir.path().join("lockerd.toml"))
            .map_err(|e| anyhow::anyhow!("bench config: {e}"))?;
        let options = Options {
            listen: Some("127.0.0.1:0".parse()?),
            ..Options::default()
        };
        let running = daemon::start(config, options).await?;
        let admin = Principal {
            role: Role::Operator,
            name: "bench".into(),
            courier: None,
        };
        let mut tokens = vec![];
        for (role, name) in [
            (Role::Operator, "ops"),
            (Role::Kiosk, "kiosk"),
            (Role::Sync, "cloud"),
        ] {
            tokens.push(running.locker.create_token(role, name, &admin).await?);
        }
        let [operator, kiosk, sync] = tokens.try_into().expect("three tokens");
        let mut bench = Bench {
            board,
            base: format!("http://{}", running.addr),
            running: Some(running),
            http: reqwest::Client::new(),
            operator,
            kiosk,
            sync,
            courier: String::new(),
            feed_seq: 0,
            poll: transport.poll(),
            _line: line,
            _dir: dir,
        };
        bench.courier = bench.courier_session("bench-courier").await?;
        Ok(bench)
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        let running = self.running.take().expect("running");
        running.stop().await
    }

    async fn request(
        &self,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}{path}", self.base);
        let req = match body {
            Some(body) => self.http.post(url).json(&body),
            None => self.http.get(url),
        };
        let resp = req.bearer_auth(token).send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// POSTs `body` and fails unless the answer is `want`.
    async fn post(&self, path: &str, token: &str, body: Value, want: u16) -> anyhow::Result<Value> {
        let (status, answer) = self.request(path, token, Some(body)).await?;
        ensure!(status == want, "POST {path}: {status} {answer}");
        Ok(answer)
    }

    async fn courier_session(&self, name: &str) -> anyhow::Result<String> {
        let courier = self
            .post(
                "/api/v1/couriers",
                &self.operator,
                json!({"name": name}),
                201,
            )
            .await?;
        let secret = courier["totp_secret"].as_str().context("totp secret")?;
        let secret = totp_rs::Secret::Encoded(secret.to_owned())
            .to_bytes()
            .map_err(|e| anyhow::anyhow!("totp secret: {e:?}"))?;
        let totp = totp_rs::TOTP::new(
            totp_rs::Algorithm::SHA1,
            6,
            0,
            30,
            secret,
            None,
            name.into(),
        )?;
        let code = totp.generate(SystemClock.now().0 as u64 / 1000);
        let body = json!({"courier": name, "code": code});
        let session = self
            .post("/api/v1/courier/login", &self.kiosk, body, 200)
            .await?;
        Ok(session["token"]
            .as_str()
            .context("session token")?
            .to_owned())
    }

    /// Polls the parcel until its state is `want`.
    async fn wait_parcel(&self, parcel: &str, want: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + DEADLINE;
        let path = format!("/api/v1/parcels/{parcel}");
        loop {
            let (_, body) = self.request(&path, &self.operator, None).await?;
            if body["state"] == want {
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "{parcel} never became {want}: {body}"
            );
            sleep(Duration::from_millis(2)).await;
        }
    }

    /// Waits until every latch is off, so no pulse holds the bus.
    async fn wait_latches_off(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + DEADLINE;
        while (0..COMPARTMENTS).any(|coil| self.board.coil(UNIT, coil)) {
            ensure!(Instant::now() < deadline, "a latch stayed energized");
            sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }

    /// The pickup code the feed published for `parcel`, reading only events not read yet.
    async fn code_of(&mut self, parcel: &str) -> anyhow::Result<String> {
        let path = format!("/api/v1/sync/events?after={}&limit=1000", self.feed_seq);
        let (status, feed) = self.request(&path, &self.sync, None).await?;
        ensure!(status == 200, "GET {path}: {status} {feed}");
        let events = feed["events"].as_array().context("events")?;
        let code = events
            .iter()
            .rev()
            .find(|e| e["data"]["parcel_id"] == parcel && e["data"]["pickup_code"].is_string())
            .and_then(|e| e["data"]["pickup_code"].as_str())
            .with_context(|| format!("no pickup code for {parcel} in {feed}"))?
            .to_owned();
        self.feed_seq = feed["last_seq"].as_u64().unwrap_or(self.feed_seq);
        Ok(code)
    }

    /// Deposits a parcel: its door springs open, is closed by hand, and the deposit confirmed.
    pub async fn deposit(&mut self, n: usize) -> anyhow::Result<Stored> {
        self.wait_latches_off().await?;
        let sent = Instant::now();
        let body = json!({"tracking_id": format!("BENCH-{n}"), "size": "S"});
        let opened = self
            .post("/api/v1/deposits", &self.courier, body, 201)
            .await?;
        let parcel = opened["parcel_id"]
            .as_str()
            .context("parcel id")?
            .to_owned();
        let coil = coil_of(
            opened["compartment"]["id"]
                .as_str()
                .context("compartment")?,
        )?;
        let pulsed_at = latch_on(&self.board.log(), coil, sent)?.at;
        self.board.set_input(UNIT, coil, false);
        self.wait_parcel(&parcel, "closed").await?;
        let confirm = format!("/api/v1/deposits/{parcel}/confirm");
        self.post(&confirm, &self.courier, json!({}), 200).await?;
        let code = self.code_of(&parcel).await?;
        Ok(Stored {
            parcel,
            coil,
            code,
            pulsed_at,
        })
    }

    /// Picks `stored` up, timing the request to its latch's FC05 on; then closes the door.
    pub async fn timed_pickup(&self, stored: &Stored) -> anyhow::Result<Sample> {
        self.wait_latches_off().await?;
        // The step before ended on a door poll (the closed door it waited for); a recipient
        // comes at any point of the polling cycle, and whether a poll holds the bus when the
        // request arrives is part of the figure.
        sleep(self.poll.mul_f64(rand::random::<f64>())).await;
        self.board.clear_log();
        let t0 = Instant::now();
        let body = json!({"code": stored.code});
        let opened = self.post("/api/v1/pickup", &self.kiosk, body, 200).await?;
        let log = self.board.log();
        let on = latch_on(&log, stored.coil, t0)?;
        let opened_coil = coil_of(
            opened["compartment"]["id"]
                .as_str()
                .context("compartment")?,
        )?;
        ensure!(opened_coil == stored.coil, "the pickup opened {opened}");
        let polls_before = log
            .iter()
            .filter(|l| l.at >= t0 && l.at < on.at && l.function() == 0x02)
            .count();
        let sample = Sample {
            latency: on.at - t0,
            rested: on.at - stored.pulsed_at,
            polls_before,
        };
        self.board.set_input(UNIT, stored.coil, false);
        self.wait_parcel(&stored.parcel, "collected").await?;
        Ok(sample)
    }
}

/// The first FC05 on to `coil` the boards received at or after `after`.
fn latch_on(log: &[Logged], coil: u16, after: Instant) -> anyhow::Result<&Logged> {
    let on = Request::WriteSingleCoil(coil, true);
    log.iter()
        .find(|l| l.at >= after && l.unit == UNIT && l.request == on)
        .with_context(|| format!("the boards never received FC05 on to coil {coil}"))
}
