//! Compartment rows and the intents of openings in progress.

use crate::domain::{
    Compartment, CompartmentId, CompartmentState, Door, ParcelId, Size, Timestamp,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// Every compartment state as stored.
pub const COMPARTMENT_STATES: [&str; 6] =
    ["free", "reserved", "open", "occupied", "disabled", "fault"];

pub fn state_str(s: CompartmentState) -> &'static str {
    match s {
        CompartmentState::Free => "free",
        CompartmentState::Reserved => "reserved",
        CompartmentState::Open => "open",
        CompartmentState::Occupied => "occupied",
        CompartmentState::Disabled => "disabled",
        CompartmentState::Fault => "fault",
    }
}

fn parse_state(s: &str) -> rusqlite::Result<CompartmentState> {
    Ok(match s {
        "free" => CompartmentState::Free,
        "reserved" => CompartmentState::Reserved,
        "open" => CompartmentState::Open,
        "occupied" => CompartmentState::Occupied,
        "disabled" => CompartmentState::Disabled,
        "fault" => CompartmentState::Fault,
        other => return Err(super::unknown("compartment state", other)),
    })
}

pub fn door_str(d: Door) -> &'static str {
    match d {
        Door::Open => "open",
        Door::Closed => "closed",
        Door::Unknown => "unknown",
    }
}

fn parse_door(s: &str) -> rusqlite::Result<Door> {
    Ok(match s {
        "open" => Door::Open,
        "closed" => Door::Closed,
        "unknown" => Door::Unknown,
        other => return Err(super::unknown("door state", other)),
    })
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Compartment> {
    let size: String = r.get("size")?;
    Ok(Compartment {
        id: CompartmentId(r.get("id")?),
        size: Size::parse(&size).ok_or_else(|| super::unknown("size", &size))?,
        accessible: r.get("accessible")?,
        state: parse_state(&r.get::<_, String>("state")?)?,
        door: parse_door(&r.get::<_, String>("door")?)?,
        parcel: r.get::<_, Option<String>>("parcel_id")?.map(ParcelId),
        uses: r.get::<_, i64>("uses")? as u64,
    })
}

/// Makes the table match the configured compartments: new ones are added free with their door
/// unknown; existing ones keep their state but take the configured size and accessibility.
/// Rows of compartments no longer configured are kept (a parcel may still be inside) but are
/// no longer listed or assigned.
pub fn sync_compartments(
    conn: &Connection,
    configured: &[(CompartmentId, Size, bool)],
) -> rusqlite::Result<()> {
    for (id, size, accessible) in configured {
        conn.execute(
            "INSERT INTO compartments (id, size, accessible, state, door) VALUES (?1, ?2, ?3, 'free', 'unknown')
             ON CONFLICT(id) DO UPDATE SET size = excluded.size, accessible = excluded.accessible",
            params![id.as_str(), size.as_str(), accessible],
        )?;
    }
    Ok(())
}

pub fn get_compartment(conn: &Connection, id: &str) -> rusqlite::Result<Option<Compartment>> {
    conn.query_row("SELECT * FROM compartments WHERE id = ?1", [id], from_row)
        .optional()
}

/// Every compartment in `ids`' order (the configured order), skipping unknown ids.
///
/// One pass over the table, then put in order: a deposit reads every compartment to choose
/// one, and a query per id cost five times as much (500 compartments, `benches/assign.rs`).
/// The table holds only compartments ever configured, so reading rows no longer configured
/// costs little.
pub fn list_compartments(
    conn: &Connection,
    ids: &[CompartmentId],
) -> rusqlite::Result<Vec<Compartment>> {
    let mut stmt = conn.prepare_cached("SELECT * FROM compartments")?;
    let mut by_id: std::collections::HashMap<String, Compartment> = stmt
        .query_map([], from_row)?
        .map(|c| c.map(|c| (c.id.0.clone(), c)))
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids
        .iter()
        .filter_map(|id| by_id.remove(id.as_str()))
        .collect())
}

