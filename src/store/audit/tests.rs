use super::*;
use crate::store::Db;
use serde_json::json;

/// A database with `n` entries, `detail` = `{"n": i}`.
fn chain(n: i64) -> Db {
    let db = Db::open_in_memory().unwrap();
    for i in 1..=n {
        let seq = append_audit(
            &db.lock(),
            Timestamp(1000 * i),
            "operator:ops",
            "test.action",
            &json!({"n": i}),
        )
        .unwrap();
        assert_eq!(seq, i);
    }
    db
}

fn broken_at(db: &Db) -> BadEntry {
    match verify(&db.lock()) {
        Err(VerifyError::Broken(bad)) => bad,
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

#[test]
fn an_empty_log_and_an_appended_chain_verify() {
    assert_eq!(verify(&chain(0).lock()).unwrap(), 0);
    let db = chain(5);
    assert_eq!(verify(&db.lock()).unwrap(), 5);
    let entries = list_audit(&db.lock(), 2, 2).unwrap();
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(entries[0].detail, r#"{"n":3}"#);
    assert_eq!(entries[0].hash.len(), 32);
}

#[test]
fn each_hash_covers_the_previous_one_as_documented() {
    let db = chain(2);
    let entries = list_audit(&db.lock(), 0, 10).unwrap();
    let first = entry_hash(
        &[0; 32],
        1,
        Timestamp(1000),
        "operator:ops",
        "test.action",
        r#"{"n":1}"#,
    );
    assert_eq!(entries[0].hash, first);
    let second = entry_hash(
        &first,
        2,
        Timestamp(2000),
        "operator:ops",
        "test.action",
        r#"{"n":2}"#,
    );
    assert_eq!(entries[1].hash, second);
    // Length prefixes: moving a byte from one field to the next changes the hash.
    assert_ne!(
        entry_hash(&first, 2, Timestamp(0), "ab", "c", "{}"),
        entry_hash(&first, 2, Timestamp(0), "a", "bc", "{}")
    );
}

#[test]
fn an_edited_detail_is_named() {
    let db = chain(5);
    db.lock()
        .execute("UPDATE audit SET detail = '{\"n\":33}' WHERE seq = 3", [])
        .unwrap();
    let bad = broken_at(&db);
    assert_eq!(bad.seq, 3);
    assert!(bad.reason.contains("edited"), "{bad}");
}

#[test]
fn an_edit_with_its_hash_recomputed_breaks_the_next_entry() {
    let db = chain(5);
    let forged = entry_hash(
        &list_audit(&db.lock(), 1, 1).unwrap()[0].hash,
        3,
        Timestamp(3000),
        "operator:ops",
        "test.action",
        "{}",
    );
    db.lock()
        .execute(
            "UPDATE audit SET detail = '{}', hash = ?1 WHERE seq = 3",
            [forged.as_slice()],
        )
        .unwrap();
    assert_eq!(broken_at(&db).seq, 4);
}

#[test]
fn a_deleted_middle_entry_is_named() {
    let db = chain(5);
    db.lock()
        .execute("DELETE FROM audit WHERE seq = 2", [])
        .unwrap();
    let bad = broken_at(&db);
    assert_eq!(bad.seq, 2);
    assert!(bad.reason.contains("deleted"), "{bad}");

    let db = chain(6);
    db.lock()
        .execute("DELETE FROM audit WHERE seq IN (3, 4)", [])
        .unwrap();
    let bad = broken_at(&db);
    assert_eq!((bad.seq, bad.reason.contains("3 to 4")), (3, true), "{bad}");
}

#[test]
fn a_deleted_tail_is_named_even_when_the_sequence_is_reset() {
    let db = chain(5);
    db.lock()
        .execute("DELETE FROM audit WHERE seq >= 4", [])
        .unwrap();
    let bad = broken_at(&db);
    assert_eq!(bad.seq, 4, "{bad}");
    assert!(bad.reason.contains("4 to 5"), "{bad}");

    // Covering the tracks in sqlite_sequence is not enough: the recorded head says 5.
    db.lock()
        .execute(
            "UPDATE sqlite_sequence SET seq = 3 WHERE name = 'audit'",
            [],
        )
        .unwrap();
    assert_eq!(broken_at(&db).seq, 4);
}

#[test]
fn a_replaced_last_entry_is_named() {
    let db = chain(3);
    let prev = list_audit(&db.lock(), 1, 1).unwrap()[0].hash.clone();
    let forged = entry_hash(
        &prev,
        3,
        Timestamp(3000),
        "operator:ops",
        "test.action",
        "{}",
    );
    db.lock()
        .execute(
            "UPDATE audit SET detail = '{}', hash = ?1 WHERE seq = 3",
            [forged.as_slice()],
        )
        .unwrap();
    assert_eq!(broken_at(&db).seq, 3);
}

#[test]
fn an_append_after_a_deleted_tail_leaves_the_gap_visible() {
    let db = chain(3);
    db.lock()
        .execute("DELETE FROM audit WHERE seq = 3", [])
        .unwrap();
    let seq = append_audit(
        &db.lock(),
        Timestamp(9),
        "lockerd",
        "daemon.started",
        &json!({}),
    )
    .unwrap();
    assert_eq!(seq, 4, "a seq is never reused");
    assert_eq!(broken_at(&db).seq, 3);
}

#[test]
fn an_inserted_entry_is_named() {
    let db = chain(2);
    let prev = list_audit(&db.lock(), 1, 1).unwrap()[0].hash.clone();
    let forged = entry_hash(
        &prev,
        3,
        Timestamp(3000),
        "operator:ops",
        "test.action",
        "{}",
    );
    db.lock()
        .execute(
            "INSERT INTO audit (seq, at, actor, action, detail, hash)
             VALUES (3, 3000, 'operator:ops', 'test.action', '{}', ?1)",
            [forged.as_slice()],
        )
        .unwrap();
    assert_eq!(broken_at(&db).seq, 3);
}
