//! The tamper-evident audit log: who opened a door or changed who may open one, as a hash chain.
//!
//! Entries are appended inside the transaction of the action they record (see
//! `crate::locker`), so an action and its entry commit together or not at all. Nothing here
//! decides what is recorded or checks that `detail` is free of secrets: callers build it.
//!
//! # The chain
//! Entry `seq` (1, 2, 3, ... with no gaps) stores
//! `hash = SHA-256(prev_hash || u64be(len(tag)) || tag || i64be(seq) || i64be(at) ||
//! u64be(len(actor)) || actor || u64be(len(action)) || action || u64be(len(detail)) || detail)`
//! where `tag` is `lockerd-audit-v1`, `prev_hash` is the previous entry's 32-byte hash (32 zero
//! bytes for entry 1), `at` is milliseconds since the Unix epoch, and `actor`, `action` and
//! `detail` are the UTF-8 bytes exactly as stored (`detail` is compact JSON). Every variable
//! field is length-prefixed, so no two different entries encode to the same bytes.
//!
//! Besides the rows, each append records the head of the chain in `meta` (`audit_seq`: the
//! last seq; `audit_head`: the first 8 bytes of its hash as a big-endian integer), and
//! AUTOINCREMENT keeps the highest seq ever handed out in `sqlite_sequence`.
//!
//! # What it detects, and what it cannot
//! [`verify`] recomputes the chain and names the first bad entry: an edited entry (its hash no
//! longer matches), a deleted entry in the middle (a gap in `seq`), deleted entries at the end
//! (`sqlite_sequence` or the recorded head ahead of the last row), and a last entry replaced
//! along with its hash (the recorded head disagrees). Someone who can rewrite the whole file
//! and knows this scheme can still recompute every hash and the head: the chain makes
//! tampering visible, it does not prevent it. For that, ship entries off the box (`lockerd
//! audit export` into a system the locker cannot write, or a checkpoint of `seq` and `hash`
//! kept elsewhere) and compare later: no entry before an exported one can then change.

use crate::domain::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// The first schema version with the `audit` table.
pub const AUDIT_SCHEMA: u32 = 3;
/// Versions the encoding, so a future change cannot be mistaken for this one.
const TAG: &[u8] = b"lockerd-audit-v1";
/// The `prev_hash` of the first entry.
const GENESIS: [u8; 32] = [0; 32];
const META_SEQ: &str = "audit_seq";
const META_HEAD: &str = "audit_head";

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: Timestamp,
    /// `role:name` of a token or courier session, `lockerd` for the daemon itself, `cli`.
    pub actor: String,
    /// Dotted and stable, e.g. `deposit.opening`.
    pub action: String,
    /// Compact JSON, exactly as hashed.
    pub detail: String,
    pub hash: Vec<u8>,
}

/// The first entry that does not check out, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit log broken at entry {seq}: {reason}")]
pub struct BadEntry {
    pub seq: i64,
    pub reason: String,
}

/// Why the log could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Broken(#[from] BadEntry),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// The hash of entry `seq` following `prev`.
pub fn entry_hash(
    prev: &[u8],
    seq: i64,
    at: Timestamp,
    actor: &str,
    action: &str,
    detail: &str,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    let field = |h: &mut Sha256, bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(&mut h, TAG);
    h.update(seq.to_be_bytes());
    h.update(at.0.to_be_bytes());
    field(&mut h, actor.as_bytes());
    field(&mut h, action.as_bytes());
    field(&mut h, detail.as_bytes());
    h.finalize().into()
}

/// The integer `meta` keeps of a hash: its first 8 bytes, big-endian.
fn head_of(hash: &[u8]) -> i64 {
    let mut first = [0u8; 8];
    let n = hash.len().min(8);
    first[..n].copy_from_slice(&hash[..n]);
    i64::from_be_bytes(first)
}

/// The highest seq ever handed out (0 before the first entry).
fn sequence(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit'), 0)",
        [],
        |r| r.get(0),
    )
}

