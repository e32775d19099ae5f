//! Courier-login throttles (schema 9): capped per prefix without pushing out a locked one, and
//! pruned once quiet.

use super::super::*;
use crate::domain::{Throttle, Timestamp};
use std::time::Duration;

fn at(s: u64) -> Timestamp {
    Timestamp(1_000_000).plus(Duration::from_secs(s))
}

const FAILED: Throttle = Throttle {
    failures: 1,
    lockouts: 0,
    locked_until: None,
};

fn locked(until: Timestamp) -> Throttle {
    Throttle {
        lockouts: 1,
        locked_until: Some(until),
        ..Throttle::default()
    }
}

fn keys(conn: &rusqlite::Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT key FROM throttles ORDER BY key")
        .unwrap();
    let rows = stmt.query_map([], |r| r.get(0)).unwrap();
    rows.collect::<rusqlite::Result<_>>().unwrap()
}

#[test]
fn the_cap_pushes_out_the_longest_quiet_unlocked_row_and_only_then_the_last_locked() {
    let db = Db::open_in_memory().unwrap();
    let conn = db.lock();
    let (pre, max) = ("x:", 3);
    save_login_throttle(&conn, "x:1", &locked(at(600)), at(0)).unwrap();
    save_login_throttle(&conn, "x:2", &FAILED, at(1)).unwrap();
    save_login_throttle(&conn, "x:3", &FAILED, at(2)).unwrap();
    save_login_throttle(&conn, "y:1", &FAILED, at(0)).unwrap();
    let room = |key: &str, now| make_room_for_throttle(&conn, pre, key, max, now).unwrap();
    assert_eq!(room("x:3", at(3)), 0, "a row already there needs no room");
    assert_eq!(room("x:4", at(3)), 1);
    save_login_throttle(&conn, "x:4", &locked(at(700)), at(3)).unwrap();
    assert_eq!(
        keys(&conn),
        ["x:1", "x:3", "x:4", "y:1"],
        "the oldest unlocked went"
    );
    save_login_throttle(&conn, "x:3", &locked(at(800)), at(4)).unwrap();
    room("x:5", at(5));
    assert_eq!(
        keys(&conn),
        ["x:1", "x:4", "y:1"],
        "all locked: the last locked went"
    );
}

#[test]
fn a_default_throttle_is_deleted_and_quiet_ones_are_pruned() {
    let db = Db::open_in_memory().unwrap();
    let conn = db.lock();
    save_login_throttle(&conn, "x:1", &locked(at(600)), at(0)).unwrap();
    save_login_throttle(&conn, "x:4", &FAILED, at(3)).unwrap();
    save_login_throttle(&conn, "y:1", &FAILED, at(0)).unwrap();
    save_login_throttle(&conn, "x:4", &Throttle::default(), at(6)).unwrap();
    assert_eq!(keys(&conn), ["x:1", "y:1"], "back at its default: deleted");
    save_login_throttle(&conn, "x:6", &FAILED, at(500)).unwrap();
    // Quiet since 550: x:1 is locked until 600, x:6 failed at 500; y is another prefix.
    assert_eq!(prune_login_throttles(&conn, "x:", at(550)).unwrap(), 1);
    assert_eq!(keys(&conn), ["x:1", "y:1"]);
    assert_eq!(prune_login_throttles(&conn, "x:", at(600)).unwrap(), 1);
    assert_eq!(keys(&conn), ["y:1"]);
}
