//! Versioned schema migrations, tracked in `PRAGMA user_version`.
//!
//! Migrations only run forward. A database written by a newer lockerd is refused rather than
//! guessed at: an older binary could silently drop what it does not understand.

use rusqlite::Connection;

/// Each entry takes the schema from version `index` to `index + 1`. Never edit a released entry:
/// append a new one.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE compartments (
    id          TEXT PRIMARY KEY,
    size        TEXT NOT NULL,
    accessible  INTEGER NOT NULL,
    state       TEXT NOT NULL,
    door        TEXT NOT NULL,
    parcel_id   TEXT,
    uses        INTEGER NOT NULL DEFAULT 0,
    note        TEXT
);

-- seq orders parcels for cursors; id is what the API shows.
CREATE TABLE parcels (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    tracking_id   TEXT NOT NULL,
    size          TEXT NOT NULL,
    state         TEXT NOT NULL,
    removal       TEXT,
    removal_seen  INTEGER NOT NULL DEFAULT 0,
    compartment   TEXT,
    courier       TEXT,
    deposited_at  INTEGER NOT NULL,
    closed_at     INTEGER,
    stored_at     INTEGER,
    expires_at    INTEGER,
    ended_at      INTEGER,
    photo         INTEGER NOT NULL DEFAULT 0,
    -- HMAC of the live pickup code; NULL once the code is dead.
    code_hash     BLOB,
    -- The code set aside while a pickup opens the door, restored if the latch fails.
    held_code_hash BLOB
);
CREATE UNIQUE INDEX parcels_live_code ON parcels(code_hash) WHERE code_hash IS NOT NULL;
CREATE UNIQUE INDEX parcels_held_code ON parcels(held_code_hash) WHERE held_code_hash IS NOT NULL;
CREATE UNIQUE INDEX parcels_live_tracking ON parcels(tracking_id)
    WHERE state NOT IN ('collected', 'returned', 'cancelled');
CREATE INDEX parcels_by_state ON parcels(state, seq);
CREATE INDEX parcels_by_courier ON parcels(courier, state);

-- An opening in progress, written before the latch is energized and removed once the door is
-- seen open or the latch gave up; what is left at start is reconciled against the doors.
CREATE TABLE intents (
    compartment TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL,
    parcel_id   TEXT,
    actor       TEXT,
    reason      TEXT,
    created_at  INTEGER NOT NULL
);

