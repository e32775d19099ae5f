//! The fleet figure of issue 18: N `lockerd` daemons (the real binary, simulated lockers, the
//! crash harness's deposits and pickups as load) linked to one Mosquitto, one fleet consumer
//! (`examples/fleet_consumer`) storing and acknowledging every event. During the run the broker
//! is restarted twice and some daemons are SIGKILLed and restarted. Printed: events per second
//! end to end (stored by the consumer over the load's wall time), events lost (must be 0),
//! duplicates dropped by the consumer, and the RSS of a daemon with the link against one under
//! the same load without it.
//!
//! `cargo bench --bench mqtt_fleet -- [--daemons 50] [--seconds 60] [--kills 5]`; in a dev build
//! (quicker to build, slower to run): `cargo test --bench mqtt_fleet -- --daemons 10`.
//! A figure, never a test: nothing here asserts a speed.

#[path = "../tests/common/mqtt.rs"]
mod broker;
#[path = "../tests/common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../examples/fleet_consumer/consumer.rs"]
mod consumer;
#[allow(dead_code)]
#[path = "../tests/crash/mod.rs"]
mod crash;
#[path = "../tests/common/fleet.rs"]
mod fleet;

use broker::Broker;
use crash::run::Run;
use fleet::Fleet;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let (daemons, seconds, kills) = (
        arg("--daemons", 50),
        arg("--seconds", 60),
        arg("--kills", 5),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(&dir.path().join("broker")).await;
    let store = dir.path().join("events.jsonl");
    let consuming = Fleet::start(broker.port, store.clone()).await;

    eprintln!("starting {daemons} linked daemons and one without the link");
    let mut runs = vec![];
    for n in 0..daemons {
        let extra = format!(
            "[mqtt]\nurl = \"{}\"\nclient_id = \"lockerd-fleet-{n}\"\ntopic_prefix = \"lockerd/fleet-{n}\"\n",
            broker.url()
        );
        runs.push(Run::setup_with(2, &extra).await);
    }
    let mut unlinked = Run::setup_with(2, "").await;
    let started = Instant::now();
    for (n, run) in runs.iter_mut().enumerate() {
        run.start_load(n as u64);
    }
    unlinked.start_load(999);

    let step = Duration::from_secs(seconds) / (kills as u32 + 3);
    for k in 0..(kills + 2) {
        tokio::time::sleep(step).await;
        if k == 1 || k == kills {
            eprintln!("restarting the broker");
            broker.stop().await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            broker.restart().await;
        } else {
            let victim = (k as usize * 7) % runs.len();
            eprintln!("SIGKILL of daemon {victim}");
            runs[victim].kill_and_restart().await;
        }
    }
    tokio::time::sleep(step).await;
    let rss_on = runs[0].daemon.pid().map(rss_kib).unwrap_or(0);
    let rss_off = unlinked.daemon.pid().map(rss_kib).unwrap_or(0);
    eprintln!("draining the load");
    for run in runs.iter_mut().chain(std::iter::once(&mut unlinked)) {
        run.drain().await;
    }
    let load_time = started.elapsed();

    // Every daemon's last seq, then wait until the consumer stored them all (or give up).
    let mut last = HashMap::new();
    for (n, run) in runs.iter().enumerate() {
        let health = run.api.get_ok("/healthz", "").await;
        last.insert(
            format!("lockerd/fleet-{n}"),
            health["sync"]["last_seq"].as_i64().unwrap(),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let (stored, missing) = loop {
        let text = std::fs::read_to_string(&store).unwrap_or_default();
        let mut seen: HashMap<String, BTreeSet<i64>> = HashMap::new();
        for line in text.lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            let locker = record["locker"].as_str().unwrap().to_owned();
            seen.entry(locker)
                .or_default()
                .insert(record["event"]["seq"].as_i64().unwrap());
        }
        let missing: i64 = last
            .iter()
            .map(|(l, &n)| {
                (1..=n)
                    .filter(|s| !seen.get(l).is_some_and(|x| x.contains(s)))
                    .count() as i64
            })
            .sum();
        if missing == 0 || Instant::now() > deadline {
            break (text.lines().count(), missing);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let end_to_end = started.elapsed();
    let ledger = consuming.stop().await;
    println!("| figure | value |\n| --- | --- |");
    println!("| daemons linked | {daemons} (+1 without the link) |");
    println!(
        "| load | {:.0} s of deposits and pickups, 2 workers a daemon |",
        load_time.as_secs_f64()
    );
    println!("| broker restarts, SIGKILLs | 2, {kills} |");
    println!("| events stored by the consumer | {stored} |");
    println!(
        "| events per second, end to end | {:.0} |",
        stored as f64 / end_to_end.as_secs_f64()
    );
    println!("| events lost | {missing} |");
    println!(
        "| duplicates dropped by the consumer | {} |",
        ledger.duplicates
    );
    println!("| RSS with the link / without (KiB) | {rss_on} / {rss_off} |");
    for mut run in runs.into_iter().chain(std::iter::once(unlinked)) {
        let _ = run.daemon.stop().await;
    }
}
