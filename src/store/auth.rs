//! Tokens, couriers, courier sessions and failure throttles.
//!
//! Tokens and sessions are stored only as hashes; the caller hashes before it asks.

use crate::domain::Throttle;
use crate::domain::{CourierId, Role, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

pub fn insert_token(
    conn: &Connection,
    name: &str,
    role: Role,
    hash: &[u8],
    now: Timestamp,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "INSERT INTO tokens (name, role, hash, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(name) DO NOTHING",
        params![name, role.as_str(), hash, now.0],
    )?;
    Ok(n == 1)
}

/// The name and role of the token with this hash.
pub fn token_by_hash(conn: &Connection, hash: &[u8]) -> rusqlite::Result<Option<(String, Role)>> {
    conn.query_row(
        "SELECT name, role FROM tokens WHERE hash = ?1",
        [hash],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )
    .optional()
    .map(|found| found.and_then(|(name, role)| Role::parse(&role).map(|role| (name, role))))
}

pub fn list_tokens(conn: &Connection) -> rusqlite::Result<Vec<TokenInfo>> {
    let mut stmt = conn.prepare("SELECT name, role, created_at FROM tokens ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = vec![];
    for row in rows {
        let (name, role, created_at) = row?;
        if let Some(role) = Role::parse(&role) {
            out.push(TokenInfo {
                name,
                role,
                created_at: Timestamp(created_at),
            });
        }
    }
    Ok(out)
}

pub fn delete_token(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM tokens WHERE name = ?1", [name])? == 1)
}

/// An API token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    pub role: Role,
    pub created_at: Timestamp,
}

/// A courier as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourierInfo {
    pub id: CourierId,
    pub name: String,
    pub active: bool,
}

/// A courier as stored, secret included (never leaves the service).
#[derive(Clone)]
pub struct CourierRow {
    pub id: CourierId,
    pub name: String,
    /// As stored: sealed by the service (see `crate::locker`), unless `totp_sealed` is 0.
    pub totp_secret: Vec<u8>,
    /// How `totp_secret` is sealed: 0 not at all (rows from before schema 8).
    pub totp_sealed: i64,
    pub last_step: i64,
    pub active: bool,
}

pub fn insert_courier(conn: &Connection, c: &CourierRow, now: Timestamp) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "INSERT INTO couriers (id, name, totp_secret, totp_sealed, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        params![c.id.as_str(), c.name, c.totp_secret, c.totp_sealed, now.0],
    )?;
    Ok(n == 1)
}

/// An active courier by id or, failing that, by name.
pub fn find_courier(conn: &Connection, id_or_name: &str) -> rusqlite::Result<Option<CourierRow>> {
    conn.query_row(
        "SELECT id, name, totp_secret, totp_sealed, last_step, active FROM couriers
         WHERE active = 1 AND (id = ?1 OR name = ?1) ORDER BY id = ?1 DESC LIMIT 1",
        [id_or_name],
        |r| {
            Ok(CourierRow {
                id: CourierId(r.get(0)?),
                name: r.get(1)?,
                totp_secret: r.get(2)?,
                totp_sealed: r.get(3)?,
                last_step: r.get(4)?,
                active: r.get(5)?,
            })
        },
    )
    .optional()
}

/// The couriers whose TOTP secret is stored clear (a removed courier's is empty: skipped).
pub fn clear_totp_secrets(conn: &Connection) -> rusqlite::Result<Vec<(CourierId, Vec<u8>)>> {
    totp_secrets(conn, "totp_sealed = 0")
}

/// The couriers whose TOTP secret is sealed, with it as stored.
pub fn sealed_totp_secrets(conn: &Connection) -> rusqlite::Result<Vec<(CourierId, Vec<u8>)>> {
    totp_secrets(conn, "totp_sealed <> 0")
}

fn totp_secrets(conn: &Connection, filter: &str) -> rusqlite::Result<Vec<(CourierId, Vec<u8>)>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT id, totp_secret FROM couriers WHERE {filter} AND length(totp_secret) > 0"
    ))?;
    stmt.query_map([], |r| Ok((CourierId(r.get(0)?), r.get(1)?)))?
        .collect()
}

/// Replaces a courier's stored TOTP secret by its `sealed` form (scheme `scheme`).
pub fn set_totp_secret(
    conn: &Connection,
    id: &CourierId,
    sealed: &[u8],
    scheme: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE couriers SET totp_secret = ?2, totp_sealed = ?3 WHERE id = ?1",
        params![id.as_str(), sealed, scheme],
    )?;
    Ok(())
}

pub fn list_couriers(conn: &Connection) -> rusqlite::Result<Vec<CourierInfo>> {
    let mut stmt =
        conn.prepare("SELECT id, name, active FROM couriers WHERE active = 1 ORDER BY name")?;
    stmt.query_map([], |r| {
        Ok(CourierInfo {
            id: CourierId(r.get(0)?),
            name: r.get(1)?,
            active: r.get(2)?,
        })
    })?
    .collect()
}

/// Deactivates a courier (its parcels keep pointing at it) and frees its name for reuse.
pub fn deactivate_courier(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE couriers SET active = 0, name = name || ' (removed ' || id || ')', totp_secret = X''
         WHERE id = ?1 AND active = 1",
        [id],
    )?;
    conn.execute("DELETE FROM sessions WHERE courier = ?1", [id])?;
    Ok(n == 1)
}

