use super::*;
use crate::domain::Timestamp;
use serde_json::json;

#[test]
fn a_database_from_a_newer_lockerd_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    Db::open(&path).unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let err = Db::open(&path).err().expect("newer schema must be refused");
    assert!(matches!(err, MigrationError::TooNew { .. }), "{err}");
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn reopening_keeps_data_and_wal_with_full_sync_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    {
        let db = Db::open(&path).unwrap();
        append_event(&db.lock(), "parcel.opening", Timestamp(1), &json!({})).unwrap();
    }
    let db = Db::open(&path).unwrap();
    let conn = db.lock();
    assert_eq!(last_seq(&conn).unwrap(), 1);
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    let sync: i64 = conn
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), sync), ("wal", 2));
}

/// A new database has small pages (fewer bytes per commit on an SD card); one made with
/// SQLite's default 4 KiB pages still opens, keeps its pages and its data, and takes writes.
#[test]
fn new_databases_have_1_kib_pages_and_old_ones_keep_theirs() {
    let page_size = |path: &std::path::Path| -> i64 {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.pragma_query_value(None, "page_size", |r| r.get(0))
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.sqlite");
    Db::open(&new).unwrap();
    assert_eq!(page_size(&new), 1024);

    let old = dir.path().join("old.sqlite");
    {
        let conn = rusqlite::Connection::open(&old).unwrap();
        conn.pragma_update(None, "page_size", 4096).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x)")
            .unwrap();
    }
    {
        let db = Db::open(&old).unwrap();
        append_event(&db.lock(), "parcel.opening", Timestamp(1), &json!({})).unwrap();
    }
    let db = Db::open(&old).unwrap();
    assert_eq!(last_seq(&db.lock()).unwrap(), 1);
    assert_eq!(page_size(&old), 4096);
}

#[test]
fn seq_is_never_reused_after_deletion() {
    let db = Db::open_in_memory().unwrap();
    let conn = db.lock();
    for i in 0..3 {
        append_event(&conn, "door.forced", Timestamp(i), &json!({})).unwrap();
    }
    conn.execute("DELETE FROM events", []).unwrap();
    assert_eq!(
        append_event(&conn, "door.forced", Timestamp(9), &json!({})).unwrap(),
        4
    );
    assert_eq!(last_seq(&conn).unwrap(), 4);
}

#[test]
fn a_version_1_database_migrates_forward_keeping_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(migrations::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        // As version 1 wrote it: no parcel_id column yet.
        conn.execute(
            "INSERT INTO events (id, type, at, data) VALUES ('e1', 'parcel.opening', 1, ?1)",
            [json!({"parcel_id": "p"}).to_string()],
        )
        .unwrap();
    }
    let db = Db::open(&path).unwrap();
    let conn = db.lock();
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(list_events(&conn, 0, 10).unwrap()[0].data["parcel_id"], "p");
    // Version 10 filled the parcel of the events written before it, for evidence by index.
    assert_eq!(events_of_parcel(&conn, "p", 10).unwrap().len(), 1);
    assert!(list_reservations(&conn, None, 10).unwrap().is_empty());
}

#[test]
fn a_reserved_cloud_code_counts_as_in_use() {
    use crate::domain::{Reservation, Size};
    let db = Db::open_in_memory().unwrap();
    let conn = db.lock();
    let r = Reservation {
        tracking_id: "T".into(),
        size: Size::S,
        expires_at: Timestamp(10),
        has_code: true,
        photo: true,
        accessible: false,
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
    };
    assert!(upsert_reservation(&conn, &r, Some(b"hash")).unwrap());
    assert!(!upsert_reservation(&conn, &r, Some(b"hash")).unwrap());
    assert!(code_hash_in_use(&conn, b"hash").unwrap());
    assert!(!code_hash_live(&conn, b"hash").unwrap());
    assert!(!code_hash_in_use(&conn, b"other").unwrap());
    assert!(
        delete_lapsed_reservations(&conn, Timestamp(9))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        delete_lapsed_reservations(&conn, Timestamp(10))
            .unwrap()
            .len(),
        1
    );
}

/// A database with `past` collected parcels, each with three acknowledged events, written the
/// way the daemon leaves them.
fn history(past: usize) -> Db {
    use crate::domain::{CourierId, Parcel, ParcelId, ParcelState, Size};
    let db = Db::open_in_memory().unwrap();
    let conn = db.lock();
    for n in 0..past {
        let at = Timestamp(1_000_000 + n as i64);
        let mut parcel = Parcel::deposit(
            ParcelId(format!("p{n}")),
            format!("T{n}"),
            Size::S,
            "A1".into(),
            Some(CourierId("c".into())),
            at,
        );
        parcel.state = ParcelState::Collected;
        parcel.compartment = None;
        parcel.photo = n % 2 == 0;
        parcel.stored_at = Some(at);
        insert_parcel(&conn, &parcel).unwrap();
        for kind in ["parcel.opening", "parcel.stored", "parcel.collected"] {
            append_event(&conn, kind, at, &json!({"parcel_id": n})).unwrap();
        }
    }
    ack_pull(&conn, i64::MAX).unwrap();
    scrub_codes(&conn, i64::MAX).unwrap();
    drop(conn);
    db
}

/// SQLite VM instructions `work` takes: the same for any history when it reads by index, in
/// proportion to the history when it scans. Counted, not timed, so it is exact on any machine.
fn steps(db: &Db, work: impl FnOnce(&rusqlite::Connection)) -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    let conn = db.lock();
    let count = std::sync::Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    conn.progress_handler(
        1,
        Some(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            false
        }),
    );
    work(&conn);
    conn.progress_handler(1, None::<fn() -> bool>);
    count.load(Ordering::Relaxed)
}

