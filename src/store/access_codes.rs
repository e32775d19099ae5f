//! Access codes (only their keyed hashes), reservations' deposit PINs and delivery sessions.

use crate::domain::{AccessCode, CodePurpose, CompartmentId, ParcelId, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};

fn from_row(r: &Row<'_>) -> rusqlite::Result<AccessCode> {
    let purpose: String = r.get("purpose")?;
    let compartments: Option<String> = r.get("compartments")?;
    let compartments = match compartments {
        Some(json) => Some(
            serde_json::from_str::<Vec<String>>(&json)
                .map_err(|_| super::unknown("compartments", &json))?
                .into_iter()
                .map(CompartmentId)
                .collect(),
        ),
        None => None,
    };
    Ok(AccessCode {
        id: r.get("id")?,
        name: r.get("name")?,
        purpose: CodePurpose::parse(&purpose).ok_or_else(|| super::unknown("purpose", &purpose))?,
        uses_left: r.get("uses_left")?,
        expires_at: r.get::<_, Option<i64>>("expires_at")?.map(Timestamp),
        compartments,
        created_at: Timestamp(r.get("created_at")?),
        last_used_at: r.get::<_, Option<i64>>("last_used_at")?.map(Timestamp),
    })
}

fn scope_json(code: &AccessCode) -> Option<String> {
    code.compartments.as_ref().map(|ids| {
        serde_json::to_string(&ids.iter().map(|c| c.as_str()).collect::<Vec<_>>())
            .expect("strings serialize")
    })
}

/// Inserts a new access code; `false` if its name is taken.
pub fn insert_access_code(
    conn: &Connection,
    code: &AccessCode,
    hash: &[u8],
) -> rusqlite::Result<bool> {
    let inserted = conn.execute(
        "INSERT INTO access_codes (id, name, purpose, code_hash, uses_left, expires_at,
             compartments, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(name) DO NOTHING",
        params![
            code.id,
            code.name,
            code.purpose.as_str(),
            hash,
            code.uses_left,
            code.expires_at.map(|t| t.0),
            scope_json(code),
            code.created_at.0,
        ],
    )?;
    Ok(inserted == 1)
}

pub fn list_access_codes(conn: &Connection) -> rusqlite::Result<Vec<AccessCode>> {
    let mut stmt = conn.prepare_cached("SELECT * FROM access_codes ORDER BY created_at, id")?;
    stmt.query_map([], from_row)?.collect()
}

/// The access code with this hash (an index lookup on a keyed hash, like pickup codes).
pub fn access_code_by_hash(conn: &Connection, hash: &[u8]) -> rusqlite::Result<Option<AccessCode>> {
    conn.query_row(
        "SELECT * FROM access_codes WHERE code_hash = ?1",
        [hash],
        from_row,
    )
    .optional()
}

/// Records a use: uses left and when.
pub fn save_access_code_use(conn: &Connection, code: &AccessCode) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE access_codes SET uses_left = ?2, last_used_at = ?3 WHERE id = ?1",
        params![code.id, code.uses_left, code.last_used_at.map(|t| t.0)],
    )?;
    Ok(())
}

/// Deletes an access code; the deleted one, if it existed.
pub fn delete_access_code(conn: &Connection, id: &str) -> rusqlite::Result<Option<AccessCode>> {
    conn.query_row(
        "DELETE FROM access_codes WHERE id = ?1 RETURNING *",
        [id],
        from_row,
    )
    .optional()
}

pub fn count_access_codes(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT count(*) FROM access_codes", [], |r| r.get(0))
}

/// The keyed hash of a reservation's deposit PIN, if it has one.
pub fn reservation_pin_hash(
    conn: &Connection,
    tracking_id: &str,
) -> rusqlite::Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row(
            "SELECT deposit_pin_hash FROM reservations WHERE tracking_id = ?1",
            [tracking_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

pub fn set_reservation_pin_hash(
    conn: &Connection,
    tracking_id: &str,
    hash: Option<&[u8]>,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE reservations SET deposit_pin_hash = ?2 WHERE tracking_id = ?1",
        params![tracking_id, hash],
    )?;
    Ok(())
}

pub fn insert_delivery_session(
    conn: &Connection,
    hash: &[u8],
    parcel: &ParcelId,
    expires_at: Timestamp,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO delivery_sessions (hash, parcel_id, expires_at) VALUES (?1, ?2, ?3)",
        params![hash, parcel.as_str(), expires_at.0],
    )?;
    Ok(())
}

/// The parcel of a live delivery session.
pub fn delivery_session_parcel(
    conn: &Connection,
    hash: &[u8],
    now: Timestamp,
) -> rusqlite::Result<Option<ParcelId>> {
    conn.query_row(
        "SELECT parcel_id FROM delivery_sessions WHERE hash = ?1 AND expires_at > ?2",
        params![hash, now.0],
        |r| Ok(ParcelId(r.get(0)?)),
    )
    .optional()
}

pub fn delete_delivery_sessions_of(conn: &Connection, parcel: &ParcelId) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM delivery_sessions WHERE parcel_id = ?1",
        [parcel.as_str()],
    )?;
    Ok(())
}

/// Forgets delivery sessions that lapsed or whose parcel is no longer being deposited.
pub fn prune_delivery_sessions(conn: &Connection, now: Timestamp) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM delivery_sessions WHERE expires_at <= ?1 OR parcel_id NOT IN
             (SELECT id FROM parcels WHERE state IN ('opening', 'open', 'closed'))",
        [now.0],
    )
}

/// Keeps the compartments a parcel may be put in (see `compartment_scope`).
pub fn set_compartment_scope(
    conn: &Connection,
    parcel: &ParcelId,
    within: &[CompartmentId],
) -> rusqlite::Result<()> {
    let json = serde_json::to_string(&within.iter().map(|c| c.as_str()).collect::<Vec<_>>())
        .expect("strings serialize");
    conn.execute(
        "UPDATE parcels SET compartment_scope = ?2 WHERE id = ?1",
        params![parcel.as_str(), json],
    )?;
    Ok(())
}

/// The compartments a parcel may be put in; `None`: any.
pub fn compartment_scope(
    conn: &Connection,
    parcel: &ParcelId,
) -> rusqlite::Result<Option<Vec<CompartmentId>>> {
    let json: Option<String> = conn
        .query_row(
            "SELECT compartment_scope FROM parcels WHERE id = ?1",
            [parcel.as_str()],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    match json {
        None => Ok(None),
        Some(json) => serde_json::from_str::<Vec<String>>(&json)
            .map(|ids| Some(ids.into_iter().map(CompartmentId).collect()))
            .map_err(|_| super::unknown("compartment_scope", &json)),
    }
}
