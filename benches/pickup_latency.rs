//! Pickup latency, end to end: from the moment a pickup request is sent to the daemon's HTTP
//! API to the moment the Modbus server receives the write that energizes the compartment's
//! latch (FC05 on). The figure issue 3 asks for, over Modbus TCP on loopback and Modbus RTU at
//! 9600 baud 8N1 over a pseudo-terminal pair, beside the wire time of that FC05 frame.
//!
//! A real daemon runs in-process on the emulated relay boards (`lockerd_hal::modbus::emulator`)
//! with spring doors. Each pickup's latency is the emulator's arrival time of the FC05 on minus
//! the instant just before the HTTP request left, both on the same tokio clock.
//!
//! The compartments are kept full and emptied oldest first: after each timed pickup a new parcel
//! goes into the compartment just emptied, so the latch a pickup pulses last moved several
//! pickups earlier, well past `latch.cooldown`, and the figure never contains a cooldown wait.
//! Before each timed pickup every coil is off, so no other pulse holds the bus; the door polls
//! go on as in service, and a latch write may queue behind one.
//!
//! A plain binary (`harness = false`): `cargo bench --bench pickup_latency -- [--pickups N]
//! [tcp] [rtu] [rtu-paced]`, or `PICKUPS=N`. Speed is measured here, never asserted in tests.

#[path = "common/api.rs"]
mod api;
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

use line::{BITS_PER_CHAR, FC05_RTU_BYTES, Transport};
use locker::{Bench, COMPARTMENTS, Sample};

const DEFAULT_PICKUPS: usize = 1_000;

/// What the command line and environment ask for.
struct Args {
    pickups: usize,
    transports: Vec<Transport>,
}

fn args() -> anyhow::Result<Args> {
    let mut pickups = match std::env::var("PICKUPS") {
        Ok(n) => n.parse().context("PICKUPS must be a number")?,
        Err(_) => DEFAULT_PICKUPS,
    };
    let mut transports = vec![];
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            "--pickups" => {
                let n = argv.next().context("--pickups needs a number")?;
                pickups = n.parse().context("--pickups needs a number")?;
            }
            name => match Transport::ALL.into_iter().find(|t| t.name() == name) {
                Some(t) => transports.push(t),
                None => {
                    bail!("unknown argument {name:?}: expected --pickups N, tcp, rtu or rtu-paced")
                }
            },
        }
    }
    ensure!(pickups > 0, "at least one pickup");
    if transports.is_empty() {
        transports = Transport::ALL.to_vec();
    }
    Ok(Args {
        pickups,
        transports,
    })
}

/// Fills every compartment, then `pickups` times: picks up the oldest parcel (timed) and
/// deposits a new one into the compartment it left, while more pickups are to come.
async fn measure(transport: Transport, pickups: usize) -> anyhow::Result<Vec<Sample>> {
    let mut bench = Bench::start(transport).await?;
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
    match transport.physical_floor() {
        None => "n/a (loopback)".into(),
        Some(floor) => format!("{} ({FC05_RTU_BYTES} B x {BITS_PER_CHAR} bit)", ms(floor)),
    }
}

struct Row {
    transport: Transport,
    samples: Vec<Sample>,
    wall: Duration,
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "{:<20} {:>7} {:>10} {:>10} {:>10} {:>10}   physical floor (FC05 request on the wire)",
        "transport", "pickups", "median", "p90", "p99", "max"
    );
    for row in rows {
        let mut latencies: Vec<_> = row.samples.iter().map(|s| s.latency).collect();
        latencies.sort();
        println!(
            "{:<20} {:>7} {:>10} {:>10} {:>10} {:>10}   {}",
            row.transport.label(),
            latencies.len(),
            ms(quantile(&latencies, 0.5)),
            ms(quantile(&latencies, 0.9)),
            ms(quantile(&latencies, 0.99)),
            ms(*latencies.last().expect("samples")),
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
    print_table(&rows);
    println!("total wall time: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
