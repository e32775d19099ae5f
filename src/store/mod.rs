//! Storage: one SQLite database in the state directory.
//!
//! WAL with `synchronous = FULL`, so a committed transaction survives a power cut. Every state
//! change and the events it publishes are written in one transaction (see `crate::locker`).
//! Functions here take a `&Connection` (a `Transaction` derefs to one) and know nothing of the
//! rules; they turn rows into domain values and back.
//!
//! The connection sits behind a `std::sync::Mutex`: every statement is short, writes are
//! serialized by SQLite anyway, and callers on the async runtime go through
//! `tokio::task::spawn_blocking` so an fsync never stalls a runtime thread.

mod access_codes;
mod audit;
mod auth;
mod compartments;
mod events;
mod incidents;
mod kiosk;
mod migrations;
mod mqtt;
mod parcels;
mod reservations;

pub use access_codes::*;
pub use audit::*;
pub use auth::*;
pub use compartments::*;
pub use events::*;
pub use incidents::*;
pub use kiosk::*;
pub use migrations::{CURRENT as SCHEMA_VERSION, MigrationError};
pub use mqtt::*;
pub use parcels::*;
pub use reservations::*;

use rusqlite::{Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes in a database page. Each commit appends every page it changed to the WAL and fsyncs
/// it, and a checkpoint copies those pages into the database file: a deposit-and-pickup cycle
/// changes about the same number of pages whatever their size, so smaller pages mean fewer
/// bytes on a Pi's SD card (`cargo bench --bench wear`: 4,096-byte pages wrote about 550 KB a
/// cycle, 1,024-byte pages about 210 KB). Durability is the same: a commit is still fsynced
/// before it is answered. Not 512: event rows (a few hundred bytes of JSON) would spill into
/// overflow pages and the trees would grow a level deeper, for a few per cent less.
pub const PAGE_SIZE: i64 = 1024;

/// The database handle shared by every part of the daemon.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Db, MigrationError> {
        let conn = Connection::open(path)?;
        Self::setup(conn)
    }

    /// Opens the database at `path` read-only, to inspect it beside a running daemon: never
    /// creates, migrates or writes it (`query_only`). A schema outside `oldest..=CURRENT` is
    /// refused rather than misread.
    pub fn open_read_only(path: &Path, oldest: u32) -> Result<Connection, MigrationError> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "query_only", true)?;
        let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > migrations::CURRENT {
            return Err(MigrationError::TooNew { found });
        }
        if found < oldest {
            return Err(MigrationError::TooOld {
                found,
                needed: oldest,
            });
        }
        Ok(conn)
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> Result<Db, MigrationError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Db, MigrationError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Before the first write: a new database gets PAGE_SIZE pages (an existing one keeps its
        // own, which SQLite cannot change in WAL mode; the pragma is then a no-op).
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        // journal_mode answers with a row, so it is queried rather than updated.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // Deleted and rewritten content is zeroed, not merely unlinked: a scrubbed pickup code
        // must not linger in a page's free space for anyone who copies the file.
        conn.pragma_update(None, "secure_delete", true)?;
        migrations::migrate(&mut conn)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Locks the connection. A panic while it was held cannot have left a transaction open
    /// (rusqlite rolls back on drop), so a poisoned lock is still safe to use.
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Copies every committed page from the WAL into the database file and empties the WAL, so
    /// content that was scrubbed is gone from both files. Never waits: while another process
    /// reads the database (`lockerd audit verify`, a backup) the WAL cannot be emptied, and this
    /// answers `false` at once rather than stall the daemon; the caller tries again later.
    pub fn checkpoint(&self) -> rusqlite::Result<bool> {
        let conn = self.lock();
        conn.busy_timeout(Duration::ZERO)?;
        let busy = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        });
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(busy? == 0)
    }

    /// Whether the database answers.
    pub fn healthy(&self) -> bool {
        self.lock()
            .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            .is_ok()
    }
}

/// A column holding a value this build does not know. Reading it is an error, never a guess: an
/// unknown compartment state read as `free` would be assignable.
fn unknown(column: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unknown {column} {value:?} in the database").into(),
    )
}

/// A small integer setting in the `meta` table.
pub fn meta_get(conn: &Connection, key: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

pub fn meta_set(conn: &Connection, key: &str, value: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        rusqlite::params![key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
