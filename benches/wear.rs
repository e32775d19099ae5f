//! SD-card wear: what one deposit-and-pickup cycle writes to storage, and where.
//!
//! The release binary runs as systemd runs it (`benches/figures/process.rs`) on the default
//! config's simulated locker, its state on this machine's disk. The bench drives `--cycles`
//! (50) whole cycles over HTTP, as a courier, the cloud and a recipient would: deposit, close
//! the door, confirm, read the code from the sync feed and acknowledge it, pick up, close the
//! door, see the parcel `collected`. Over those cycles it reads, for the daemon's process:
//! - `write_bytes` from `/proc/<pid>/io`: the bytes the kernel accounts to the process as sent
//!   to storage (page-cache pages it dirtied), the figure an SD card sees before the file system's
//!   own journal;
//! - every `write`/`pwrite64` and `fsync`/`fdatasync` on the state directory's files, from
//!   `strace` attached to the running daemon (Debian's strace; `benches/run.sh` installs it),
//!   summed per file: where the bytes go and how many flushes each answer costs.
//!
//! Then `--idle-seconds` (10) with no request, the same counters again: idle must write nothing.
//! Twice, with the same binary: first on a database made beforehand with 4,096-byte pages (as
//! every lockerd before `store::PAGE_SIZE` made them; an existing database keeps its page size),
//! then on a new one.
//! `cargo bench --bench wear -- [--cycles N] [--idle-seconds N]`.

#[allow(dead_code)]
#[path = "common/api.rs"]
mod api;
#[allow(dead_code)]
#[path = "figures/process.rs"]
mod process;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::json;

use api::Api;
use process::Daemon;

struct Args {
    cycles: usize,
    idle_seconds: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        cycles: 50,
        idle_seconds: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = || -> anyhow::Result<u64> { Ok(it.next().context("a number")?.parse()?) };
        match arg.as_str() {
            "--cycles" => args.cycles = number()? as usize,
            "--idle-seconds" => args.idle_seconds = number()?,
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            other => bail!("unknown argument {other:?}"),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    println!(
        "wear: {} deposit+pickup cycles each, default config (12 sim compartments)",
        args.cycles
    );
    println!("| database | write_bytes/cycle | file | writes/cycle | bytes/cycle | fsyncs/cycle |");
    println!("| --- | ---: | --- | ---: | ---: | ---: |");
    // A database made before 1 KiB pages keeps its 4 KiB ones: the same binary, both ways.
    measure(&args, Some(4096)).await?;
    measure(&args, None).await
}

/// One run of the daemon over `--cycles` cycles, then idle; `old_pages` makes its database
/// beforehand with that page size, as an earlier lockerd did.
async fn measure(args: &Args, old_pages: Option<i64>) -> anyhow::Result<()> {
    // On this machine's disk, not a tmpfs: write_bytes counts only what reaches a block device.
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(base)?;
    let dir = tempfile::tempdir_in(base)?;
    let state = dir.path().join("state");
    if let Some(size) = old_pages {
        std::fs::create_dir_all(&state)?;
        let conn = rusqlite::Connection::open(state.join("lockerd.db"))?;
        conn.pragma_update(None, "page_size", size)?;
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    }
    let port = process::free_port()?;
    let mut text = process::config(&state, port, None)?;
    // One bench courier deposits every parcel within one session.
    text = text.replace("courier_opens = 30", "courier_opens = 100000");
    ensure!(text.contains("courier_opens = 100000"), "no courier_opens");
    let config = process::write_config(dir.path(), "lockerd.toml", &text)?;
    let operator = process::operator_token(&config)?;
    let daemon = Daemon::spawn(&config)?;
    daemon.ready()?;
    let pid = daemon.pid();
    let mut api = Api::over_http(format!("http://127.0.0.1:{port}"), operator).await?;
    // One cycle first, so first-use work (the first WAL frames, the feed's first read) is not
    // counted in the steady state.
    cycle(&mut api, 0).await?;

    let tracer = Tracer::attach(pid, dir.path())?;
    let before = io(pid)?;
    for n in 1..=args.cycles {
        cycle(&mut api, n).await?;
    }
    let after = io(pid)?;
    let files = tracer.finish(&state)?;

    let idle_before = io(pid)?;
    tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
    let idle_after = io(pid)?;
    daemon.stop()?;
    let page_size: i64 = rusqlite::Connection::open(state.join("lockerd.db"))?.pragma_query_value(
        None,
        "page_size",
        |r| r.get(0),
    )?;

    let c = args.cycles as f64;
    let label = format!("{page_size}-byte pages");
    let write_bytes = format!("{:.0}", (after.write_bytes - before.write_bytes) as f64 / c);
    let syncs: u64 = files.values().map(|f| f.syncs).sum();
    let writes: u64 = files.values().map(|f| f.writes).sum();
    let bytes: u64 = files.values().map(|f| f.bytes).sum();
    println!(
        "| {label} | {write_bytes} | all | {:.1} | {:.0} | {:.1} |",
        writes as f64 / c,
        bytes as f64 / c,
        syncs as f64 / c
    );
    for (name, f) in &files {
        println!(
            "| {label} | | {name} | {:.1} | {:.0} | {:.1} |",
            f.writes as f64 / c,
            f.bytes as f64 / c,
            f.syncs as f64 / c
        );
    }
    println!(
        "| {label}, idle {} s | {} | | {} write calls (sockets) | | |",
        args.idle_seconds,
        idle_after.write_bytes - idle_before.write_bytes,
        idle_after.syscw - idle_before.syscw
    );
    Ok(())
}

/// One deposit and its pickup, each door closed once the daemon has seen it open.
async fn cycle(api: &mut Api, n: usize) -> anyhow::Result<()> {
    let (parcel, compartment) = api.deposit(&format!("WEAR-{n}")).await?;
    close_door(api, &compartment).await?;
    wait_parcel(api, &parcel, "closed").await?;
    api.confirm(&parcel).await?;
    let codes = api.new_codes().await?;
    let (_, code) = codes
        .iter()
        .find(|(p, _)| *p == parcel)
        .context("no pickup code in the feed")?;
    let opened = api.pickup(code).await?;
    ensure!(opened == compartment, "the pickup opened {opened}");
    wait_door(api, &compartment, "open").await?;
    close_door(api, &compartment).await?;
    wait_parcel(api, &parcel, "collected").await
}

async fn close_door(api: &Api, compartment: &str) -> anyhow::Result<()> {
    let path = format!("/api/v1/sim/doors/{compartment}");
    api.post(&path, &api.operator, json!({"open": false}), 204)
        .await?;
    Ok(())
}

async fn wait_parcel(api: &Api, parcel: &str, state: &str) -> anyhow::Result<()> {
    wait_field(api, &format!("/api/v1/parcels/{parcel}"), "state", state).await
}

async fn wait_door(api: &Api, compartment: &str, door: &str) -> anyhow::Result<()> {
    wait_field(
        api,
        &format!("/api/v1/compartments/{compartment}"),
        "door",
        door,
    )
    .await
}

/// Polls a GET (reads write nothing) until `field` is `want`.
async fn wait_field(api: &Api, path: &str, field: &str, want: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, answer) = api.request(path, &api.operator, None).await?;
        ensure!(status == 200, "GET {path}: {status} {answer}");
        if answer[field] == want {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "GET {path}: {field} is {} after 10 s, not {want}",
            answer[field]
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The process's I/O counters (`/proc/<pid>/io`).
struct Io {
    write_bytes: u64,
    syscw: u64,
}

fn io(pid: u32) -> anyhow::Result<Io> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/io"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
            .with_context(|| format!("no {name} in /proc/{pid}/io"))?;
        Ok(line.trim().parse()?)
    };
    Ok(Io {
        write_bytes: field("write_bytes")?,
        syscw: field("syscw")?,
    })
}

