//! The door log (every opening and closing seen, and why) and incident reports.

use crate::domain::{CompartmentId, ParcelId, Timestamp};
use rusqlite::{Connection, params};

/// One door movement of a compartment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorLogEntry {
    pub at: Timestamp,
    pub open: bool,
    /// What the opening was for (`deposit`, `pickup`, `maintenance`, `return`, `reopen`,
    /// `cancel`) or `forced`; a closing carries the cause of the opening it ends.
    pub cause: String,
    pub parcel: Option<ParcelId>,
}

pub fn log_door(
    conn: &Connection,
    compartment: &CompartmentId,
    entry: &DoorLogEntry,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO door_log (compartment, at, open, cause, parcel_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            compartment.as_str(),
            entry.at.0,
            entry.open,
            entry.cause,
            entry.parcel.as_ref().map(|p| p.as_str())
        ],
    )?;
    Ok(())
}

/// The cause of the latest door movement of `compartment`, if any was logged.
pub fn last_door_cause(
    conn: &Connection,
    compartment: &CompartmentId,
) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT cause FROM door_log WHERE compartment = ?1 ORDER BY id DESC LIMIT 1",
        [compartment.as_str()],
        |r| r.get(0),
    )
    .optional()
}

/// Where a door history starts.
#[derive(Debug, Clone)]
pub enum HistoryFrom<'a> {
    /// From the first movement logged for this parcel in the compartment (its deposit), or
    /// from the time given if none was.
    Parcel(&'a ParcelId, Timestamp),
    Time(Timestamp),
}

/// The door movements of `compartment` since `from`, oldest first, at most `limit` (the most
/// recent ones when there are more). Log order, not time, decides what came after a deposit:
/// two movements may share a millisecond.
pub fn door_history(
    conn: &Connection,
    compartment: &CompartmentId,
    from: HistoryFrom<'_>,
    limit: usize,
) -> rusqlite::Result<Vec<DoorLogEntry>> {
    let (parcel, since) = match from {
        HistoryFrom::Parcel(p, t) => (Some(p.as_str()), t),
        HistoryFrom::Time(t) => (None, t),
    };
    let mut stmt = conn.prepare_cached(
        "SELECT at, open, cause, parcel_id FROM door_log
         WHERE compartment = ?1 AND id >= COALESCE(
             (SELECT min(id) FROM door_log WHERE compartment = ?1 AND parcel_id = ?2),
             (SELECT min(id) FROM door_log WHERE compartment = ?1 AND at >= ?3),
             (SELECT max(id) + 1 FROM door_log))
         ORDER BY id DESC LIMIT ?4",
    )?;
    let params = params![compartment.as_str(), parcel, since.0, limit as i64];
    let rows = stmt.query_map(params, |r| {
        Ok(DoorLogEntry {
            at: Timestamp(r.get(0)?),
            open: r.get(1)?,
            cause: r.get(2)?,
            parcel: r.get::<_, Option<String>>(3)?.map(ParcelId),
        })
    })?;
    let mut entries = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    entries.reverse();
    Ok(entries)
}

/// An incident as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRecord {
    pub id: String,
    pub kind: String,
    pub parcel: Option<ParcelId>,
    pub compartment: Option<CompartmentId>,
    pub note: Option<String>,
    pub reporter: String,
    pub at: Timestamp,
}

/// How many incidents were reported about `compartment` (`None`: about none) since `since`.
pub fn count_incidents_since(
    conn: &Connection,
    compartment: Option<&CompartmentId>,
    since: Timestamp,
) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM incidents WHERE compartment IS ?1 AND at >= ?2",
        params![compartment.map(|c| c.as_str()), since.0],
        |r| r.get(0),
    )
}

pub fn insert_incident(conn: &Connection, i: &IncidentRecord) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO incidents (id, kind, parcel_id, compartment, note, reporter, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            i.id,
            i.kind,
            i.parcel.as_ref().map(|p| p.as_str()),
            i.compartment.as_ref().map(|c| c.as_str()),
            i.note,
            i.reporter,
            i.at.0
        ],
    )?;
    Ok(())
}