pub fn save_compartment(conn: &Connection, c: &Compartment) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE compartments SET state = ?2, door = ?3, parcel_id = ?4, uses = ?5 WHERE id = ?1",
        params![
            c.id.as_str(),
            state_str(c.state),
            door_str(c.door),
            c.parcel.as_ref().map(|p| p.as_str()),
            c.uses as i64
        ],
    )?;
    Ok(())
}

/// Why a door is being opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    Deposit,
    /// The courier reopens a closed deposit: the parcel is inside.
    Reopen,
    Pickup,
    Cancel,
    Return,
    Maintenance,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Deposit => "deposit",
            Purpose::Reopen => "reopen",
            Purpose::Pickup => "pickup",
            Purpose::Cancel => "cancel",
            Purpose::Return => "return",
            Purpose::Maintenance => "maintenance",
        }
    }

    fn parse(s: &str) -> rusqlite::Result<Purpose> {
        [
            Purpose::Deposit,
            Purpose::Reopen,
            Purpose::Pickup,
            Purpose::Cancel,
            Purpose::Return,
            Purpose::Maintenance,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or_else(|| super::unknown("intent purpose", s))
    }
}

/// An opening in progress, written before the latch is energized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub compartment: CompartmentId,
    pub purpose: Purpose,
    pub parcel: Option<ParcelId>,
    pub actor: Option<String>,
    /// Why (a maintenance opening's reason).
    pub reason: Option<String>,
    pub created_at: Timestamp,
}

/// Records an intent; false if the compartment already has one (another opening is underway).
pub fn insert_intent(conn: &Connection, i: &Intent) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "INSERT INTO intents (compartment, purpose, parcel_id, actor, reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(compartment) DO NOTHING",
        params![
            i.compartment.as_str(),
            i.purpose.as_str(),
            i.parcel.as_ref().map(|p| p.as_str()),
            i.actor,
            i.reason,
            i.created_at.0
        ],
    )?;
    Ok(n == 1)
}

pub fn take_intent(conn: &Connection, compartment: &str) -> rusqlite::Result<Option<Intent>> {
    let intent = conn
        .query_row(
            "SELECT * FROM intents WHERE compartment = ?1",
            [compartment],
            intent_from_row,
        )
        .optional()?;
    conn.execute("DELETE FROM intents WHERE compartment = ?1", [compartment])?;
    Ok(intent)
}

pub fn get_intent(conn: &Connection, compartment: &str) -> rusqlite::Result<Option<Intent>> {
    conn.query_row(
        "SELECT * FROM intents WHERE compartment = ?1",
        [compartment],
        intent_from_row,
    )
    .optional()
}

pub fn list_intents(conn: &Connection) -> rusqlite::Result<Vec<Intent>> {
    let mut stmt = conn.prepare("SELECT * FROM intents ORDER BY created_at")?;
    stmt.query_map([], intent_from_row)?.collect()
}

fn intent_from_row(r: &Row<'_>) -> rusqlite::Result<Intent> {
    Ok(Intent {
        compartment: CompartmentId(r.get("compartment")?),
        purpose: Purpose::parse(&r.get::<_, String>("purpose")?)?,
        parcel: r.get::<_, Option<String>>("parcel_id")?.map(ParcelId),
        actor: r.get("actor")?,
        reason: r.get("reason")?,
        created_at: Timestamp(r.get("created_at")?),
    })
}

/// Compartments assigned this parcel (two while a resize is in progress).
pub fn compartments_holding(
    conn: &Connection,
    parcel: &ParcelId,
) -> rusqlite::Result<Vec<CompartmentId>> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM compartments WHERE parcel_id = ?1 ORDER BY id")?;
    stmt.query_map([parcel.as_str()], |r| Ok(CompartmentId(r.get(0)?)))?
        .collect()
}
