//! Reservations: pre-advised parcels with, optionally, a cloud-issued pickup code (its hash only).

use crate::domain::{Reservation, Size, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};

fn from_row(r: &Row<'_>) -> rusqlite::Result<Reservation> {
    let size: String = r.get("size")?;
    Ok(Reservation {
        tracking_id: r.get("tracking_id")?,
        size: Size::parse(&size).ok_or_else(|| super::unknown("size", &size))?,
        expires_at: Timestamp(r.get("expires_at")?),
        has_code: r.get::<_, Option<Vec<u8>>>("code_hash")?.is_some(),
        photo: r.get("photo")?,
        accessible: r.get("accessible")?,
        created_at: Timestamp(r.get("created_at")?),
        updated_at: Timestamp(r.get("updated_at")?),
    })
}

/// How many reservations are open.
pub fn count_reservations(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT count(*) FROM reservations", [], |r| r.get(0))
}

/// Inserts or replaces the reservation of `r.tracking_id`; `true` if it was new.
/// A replacement keeps its `created_at`.
pub fn upsert_reservation(
    conn: &Connection,
    r: &Reservation,
    code_hash: Option<&[u8]>,
) -> rusqlite::Result<bool> {
    let existed = get_reservation(conn, &r.tracking_id)?.is_some();
    conn.execute(
        "INSERT INTO reservations
             (tracking_id, size, expires_at, code_hash, photo, accessible, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(tracking_id) DO UPDATE SET
             size = excluded.size, expires_at = excluded.expires_at,
             code_hash = excluded.code_hash, photo = excluded.photo,
             accessible = excluded.accessible, updated_at = excluded.updated_at",
        params![
            r.tracking_id,
            r.size.as_str(),
            r.expires_at.0,
            code_hash,
            r.photo,
            r.accessible,
            r.created_at.0,
            r.updated_at.0
        ],
    )?;
    Ok(!existed)
}

pub fn get_reservation(
    conn: &Connection,
    tracking_id: &str,
) -> rusqlite::Result<Option<Reservation>> {
    conn.query_row(
        "SELECT * FROM reservations WHERE tracking_id = ?1",
        [tracking_id],
        from_row,
    )
    .optional()
}

/// The hash of the cloud-issued code of a reservation, if it has one.
pub fn reservation_code_hash(
    conn: &Connection,
    tracking_id: &str,
) -> rusqlite::Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row(
            "SELECT code_hash FROM reservations WHERE tracking_id = ?1",
            [tracking_id],
            |r| r.get::<_, Option<Vec<u8>>>(0),
        )
        .optional()?
        .flatten())
}

/// Reservations in tracking-id order, after the cursor `after` (a tracking id).
pub fn list_reservations(
    conn: &Connection,
    after: Option<&str>,
    limit: usize,
) -> rusqlite::Result<Vec<Reservation>> {
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM reservations WHERE tracking_id > ?1 ORDER BY tracking_id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after.unwrap_or(""), limit as i64], from_row)?;
    rows.collect()
}

/// Deletes a reservation; `true` if there was one.
pub fn delete_reservation(conn: &Connection, tracking_id: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "DELETE FROM reservations WHERE tracking_id = ?1",
        [tracking_id],
    )? > 0)
}

/// Deletes reservations that lapsed at or before `now`, except those whose parcel is being
/// deposited right now (the deposit will still need the cloud's code when it is stored).
/// Returns the tracking ids deleted.
pub fn delete_lapsed_reservations(
    conn: &Connection,
    now: Timestamp,
) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "DELETE FROM reservations WHERE expires_at <= ?1 AND NOT EXISTS (
             SELECT 1 FROM parcels p WHERE p.tracking_id = reservations.tracking_id
               AND p.state IN ('opening', 'open', 'closed'))
         RETURNING tracking_id",
    )?;
    stmt.query_map([now.0], |r| r.get(0))?.collect()
}