// What a parcel's evidence reads, each by an index of schema 10 (or `incidents_by_compartment`),
// never a scan: a locker keeps years of door movements and incidents.
pub(super) const COMPARTMENTS_OF_PARCEL: &str = "SELECT compartment FROM door_log
     WHERE parcel_id = ?1 GROUP BY compartment ORDER BY min(id)";
pub(super) const DOOR_LOG_BETWEEN: &str = "SELECT at, open, cause, parcel_id FROM door_log
     WHERE compartment = ?1 AND at >= ?2 AND at <= ?3 ORDER BY at, id LIMIT ?4";
pub(super) const INCIDENTS_OF_PARCEL: &str = "SELECT id, kind, parcel_id, compartment, note,
     reporter, at FROM incidents WHERE parcel_id = ?1 ORDER BY at LIMIT ?2";
pub(super) const INCIDENTS_IN_COMPARTMENT: &str = "SELECT id, kind, parcel_id, compartment,
     note, reporter, at FROM incidents WHERE compartment = ?1 AND at >= ?2 AND at <= ?3
     ORDER BY at LIMIT ?4";

/// The compartments whose doors moved for `parcel` (a resize or a failover moves a deposit on).
pub fn compartments_of_parcel(
    conn: &Connection,
    parcel: &ParcelId,
) -> rusqlite::Result<Vec<CompartmentId>> {
    let mut stmt = conn.prepare_cached(COMPARTMENTS_OF_PARCEL)?;
    stmt.query_map([parcel.as_str()], |r| r.get(0).map(CompartmentId))?
        .collect()
}

/// Every door movement of `compartment` between `from` and `to` (inclusive), in log order, at
/// most `limit`: whoever or whatever moved it, this parcel's or not.
pub fn door_log_between(
    conn: &Connection,
    compartment: &CompartmentId,
    from: Timestamp,
    to: Timestamp,
    limit: usize,
) -> rusqlite::Result<Vec<DoorLogEntry>> {
    let mut stmt = conn.prepare_cached(DOOR_LOG_BETWEEN)?;
    let params = params![compartment.as_str(), from.0, to.0, limit as i64];
    stmt.query_map(params, |r| {
        Ok(DoorLogEntry {
            at: Timestamp(r.get(0)?),
            open: r.get(1)?,
            cause: r.get(2)?,
            parcel: r.get::<_, Option<String>>(3)?.map(ParcelId),
        })
    })?
    .collect()
}

/// Incidents reported about `parcel`, or about `compartment` between `from` and `to`, oldest
/// first, at most `limit`.
pub fn incidents_about(
    conn: &Connection,
    parcel: &ParcelId,
    compartments: &[CompartmentId],
    from: Timestamp,
    to: Timestamp,
    limit: usize,
) -> rusqlite::Result<Vec<IncidentRecord>> {
    let limit_sql = limit as i64;
    let mut found = query_incidents(
        conn,
        INCIDENTS_OF_PARCEL,
        params![parcel.as_str(), limit_sql],
    )?;
    for c in compartments {
        let params = params![c.as_str(), from.0, to.0, limit_sql];
        for i in query_incidents(conn, INCIDENTS_IN_COMPARTMENT, params)? {
            if !found.iter().any(|f| f.id == i.id) {
                found.push(i);
            }
        }
    }
    found.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    found.truncate(limit);
    Ok(found)
}

fn query_incidents(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<IncidentRecord>> {
    let mut stmt = conn.prepare_cached(sql)?;
    stmt.query_map(params, |r| {
        Ok(IncidentRecord {
            id: r.get(0)?,
            kind: r.get(1)?,
            parcel: r.get::<_, Option<String>>(2)?.map(ParcelId),
            compartment: r.get::<_, Option<String>>(3)?.map(CompartmentId),
            note: r.get(4)?,
            reporter: r.get(5)?,
            at: Timestamp(r.get(6)?),
        })
    })?
    .collect()
}
