//! The locker's state as the invariants judge it, read two ways: from the SQLite file opened
//! read-only (in one read transaction, so every table is from the same commit) and through the
//! API. Only the file shows the door log, the intents and SQLite's own view of itself.

use super::api::Api;
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct ParcelRow {
    pub id: String,
    pub tracking_id: String,
    pub state: String,
    pub compartment: Option<String>,
}

impl ParcelRow {
    /// Still in the locker (or on its way in): not collected, returned or cancelled.
    pub fn live(&self) -> bool {
        !matches!(self.state.as_str(), "collected" | "returned" | "cancelled")
    }
}

#[derive(Debug, Clone)]
pub struct CompartmentRow {
    pub id: String,
    pub state: String,
    pub door: String,
    pub parcel_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EventRow {
    pub seq: i64,
    pub id: String,
    pub kind: String,
    pub data: Value,
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub seq: i64,
    pub action: String,
    pub detail: Value,
}

#[derive(Debug, Clone)]
pub struct DoorRow {
    pub id: i64,
    pub compartment: String,
    pub open: bool,
    pub cause: String,
    pub parcel_id: Option<String>,
}

/// What only the database file shows.
#[derive(Debug, Clone)]
pub struct FileFacts {
    pub door_log: Vec<DoorRow>,
    /// `PRAGMA integrity_check`, its rows joined: `ok` when sound.
    pub integrity: String,
    /// Openings recorded and not yet settled.
    pub intents: i64,
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    /// `"db"` or `"api"`, for messages.
    pub source: &'static str,
    pub parcels: Vec<ParcelRow>,
    pub compartments: Vec<CompartmentRow>,
    pub events: Vec<EventRow>,
    /// The highest event seq ever handed out (`sqlite_sequence`, or the feed's `last_seq`).
    pub last_seq: i64,
    pub audit: Vec<AuditRow>,
    pub file: Option<FileFacts>,
}

impl Snapshot {
    /// Reads the database at `path` read-only, beside a running daemon or not.
    pub fn from_db(path: &Path) -> rusqlite::Result<Snapshot> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let tx = conn.transaction()?;
        let last_seq = tx.query_row(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)",
            [],
            |r| r.get(0),
        )?;
        let integrity = rows(&tx, "PRAGMA integrity_check", |r| r.get::<_, String>(0))?;
        Ok(Snapshot {
            source: "db",
            parcels: db_parcels(&tx)?,
            compartments: db_compartments(&tx)?,
            events: rows(
                &tx,
                "SELECT seq, id, type, data FROM events ORDER BY seq",
                |r| {
                    Ok(EventRow {
                        seq: r.get(0)?,
                        id: r.get(1)?,
                        kind: r.get(2)?,
                        data: json_text(r.get(3)?),
                    })
                },
            )?,
            last_seq,
            audit: rows(
                &tx,
                "SELECT seq, action, detail FROM audit ORDER BY seq",
                |r| {
                    Ok(AuditRow {
                        seq: r.get(0)?,
                        action: r.get(1)?,
                        detail: json_text(r.get(2)?),
                    })
                },
            )?,
            file: Some(FileFacts {
                door_log: db_door_log(&tx)?,
                integrity: integrity.join("; "),
                intents: tx.query_row("SELECT count(*) FROM intents", [], |r| r.get(0))?,
            }),
        })
    }

    /// Reads the same through the API: `operator` reads parcels, compartments and the audit
    /// log, `sync` the event feed. Every page, so nothing is sampled.
    pub async fn from_api(api: &Api, operator: &str, sync: &str) -> Snapshot {
        let mut parcels = vec![];
        let mut after = String::new();
        loop {
            let page = api
                .get_ok(
                    &format!("/api/v1/parcels?limit=500&after={after}"),
                    operator,
                )
                .await;
            parcels.extend(items(&page, "parcels").iter().map(|p| ParcelRow {
                id: text(&p["id"]),
                tracking_id: text(&p["tracking_id"]),
                state: text(&p["state"]),
                compartment: p["compartment"].as_str().map(str::to_owned),
            }));
            match page["next"].as_str() {
                Some(next) => after = next.to_owned(),
                None => break,
            }
        }
        let list = api.get_ok("/api/v1/compartments", operator).await;
        let compartments = items(&list, "compartments")
            .iter()
            .map(|c| CompartmentRow {
                id: text(&c["id"]),
                state: text(&c["state"]),
                door: text(&c["door"]),
                parcel_id: c["parcel_id"].as_str().map(str::to_owned),
            })
            .collect();
        let (events, last_seq) = feed(api, sync).await;
        Snapshot {
            source: "api",
            parcels,
            compartments,
            events,
            last_seq,
            audit: audit(api, operator).await,
            file: None,
        }
    }
}

