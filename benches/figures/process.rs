//! The release binary as systemd runs it, measured from outside: start to `READY=1`, resident
//! memory idle, under load and with 1,000 idle connections, CPU while idle, and `GET /api/v1/compartments` under concurrent
//! clients (wrk, a separate process, on loopback).
//!
//! The daemon runs the repository's default config (`config/lockerd.toml`: simulated hardware)
//! with its state in a temporary directory and a free loopback port; for the idle-CPU and load
//! figures its bus and compartments are replaced by 200 simulated doors polled every 250 ms.

use std::io::BufRead as _;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

pub const BINARY: &str = env!("CARGO_BIN_EXE_lockerd");
const DEFAULT_CONFIG: &str = include_str!("../../config/lockerd.toml");

/// The default config with its state in `state_dir`, listening on `port`; with `doors`, its
/// bus and compartments replaced by that many simulated doors polled every `poll`.
pub fn config(state_dir: &Path, port: u16, doors: Option<(usize, &str)>) -> anyhow::Result<String> {
    let mut text = String::new();
    for line in DEFAULT_CONFIG.lines() {
        let key = line.split('=').next().unwrap_or("").trim();
        match key {
            "state_dir" => text.push_str(&format!("state_dir = \"{}\"", state_dir.display())),
            "listen" => text.push_str(&format!("listen = \"127.0.0.1:{port}\"")),
            _ => text.push_str(line),
        }
        text.push('\n');
    }
    ensure!(
        text.contains(&format!("127.0.0.1:{port}")),
        "no api.listen in the default config"
    );
    let Some((count, poll)) = doors else {
        return Ok(text);
    };
    let head = text
        .split("\n[[bus]]")
        .next()
        .context("no [[bus]] in the default config")?;
    let mut text =
        format!("{head}\n[[bus]]\nname = \"sim\"\ndriver = \"sim\"\npoll = \"{poll}\"\n");
    for n in 1..=count {
        text.push_str(&format!(
            "\n[[compartment]]\nid = \"D{n:03}\"\nsize = \"{}\"\naccessible = false\n\
             latch = {{ bus = \"sim\" }}\ndoor = {{ bus = \"sim\" }}\n",
            ["S", "M", "L", "XL"][n % 4]
        ));
    }
    Ok(text)
}

/// A free loopback port (bound and released; the daemon binds it next).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The daemon under systemd's notify protocol, its log discarded.
pub struct Daemon {
    child: Child,
    notify: UnixDatagram,
    _notify_path: tempfile::TempDir,
}

impl Daemon {
    pub fn spawn(config: &Path) -> anyhow::Result<Daemon> {
        Self::spawn_binary(Path::new(BINARY), config)
    }

    /// `binary` (another build of lockerd, e.g. an older commit's) on `config`.
    pub fn spawn_binary(binary: &Path, config: &Path) -> anyhow::Result<Daemon> {
        let dir = tempfile::tempdir()?;
        let socket = dir.path().join("notify");
        let notify = UnixDatagram::bind(&socket)?;
        notify.set_read_timeout(Some(Duration::from_secs(30)))?;
        let child = Command::new(binary)
            .args(["run", "--config"])
            .arg(config)
            .env("NOTIFY_SOCKET", &socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("start {}", binary.display()))?;
        Ok(Daemon {
            child,
            notify,
            _notify_path: dir,
        })
    }

    /// Waits for `READY=1`.
    pub fn ready(&self) -> anyhow::Result<()> {
        let mut buf = [0u8; 4096];
        loop {
            let n = self
                .notify
                .recv(&mut buf)
                .context("no READY=1 within 30 s")?;
            if String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == "READY=1")
            {
                return Ok(());
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits for the exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let pid = libc::pid_t::try_from(self.child.id())?;
        // SAFETY: kill(2) on our own child's pid, which we have not yet reaped.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            bail!("kill: {}", std::io::Error::last_os_error());
        }
        let status = self.child.wait()?;
        ensure!(status.success(), "the daemon exited with {status}");
        Ok(())
    }
}

/// From spawning the binary to its `READY=1`.
pub fn start_to_ready(config: &Path) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let daemon = Daemon::spawn(config)?;
    daemon.ready()?;
    let took = t.elapsed();
    daemon.stop()?;
    Ok(took)
}