/// The last entry's seq and hash: the head of the chain, `None` before the first entry.
pub fn audit_head(conn: &Connection) -> rusqlite::Result<Option<(i64, Vec<u8>)>> {
    conn.query_row(
        "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// Appends an entry chained to the last one and returns its seq. Call it inside the
/// transaction of the action it records.
pub fn append_audit(
    conn: &Connection,
    at: Timestamp,
    actor: &str,
    action: &str,
    detail: &serde_json::Value,
) -> rusqlite::Result<i64> {
    let (last_seq, prev) = audit_head(conn)?.unwrap_or((0, GENESIS.to_vec()));
    // Never reuse a seq, even one whose row is gone: a deleted tail stays a visible gap.
    let seq = last_seq.max(sequence(conn)?) + 1;
    // The parcel an entry names, kept beside it so a parcel's entries are found by index; the
    // hash covers `detail`, which names it too, so the column needs no place in the chain.
    let parcel = detail.get("parcel_id").and_then(serde_json::Value::as_str);
    let detail = detail.to_string();
    let hash = entry_hash(&prev, seq, at, actor, action, &detail);
    conn.execute(
        "INSERT INTO audit (seq, at, actor, action, detail, hash, parcel_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![seq, at.0, actor, action, detail, hash.as_slice(), parcel],
    )?;
    super::meta_set(conn, META_SEQ, seq)?;
    super::meta_set(conn, META_HEAD, head_of(&hash))?;
    Ok(seq)
}

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.get(0)?,
        at: Timestamp(r.get(1)?),
        actor: r.get(2)?,
        action: r.get(3)?,
        detail: r.get(4)?,
        hash: r.get(5)?,
    })
}

/// Entries with a seq above `after`, oldest first.
pub fn list_audit(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, at, actor, action, detail, hash FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    stmt.query_map(params![after, limit as i64], entry)?
        .collect()
}

/// By `audit_by_parcel` (schema 10), never a scan of the log.
pub(super) const AUDIT_OF_PARCEL: &str = "SELECT seq, at, actor, action, detail, hash FROM audit
     WHERE parcel_id = ?1 ORDER BY seq LIMIT ?2";

/// The entries naming `parcel` (`detail.parcel_id`), oldest first, at most `limit`.
pub fn audit_of_parcel(
    conn: &Connection,
    parcel: &str,
    limit: usize,
) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(AUDIT_OF_PARCEL)?;
    stmt.query_map(params![parcel, limit as i64], entry)?
        .collect()
}

/// Calls `each` with every entry in order (for export), without holding them all in memory.
pub fn for_each_audit(
    conn: &Connection,
    mut each: impl FnMut(AuditEntry) -> std::io::Result<()>,
) -> Result<usize, ExportError> {
    let mut stmt =
        conn.prepare("SELECT seq, at, actor, action, detail, hash FROM audit ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        each(entry(row)?)?;
        count += 1;
    }
    Ok(count)
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Recomputes the chain from the first entry; returns how many entries check out, or the first
/// one that does not. Run it inside one read transaction, so a concurrent append is either
/// wholly seen or not at all.
pub fn verify(conn: &Connection) -> Result<usize, VerifyError> {
    let mut stmt =
        conn.prepare("SELECT seq, at, actor, action, detail, hash FROM audit ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    let (mut expected, mut prev) = (1i64, GENESIS.to_vec());
    while let Some(row) = rows.next()? {
        let e = entry(row)?;
        if e.seq != expected {
            return Err(missing(expected, e.seq - 1).into());
        }
        let hash = entry_hash(&prev, e.seq, e.at, &e.actor, &e.action, &e.detail);
        if e.hash != hash {
            return Err(BadEntry {
                seq: e.seq,
                reason: "its hash does not match its content and the entry before it \
                         (the entry was edited)"
                    .into(),
            }
            .into());
        }
        prev = e.hash;
        expected += 1;
    }
    let last = expected - 1;
    let handed_out = sequence(conn)?;
    let recorded = super::meta_get(conn, META_SEQ)?.unwrap_or(0);
    let newest = handed_out.max(recorded);
    if newest > last {
        return Err(missing(last + 1, newest).into());
    }
    if recorded < last {
        return Err(BadEntry {
            seq: recorded + 1,
            reason: format!("not appended by lockerd (the recorded head is entry {recorded})"),
        }
        .into());
    }
    let head = super::meta_get(conn, META_HEAD)?.unwrap_or(head_of(&GENESIS));
    if last > 0 && head != head_of(&prev) {
        return Err(BadEntry {
            seq: last,
            reason: "it is not the entry lockerd appended last (the recorded head differs)".into(),
        }
        .into());
    }
    Ok(last as usize)
}

/// Entries `from..=to` are gone.
fn missing(from: i64, to: i64) -> BadEntry {
    let reason = match from == to {
        true => "missing (the entry was deleted)".to_owned(),
        false => format!("missing (entries {from} to {to} were deleted)"),
    };
    BadEntry { seq: from, reason }
}

#[cfg(test)]
mod tests;
