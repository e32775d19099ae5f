//! The kiosk's live feed under load: with `--streams` (2,000) `GET /api/v1/kiosk/events`
//! streams open, how long a state change takes over HTTP (`disable` then `enable` of one
//! compartment) and how many `GET /api/v1/compartments` a second the daemon answers, each also
//! with no stream open. Run on the release binary of this commit and, with `--before PATH`, on
//! another build (the commit before the shared live view) back to back in one run, so the
//! figures compare on the same machine at the same time.
//!
//! The streams are raw loopback connections in this process, each read and discarded as a
//! browser would; the daemon is a child process (`process::Daemon`) on the wall of 200 sim
//! doors of the `process` section. Its stream caps are raised above `--streams` (a build
//! without the keys gets none: it has no caps).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use futures::StreamExt as _;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::process::{self, Daemon};
use crate::report::quantile;

/// Disable+enable pairs timed in each condition.
const PAIRS: usize = 20;
/// Between two pairs, so the streams' reading of one change is mostly over before the next.
const GAP: Duration = Duration::from_secs(1);
/// wrk's clients and seconds for the list's throughput.
const WRK_CLIENTS: usize = 8;
const WRK_SECONDS: u64 = 10;
/// Streams opened at once while setting up.
const OPENING: usize = 64;

/// What one build measured, with no stream and with the streams open.
pub struct Figures {
    pub label: String,
    pub idle: Condition,
    pub loaded: Condition,
}

impl Figures {
    /// With the streams open, or with none.
    pub fn condition(&self, loaded: bool) -> &Condition {
        if loaded { &self.loaded } else { &self.idle }
    }
}

pub struct Condition {
    /// Disable+enable round trips, sorted.
    pub changes: Vec<Duration>,
    pub list_per_s: f64,
    pub list_p99: Duration,
}

/// Measures `binary` (labelled `label`) with `streams` streams.
pub async fn measure(binary: &Path, label: &str, streams: usize) -> anyhow::Result<Figures> {
    eprintln!("  {label}: {}", binary.display());
    let dir = tempfile::tempdir()?;
    let port = process::free_port()?;
    let config = config(
        dir.path(),
        port,
        binary != Path::new(process::BINARY),
        streams,
    )?;
    let token = process::operator_token_by(binary, &config)?;
    let daemon = {
        let (binary, config) = (binary.to_path_buf(), config.clone());
        blocking(move || {
            let daemon = Daemon::spawn_binary(&binary, &config)?;
            daemon.ready()?;
            Ok(daemon)
        })
        .await?
    };
    let base = format!("http://127.0.0.1:{port}");
    let idle = condition(&base, &token).await?;
    eprintln!("  {label}: opening {streams} streams");
    let open = open_streams(port, &token, streams).await?;
    let loaded = condition(&base, &token).await?;
    for stream in &open {
        ensure!(!stream.is_finished(), "a stream ended during the run");
        stream.abort();
    }
    blocking(move || daemon.stop()).await?;
    Ok(Figures {
        label: label.to_owned(),
        idle,
        loaded,
    })
}

