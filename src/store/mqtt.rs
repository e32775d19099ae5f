//! The MQTT link's command results (schema 13): what makes a command run at most once per id.
//! A row is written before the command runs, so one a crash interrupted is not run again.

use crate::domain::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

/// The stored result of command `id`: its status and JSON body.
pub fn mqtt_command_result(
    conn: &Connection,
    id: &str,
) -> rusqlite::Result<Option<(u16, serde_json::Value)>> {
    conn.query_row(
        "SELECT status, body FROM mqtt_commands WHERE id = ?1",
        [id],
        |r| {
            let body: String = r.get(1)?;
            Ok((
                r.get(0)?,
                serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
            ))
        },
    )
    .optional()
}

/// Claims command `id` before it runs (status 0 until [`finish_mqtt_command`]); false when the
/// id was claimed already, by a run that finished or by one a crash cut short.
pub fn claim_mqtt_command(conn: &Connection, id: &str, at: Timestamp) -> rusqlite::Result<bool> {
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO mqtt_commands (id, received_at, status, body)
         VALUES (?1, ?2, 0, 'null')",
        params![id, at.0],
    )?;
    Ok(inserted == 1)
}

/// Records the result of the claimed command `id`.
pub fn finish_mqtt_command(
    conn: &Connection,
    id: &str,
    status: u16,
    body: &serde_json::Value,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE mqtt_commands SET status = ?2, body = ?3 WHERE id = ?1",
        params![id, status, body.to_string()],
    )?;
    Ok(())
}

/// Forgets the results of commands received before `before`.
pub fn prune_mqtt_commands(conn: &Connection, before: Timestamp) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM mqtt_commands WHERE received_at < ?1",
        [before.0],
    )
}