/// strace attached to every thread of the daemon, logging writes and flushes with the path of
/// each descriptor.
struct Tracer {
    child: Child,
    log: std::path::PathBuf,
}

#[derive(Default)]
struct FileIo {
    writes: u64,
    bytes: u64,
    syncs: u64,
}

impl Tracer {
    fn attach(pid: u32, dir: &Path) -> anyhow::Result<Tracer> {
        let log = dir.join("strace.log");
        let child = Command::new("strace")
            .args(["-f", "-qq", "-y", "-s", "0", "-e"])
            .arg("trace=write,pwrite64,writev,pwritev,fsync,fdatasync")
            .arg("-o")
            .arg(&log)
            .arg("-p")
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("strace (Debian package strace; benches/run.sh installs it)")?;
        // strace says nothing when it is attached: give it a moment to seize every thread.
        std::thread::sleep(Duration::from_secs(1));
        Ok(Tracer { child, log })
    }

    /// Detaches and sums the log per file under `state` (other descriptors are sockets).
    fn finish(mut self, state: &Path) -> anyhow::Result<BTreeMap<String, FileIo>> {
        let pid = libc::pid_t::try_from(self.child.id())?;
        // SAFETY: kill(2) on our own child's pid, which we have not yet reaped.
        unsafe { libc::kill(pid, libc::SIGINT) };
        self.child.wait()?;
        let text = std::fs::read_to_string(&self.log)?;
        let prefix = format!("{}/", state.display());
        let mut files = BTreeMap::<String, FileIo>::new();
        for line in text.lines() {
            // `1234  pwrite64(7</path/lockerd.db-wal>, ""..., 4120, 8192) = 4120`
            let Some((_, call)) = line.trim_start().split_once(char::is_whitespace) else {
                continue;
            };
            let call = call.trim_start();
            let Some((name, rest)) = call.split_once('(') else {
                continue;
            };
            let Some(path) = rest
                .split_once('<')
                .and_then(|(_, r)| r.split_once('>'))
                .map(|(p, _)| p)
            else {
                continue;
            };
            let Some(file) = path.strip_prefix(&prefix) else {
                continue;
            };
            let entry = files.entry(file.to_owned()).or_default();
            match name {
                "fsync" | "fdatasync" => entry.syncs += 1,
                _ => {
                    let result = rest.rsplit_once("= ").map(|(_, r)| r.trim());
                    entry.writes += 1;
                    entry.bytes += result.and_then(|r| r.parse::<u64>().ok()).unwrap_or(0);
                }
            }
        }
        ensure!(
            !files.is_empty(),
            "strace saw no write to the state directory"
        );
        Ok(files)
    }
}