/// The `process` section's wall of 200 sim doors, its stream caps above `streams` (left out
/// for `older`, a build that may not know the keys).
fn config(dir: &Path, port: u16, older: bool, streams: usize) -> anyhow::Result<PathBuf> {
    let text = process::config(&dir.join("state"), port, Some((200, "250ms")))?;
    let mut out = String::new();
    for line in text.lines() {
        let key = line.split('=').next().unwrap_or("").trim();
        match key {
            "max_streams" | "max_streams_per_token" if older => {}
            "max_streams" | "max_streams_per_token" => {
                out.push_str(&format!("{key} = {}\n", streams + 16));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    process::write_config(dir, "streams.toml", &out)
}

async fn condition(base: &str, token: &str) -> anyhow::Result<Condition> {
    let changes = changes(base, token).await?;
    let url = format!("{base}/api/v1/compartments");
    let token = token.to_owned();
    let load = blocking(move || process::wrk(&url, &token, WRK_CLIENTS, WRK_SECONDS)).await?;
    ensure!(load.non_2xx == 0, "{} answers were not 200", load.non_2xx);
    Ok(Condition {
        changes,
        list_per_s: load.requests_per_s,
        list_p99: load.p99,
    })
}

/// `PAIRS` times: disable compartment D001, then enable it; each pair timed as one.
async fn changes(base: &str, token: &str) -> anyhow::Result<Vec<Duration>> {
    let http = reqwest::Client::new();
    let mut samples = Vec::with_capacity(PAIRS);
    for _ in 0..PAIRS {
        let t = Instant::now();
        for (action, body) in [
            ("disable", json!({"reason": "bench"})),
            ("enable", json!({})),
        ] {
            let answer = http
                .post(format!("{base}/api/v1/compartments/D001/{action}"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await?;
            ensure!(answer.status() == 200, "{action}: {}", answer.status());
        }
        samples.push(t.elapsed());
        tokio::time::sleep(GAP).await;
    }
    samples.sort();
    Ok(samples)
}

/// Opens `count` streams, each once its first `state` event has come, and reads each from a
/// task of its own until it is aborted.
async fn open_streams(port: u16, token: &str, count: usize) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let opened: Vec<anyhow::Result<JoinHandle<()>>> = futures::stream::iter(0..count)
        .map(|_| open_stream(port, token))
        .buffer_unordered(OPENING)
        .collect()
        .await;
    opened.into_iter().collect()
}

async fn open_stream(port: u16, token: &str) -> anyhow::Result<JoinHandle<()>> {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).await?;
    let request = format!(
        "GET /api/v1/kiosk/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await?;
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    while !seen.windows(12).any(|w| w == b"event: state") {
        let n = socket.read(&mut buf).await?;
        ensure!(n > 0, "a stream closed before its first state");
        seen.extend_from_slice(&buf[..n]);
        ensure!(seen.len() < 1 << 20, "no state event in the first MiB");
    }
    ensure!(
        seen.starts_with(b"HTTP/1.1 200"),
        "a stream was refused: {}",
        String::from_utf8_lossy(&seen[..seen.len().min(200)])
    );
    Ok(tokio::spawn(async move {
        while let Ok(n) = socket.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    }))
}

/// 2,000 streams need as many sockets on each side; the daemon inherits the limit.
pub fn raise_open_files(streams: usize) -> anyhow::Result<()> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the struct passed, nothing else.
    unsafe {
        ensure!(
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0,
            "getrlimit"
        );
        limit.rlim_cur = limit.rlim_max;
        ensure!(
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0,
            "setrlimit"
        );
    }
    let need = (streams + 256) as libc::rlim_t;
    ensure!(
        limit.rlim_cur >= need,
        "open files are limited to {} (hard), {need} needed",
        limit.rlim_cur
    );
    Ok(())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .context("a blocking step panicked")?
}

/// Each build's disable+enable round trips, and before's median over after's when both ran.
pub fn change_figure(runs: &[Figures], loaded: bool) -> String {
    let pick = |f: &Figures| f.condition(loaded).changes.clone();
    let median = |f: &Figures| quantile(&pick(f), 0.5);
    let each: Vec<String> = runs
        .iter()
        .map(|f| {
            let max = *pick(f).last().expect("samples");
            format!("{}: median {} · max {}", f.label, ms(median(f)), ms(max))
        })
        .collect();
    let mut text = each.join("; ");
    if let [before, after] = runs {
        let ratio = median(before).as_secs_f64() / median(after).as_secs_f64();
        text.push_str(&format!(" (median ÷ {ratio:.1})"));
    }
    text
}

/// Each build's `GET /api/v1/compartments` rate, and after's over before's when both ran.
pub fn list_figure(runs: &[Figures], loaded: bool) -> String {
    let pick = |f: &Figures| f.condition(loaded).list_per_s;
    let each: Vec<String> = runs
        .iter()
        .map(|f| {
            let c = f.condition(loaded);
            format!(
                "{}: {:.0} req/s · p99 {}",
                f.label,
                c.list_per_s,
                ms(c.list_p99)
            )
        })
        .collect();
    let mut text = each.join("; ");
    if let [before, after] = runs {
        let ratio = pick(after) / pick(before);
        text.push_str(&format!(" (× {ratio:.1})"));
    }
    text
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
