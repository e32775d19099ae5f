//! Each section of the figures table: what runs, and how its result reads in a row.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::Args;
use crate::history;
use crate::process::{self, Daemon};
use crate::report::quantile;
use crate::rig::{Hardware, Rig};
use crate::streams;

/// One row of the table.
pub struct Row {
    pub measurement: String,
    pub figure: String,
    pub conditions: String,
}

fn row(
    measurement: impl Into<String>,
    figure: impl Into<String>,
    conditions: impl Into<String>,
) -> Row {
    Row {
        measurement: measurement.into(),
        figure: figure.into(),
        conditions: conditions.into(),
    }
}

/// Compartments on the wall the pickup figures use.
const WALL: usize = 200;

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn latencies(mut samples: Vec<Duration>) -> String {
    samples.sort();
    format!(
        "median {} · p99 {} · p99.9 {} · max {}",
        ms(quantile(&samples, 0.5)),
        ms(quantile(&samples, 0.99)),
        ms(quantile(&samples, 0.999)),
        ms(*samples.last().expect("samples")),
    )
}

/// Timed pickups in rounds (fill the wall, then empty it) until `pickups` are measured.
async fn pickups(rig: &mut Rig, pickups: usize) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(pickups + WALL);
    while samples.len() < pickups {
        let stored = rig.fill(None).await?;
        rig.empty(stored, &mut samples).await?;
        eprintln!("  {} of {pickups} pickups", samples.len());
    }
    Ok(samples)
}

pub async fn pickup(args: &Args) -> anyhow::Result<Vec<Row>> {
    let mut rows = vec![];
    for hardware in [Hardware::Sim, Hardware::ModbusTcp] {
        let dir = tempfile::tempdir()?;
        let mut rig = Rig::start(hardware, WALL, dir.path()).await?;
        let samples = pickups(&mut rig, args.pickups).await?;
        rig.stop().await?;
        rows.push(row(
            format!("pickup → latch on, {}", hardware.label()),
            latencies(samples.clone()),
            format!(
                "{} pickups, {WALL} compartments, door poll {} ms",
                samples.len(),
                hardware.poll().as_millis()
            ),
        ));
    }
    Ok(rows)
}

pub async fn history(args: &Args) -> anyhow::Result<Vec<Row>> {
    let mut rows = vec![];
    for past in [1_000, 100_000, 1_000_000] {
        let dir = tempfile::tempdir()?;
        let state_dir = history::state_dir_with(past, dir.path())?;
        let db_size =
            std::fs::metadata(lockerd::state::StateDir::new(&state_dir).database())?.len();
        let mut rig = Rig::start(Hardware::Sim, WALL, &state_dir).await?;
        let started_in = rig.started_in;
        let samples = pickups(&mut rig, args.history_pickups).await?;
        rig.stop().await?;
        rows.push(row(
            format!("pickup → latch on, {past} past parcels"),
            latencies(samples.clone()),
            format!(
                "{} pickups, sim bus; database {:.0} MiB, in-process start {}",
                samples.len(),
                db_size as f64 / (1 << 20) as f64,
                ms(started_in)
            ),
        ));
    }
    Ok(rows)
}

pub async fn deposit() -> anyhow::Result<Vec<Row>> {
    const COMPARTMENTS: usize = 500;
    let dir = tempfile::tempdir()?;
    let mut rig = Rig::start(Hardware::Sim, COMPARTMENTS, dir.path()).await?;
    let mut samples = vec![];
    for _ in 0..2 {
        let stored = rig.fill(Some(&mut samples)).await?;
        rig.empty(stored, &mut vec![]).await?;
    }
    rig.stop().await?;
    Ok(vec![row(
        "deposit → latch on (assignment included), 500 compartments",
        latencies(samples.clone()),
        format!(
            "{} deposits filling an empty wall twice, sim bus",
            samples.len()
        ),
    )])
}

pub async fn process(args: &Args) -> anyhow::Result<Vec<Row>> {
    let binary = std::fs::metadata(process::BINARY)?.len();
    let mut rows = vec![row(
        "release binary",
        format!("{:.1} MiB", binary as f64 / (1 << 20) as f64),
        "x86_64, stripped, LTO (`[profile.release]`)",
    )];
    let dir = tempfile::tempdir()?;
    rows.extend(start_to_ready(dir.path())?);
    rows.extend(idle_and_load(dir.path(), args.idle_seconds)?);
    Ok(rows)
}

/// The default config: a first start on an empty state directory, then 20 restarts.
fn start_to_ready(dir: &Path) -> anyhow::Result<Vec<Row>> {
    let text = process::config(&dir.join("default-state"), process::free_port()?, None)?;
    let config = process::write_config(dir, "default.toml", &text)?;
    let first = process::start_to_ready(&config)?;
    let mut restarts = (0..20)
        .map(|_| process::start_to_ready(&config))
        .collect::<anyhow::Result<Vec<_>>>()?;
    restarts.sort();
    Ok(vec![
        row(
            "start → READY=1, first start",
            ms(first),
            "default config, empty state directory",
        ),
        row(
            "start → READY=1, restart",
            format!(
                "median {} · max {}",
                ms(quantile(&restarts, 0.5)),
                ms(restarts[19])
            ),
            "default config, 20 restarts on its state",
        ),
    ])
}

