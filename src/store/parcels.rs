//! Parcel rows and their pickup-code hashes.

use crate::domain::{
    CompartmentId, CourierId, DeliveredBy, Parcel, ParcelId, ParcelState, Removal, RemovalKind,
    Size, Timestamp,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

fn from_row(r: &Row<'_>) -> rusqlite::Result<Parcel> {
    let removal = match r.get::<_, Option<String>>("removal")? {
        Some(k) => Some(RemovalKind::parse(&k).ok_or_else(|| super::unknown("removal", &k))?),
        None => None,
    };
    let door_seen_open: bool = r.get("removal_seen")?;
    let state: String = r.get("state")?;
    let size: String = r.get("size")?;
    Ok(Parcel {
        id: ParcelId(r.get("id")?),
        tracking_id: r.get("tracking_id")?,
        size: Size::parse(&size).ok_or_else(|| super::unknown("size", &size))?,
        state: ParcelState::parse(&state).ok_or_else(|| super::unknown("parcel state", &state))?,
        removal: removal.map(|kind| Removal {
            kind,
            door_seen_open,
        }),
        compartment: r
            .get::<_, Option<String>>("compartment")?
            .map(CompartmentId),
        courier: r.get::<_, Option<String>>("courier")?.map(CourierId),
        deposited_at: Timestamp(r.get("deposited_at")?),
        closed_at: r.get::<_, Option<i64>>("closed_at")?.map(Timestamp),
        stored_at: r.get::<_, Option<i64>>("stored_at")?.map(Timestamp),
        expires_at: r.get::<_, Option<i64>>("expires_at")?.map(Timestamp),
        ended_at: r.get::<_, Option<i64>>("ended_at")?.map(Timestamp),
        photo: r.get("photo")?,
        delivered_by: match r.get::<_, Option<String>>("delivered_by")? {
            Some(d) => {
                Some(DeliveredBy::parse(&d).ok_or_else(|| super::unknown("delivered_by", &d))?)
            }
            None => None,
        },
    })
}

pub fn insert_parcel(conn: &Connection, p: &Parcel) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO parcels (id, tracking_id, size, state, compartment, courier, deposited_at,
             delivered_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            p.id.as_str(),
            p.tracking_id,
            p.size.as_str(),
            p.state.as_str(),
            p.compartment.as_ref().map(|c| c.as_str()),
            p.courier.as_ref().map(|c| c.as_str()),
            p.deposited_at.0,
            p.delivered_by.as_ref().map(DeliveredBy::as_string)
        ],
    )?;
    save_parcel(conn, p)
}

/// Writes every field the state machine may change.
pub fn save_parcel(conn: &Connection, p: &Parcel) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE parcels SET state = ?2, removal = ?3, removal_seen = ?4, compartment = ?5,
             closed_at = ?6, stored_at = ?7, expires_at = ?8, ended_at = ?9, photo = ?10
         WHERE id = ?1",
        params![
            p.id.as_str(),
            p.state.as_str(),
            p.removal.map(|r| r.kind.as_str()),
            p.removal.is_some_and(|r| r.door_seen_open),
            p.compartment.as_ref().map(|c| c.as_str()),
            p.closed_at.map(|t| t.0),
            p.stored_at.map(|t| t.0),
            p.expires_at.map(|t| t.0),
            p.ended_at.map(|t| t.0),
            p.photo
        ],
    )?;
    Ok(())
}

pub fn get_parcel(conn: &Connection, id: &str) -> rusqlite::Result<Option<Parcel>> {
    conn.query_row("SELECT * FROM parcels WHERE id = ?1", [id], from_row)
        .optional()
}

/// The parcel in the locker (not collected, returned or cancelled) with this tracking id.
pub fn live_parcel_by_tracking(
    conn: &Connection,
    tracking_id: &str,
) -> rusqlite::Result<Option<Parcel>> {
    conn.query_row(
        "SELECT * FROM parcels WHERE tracking_id = ?1
           AND state NOT IN ('collected', 'returned', 'cancelled')",
        [tracking_id],
        from_row,
    )
    .optional()
}

/// A page of parcels in deposit order after cursor `after` (a `seq`); returns the last seq.
pub fn list_parcels(
    conn: &Connection,
    state: Option<ParcelState>,
    after: i64,
    limit: usize,
) -> rusqlite::Result<Vec<(i64, Parcel)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM parcels WHERE seq > ?1 AND (?2 IS NULL OR state = ?2) ORDER BY seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![after, state.map(|s| s.as_str()), limit as i64],
        |r| Ok((r.get::<_, i64>("seq")?, from_row(r)?)),
    )?;
    rows.collect()
}

/// Parcels in `state` (e.g. every `closed` one, for the grace period).
pub fn parcels_in_state(conn: &Connection, state: ParcelState) -> rusqlite::Result<Vec<Parcel>> {
    let mut stmt = conn.prepare_cached("SELECT * FROM parcels WHERE state = ?1 ORDER BY seq")?;
    stmt.query_map([state.as_str()], from_row)?.collect()
}