/// Records the TOTP step just accepted, so that code cannot be used again.
pub fn set_courier_step(conn: &Connection, id: &CourierId, step: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE couriers SET last_step = ?2 WHERE id = ?1",
        params![id.as_str(), step],
    )?;
    Ok(())
}

pub fn courier_name(conn: &Connection, id: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT name FROM couriers WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .optional()
}

pub fn insert_session(
    conn: &Connection,
    hash: &[u8],
    courier: &CourierId,
    expires_at: Timestamp,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO sessions (hash, courier, expires_at) VALUES (?1, ?2, ?3)",
        params![hash, courier.as_str(), expires_at.0],
    )?;
    Ok(())
}

/// The courier of a live session.
pub fn session_courier(
    conn: &Connection,
    hash: &[u8],
    now: Timestamp,
) -> rusqlite::Result<Option<CourierId>> {
    conn.query_row(
        "SELECT courier FROM sessions WHERE hash = ?1 AND expires_at > ?2",
        params![hash, now.0],
        |r| Ok(CourierId(r.get(0)?)),
    )
    .optional()
}

pub fn delete_sessions_of(conn: &Connection, courier: &CourierId) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM sessions WHERE courier = ?1",
        [courier.as_str()],
    )?;
    Ok(())
}

/// Removes expired sessions; returns the couriers whose sessions ended.
pub fn expire_sessions(conn: &Connection, now: Timestamp) -> rusqlite::Result<Vec<CourierId>> {
    let mut stmt =
        conn.prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1 RETURNING courier")?;
    stmt.query_map([now.0], |r| Ok(CourierId(r.get(0)?)))?
        .collect()
}

pub fn get_throttle(conn: &Connection, key: &str) -> rusqlite::Result<Throttle> {
    Ok(conn
        .query_row(
            "SELECT failures, lockouts, locked_until FROM throttles WHERE key = ?1",
            [key],
            |r| {
                Ok(Throttle {
                    failures: r.get(0)?,
                    lockouts: r.get(1)?,
                    locked_until: r.get::<_, Option<i64>>(2)?.map(Timestamp),
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

/// Saves a courier-login throttle as of `now`; one back at its default (no failure, no
/// lockout to remember) is deleted rather than kept. Unlike the keypad's single row, login
/// throttles are pruned ([`prune_login_throttles`]) and capped ([`make_room_for_throttle`]).
pub fn save_login_throttle(
    conn: &Connection,
    key: &str,
    t: &Throttle,
    now: Timestamp,
) -> rusqlite::Result<()> {
    if *t == Throttle::default() {
        conn.execute("DELETE FROM throttles WHERE key = ?1", [key])?;
        return Ok(());
    }
    conn.execute(
        "INSERT INTO throttles (key, failures, lockouts, locked_until, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, lockouts = excluded.lockouts,
             locked_until = excluded.locked_until, updated_at = excluded.updated_at",
        params![
            key,
            t.failures,
            t.lockouts,
            t.locked_until.map(|t| t.0),
            now.0
        ],
    )?;
    Ok(())
}

/// The keys starting with `prefix`, as a range the primary key answers by index.
fn prefix_range(prefix: &str) -> (String, String) {
    let mut end = prefix.to_owned();
    let last = end.pop().expect("a non-empty prefix");
    end.push(char::from_u32(u32::from(last) + 1).expect("an ASCII prefix"));
    (prefix.to_owned(), end)
}

/// Deletes the throttles under `prefix` that have not failed nor been locked since `quiet_since`
/// (and are not locked now); returns how many went.
pub fn prune_login_throttles(
    conn: &Connection,
    prefix: &str,
    quiet_since: Timestamp,
) -> rusqlite::Result<usize> {
    let (from, to) = prefix_range(prefix);
    conn.execute(
        "DELETE FROM throttles WHERE key >= ?1 AND key < ?2
           AND max(COALESCE(locked_until, 0), updated_at) <= ?3",
        params![from, to, quiet_since.0],
    )
}

/// Keeps at most `max` throttles under `prefix` once `key` (under it) is saved: if `key` is new
/// and the prefix is full, deletes the rows whose loss matters least. Unlocked ones first, the
/// longest quiet first; if every row is locked, the one locked last, so a locked row cannot be
/// pushed out by locking others after it. Returns how many went.
pub fn make_room_for_throttle(
    conn: &Connection,
    prefix: &str,
    key: &str,
    max: usize,
    now: Timestamp,
) -> rusqlite::Result<usize> {
    let (from, to) = prefix_range(prefix);
    let (rows, exists): (i64, bool) = conn.query_row(
        "SELECT count(*), count(*) FILTER (WHERE key = ?3) > 0 FROM throttles
         WHERE key >= ?1 AND key < ?2",
        params![from, to, key],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let over = rows + 1 - max as i64;
    if exists || over <= 0 {
        return Ok(0);
    }
    conn.execute(
        "DELETE FROM throttles WHERE key IN (
             SELECT key FROM throttles WHERE key >= ?1 AND key < ?2
             ORDER BY COALESCE(locked_until, 0) > ?3,
                 CASE WHEN COALESCE(locked_until, 0) > ?3 THEN -updated_at ELSE updated_at END
             LIMIT ?4)",
        params![from, to, now.0, over],
    )
}

pub fn save_throttle(conn: &Connection, key: &str, t: &Throttle) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO throttles (key, failures, lockouts, locked_until) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, lockouts = excluded.lockouts,
             locked_until = excluded.locked_until",
        params![key, t.failures, t.lockouts, t.locked_until.map(|t| t.0)],
    )?;
    Ok(())
}
