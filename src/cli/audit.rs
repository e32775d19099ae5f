//! `lockerd audit`: check and export the audit log, for an investigation.
//!
//! - `verify`: recompute the hash chain; exit 1 naming the first edited or deleted entry.
//! - `export`: every entry as one JSON line, for a system the locker cannot write to.
//!
//! Both open the database read-only and never migrate it or take the hardware lock, so they run
//! beside the daemon; each reads one consistent snapshot. Depends on `config`, `state`
//! and `store`; only `cli` depends on it.

use crate::config::Config;
use crate::store::{self, AUDIT_SCHEMA, AuditEntry, Db, ExportError, VerifyError};
use anyhow::Context;
use clap::Subcommand;
use rusqlite::Connection;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const DEFAULT_CONFIG: &str = "/etc/lockerd/lockerd.toml";

/// The `lockerd audit` subcommands.
#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit log's hash chain.
    ///
    /// Exits 0 printing `audit log intact: N entries`, or 1 naming the first entry that was
    /// edited or deleted.
    Verify {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Write the audit log as JSON lines, one entry per line, oldest first.
    Export {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// Runs a `lockerd audit` command: exit 0 on success, 1 on failure or a broken chain, 2 for a
/// bad config.
pub fn main(command: AuditCommand) -> ExitCode {
    let path = match &command {
        AuditCommand::Verify { config } | AuditCommand::Export { config, .. } => config,
    };
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        AuditCommand::Verify { .. } => verify(&config),
        AuditCommand::Export { output, .. } => export(&config, output.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The install's database, read-only; a missing file is an error, never created.
fn open(config: &Config) -> anyhow::Result<Connection> {
    let path = crate::state::StateDir::new(&config.locker.state_dir).database();
    if !path.exists() {
        anyhow::bail!(
            "no database at {}: has the daemon of this config run yet?",
            path.display()
        );
    }
    Db::open_read_only(&path, AUDIT_SCHEMA)
        .with_context(|| format!("cannot open database {}", path.display()))
}

fn verify(config: &Config) -> anyhow::Result<ExitCode> {
    let mut conn = open(config)?;
    // One read transaction: a concurrent append is seen whole or not at all.
    let snapshot = conn.transaction()?;
    match store::verify(&snapshot) {
        Ok(count) => {
            println!("audit log intact: {count} entries");
            Ok(ExitCode::SUCCESS)
        }
        Err(VerifyError::Broken(bad)) => {
            eprintln!("{bad}");
            Ok(ExitCode::FAILURE)
        }
        Err(VerifyError::Sqlite(e)) => Err(e).context("cannot read the audit log"),
    }
}

fn export(config: &Config, output: Option<&Path>) -> anyhow::Result<ExitCode> {
    let mut conn = open(config)?;
    let snapshot = conn.transaction()?;
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let count = store::for_each_audit(&snapshot, |entry| writeln!(out, "{}", line(entry)))
        .and_then(|count| Ok(out.flush().map(|()| count)?));
    match count {
        Ok(count) => {
            eprintln!("{count} audit entries exported");
            Ok(ExitCode::SUCCESS)
        }
        // A reader that stops early (`| head`) is not an error.
        Err(ExportError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e).context("cannot export the audit log"),
    }
}

/// One entry as `GET /api/v1/audit` shows it. `detail` is the stored JSON text parsed (and
/// kept as a string if it is not JSON); serialized compactly it is the text that was hashed.
fn line(e: AuditEntry) -> serde_json::Value {
    let detail = serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::String(e.detail));
    serde_json::json!({
        "seq": e.seq,
        "at": e.at.to_rfc3339(),
        "actor": e.actor,
        "action": e.action,
        "detail": detail,
        "hash": hex::encode(e.hash),
    })
}
