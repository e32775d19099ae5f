//! A daemon started in-process on emulated boards with spring doors (relay boards, or Kerong
//! lock-control boards: `crate::boards`), driven over its HTTP API as a courier and a recipient
//! would: deposits (the door springs open when its latch is energized or its lock released, the
//! bench closes it as a hand would) and timed pickups.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use lockerd::config::Config;
use lockerd::daemon::{self, Options, Running};
use tokio::time::{Instant, sleep};

use crate::api::Api;
use crate::boards::Boards;
use crate::line::{self, Line, Transport};

/// Compartments A1..A8: Modbus unit 1, coils 0..7, door inputs 0..7 (input on = door open), or
/// locks on the three boards of a Kerong chain.
pub const COMPARTMENTS: u16 = 8;
/// How long any awaited state may take before the bench gives up.
const DEADLINE: Duration = Duration::from_secs(10);

fn config_text(state_dir: &Path, boards: &Boards, poll: Duration, bus: &str) -> String {
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
# One bench courier fills the whole wall, round after round.
courier_opens = 1000000

[latch]
pulse = "50ms"
max_pulse = "200ms"
cooldown = "100ms"
open_timeout = "2s"
retries = 1
door_left_open = "60s"

[[bus]]
name = "board"
timeout = "300ms"
poll = "{poll}ms"
{bus}"#,
        state_dir.display(),
        poll = poll.as_millis(),
    );
    for coil in 0..COMPARTMENTS {
        text.push_str(&format!(
            "\n[[compartment]]\nid = \"{}\"\nsize = \"S\"\naccessible = false\n{}",
            compartment(coil),
            boards.wiring("board", coil)
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
    /// When its latch command last reached the boards (the deposit).
    pulsed_at: Instant,
}

/// One timed pickup.
pub struct Sample {
    /// From just before the HTTP request left to the boards' receipt of the FC05 on (the
    /// Kerong unlock frame's last byte).
    pub latency: Duration,
    /// Since the previous pulse of the same latch.
    pub rested: Duration,
    /// Door polls the boards received between the request and the latch write.
    pub polls_before: usize,
}

/// A daemon on emulated boards, with the tokens and the courier session the bench uses.
pub struct Bench {
    pub boards: Boards,
    running: Option<Running>,
    api: Api,
    /// The door polling period of the bus.
    poll: Duration,
    _line: Line,
    _dir: tempfile::TempDir,
}

impl Bench {
    /// A daemon on `transport`'s boards, reading its doors every `poll`.
    pub async fn start(transport: Transport, poll: Duration) -> anyhow::Result<Bench> {
        let boards = transport.boards(COMPARTMENTS);
        let (bus, line) = line::serve(transport, &boards).await?;
        let dir = tempfile::tempdir()?;
        let text = config_text(&dir.path().join("state"), &boards, poll, &bus);
        let config = Config::parse(&text, &dir.path().join("lockerd.toml"))
            .map_err(|e| anyhow::anyhow!("bench config: {e}"))?;
        let options = Options {
            listen: Some("127.0.0.1:0".parse()?),
            ..Options::default()
        };
        let running = daemon::start(config, options).await?;
        Ok(Bench {
            boards,
            api: Api::new(&running).await?,
            running: Some(running),
            poll,
            _line: line,
            _dir: dir,
        })
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        let running = self.running.take().expect("running");
        running.stop().await
    }

    /// Polls the parcel until its state is `want`.
    async fn wait_parcel(&self, parcel: &str, want: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + DEADLINE;
        let path = format!("/api/v1/parcels/{parcel}");
        loop {
            let (_, body) = self.api.request(&path, &self.api.operator, None).await?;
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
        while !self.boards.latches_off(COMPARTMENTS) {
            ensure!(Instant::now() < deadline, "a latch stayed energized");
            sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }

    /// Deposits a parcel: its door springs open, is closed by hand, and the deposit confirmed.
    pub async fn deposit(&mut self, n: usize) -> anyhow::Result<Stored> {
        self.wait_latches_off().await?;
        let sent = Instant::now();
        let (parcel, compartment) = self.api.deposit(&format!("BENCH-{n}")).await?;
        let coil = coil_of(&compartment)?;
        let pulsed_at = self.boards.latch_on(coil, sent)?;
        self.boards.close(coil);
        self.wait_parcel(&parcel, "closed").await?;
        self.api.confirm(&parcel).await?;
        let code = self
            .api
            .new_codes()
            .await?
            .into_iter()
            .find_map(|(p, code)| (p == parcel).then_some(code))
            .with_context(|| format!("no pickup code for {parcel}"))?;
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
        self.boards.clear_log();
        let t0 = Instant::now();
        let opened_coil = coil_of(&self.api.pickup(&stored.code).await?)?;
        let on = self.boards.latch_on(stored.coil, t0)?;
        ensure!(
            opened_coil == stored.coil,
            "the pickup opened coil {opened_coil}"
        );
        let sample = Sample {
            latency: on - t0,
            rested: on - stored.pulsed_at,
            polls_before: self.boards.polls_between(t0, on),
        };
        self.boards.close(stored.coil);
        self.wait_parcel(&stored.parcel, "collected").await?;
        Ok(sample)
    }
}
