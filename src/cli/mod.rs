//! The command line: `lockerd run` starts the daemon (`crate::daemon`); every other command is
//! a tool beside it, and each lives here:
//! - `audit` — `lockerd audit verify` and `export`: the audit log checked and exported
//!   read-only, beside a running daemon.
//! - `backup` — `lockerd backup`: a consistent copy of the live database.
//! - `hw` — commissioning tools (`lockerd hw status`, `pulse`, `scan`) for installers at the
//!   locker, with the daemon stopped: `pulse` runs the daemon's controller, the others read
//!   the buses through its drivers.
//! - `ops` — `lockerd courier|parcel|compartment`: the running daemon's API, for
//!   operators.
//! - `tls` — `lockerd tls`: a first self-signed certificate and its fingerprint, and the pinned
//!   client the operator commands use.
//!
//! Nothing in the daemon's layers depends on this module.

pub mod audit;
pub mod backup;
pub mod hw;
pub mod ops;
pub mod tls;

use crate::config::Config;
use crate::locker::Role;
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) const DEFAULT_CONFIG: &str = "/etc/lockerd/lockerd.toml";

#[derive(Parser)]
#[command(
    name = "lockerd",
    version,
    about = "Parcel-locker controller: latches, doors, pickup codes and a local HTTP API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        /// The config file.
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Validate a config file and print the compartments it describes.
    CheckConfig {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Commissioning tools for installers: check buses and doors, pulse a latch, scan a bus.
    Hw {
        #[command(subcommand)]
        command: crate::cli::hw::HwCommand,
    },
    /// Check or export the tamper-evident audit log (read-only; the daemon may run).
    Audit {
        #[command(subcommand)]
        command: crate::cli::audit::AuditCommand,
    },
    /// Couriers, through the running daemon: add (prints the TOTP secret once), list, remove.
    ///
    /// Needs an operator token in LOCKERD_TOKEN or --token-file; the config's api.listen says
    /// where the daemon is.
    Courier {
        #[command(flatten)]
        target: ops::Target,
        #[command(subcommand)]
        command: ops::CourierCommand,
    },
    /// Parcels, through the running daemon: list, show, evidence, extend.
    ///
    /// Needs an operator token in LOCKERD_TOKEN or --token-file.
    Parcel {
        #[command(flatten)]
        target: ops::Target,
        #[command(subcommand)]
        command: ops::ParcelCommand,
    },
    /// Compartments, through the running daemon: list, open (maintenance), disable, enable.
    ///
    /// Needs an operator token in LOCKERD_TOKEN or --token-file.
    Compartment {
        #[command(flatten)]
        target: ops::Target,
        #[command(subcommand)]
        command: ops::CompartmentCommand,
    },
    /// Access codes, through the running daemon: add (prints the code once), list, remove.
    ///
    /// Needs an operator token in LOCKERD_TOKEN or --token-file.
    AccessCode {
        #[command(flatten)]
        target: ops::Target,
        #[command(subcommand)]
        command: ops::AccessCodeCommand,
    },
    /// Copy the live database to OUT (consistent, while the daemon runs; OUT must not exist).
    ///
    /// Keep `install.key` from the state directory with your backups (it never changes): without
    /// it the pickup codes in a restored database cannot be checked.
    Backup {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        out: PathBuf,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The kiosk screen.
    Kiosk {
        #[command(subcommand)]
        command: KioskCommand,
    },
    /// The operator console (`/console/`).
    Console {
        #[command(subcommand)]
        command: ConsoleCommand,
    },
    /// HTTPS for the API: a first self-signed certificate, the configured one's fingerprint.
    Tls {
        #[command(subcommand)]
        command: crate::cli::tls::TlsCommand,
    },
}

#[derive(Subcommand)]
enum KioskCommand {
    /// Print a one-time link (valid 10 minutes) that pairs the browser opening it as a kiosk:
    /// e.g. `chromium --kiosk "$(lockerd kiosk pair --name kiosk-1)"` on the locker's screen.
    Pair {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The kiosk token's name (pairing again under it unpairs the old browser).
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum ConsoleCommand {
    /// Print a one-time link (valid 10 minutes) that signs the browser opening it in to the
    /// console, without typing a token: the link makes an operator token named NAME that the
    /// daemon keeps for that browser's session.
    Link {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The operator token's name, one per person or browser (e.g. `desk-laptop`). A link
        /// spent under a name replaces that name's token: the browser signed in by the name's
        /// previous link, and anything else using that token, loses access.
        #[arg(long)]
        name: String,
        /// The name or address the browser reaches the locker at (default: api.listen's
        /// address, or this machine's host name when the API listens on every address).
        #[arg(long)]
        host: Option<String>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token and print it once (only its hash is stored).
    Create {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// kiosk, sync or operator.
        #[arg(long)]
        role: String,
        /// A name to tell the token apart (and to delete it by).
        #[arg(long)]
        name: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => check_config(&config),
        Command::Run { config } => exit(run(&config)),
        Command::Hw { command } => crate::cli::hw::main(command),
        Command::Audit { command } => crate::cli::audit::main(command),
        Command::Courier { target, command } => ops::main(target, ops::Command::Courier(command)),
        Command::Parcel { target, command } => ops::main(target, ops::Command::Parcel(command)),
        Command::AccessCode { target, command } => {
            ops::main(target, ops::Command::AccessCode(command))
        }
        Command::Compartment { target, command } => {
            ops::main(target, ops::Command::Compartment(command))
        }
        Command::Backup { config, out } => match load(&config) {
            Ok(config) => exit(backup(&config, &out)),
            Err(code) => code,
        },
        Command::Token {
            command: TokenCommand::Create { config, role, name },
        } => exit(token_create(&config, &role, &name)),
        Command::Kiosk {
            command: KioskCommand::Pair { config, name },
        } => exit(kiosk_pair(&config, &name)),
        Command::Console {
            command: ConsoleCommand::Link { config, name, host },
        } => exit(console_link(&config, &name, host.as_deref())),
        Command::Tls { command } => crate::cli::tls::main(command),
    }
}

fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Exit code 2 for a bad config, as for bad usage.
fn load(path: &std::path::Path) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match load(path) {
        Ok(config) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let count = config.compartments.len();
            // A reader that stops early (`| head`) is not an error worth a panic.
            let _ = writeln!(out, "{}: ok, {count} compartments", path.display())
                .and_then(|()| write!(out, "{}", config.describe_compartments()));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

fn run(path: &std::path::Path) -> anyhow::Result<()> {
    let config = match load(path) {
        Ok(config) => config,
        Err(_) => std::process::exit(2),
    };
    crate::logging::init(&config.locker.log_level);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(serve(config))
}

/// The daemon under systemd (or not: every notification is then a no-op). READY=1 is sent here,
/// once `start` has returned, which it does only when the database is open, every bus has been
/// made safe and read (or marked down) and the listener is bound. The watchdog is fed from
/// before start-up so that a slow start (a long migration) is limited by TimeoutStartSec only,
/// and only while the controller loop turns.
async fn serve(config: Config) -> anyhow::Result<()> {
    use crate::systemd;
    let signals = crate::daemon::StopSignals::install().context("cannot catch SIGTERM")?;
    let compartments = config.compartments.len();
    let watchdog = systemd::watchdog_timeout();
    let heartbeat = test_wedge(systemd::heartbeat_for(watchdog));
    if let Some(timeout) = watchdog {
        tracing::info!(
            ?timeout,
            "feeding the systemd watchdog from the controller loop"
        );
        tokio::spawn(systemd::feed_watchdog(heartbeat.clone(), timeout));
    }
    let options = crate::daemon::Options {
        heartbeat,
        ..crate::daemon::Options::default()
    };
    let running = crate::daemon::start(config, options).await?;
    let line = {
        let (addr, locker) = (running.addr, running.locker.clone());
        move || systemd::status_line(addr, compartments, &locker.bus_health())
    };
    let first = line();
    systemd::ready(&first);
    if systemd::supervised() {
        tokio::spawn(systemd::report_status(line, first));
    }
    running.run_until_signal(signals).await
}

/// Test hook for tests/notify.rs, only in builds with debug assertions (never in a release
/// build): `LOCKERD_TEST_WEDGE_CONTROLLER_AFTER=2s` stalls the controller loop for good 2 s
/// after it starts, to show that the watchdog stops being fed.
#[cfg(debug_assertions)]
fn test_wedge(heartbeat: crate::controller::Heartbeat) -> crate::controller::Heartbeat {
    match std::env::var("LOCKERD_TEST_WEDGE_CONTROLLER_AFTER") {
        Ok(after) => match humantime::parse_duration(&after) {
            Ok(after) => heartbeat.wedged_after(after),
            Err(e) => {
                tracing::warn!(%after, error = %e, "ignoring LOCKERD_TEST_WEDGE_CONTROLLER_AFTER");
                heartbeat
            }
        },
        Err(_) => heartbeat,
    }
}

#[cfg(not(debug_assertions))]
fn test_wedge(heartbeat: crate::controller::Heartbeat) -> crate::controller::Heartbeat {
    heartbeat
}

fn token_create(path: &std::path::Path, role: &str, name: &str) -> anyhow::Result<()> {
    let config = match load(path) {
        Ok(config) => config,
        Err(_) => std::process::exit(2),
    };
    let role = Role::parse(role)
        .filter(|r| *r != Role::Courier)
        .with_context(|| format!("--role {role}: expected kiosk, sync or operator"))?;
    let db = crate::state::StateDir::new(&config.locker.state_dir).open_database()?;
    let token = crate::locker::create_token_offline(db, role, name)?;
    println!("{token}");
    eprintln!(
        "token {name} ({}) created; it is shown only this once",
        role.as_str()
    );
    Ok(())
}

fn kiosk_pair(path: &std::path::Path, name: &str) -> anyhow::Result<()> {
    let config = match load(path) {
        Ok(config) => config,
        Err(_) => std::process::exit(2),
    };
    let db = crate::state::StateDir::new(&config.locker.state_dir).open_database()?;
    let pairing = crate::locker::create_pairing_offline(&db, name, Role::Kiosk)?;
    // The kiosk's browser runs on the locker itself: a wildcard address means this host.
    let mut addr = config.api.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    println!("{}://{addr}{}", scheme(&config), pairing.path());
    eprintln!(
        "open this link once in the kiosk's browser before {}; it pairs it as {name}",
        pairing.expires_at.to_rfc3339()
    );
    Ok(())
}

fn console_link(path: &std::path::Path, name: &str, host: Option<&str>) -> anyhow::Result<()> {
    let config = match load(path) {
        Ok(config) => config,
        Err(_) => std::process::exit(2),
    };
    let db = crate::state::StateDir::new(&config.locker.state_dir).open_database()?;
    let replaces = crate::store::list_tokens(&db.lock())?
        .into_iter()
        .any(|t| t.name == name && t.role == Role::Operator);
    let link = crate::locker::create_pairing_offline(&db, name, Role::Operator)?;
    // The console's browser is usually elsewhere on the LAN: a wildcard address means this
    // machine's host name, which the operator may replace (the code is in the fragment).
    let listen = config.api.listen;
    let host = match host {
        Some(host) => host.to_owned(),
        None if listen.ip().is_unspecified() => {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "localhost".into())
        }
        None => match listen.ip() {
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        },
    };
    println!(
        "{}://{host}:{}{}",
        scheme(&config),
        listen.port(),
        link.path()
    );
    eprintln!(
        "open this link once in the console's browser before {}; it signs it in as operator {name}",
        link.expires_at.to_rfc3339()
    );
    if replaces {
        eprintln!(
            "an operator token named {name} exists: this link replaces it once spent (its \
             browser, or any tool using it, loses access)"
        );
    }
    Ok(())
}

fn scheme(config: &Config) -> &'static str {
    if config.api.tls.is_some() {
        "https"
    } else {
        "http"
    }
}

fn backup(config: &Config, out: &std::path::Path) -> anyhow::Result<()> {
    let summary = crate::cli::backup::backup(config, out)?;
    println!(
        "{}: {} bytes, schema version {}, events up to seq {}",
        out.display(),
        summary.bytes,
        summary.schema,
        summary.last_event
    );
    eprintln!(
        "keep {} with your backups too: it checks the pickup codes",
        crate::state::StateDir::new(&config.locker.state_dir)
            .install_key()
            .display()
    );
    Ok(())
}
