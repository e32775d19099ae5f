//! Pickup latency, end to end: from the moment a pickup request is sent to the daemon's HTTP
//! API to the moment the boards receive the command that opens the compartment: the Modbus
//! write that energizes its latch (FC05 on), or the Kerong KR-CU16 unlock frame. The figures
//! issues 3 and 17 ask for, over Modbus TCP on loopback, Modbus RTU at 9600 baud 8N1 over a
//! pseudo-terminal pair, and a Kerong chain at 19200 baud over one, beside the wire time of
//! that command frame. `polls` measures instead how many status reads a second each board of
//! an idle Kerong chain gets, at a few poll periods.
//!
//! A real daemon runs in-process on emulated boards (`lockerd_hal::modbus::emulator`, or
//! `lockerd_hal::kerong::emulator`) with spring doors. Each pickup's latency is the emulator's
//! arrival time of the command minus the instant just before the HTTP request left, both on the
//! same tokio clock.
//!
//! The compartments are kept full and emptied oldest first: after each timed pickup a new parcel
//! goes into the compartment just emptied, so the latch a pickup pulses last moved several
//! pickups earlier, well past `latch.cooldown`, and the figure never contains a cooldown wait.
//! Before each timed pickup every coil is off, so no other pulse holds the bus; the door polls
//! go on as in service, and a latch write may queue behind one.
//!
//! A plain binary (`harness = false`): `cargo bench --bench pickup_latency -- [--pickups N]
//! [tcp] [rtu] [rtu-paced] [kerong-paced] [polls]`, or `PICKUPS=N`. Speed is measured here,
//! never asserted in tests.

#[path = "common/api.rs"]
mod api;
#[path = "pickup_latency/boards.rs"]
mod boards;
#[path = "pickup_latency/line.rs"]
mod line;
#[path = "pickup_latency/locker.rs"]
mod locker;
#[path = "common/report.rs"]
mod report;

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::{Context, bail, ensure};

use report::quantile;

use boards::{KERONG_BAUD, KERONG_BOARDS};
use line::{BITS_PER_CHAR, Transport, char_time_at};
use locker::{Bench, COMPARTMENTS, Sample};

const DEFAULT_PICKUPS: usize = 1_000;

/// What the command line and environment ask for.
struct Args {
    pickups: usize,
    transports: Vec<Transport>,
    /// Measure the Kerong status polls a board gets a second.
    polls: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut pickups = match std::env::var("PICKUPS") {
        Ok(n) => n.parse().context("PICKUPS must be a number")?,
        Err(_) => DEFAULT_PICKUPS,
    };
    let mut transports = vec![];
    let mut polls = false;
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            "polls" => polls = true,
            "--pickups" => {
                let n = argv.next().context("--pickups needs a number")?;
                pickups = n.parse().context("--pickups needs a number")?;
            }
            name => match Transport::ALL.into_iter().find(|t| t.name() == name) {
                Some(t) => transports.push(t),
                None => {
                    bail!(
                        "unknown argument {name:?}: expected --pickups N, tcp, rtu, rtu-paced, \
                         kerong-paced or polls"
                    )
                }
            },
        }
    }
    ensure!(pickups > 0, "at least one pickup");
    if transports.is_empty() && !polls {
        transports = Transport::ALL.to_vec();
        polls = true;
    }
    Ok(Args {
        pickups,
        transports,
        polls,
    })
}

