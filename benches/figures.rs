//! The figures issue 8 asks for, measured end to end and printed as one Markdown table (the one
//! the README shows):
//! - `pickup`: pickup request → latch energized, on the simulated bus and on a Modbus TCP board
//!   on loopback, median / p99 / p99.9 over `--pickups` (10,000) pickups each;
//! - `history`: the same on the simulated bus with 1,000, 100,000 and 1,000,000 past parcels in
//!   the database (`--history-pickups`, 2,000 each), which must stay flat;
//! - `deposit`: deposit request → latch energized while a wall of 500 compartments fills;
//! - `process`: the release binary: size, start to `READY=1`, RSS and CPU idle with 200 doors
//!   polled every 250 ms, `GET /api/v1/compartments` under 1, 8 and 64 wrk clients and the RSS
//!   under that load, the RSS with 1,000 idle connections;
//! - `assign`: the criterion medians of `benches/assign.rs`, if `cargo bench --bench assign` ran;
//! - `streams`: with `--streams` (2,000) kiosk live feeds open, a disable+enable over HTTP and
//!   `GET /api/v1/compartments` under wrk, on this build and, with `--before PATH`, another one.
//!
//! `cargo bench --bench figures -- [SECTION...] [--pickups N] [--history-pickups N]
//! [--idle-seconds N] [--streams N] [--before PATH]`; `benches/run.sh` runs criterion and then
//! this. Speed is measured here, never asserted in tests.

#[path = "common/api.rs"]
mod api;
#[path = "figures/history.rs"]
mod history;
#[path = "figures/process.rs"]
mod process;
#[path = "common/report.rs"]
mod report;
#[path = "figures/rig.rs"]
mod rig;
#[path = "figures/sections.rs"]
mod sections;
#[path = "figures/streams.rs"]
mod streams;

use anyhow::{Context, bail};

/// What the command line asks for.
pub struct Args {
    sections: Vec<String>,
    pub pickups: usize,
    pub history_pickups: usize,
    pub idle_seconds: u64,
    pub streams: usize,
    /// Another build of lockerd for the `streams` section to measure first.
    pub before: Option<std::path::PathBuf>,
}

const SECTIONS: [&str; 6] = [
    "pickup", "history", "deposit", "process", "assign", "streams",
];

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        sections: vec![],
        pickups: 10_000,
        history_pickups: 2_000,
        idle_seconds: 60,
        streams: 2_000,
        before: None,
    };
    let mut argv = std::env::args().skip(1);
    let number = |flag: &str, value: Option<String>| -> anyhow::Result<u64> {
        value
            .with_context(|| format!("{flag} needs a number"))?
            .parse()
            .with_context(|| format!("{flag} needs a number"))
    };
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            "--pickups" => args.pickups = number(&arg, argv.next())? as usize,
            "--history-pickups" => args.history_pickups = number(&arg, argv.next())? as usize,
            "--idle-seconds" => args.idle_seconds = number(&arg, argv.next())?,
            "--streams" => args.streams = number(&arg, argv.next())? as usize,
            "--before" => args.before = Some(argv.next().context("--before needs a path")?.into()),
            name if SECTIONS.contains(&name) => args.sections.push(name.to_owned()),
            other => bail!("unknown argument {other:?}: sections are {SECTIONS:?}"),
        }
    }
    if args.sections.is_empty() {
        args.sections = SECTIONS.iter().map(|s| s.to_string()).collect();
    }
    Ok(args)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    report::log_to_stderr();
    let args = args()?;
    let started = std::time::Instant::now();
    let mut rows = vec![];
    for section in &args.sections {
        eprintln!("== {section}");
        let found = match section.as_str() {
            "pickup" => sections::pickup(&args).await,
            "history" => sections::history(&args).await,
            "deposit" => sections::deposit().await,
            "process" => sections::process(&args).await,
            "streams" => sections::streams(&args).await,
            _ => sections::assign(),
        };
        rows.extend(found.with_context(|| format!("the {section} section"))?);
    }
    println!();
    println!("| measurement | figure | conditions |");
    println!("|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} |",
            row.measurement, row.figure, row.conditions
        );
    }
    println!();
    println!("(wall time {:.0} s)", started.elapsed().as_secs_f64());
    Ok(())
}
