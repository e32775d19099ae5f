//! `lockerd backup`: a consistent copy of the live database, taken while the daemon runs.
//!
//! SQLite's online backup API copies every page inside one read transaction (WAL readers never
//! block the daemon's writes), so the copy is the database as of one commit, never a torn mix.
//! The copy is written beside the destination, checked with `PRAGMA integrity_check`, made
//! private (it holds code hashes and sealed TOTP secrets) and only then renamed into place.

use crate::config::Config;
use crate::store::{Db, SCHEMA_VERSION};
use anyhow::Context;
use rusqlite::Connection;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What a backup holds.
#[derive(Debug)]
pub struct Summary {
    pub bytes: u64,
    pub schema: u32,
    pub last_event: i64,
}

/// Copies the database of `config` to `out`, which must not exist yet.
pub fn backup(config: &Config, out: &Path) -> anyhow::Result<Summary> {
    let source_path = crate::state::StateDir::new(&config.locker.state_dir).database();
    anyhow::ensure!(
        source_path.exists(),
        "no database at {} (locker.state_dir)",
        source_path.display()
    );
    anyhow::ensure!(
        !out.exists(),
        "{} exists already; choose a new name",
        out.display()
    );
    let source = Db::open_read_only(&source_path, 1)
        .with_context(|| format!("cannot open database {}", source_path.display()))?;
    let partial = partial_path(out);
    let result = copy(&source, &partial);
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    let summary = result?;
    std::fs::rename(&partial, out)
        .with_context(|| format!("cannot move the backup to {}", out.display()))?;
    Ok(summary)
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

fn copy(source: &Connection, partial: &Path) -> anyhow::Result<Summary> {
    // Created private before SQLite writes a byte into it.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let mut target = Connection::open(partial)?;
    {
        let backup = rusqlite::backup::Backup::new(source, &mut target)?;
        // All pages in one step: one read transaction, so one consistent snapshot.
        backup.step(-1)?;
    }
    let check: String = target.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    anyhow::ensure!(check == "ok", "the copy fails its integrity check: {check}");
    let schema: u32 = target.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let last_event = crate::store::last_seq(&target)?;
    target
        .close()
        .map_err(|(_, e)| e)
        .context("cannot close the copy")?;
    std::fs::File::open(partial)?.sync_all()?;
    let bytes = std::fs::metadata(partial)?.len();
    debug_assert!(schema <= SCHEMA_VERSION);
    Ok(Summary {
        bytes,
        schema,
        last_event,
    })
}