/// Fills every compartment, then `pickups` times: picks up the oldest parcel (timed) and
/// deposits a new one into the compartment it left, while more pickups are to come.
async fn measure(transport: Transport, pickups: usize) -> anyhow::Result<Vec<Sample>> {
    let mut bench = Bench::start(transport, transport.poll()).await?;
    let mut waiting = VecDeque::new();
    let mut deposited = 0;
    while deposited < pickups.min(usize::from(COMPARTMENTS)) {
        waiting.push_back(bench.deposit(deposited).await?);
        deposited += 1;
    }
    let mut samples = Vec::with_capacity(pickups);
    for done in 1..=pickups {
        let stored = waiting.pop_front().context("a parcel waiting")?;
        samples.push(bench.timed_pickup(&stored).await?);
        if deposited < pickups {
            waiting.push_back(bench.deposit(deposited).await?);
            deposited += 1;
        }
        if done % 100 == 0 {
            eprintln!("{}: {done}/{pickups} pickups", transport.name());
        }
    }
    bench.stop().await?;
    Ok(samples)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn floor(transport: Transport) -> String {
    match (transport.physical_floor(), transport.frame()) {
        (Some(floor), Some((bytes, baud))) => {
            format!("{} ({bytes} B x {BITS_PER_CHAR} bit / {baud})", ms(floor))
        }
        _ => "n/a (loopback)".into(),
    }
}

/// `d` as a multiple of the transport's wire-time floor: `x 4.2`, or empty on loopback.
fn ratio(transport: Transport, d: Duration) -> String {
    transport
        .physical_floor()
        .map(|floor| format!("x {:.1}", d.as_secs_f64() / floor.as_secs_f64()))
        .unwrap_or_default()
}

struct Row {
    transport: Transport,
    samples: Vec<Sample>,
    wall: Duration,
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "{:<20} {:>7} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8}   physical floor (the command \
         on the wire)",
        "transport", "pickups", "median", "p90", "p99", "max", "med/fl", "p99/fl"
    );
    for row in rows {
        let mut latencies: Vec<_> = row.samples.iter().map(|s| s.latency).collect();
        latencies.sort();
        let (median, p99) = (quantile(&latencies, 0.5), quantile(&latencies, 0.99));
        println!(
            "{:<20} {:>7} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8}   {}",
            row.transport.label(),
            latencies.len(),
            ms(median),
            ms(quantile(&latencies, 0.9)),
            ms(p99),
            ms(*latencies.last().expect("samples")),
            ratio(row.transport, median),
            ratio(row.transport, p99),
            floor(row.transport),
        );
    }
    println!();
    for row in rows {
        let behind_poll = row.samples.iter().filter(|s| s.polls_before > 0).count();
        let rested = row.samples.iter().map(|s| s.rested).min().expect("samples");
        println!(
            "{}: wall {:.1} s; a door poll reached the boards between request and latch write \
             in {behind_poll} of {} pickups; shortest time since the latch's previous pulse {}",
            row.transport.name(),
            row.wall.as_secs_f64(),
            row.samples.len(),
            ms(rested),
        );
    }
}

/// Poll periods `polls` measures: the 48-door example's, the bench's, and one the line cannot
/// keep up with (the reads then follow each other as fast as the line carries them).
const POLL_PERIODS_MS: [u64; 3] = [250, 50, 1];
const POLL_WINDOW: Duration = Duration::from_secs(10);

/// An idle daemon on the Kerong chain (three boards, eight doors with sensors on none) at each
/// poll period: the status reads each board received over `POLL_WINDOW`, a second.
async fn polls() -> anyhow::Result<()> {
    // One read is 5 bytes out and 9 back: the most a line can carry, shared by the boards.
    let read = char_time_at(KERONG_BAUD) * (5 + 9);
    let ceiling = 1.0 / read.as_secs_f64() / KERONG_BOARDS.len() as f64;
    println!();
    println!(
        "kerong 19200 paced, {} boards: status reads per board per second, over {} s idle \
         (the line's ceiling {ceiling:.1}: one read = 14 B = {})",
        KERONG_BOARDS.len(),
        POLL_WINDOW.as_secs(),
        ms(read)
    );
    for poll in POLL_PERIODS_MS.map(Duration::from_millis) {
        let bench = Bench::start(Transport::KerongPaced, poll).await?;
        // Past the start-up reads.
        tokio::time::sleep(Duration::from_secs(1)).await;
        bench.boards.clear_log();
        tokio::time::sleep(POLL_WINDOW).await;
        let reads = bench.boards.reads_per_board();
        bench.stop().await?;
        let rates: Vec<String> = KERONG_BOARDS
            .iter()
            .map(|b| {
                let n = reads.get(b).copied().unwrap_or(0);
                format!("board {b} {:.1}", n as f64 / POLL_WINDOW.as_secs_f64())
            })
            .collect();
        let ideal = 1.0 / poll.as_secs_f64();
        println!(
            "  poll {:>4}: {} (one a poll would be {:.1}; line ceiling {ceiling:.1})",
            humantime::format_duration(poll).to_string(),
            rates.join(", "),
            ideal
        );
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> anyhow::Result<()> {
    report::log_to_stderr();
    let args = args()?;
    let started = std::time::Instant::now();
    let mut rows = vec![];
    for transport in args.transports {
        eprintln!("{}: {} pickups", transport.label(), args.pickups);
        let t = std::time::Instant::now();
        let samples = measure(transport, args.pickups)
            .await
            .with_context(|| format!("{} bench", transport.name()))?;
        rows.push(Row {
            transport,
            samples,
            wall: t.elapsed(),
        });
    }
    if !rows.is_empty() {
        print_table(&rows);
    }
    if args.polls {
        polls().await.context("polls bench")?;
    }
    println!("total wall time: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
