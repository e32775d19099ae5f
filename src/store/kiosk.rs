//! One-time links (a kiosk's pairing, an operator's console link), and a parcel's wish for an
//! accessible compartment.

use crate::domain::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

/// Records a link's code by its hash, with the role of the token it gives.
pub fn insert_pairing(
    conn: &Connection,
    hash: &[u8],
    name: &str,
    role: &str,
    expires_at: Timestamp,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO kiosk_pairings (hash, name, role, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![hash, name, role, expires_at.0],
    )?;
    Ok(())
}

/// Spends the link with this hash and role: its name if it was live at `now`. Spent and lapsed
/// codes are gone afterwards either way; a code for another role stays (a kiosk's code posted
/// as a console link, or the other way round, spends nothing).
pub fn take_pairing(
    conn: &Connection,
    hash: &[u8],
    role: &str,
    now: Timestamp,
) -> rusqlite::Result<Option<String>> {
    let name = conn
        .query_row(
            "DELETE FROM kiosk_pairings WHERE hash = ?1 AND role = ?2 AND expires_at > ?3 \
             RETURNING name",
            params![hash, role, now.0],
            |r| r.get(0),
        )
        .optional()?;
    conn.execute("DELETE FROM kiosk_pairings WHERE expires_at <= ?1", [now.0])?;
    Ok(name)
}

/// Cancels the links not spent yet that would make the token `name`: how many there were.
pub fn cancel_pairings(conn: &Connection, name: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM kiosk_pairings WHERE name = ?1", [name])
}

pub fn set_prefer_accessible(conn: &Connection, parcel_id: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE parcels SET prefer_accessible = 1 WHERE id = ?1",
        [parcel_id],
    )?;
    Ok(())
}

pub fn prefers_accessible(conn: &Connection, parcel_id: &str) -> rusqlite::Result<bool> {
    Ok(conn
        .query_row(
            "SELECT prefer_accessible FROM parcels WHERE id = ?1",
            [parcel_id],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .is_some_and(|v| v != 0))
}
