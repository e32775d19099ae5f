//! The feed's cursors (schema 7): the pull ack and push's cursor never move backwards nor each
//! other, and scrubbing follows its own mark.

use super::super::*;
use crate::domain::Timestamp;
use serde_json::json;

/// A feed of two `parcel.stored` events carrying codes.
fn two_codes() -> Db {
    let db = Db::open_in_memory().unwrap();
    for (at, code) in [(1, "123456"), (2, "654321")] {
        let data = json!({"parcel_id": format!("p{at}"), "pickup_code": code});
        append_event(&db.lock(), "parcel.stored", Timestamp(at), &data).unwrap();
    }
    db
}

#[test]
fn the_cursors_never_move_backwards_nor_past_the_feed_nor_each_other() {
    let db = two_codes();
    let conn = db.lock();
    assert_eq!(ack_pull(&conn, 1).unwrap(), (0, 1));
    assert_eq!(ack_pull(&conn, 0).unwrap(), (1, 1), "never backwards");
    assert_eq!(
        ack_pull(&conn, 99).unwrap(),
        (1, 2),
        "capped at the last event"
    );
    assert_eq!(
        push_seq(&conn).unwrap(),
        0,
        "the pull ack does not move push"
    );
    assert_eq!(advance_push(&conn, 1).unwrap(), (0, 1));
    assert_eq!(pull_acked_seq(&conn).unwrap(), 2, "nor push the pull ack");
}

#[test]
fn codes_are_scrubbed_up_to_where_they_are_asked_to_be_and_only_once() {
    let db = two_codes();
    let conn = db.lock();
    let codes = |conn: &rusqlite::Connection| -> Vec<bool> {
        let events = list_events(conn, 0, 10).unwrap();
        events
            .iter()
            .map(|e| e.data.get("pickup_code").is_some())
            .collect()
    };
    ack_pull(&conn, 2).unwrap();
    advance_push(&conn, 2).unwrap();
    assert_eq!(codes(&conn), [true, true], "cursors alone scrub nothing");
    assert!(scrub_codes(&conn, 1).unwrap());
    assert_eq!(codes(&conn), [false, true]);
    assert!(!scrub_codes(&conn, 1).unwrap(), "nothing new to scrub");
    assert!(scrub_codes(&conn, 99).unwrap());
    assert_eq!(codes(&conn), [false, false]);
    assert_eq!(
        list_events(&conn, 0, 10).unwrap()[0].data["parcel_id"],
        "p1"
    );
}

/// A database at `version`, written by `fill` on that schema, reopened (and so migrated).
fn migrated_from(version: usize, fill: impl FnOnce(&rusqlite::Connection)) -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in &migrations::MIGRATIONS[..version] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", version as u32)
            .unwrap();
        fill(&conn);
    }
    Db::open(&path).unwrap()
}

#[test]
fn push_starts_from_the_shared_cursor_of_a_database_from_before_version_7() {
    let db = migrated_from(6, |conn| {
        for code in ["111111", "222222", "333333"] {
            // As version 6 wrote them: no parcel_id column yet.
            let data = json!({"pickup_code": code}).to_string();
            let sql = "INSERT INTO events (id, type, at, data) VALUES (?1, 'parcel.stored', 1, ?2)";
            conn.execute(sql, [code.to_owned(), data]).unwrap();
        }
        // Version 6 acknowledged and scrubbed in one step.
        meta_set(conn, "acked_seq", 2).unwrap();
    });
    let conn = db.lock();
    let cursors = (pull_acked_seq(&conn).unwrap(), push_seq(&conn).unwrap());
    assert_eq!(cursors, (2, 2));
    assert!(!scrub_codes(&conn, 2).unwrap(), "scrubbed up to 2 already");
    assert!(scrub_codes(&conn, 3).unwrap());
}
