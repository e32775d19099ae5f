//! The event feed the cloud reads: append-only, `seq` gap-free and never reused.
//!
//! Events are appended inside the transaction of the state change they describe, so an event is
//! visible exactly when its change committed, and `seq` (AUTOINCREMENT) is never handed out
//! twice, even after acknowledged events are pruned.

use crate::domain::Timestamp;
use rusqlite::{Connection, params};

/// One event of the sync feed.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub seq: i64,
    pub id: String,
    pub kind: String,
    pub at: Timestamp,
    pub data: serde_json::Value,
}

/// Event types whose data carries a pickup code until acknowledged.
const CODE_EVENTS: &str = "('parcel.stored', 'parcel.code_changed')";

pub fn append_event(
    conn: &Connection,
    kind: &str,
    at: Timestamp,
    data: &serde_json::Value,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO events (id, type, at, data) VALUES (?1, ?2, ?3, ?4)",
        params![
            uuid::Uuid::new_v4().to_string(),
            kind,
            at.0,
            data.to_string()
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn list_events(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> rusqlite::Result<Vec<EventRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, id, type, at, data FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit as i64], |r| {
        let data: String = r.get(4)?;
        Ok(EventRecord {
            seq: r.get(0)?,
            id: r.get(1)?,
            kind: r.get(2)?,
            at: Timestamp(r.get(3)?),
            data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
        })
    })?;
    rows.collect()
}

/// The highest seq ever handed out (0 before the first event), pruned events included.
pub fn last_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)",
        [],
        |r| r.get(0),
    )
}

pub fn acked_seq(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(super::meta_get(conn, "acked_seq")?.unwrap_or(0))
}

/// Acknowledges every event up to `seq` (never backwards, never past the last event) and
/// scrubs the pickup codes from them: once the cloud has a code, the locker keeps only its hash.
pub fn ack_events(conn: &Connection, seq: i64) -> rusqlite::Result<i64> {
    let before = acked_seq(conn)?;
    let acked = before.max(seq.min(last_seq(conn)?));
    super::meta_set(conn, "acked_seq", acked)?;
    // Events up to `before` were scrubbed by the acknowledgement that covered them (seqs only
    // grow), so only the newly acknowledged range is read, not the whole history.
    conn.execute(
        &format!(
            "UPDATE events SET data = json_remove(data, '$.pickup_code')
             WHERE seq > ?1 AND seq <= ?2 AND type IN {CODE_EVENTS}
               AND json_extract(data, '$.pickup_code') IS NOT NULL"
        ),
        [before, acked],
    )?;
    Ok(acked)
}

/// When the oldest unacknowledged event happened, if any is waiting.
pub fn oldest_unacked_at(conn: &Connection) -> rusqlite::Result<Option<Timestamp>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT at FROM events WHERE seq > ?1 ORDER BY seq LIMIT 1",
        [acked_seq(conn)?],
        |r| r.get(0).map(Timestamp),
    )
    .optional()
}

/// Deletes acknowledged events that happened before `before`; returns how many went.
/// Unacknowledged events are never deleted, however old: the cloud has not got them yet.
pub fn prune_events(conn: &Connection, before: Timestamp) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM events WHERE seq <= ?1 AND at < ?2",
        params![acked_seq(conn)?, before.0],
    )
}