fn idle_and_load(dir: &Path, idle_seconds: u64) -> anyhow::Result<Vec<Row>> {
    let port = process::free_port()?;
    let text = process::config(&dir.join("wall-state"), port, Some((200, "250ms")))?;
    let config = process::write_config(dir, "wall.toml", &text)?;
    let token = process::operator_token(&config)?;
    let daemon = Daemon::spawn(&config)?;
    daemon.ready()?;
    let pid = daemon.pid();
    std::thread::sleep(Duration::from_secs(5));
    let cpu_before = process::cpu_time(pid)?;
    let t = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(idle_seconds));
    let cpu = (process::cpu_time(pid)? - cpu_before).as_secs_f64() / t.elapsed().as_secs_f64();
    let idle_rss = process::status_kib(pid, "VmRSS")?;
    let conditions = "200 sim doors, poll 250 ms, default config otherwise";
    let mut rows = vec![
        row(
            "idle CPU",
            format!("{:.2} % of one core", cpu * 100.0),
            format!("{conditions}; over {idle_seconds} s"),
        ),
        row("RSS idle", mib(idle_rss), conditions),
    ];
    let url = format!("http://127.0.0.1:{port}/api/v1/compartments");
    for (clients, label) in [(1, "1 client"), (8, "8 clients"), (64, "64 clients")] {
        let load = process::wrk(&url, &token, clients, 10)?;
        anyhow::ensure!(load.non_2xx == 0, "{} answers were not 200", load.non_2xx);
        rows.push(row(
            format!("GET /api/v1/compartments, {label}"),
            format!(
                "{:.0} req/s · p50 {} · p99 {}",
                load.requests_per_s,
                ms(load.p50),
                ms(load.p99)
            ),
            "200 compartments; wrk, 10 s, keep-alive, on the same 2 cores",
        ));
    }
    let peak = process::status_kib(pid, "VmHWM").context("peak RSS")?;
    rows.push(row(
        "RSS peak under load",
        mib(peak),
        "after the wrk runs above (VmHWM)",
    ));
    rows.push(idle_connections(pid, port)?);
    daemon.stop()?;
    Ok(rows)
}

/// RSS with 1,000 connections open that send nothing (within the 10 s the daemon gives a
/// request head), against the RSS just before.
fn idle_connections(pid: u32, port: u16) -> anyhow::Result<Row> {
    const COUNT: usize = 1_000;
    let before = process::status_kib(pid, "VmRSS")?;
    let connections = process::idle_connections(port, COUNT)?;
    // Each accepted connection's task has started reading; let the last ones get there.
    std::thread::sleep(Duration::from_millis(500));
    let with = process::status_kib(pid, "VmRSS")?;
    drop(connections);
    Ok(row(
        "RSS, 1,000 idle connections",
        format!(
            "{} ({} before; {:.1} KiB each)",
            mib(with),
            mib(before),
            with.saturating_sub(before) as f64 / COUNT as f64
        ),
        "connected, nothing sent, all accepted; after the load above",
    ))
}

/// The live feeds' section: this build, after `--before`'s if given.
pub async fn streams(args: &Args) -> anyhow::Result<Vec<Row>> {
    streams::raise_open_files(args.streams)?;
    let mut runs = vec![];
    if let Some(before) = &args.before {
        runs.push(streams::measure(before, "before", args.streams).await?);
    }
    let after = Path::new(process::BINARY);
    runs.push(streams::measure(after, "after", args.streams).await?);
    let mut conditions =
        "200 sim doors; 20 disable+enable pairs 1 s apart; wrk 8 clients, 10 s".to_owned();
    if runs.len() > 1 {
        conditions.push_str("; before: the `--before` build, after: this one, back to back");
    }
    let mut rows = vec![];
    for loaded in [false, true] {
        let label = match loaded {
            false => "no stream open".to_owned(),
            true => format!("{} live streams open", args.streams),
        };
        rows.push(row(
            format!("disable+enable over HTTP, {label}"),
            streams::change_figure(&runs, loaded),
            conditions.clone(),
        ));
        rows.push(row(
            format!("GET /api/v1/compartments, {label}"),
            streams::list_figure(&runs, loaded),
            conditions.clone(),
        ));
    }
    Ok(rows)
}

/// The criterion medians of `benches/assign.rs` from its last run.
pub fn assign() -> anyhow::Result<Vec<Row>> {
    let criterion = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .context("target directory")?
        .join("criterion/assign");
    let mut rows = vec![];
    for (bench, what) in [
        (
            "choose/500",
            "assignment rule over 500 compartments in memory",
        ),
        (
            "read_and_choose/500",
            "read 500 compartments from SQLite + the rule",
        ),
    ] {
        // Criterion names a benchmark's directory with `/` replaced by `_`.
        let path = criterion
            .join(bench.replace('/', "_"))
            .join("new/estimates.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!(
                "assign: no {} (run `cargo bench --bench assign` first)",
                path.display()
            );
            continue;
        };
        let estimates: serde_json::Value = serde_json::from_str(&text)?;
        let ns = estimates["median"]["point_estimate"]
            .as_f64()
            .context("median")?;
        rows.push(row(
            format!("deposit assignment, {bench}"),
            format!("{:.1} µs", ns / 1e3),
            format!("criterion median; {what}, 4 in 5 occupied"),
        ));
    }
    Ok(rows)
}