-- AUTOINCREMENT: a seq is never reused, even after pruning.
CREATE TABLE events (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    id    TEXT NOT NULL UNIQUE,
    type  TEXT NOT NULL,
    at    INTEGER NOT NULL,
    data  TEXT NOT NULL
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE tokens (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL,
    hash        BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE couriers (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    totp_secret  BLOB NOT NULL,
    last_step    INTEGER NOT NULL DEFAULT -1,
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL
);

CREATE TABLE sessions (
    hash        BLOB PRIMARY KEY,
    courier     TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE throttles (
    key           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    lockouts      INTEGER NOT NULL,
    locked_until  INTEGER
);
"#,
    r#"
-- Pre-advised parcels. code_hash: HMAC of a cloud-issued pickup code, NULL to generate one.
-- The row is deleted when its parcel is stored (the hash moves to the parcel) or it lapses.
CREATE TABLE reservations (
    tracking_id TEXT PRIMARY KEY,
    size        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    code_hash   BLOB UNIQUE,
    photo       INTEGER NOT NULL,
    accessible  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX reservations_by_expiry ON reservations(expires_at);
"#,
    r#"
-- The tamper-evident audit log: hash = SHA-256 over the previous entry's hash and this entry.
CREATE TABLE audit (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL,
    hash    BLOB NOT NULL
);

-- Every time a compartment's door was seen to open or close, and why (deposit, pickup,
-- maintenance, return, forced, ...): the evidence behind an incident report.
CREATE TABLE door_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    compartment TEXT NOT NULL,
    at          INTEGER NOT NULL,
    open        INTEGER NOT NULL,
    cause       TEXT NOT NULL,
    parcel_id   TEXT
);
CREATE INDEX door_log_by_compartment ON door_log(compartment, id);

CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    parcel_id   TEXT,
    compartment TEXT,
    note        TEXT,
    reporter    TEXT NOT NULL,
    at          INTEGER NOT NULL
);
"#,
    r#"
-- One-time links that pair a kiosk browser: only the code's SHA-256 is kept, and a code is
-- deleted when it is spent. `name` becomes the kiosk token's name.
CREATE TABLE kiosk_pairings (
    hash        BLOB PRIMARY KEY,
    name        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);

-- The courier asked for a low (accessible) compartment; a resize or a jam's next choice
-- keeps to it.
ALTER TABLE parcels ADD COLUMN prefer_accessible INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
-- Housekeeping that ran over the whole history, found with a million parcels behind the
-- daemon (benches/figures.rs): every periodic or per-request query is now by index, so its cost
-- does not grow with the parcels and events a locker has served.

-- Pruning acknowledged events past retention reads only the ones old enough.
CREATE INDEX events_by_at ON events(at);

-- Deleting old photos reads only the parcels that have one.
CREATE INDEX parcels_with_photo ON parcels(stored_at) WHERE photo = 1;

-- Parcels per state, for /metrics, kept by triggers on every write instead of counted.
CREATE TABLE parcel_counts (
    state   TEXT PRIMARY KEY,
    n       INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO parcel_counts (state, n)
    SELECT state, count(*) FROM parcels GROUP BY state;
CREATE TRIGGER parcel_counts_insert AFTER INSERT ON parcels BEGIN
    INSERT OR IGNORE INTO parcel_counts (state, n) VALUES (NEW.state, 0);
    UPDATE parcel_counts SET n = n + 1 WHERE state = NEW.state;
END;
CREATE TRIGGER parcel_counts_update AFTER UPDATE OF state ON parcels
    WHEN OLD.state IS NOT NEW.state BEGIN
    UPDATE parcel_counts SET n = n - 1 WHERE state = OLD.state;
    INSERT OR IGNORE INTO parcel_counts (state, n) VALUES (NEW.state, 0);
    UPDATE parcel_counts SET n = n + 1 WHERE state = NEW.state;
END;
CREATE TRIGGER parcel_counts_delete AFTER DELETE ON parcels BEGIN
    UPDATE parcel_counts SET n = n - 1 WHERE state = OLD.state;
END;
"#,
    r#"
-- A reservation's code is no longer unique among reservations: refusing a code another
-- reservation holds told a sync token which codes the locker was about to accept. A clash is
-- settled when the parcel is stored (the first parcel keeps the code, a later one gets a new
-- one), so the UNIQUE constraint goes; SQLite drops one only by rebuilding the table.
CREATE TABLE reservations_new (
    tracking_id TEXT PRIMARY KEY,
    size        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    code_hash   BLOB,
    photo       INTEGER NOT NULL,
    accessible  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
INSERT INTO reservations_new SELECT tracking_id, size, expires_at, code_hash, photo,
    accessible, created_at, updated_at FROM reservations;
DROP TABLE reservations;
ALTER TABLE reservations_new RENAME TO reservations;
CREATE INDEX reservations_by_expiry ON reservations(expires_at);
CREATE INDEX reservations_by_code ON reservations(code_hash) WHERE code_hash IS NOT NULL;
"#,
    r#"
-- Push gets a cursor of its own. Until now push and the pull agent shared `acked_seq`, so a
-- sync token acknowledging ahead made push skip events and scrubbed codes the cloud never got.
-- Push's cursor moves only when its endpoint accepts a batch; `scrubbed_seq` marks how far
-- codes are gone. Both start where the shared cursor was: the cloud had the feed that far.
INSERT OR IGNORE INTO meta (key, value)
    SELECT 'push_seq', value FROM meta WHERE key = 'acked_seq';
INSERT OR IGNORE INTO meta (key, value)
    SELECT 'scrubbed_seq', value FROM meta WHERE key = 'acked_seq';
"#,
    r#"
-- Courier TOTP secrets are sealed with a key derived from install.key (locker::totp_seal). 0:
-- still clear, as every row written before. Only the daemon holds the key, so it seals those
-- rows at its next start; this migration cannot.
ALTER TABLE couriers ADD COLUMN totp_sealed INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
-- Bounds on tables anyone at the kiosk can grow. A login throttle records when it last
-- changed, so housekeeping can forget one whose state stopped mattering (0 on rows from
-- before: they are forgotten at the first housekeeping unless locked). Incidents are counted
-- per compartment and day against a cap, by index.
ALTER TABLE throttles ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX incidents_by_compartment ON incidents(compartment, at);
"#,
    r#"
-- Evidence for a claim (issue 16): everything about one parcel, found by index however long
-- the history. Events and audit entries name their parcel in a column filled when they are
-- written (the audit hash covers `detail` only, so the column changes no hash); rows from
-- before are filled once here.
ALTER TABLE events ADD COLUMN parcel_id TEXT;
UPDATE events SET parcel_id = json_extract(data, '$.parcel_id')
    WHERE json_type(data, '$.parcel_id') = 'text';
CREATE INDEX events_by_parcel ON events(parcel_id, seq) WHERE parcel_id IS NOT NULL;
ALTER TABLE audit ADD COLUMN parcel_id TEXT;
UPDATE audit SET parcel_id = json_extract(detail, '$.parcel_id')
    WHERE json_type(detail, '$.parcel_id') = 'text';
CREATE INDEX audit_by_parcel ON audit(parcel_id, seq) WHERE parcel_id IS NOT NULL;
-- Which compartments a parcel's doors moved in, and their history over a time range.
CREATE INDEX door_log_by_parcel ON door_log(parcel_id) WHERE parcel_id IS NOT NULL;
CREATE INDEX door_log_by_time ON door_log(compartment, at);
CREATE INDEX incidents_by_parcel ON incidents(parcel_id) WHERE parcel_id IS NOT NULL;

-- What admitted the parcel (`courier:<name>`; later `reservation`, `pin:<name>`, `open_drop`).
-- Every parcel so far was a courier's deposit.
ALTER TABLE parcels ADD COLUMN delivered_by TEXT;
UPDATE parcels SET delivered_by =
    (SELECT 'courier:' || name FROM couriers WHERE couriers.id = parcels.courier)
    WHERE courier IS NOT NULL;
-- The proof-of-delivery photo's digest and size, kept after the file is deleted by retention.
ALTER TABLE parcels ADD COLUMN photo_sha256 TEXT;
ALTER TABLE parcels ADD COLUMN photo_bytes INTEGER;
"#,
    r#"
-- Deliveries without a courier account (issue 16).
-- Codes people type at the keypad for more than one parcel: an owner's standing pickup code, a
-- delivery PIN for a shop's instructions. Only a keyed hash of each code is kept.
-- `uses_left` NULL = unlimited; `compartments` a JSON array of ids, NULL = every compartment.
CREATE TABLE access_codes (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    purpose      TEXT NOT NULL,
    code_hash    BLOB NOT NULL UNIQUE,
    uses_left    INTEGER,
    expires_at   INTEGER,
    compartments TEXT,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
-- A reservation's deposit PIN, as a keyed hash: a driver must give it to deliver the parcel.
ALTER TABLE reservations ADD COLUMN deposit_pin_hash BLOB;
-- A delivery's own session: a `courier`-role token that reaches only its parcel. It works
-- while the parcel is being deposited (opening, open, closed) and until `expires_at`.
CREATE TABLE delivery_sessions (
    hash       BLOB PRIMARY KEY,
    parcel_id  TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX delivery_sessions_by_parcel ON delivery_sessions(parcel_id);
-- The compartments a parcel may be put in (a JSON array), when a scoped delivery code admitted
-- it; NULL = any. Kept so a resize or a move after a failed latch stays within them.
ALTER TABLE parcels ADD COLUMN compartment_scope TEXT;
"#,
    // Schema 13: the MQTT fleet link. A command is executed at most once per id: its result is
    // kept here (at least 7 days) and published again when the same id comes back.
    r#"
CREATE TABLE mqtt_commands (
    id          TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX mqtt_commands_by_time ON mqtt_commands(received_at);
"#,
    // Schema 14: the console's one-time sign-in links share the kiosk's pairing links: a link
    // now records the role of the token it gives (`kiosk`, or `operator` for the console).
    r#"
ALTER TABLE kiosk_pairings ADD COLUMN role TEXT NOT NULL DEFAULT 'kiosk';
"#,
];

/// The schema version this binary writes.
pub const CURRENT: u32 = MIGRATIONS.len() as u32;

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(
        "the database is at schema version {found}, newer than this lockerd understands \
         ({CURRENT}); run the newer lockerd or restore a backup"
    )]
    TooNew { found: u32 },
    #[error(
        "the database is at schema version {found}, older than {needed}; start the daemon of \
         this lockerd once to upgrade it"
    )]
    TooOld { found: u32, needed: u32 },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Brings the schema up to [`CURRENT`], each step in its own transaction.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrationError> {
    let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > CURRENT {
        return Err(MigrationError::TooNew { found });
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