/// Stored parcels whose time ran out by `now`.
pub fn parcels_expiring(conn: &Connection, now: Timestamp) -> rusqlite::Result<Vec<Parcel>> {
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM parcels WHERE state = 'stored' AND removal IS NULL AND expires_at <= ?1",
    )?;
    stmt.query_map([now.0], from_row)?.collect()
}

pub fn parcels_of_courier(
    conn: &Connection,
    courier: &str,
    state: ParcelState,
) -> rusqlite::Result<Vec<Parcel>> {
    let mut stmt = conn
        .prepare_cached("SELECT * FROM parcels WHERE courier = ?1 AND state = ?2 ORDER BY seq")?;
    stmt.query_map([courier, state.as_str()], from_row)?
        .collect()
}

/// Whether a live code (a parcel's, one held during a pickup, or one the cloud issued for a
/// parcel still to come) has this hash: codes the locker generates must differ from all of them.
pub fn code_hash_in_use(conn: &Connection, hash: &[u8]) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM parcels WHERE code_hash = ?1 OR held_code_hash = ?1)
             OR EXISTS(SELECT 1 FROM reservations WHERE code_hash = ?1)
             OR EXISTS(SELECT 1 FROM access_codes WHERE code_hash = ?1)",
        params![hash],
        |r| r.get(0),
    )
}

/// Whether the keypad already takes this hash: a parcel's live (or held) code or an access
/// code. Reservations are not asked.
pub fn code_hash_live(conn: &Connection, hash: &[u8]) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM parcels WHERE code_hash = ?1 OR held_code_hash = ?1)
             OR EXISTS(SELECT 1 FROM access_codes WHERE code_hash = ?1)",
        params![hash],
        |r| r.get(0),
    )
}

/// The parcel whose live code has this hash (an index lookup: the hash is an HMAC under the
/// install key, so how long the lookup takes says nothing about the code's digits).
pub fn parcel_by_code_hash(conn: &Connection, hash: &[u8]) -> rusqlite::Result<Option<Parcel>> {
    conn.query_row(
        "SELECT * FROM parcels WHERE code_hash = ?1",
        [hash],
        from_row,
    )
    .optional()
}

/// Sets (or with `None` kills) the parcel's live code.
pub fn set_code_hash(
    conn: &Connection,
    parcel: &ParcelId,
    hash: Option<&[u8]>,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE parcels SET code_hash = ?2 WHERE id = ?1",
        params![parcel.as_str(), hash],
    )?;
    Ok(())
}

/// Moves the live code aside while a pickup opens the door: it opens nothing meanwhile.
pub fn hold_code(conn: &Connection, parcel: &ParcelId) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE parcels SET held_code_hash = code_hash, code_hash = NULL WHERE id = ?1",
        [parcel.as_str()],
    )?;
    Ok(())
}

/// The pickup failed to open the door: the held code is live again.
pub fn restore_held_code(conn: &Connection, parcel: &ParcelId) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE parcels SET code_hash = held_code_hash, held_code_hash = NULL WHERE id = ?1",
        [parcel.as_str()],
    )?;
    Ok(())
}

/// The held code is spent (the door opened) or void.
pub fn drop_held_code(conn: &Connection, parcel: &ParcelId) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE parcels SET held_code_hash = NULL WHERE id = ?1",
        [parcel.as_str()],
    )?;
    Ok(())
}

/// A resized parcel's new size.
pub fn save_parcel_size(conn: &Connection, p: &Parcel) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE parcels SET size = ?2 WHERE id = ?1",
        params![p.id.as_str(), p.size.as_str()],
    )?;
    Ok(())
}

pub fn set_photo(conn: &Connection, parcel: &ParcelId, photo: bool) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE parcels SET photo = ?2 WHERE id = ?1",
        params![parcel.as_str(), photo],
    )?;
    Ok(())
}

/// Parcels with a photo that were stored before `before`.
pub fn parcels_with_photo_before(
    conn: &Connection,
    before: Timestamp,
) -> rusqlite::Result<Vec<ParcelId>> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM parcels WHERE photo = 1 AND stored_at < ?1")?;
    let rows = stmt.query_map([before.0], |r| r.get(0).map(ParcelId))?;
    rows.collect()
}

/// How many parcels are in each state (states with none may be absent or 0): the counts the
/// `parcel_counts` triggers keep, so this costs the same after a million parcels as after one.
pub fn count_parcels_by_state(conn: &Connection) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare_cached("SELECT state, n FROM parcel_counts")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Records the digest and size of the photo just kept for `parcel`; they stay after the file is
/// deleted by retention, as evidence of what it was.
pub fn set_photo_digest(
    conn: &Connection,
    parcel: &ParcelId,
    sha256: &str,
    bytes: u64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE parcels SET photo_sha256 = ?2, photo_bytes = ?3 WHERE id = ?1",
        params![parcel.as_str(), sha256, bytes as i64],
    )?;
    Ok(())
}

/// The digest and size of the parcel's photo, if one was ever kept.
pub fn photo_digest(
    conn: &Connection,
    parcel: &ParcelId,
) -> rusqlite::Result<Option<(String, u64)>> {
    conn.query_row(
        "SELECT photo_sha256, photo_bytes FROM parcels WHERE id = ?1 AND photo_sha256 IS NOT NULL",
        [parcel.as_str()],
        |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
    )
    .optional()
}