#[test]
fn periodic_and_per_request_queries_do_not_grow_with_history() {
    let (small, large) = (history(50), history(2_000));
    type Work = fn(&rusqlite::Connection);
    let cases: [(&str, Work); 5] = [
        ("ack of a new event", |c| {
            let seq = append_event(
                c,
                "parcel.stored",
                Timestamp(9),
                &json!({"pickup_code": "1"}),
            )
            .unwrap();
            ack_pull(c, seq).unwrap();
            scrub_codes(c, seq).unwrap();
        }),
        ("prune with nothing old enough", |c| {
            assert_eq!(prune_events(c, Timestamp(1), i64::MAX).unwrap(), 0);
        }),
        ("old photos, none old enough", |c| {
            assert!(
                parcels_with_photo_before(c, Timestamp(1))
                    .unwrap()
                    .is_empty()
            );
        }),
        ("parcels per state", |c| {
            count_parcels_by_state(c).unwrap();
        }),
        ("a code lookup", |c| {
            assert!(parcel_by_code_hash(c, b"no such code").unwrap().is_none());
        }),
    ];
    for (what, work) in cases {
        let (few, many) = (steps(&small, work), steps(&large, work));
        // 40 times the history; a B-tree a level or two deeper is allowed, a scan is not.
        assert!(
            many <= few * 2 + 100,
            "{what}: {few} steps with 50 past parcels, {many} with 2,000"
        );
    }
}

#[test]
fn parcel_counts_follow_inserts_state_changes_and_deletes() {
    let db = history(30);
    let conn = db.lock();
    let counted = |conn: &rusqlite::Connection| {
        let mut stmt = conn
            .prepare("SELECT state, count(*) FROM parcels GROUP BY state ORDER BY state")
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.collect::<rusqlite::Result<Vec<(String, i64)>>>()
            .unwrap()
    };
    let kept = |conn: &rusqlite::Connection| {
        let mut kept: Vec<_> = count_parcels_by_state(conn)
            .unwrap()
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .collect();
        kept.sort();
        kept
    };
    assert_eq!(kept(&conn), [("collected".to_owned(), 30)]);
    conn.execute(
        "UPDATE parcels SET state = 'stored' WHERE id IN ('p1', 'p2')",
        [],
    )
    .unwrap();
    conn.execute("UPDATE parcels SET state = 'stored' WHERE id = 'p1'", [])
        .unwrap();
    conn.execute("UPDATE parcels SET photo = 0 WHERE id = 'p3'", [])
        .unwrap();
    conn.execute("DELETE FROM parcels WHERE id IN ('p2', 'p4')", [])
        .unwrap();
    assert_eq!(kept(&conn), counted(&conn));
    assert_eq!(
        kept(&conn),
        [("collected".to_owned(), 27), ("stored".to_owned(), 1)]
    );
}

#[test]
fn parcel_counts_of_a_database_from_before_version_5_are_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        for sql in &migrations::MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        let tx = conn.transaction().unwrap();
        for (n, state) in ["stored", "collected", "collected"].iter().enumerate() {
            tx.execute(
                "INSERT INTO parcels (id, tracking_id, size, state, deposited_at)
                 VALUES (?1, ?1, 'S', ?2, 0)",
                rusqlite::params![format!("p{n}"), state],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let db = Db::open(&path).unwrap();
    let mut counts = count_parcels_by_state(&db.lock()).unwrap();
    counts.sort();
    assert_eq!(
        counts,
        [("collected".to_owned(), 2), ("stored".to_owned(), 1)]
    );
}

#[test]
fn compartments_are_listed_in_the_configured_order_known_ones_only() {
    use crate::domain::{CompartmentId, Size};
    let db = Db::open_in_memory().unwrap();
    let conn = db.lock();
    let configured: Vec<_> = ["B2", "A1", "C3"]
        .into_iter()
        .map(|id| (CompartmentId::from(id), Size::S, false))
        .collect();
    sync_compartments(&conn, &configured).unwrap();
    let order: Vec<CompartmentId> = ["C3", "gone", "B2", "A1"].map(CompartmentId::from).into();
    let listed: Vec<String> = list_compartments(&conn, &order)
        .unwrap()
        .into_iter()
        .map(|c| c.id.0)
        .collect();
    assert_eq!(listed, ["C3", "B2", "A1"]);
}

mod cursors;
mod throttles;

/// A parcel's evidence is read by index: with years of history behind a locker, no query of it
/// may scan the feed, the audit log, the door log or the incidents (SQLite's own plan says so).
#[test]
fn a_parcels_evidence_is_read_by_index_never_by_a_scan() {
    let db = Db::open_in_memory().unwrap();
    let conn = db.lock();
    for sql in [
        events::EVENTS_OF_PARCEL,
        audit::AUDIT_OF_PARCEL,
        incidents::COMPARTMENTS_OF_PARCEL,
        incidents::DOOR_LOG_BETWEEN,
        incidents::INCIDENTS_OF_PARCEL,
        incidents::INCIDENTS_IN_COMPARTMENT,
    ] {
        let mut plan = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let unbound = vec![rusqlite::types::Null; plan.parameter_count()];
        let steps: Vec<String> = plan
            .query_map(rusqlite::params_from_iter(unbound), |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            steps.iter().all(|s| !s.starts_with("SCAN")),
            "{sql}\n{steps:#?}"
        );
        assert!(
            steps
                .iter()
                .any(|s| s.contains("USING INDEX") || s.contains("USING COVERING INDEX")),
            "{sql}\n{steps:#?}"
        );
    }
}