/// A `/proc/<pid>/status` field in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let file = std::fs::File::open(format!("/proc/{pid}/status"))?;
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        if let Some(rest) = line.strip_prefix(field).and_then(|r| r.strip_prefix(':')) {
            let kib = rest.trim().trim_end_matches("kB").trim();
            return kib.parse().with_context(|| format!("{field}: {rest}"));
        }
    }
    bail!("no {field} in /proc/{pid}/status")
}

/// Opens `count` connections to the daemon on `port` that send nothing, as a slow client or an
/// attacker would, and returns once the daemon has accepted every one (its listener's backlog
/// in /proc/net/tcp is empty). It closes them itself after its header-read timeout (10 s).
pub fn idle_connections(port: u16, count: usize) -> anyhow::Result<Vec<std::net::TcpStream>> {
    let mut connections = Vec::with_capacity(count);
    for _ in 0..count {
        connections.push(std::net::TcpStream::connect(("127.0.0.1", port))?);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while backlog(port)? != 0 {
        ensure!(
            Instant::now() < deadline,
            "the daemon did not accept {count} connections"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(connections)
}

/// Connections the kernel holds for the listener on 127.0.0.1:`port`, not yet accepted.
fn backlog(port: u16) -> anyhow::Result<u32> {
    let local = format!("0100007F:{port:04X}");
    let table = std::fs::read_to_string("/proc/net/tcp")?;
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // State 0A is LISTEN; a listener's rx_queue is its accept backlog.
        if fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&"0A") {
            let (_, rx) = fields[4].split_once(':').context("tx:rx")?;
            return Ok(u32::from_str_radix(rx, 16)?);
        }
    }
    bail!("no listener on 127.0.0.1:{port}")
}

/// User plus system CPU time the process has used.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = stat.rsplit_once(')').context("/proc/pid/stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    // SAFETY: sysconf has no preconditions.
    let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })?;
    Ok(Duration::from_secs_f64(ticks as f64 / per_second as f64))
}

/// An operator token made offline, before the daemon starts.
pub fn operator_token(config: &Path) -> anyhow::Result<String> {
    operator_token_by(Path::new(BINARY), config)
}

/// The same, made by `binary`.
pub fn operator_token_by(binary: &Path, config: &Path) -> anyhow::Result<String> {
    let out = Command::new(binary)
        .args([
            "token", "create", "--role", "operator", "--name", "bench", "--config",
        ])
        .arg(config)
        .output()?;
    ensure!(
        out.status.success(),
        "token create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout)?.trim().to_owned();
    ensure!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "token create printed {token:?}"
    );
    Ok(token)
}

/// What wrk reported.
pub struct Load {
    pub requests_per_s: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub non_2xx: u64,
}

/// wrk with `connections` keep-alive clients on (up to) two threads for `seconds`.
pub fn wrk(url: &str, token: &str, connections: usize, seconds: u64) -> anyhow::Result<Load> {
    let out = Command::new("wrk")
        .arg("--latency")
        .arg(format!("-t{}", connections.min(2)))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("-H")
        .arg(format!("Authorization: Bearer {token}"))
        .arg(url)
        .output()
        .context("wrk (Debian package wrk; benches/run.sh installs it)")?;
    ensure!(
        out.status.success(),
        "wrk: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_wrk(&String::from_utf8(out.stdout)?)
}

fn parse_wrk(text: &str) -> anyhow::Result<Load> {
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
            .with_context(|| format!("no {prefix:?} in wrk's output:\n{text}"))
    };
    Ok(Load {
        requests_per_s: field("Requests/sec:")?.parse()?,
        p50: wrk_duration(field("50%")?)?,
        p99: wrk_duration(field("99%")?)?,
        non_2xx: match field("Non-2xx or 3xx responses:") {
            Ok(n) => n.parse()?,
            Err(_) => 0,
        },
    })
}

/// `812.00us`, `1.23ms`, `2.01s`.
fn wrk_duration(text: &str) -> anyhow::Result<Duration> {
    let (number, unit) = text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .context(text.to_owned())?,
    );
    let n: f64 = number.parse()?;
    let seconds = match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        _ => bail!("wrk duration {text:?}"),
    };
    Ok(Duration::from_secs_f64(seconds))
}

/// Writes `text` as a config file in `dir`.
pub fn write_config(dir: &Path, name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text)?;
    Ok(path)
}