fn db_parcels(conn: &Connection) -> rusqlite::Result<Vec<ParcelRow>> {
    let sql = "SELECT id, tracking_id, state, compartment FROM parcels ORDER BY seq";
    rows(conn, sql, |r| {
        Ok(ParcelRow {
            id: r.get(0)?,
            tracking_id: r.get(1)?,
            state: r.get(2)?,
            compartment: r.get(3)?,
        })
    })
}

fn db_compartments(conn: &Connection) -> rusqlite::Result<Vec<CompartmentRow>> {
    let sql = "SELECT id, state, door, parcel_id FROM compartments ORDER BY id";
    rows(conn, sql, |r| {
        Ok(CompartmentRow {
            id: r.get(0)?,
            state: r.get(1)?,
            door: r.get(2)?,
            parcel_id: r.get(3)?,
        })
    })
}

fn db_door_log(conn: &Connection) -> rusqlite::Result<Vec<DoorRow>> {
    let sql = "SELECT id, compartment, open, cause, parcel_id FROM door_log ORDER BY id";
    rows(conn, sql, |r| {
        Ok(DoorRow {
            id: r.get(0)?,
            compartment: r.get(1)?,
            open: r.get(2)?,
            cause: r.get(3)?,
            parcel_id: r.get(4)?,
        })
    })
}

/// The whole event feed from seq 1, and its `last_seq`.
async fn feed(api: &Api, sync: &str) -> (Vec<EventRow>, i64) {
    let (mut events, mut after) = (vec![], 0);
    loop {
        let path = format!("/api/v1/sync/events?after={after}&limit=1000");
        let page = api.get_ok(&path, sync).await;
        let batch = items(&page, "events");
        if batch.is_empty() {
            let last_seq = page["last_seq"].as_i64().expect("last_seq");
            return (events, last_seq);
        }
        events.extend(batch.iter().map(event_row));
        after = events.last().expect("a page").seq;
    }
}

pub fn event_row(e: &Value) -> EventRow {
    EventRow {
        seq: e["seq"].as_i64().expect("seq"),
        id: text(&e["id"]),
        kind: text(&e["type"]),
        data: e["data"].clone(),
    }
}

async fn audit(api: &Api, operator: &str) -> Vec<AuditRow> {
    let (mut entries, mut after) = (vec![], 0);
    loop {
        let path = format!("/api/v1/audit?after={after}&limit=1000");
        let page = api.get_ok(&path, operator).await;
        entries.extend(items(&page, "entries").iter().map(|e| AuditRow {
            seq: e["seq"].as_i64().expect("seq"),
            action: text(&e["action"]),
            detail: e["detail"].clone(),
        }));
        match page["next"].as_i64() {
            Some(next) => after = next,
            None => return entries,
        }
    }
}

fn rows<T>(
    conn: &Connection,
    sql: &str,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    conn.prepare(sql)?.query_map([], f)?.collect()
}

fn json_text(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

fn items<'a>(page: &'a Value, key: &str) -> &'a Vec<Value> {
    page[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key}: {page}"))
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}
