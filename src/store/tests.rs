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

#[test]
fn ack_never_moves_backwards_and_scrubs_codes() {
    let db = Db::open_in_memory().unwrap();
    let conn = db.lock();
    append_event(
        &conn,
        "parcel.stored",
        Timestamp(1),
        &json!({"parcel_id": "p1", "pickup_code": "123456"}),
    )
    .unwrap();
    append_event(
        &conn,
        "parcel.stored",
        Timestamp(2),
        &json!({"parcel_id": "p2", "pickup_code": "654321"}),
    )
    .unwrap();
    assert_eq!(ack_events(&conn, 1).unwrap(), 1);
    assert_eq!(
        ack_events(&conn, 0).unwrap(),
        1,
        "ack must not move backwards"
    );
    assert_eq!(
        ack_events(&conn, 99).unwrap(),
        2,
        "ack is capped at the last event"
    );
    let events = list_events(&conn, 0, 10).unwrap();
    assert!(events.iter().all(|e| e.data.get("pickup_code").is_none()));
    assert_eq!(events[0].data["parcel_id"], "p1");
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
        append_event(
            &conn,
            "parcel.opening",
            Timestamp(1),
            &json!({"parcel_id": "p"}),
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
    assert!(!code_hash_in_use_except(&conn, b"hash", Some("T")).unwrap());
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
