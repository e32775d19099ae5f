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
    // The parcel an event is about, in a column of its own so a parcel's events are found by
    // index (evidence for a claim), not by reading every event's JSON.
    let parcel = data.get("parcel_id").and_then(serde_json::Value::as_str);
    conn.execute(
        "INSERT INTO events (id, type, at, data, parcel_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            uuid::Uuid::new_v4().to_string(),
            kind,
            at.0,
            data.to_string(),
            parcel
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
    let rows = stmt.query_map(params![after, limit as i64], event_row)?;
    rows.collect()
}

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRecord> {
    let data: String = r.get(4)?;
    Ok(EventRecord {
        seq: r.get(0)?,
        id: r.get(1)?,
        kind: r.get(2)?,
        at: Timestamp(r.get(3)?),
        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
    })
}

/// By `events_by_parcel` (schema 10), never a scan of the feed.
pub(super) const EVENTS_OF_PARCEL: &str =
    "SELECT seq, id, type, at, data FROM events WHERE parcel_id = ?1 ORDER BY seq LIMIT ?2";

/// The events about `parcel` still in the feed (acknowledged ones are pruned after
/// `sync.retention`), oldest first, at most `limit`.
pub fn events_of_parcel(
    conn: &Connection,
    parcel: &str,
    limit: usize,
) -> rusqlite::Result<Vec<EventRecord>> {
    let mut stmt = conn.prepare_cached(EVENTS_OF_PARCEL)?;
    let rows = stmt.query_map(params![parcel, limit as i64], event_row)?;
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

/// The feed's cursors in `meta`. The pull agent's acknowledgement keeps the key it had when it
/// was the only cursor; push's has its own (schema 7), so neither moves the other.
const PULL_ACKED: &str = "acked_seq";
const PUSH_DELIVERED: &str = "push_seq";
/// How far the MQTT broker acknowledged (PUBACK) the events the link published.
const MQTT_PUBLISHED: &str = "mqtt_seq";
/// Codes are scrubbed from every event up to here (schema 7): the scrub reads only what is new.
const SCRUBBED: &str = "scrubbed_seq";

/// How far the pull agent acknowledged (`POST /api/v1/sync/ack`).
pub fn pull_acked_seq(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(super::meta_get(conn, PULL_ACKED)?.unwrap_or(0))
}

/// How far the push endpoint accepted the feed.
pub fn push_seq(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(super::meta_get(conn, PUSH_DELIVERED)?.unwrap_or(0))
}

/// How far the MQTT broker accepted the feed.
pub fn mqtt_seq(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(super::meta_get(conn, MQTT_PUBLISHED)?.unwrap_or(0))
}

/// Moves the MQTT link's cursor to `seq` (the broker acknowledged every event up to it).
pub fn advance_mqtt(conn: &Connection, seq: i64) -> rusqlite::Result<(i64, i64)> {
    advance(conn, MQTT_PUBLISHED, seq)
}

/// Moves the pull agent's acknowledgement to `seq`, never backwards and never past the last
/// event; returns where it was and where it is now.
pub fn ack_pull(conn: &Connection, seq: i64) -> rusqlite::Result<(i64, i64)> {
    advance(conn, PULL_ACKED, seq)
}

/// Moves push's cursor to `seq` (a batch through it was accepted), like [`ack_pull`].
pub fn advance_push(conn: &Connection, seq: i64) -> rusqlite::Result<(i64, i64)> {
    advance(conn, PUSH_DELIVERED, seq)
}

fn advance(conn: &Connection, key: &str, seq: i64) -> rusqlite::Result<(i64, i64)> {
    let before = super::meta_get(conn, key)?.unwrap_or(0);
    let after = before.max(seq.min(last_seq(conn)?));
    if after != before {
        super::meta_set(conn, key, after)?;
    }
    Ok((before, after))
}

/// Scrubs the pickup codes from every event up to `seq`: once the cloud has a code, the locker
/// keeps only its hash. Returns whether any event was newly covered (the caller then
/// checkpoints the WAL, where the codes still sit).
pub fn scrub_codes(conn: &Connection, seq: i64) -> rusqlite::Result<bool> {
    let before = super::meta_get(conn, SCRUBBED)?.unwrap_or(0);
    let through = seq.min(last_seq(conn)?);
    if through <= before {
        return Ok(false);
    }
    // Events up to `before` were scrubbed already (the mark only grows), so only the new range
    // is read, not the whole history.
    conn.execute(
        &format!(
            "UPDATE events SET data = json_remove(data, '$.pickup_code')
             WHERE seq > ?1 AND seq <= ?2 AND type IN {CODE_EVENTS}
               AND json_extract(data, '$.pickup_code') IS NOT NULL"
        ),
        [before, through],
    )?;
    super::meta_set(conn, SCRUBBED, through)?;
    Ok(true)
}

/// When the oldest event after `seq` happened, if any.
pub fn oldest_after(conn: &Connection, seq: i64) -> rusqlite::Result<Option<Timestamp>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT at FROM events WHERE seq > ?1 ORDER BY seq LIMIT 1",
        [seq],
        |r| r.get(0).map(Timestamp),
    )
    .optional()
}

/// Deletes the events up to `through` (those the cloud is known to have) that happened before
/// `before`; returns how many went. Later events are never deleted, however old.
pub fn prune_events(conn: &Connection, before: Timestamp, through: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM events WHERE seq <= ?1 AND at < ?2",
        params![through, before.0],
    )
}
