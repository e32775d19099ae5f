//! The audit chain's head in the feed: an anchor the cloud keeps, which a rewrite of the whole
//! log (every hash recomputed, so `lockerd audit verify` passes) no longer matches.

use crate::common::Harness;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// The `audit.head` events of the feed, as `(seq, hash)`.
async fn heads(h: &Harness) -> Vec<(i64, String)> {
    h.events()
        .await
        .iter()
        .filter(|e| e["type"] == "audit.head")
        .map(|e| {
            (
                e["data"]["seq"].as_i64().unwrap(),
                e["data"]["hash"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every audit entry, as `GET /api/v1/audit` shows it.
async fn audit_entries(h: &Harness) -> Vec<Value> {
    let (status, page) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    assert_eq!(status, 200, "{page}");
    page["entries"].as_array().unwrap().clone()
}

/// Polls the feed until it has a head later than `seq`; returns it.
async fn head_after(h: &Harness, seq: i64) -> (i64, String) {
    let deadline = Instant::now() + h.patience;
    loop {
        let latest = heads(h).await.last().cloned().unwrap();
        if latest.0 > seq {
            return latest;
        }
        assert!(Instant::now() < deadline, "no head after {seq} published");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_head_in_the_feed_anchors_the_log_against_a_rewrite() {
    let mut h = Harness::start().await;
    let entries = audit_entries(&h).await;
    let started = heads(&h).await;
    assert_eq!(started.len(), 1, "{started:?}");
    let (seq, hash) = &started[0];
    let anchored = &entries[(*seq - 1) as usize];
    assert_eq!(
        (anchored["action"].as_str(), &anchored["hash"]),
        (Some("daemon.started"), &json!(hash))
    );

    // Each start publishes the head as it then stands: here, the log's last entry.
    h.restart().await;
    let last = audit_entries(&h).await.last().cloned().unwrap();
    let head = heads(&h).await.last().cloned().unwrap();
    assert_eq!(
        (json!(head.0), json!(head.1)),
        (last["seq"].clone(), last["hash"].clone())
    );

    // The log moves, an hour passes: the new head is published.
    h.new_courier("dave").await;
    h.clock.advance(Duration::from_secs(3600));
    let moved = head_after(&h, head.0).await;
    let dir = h.dir.clone();
    h.stop().await;

    // Someone with the file rewrites the first entry and recomputes every hash after it:
    // `verify` cannot tell, the anchors the cloud holds can.
    let db = rusqlite::Connection::open(dir.path().join("state/lockerd.db")).unwrap();
    rewrite_first_entry(&db);
    lockerd::store::verify(&db).expect("a rewrite with every hash recomputed passes verify");
    let rewritten: Vec<u8> = db
        .query_row("SELECT hash FROM audit WHERE seq = ?1", [moved.0], |r| {
            r.get(0)
        })
        .unwrap();
    assert_ne!(
        hex::encode(rewritten),
        moved.1,
        "the anchor shows the rewrite"
    );
}

/// Edits entry 1's detail and recomputes the chain and the head `meta` keeps, as someone who
/// knows the construction (README, "Audit log") would.
fn rewrite_first_entry(db: &rusqlite::Connection) {
    db.execute(
        "UPDATE audit SET detail = '{\"config\":\"elsewhere\"}' WHERE seq = 1",
        [],
    )
    .unwrap();
    let mut prev = vec![0u8; 32];
    let rows: Vec<(i64, i64, String, String, String)> = {
        let mut stmt = db
            .prepare("SELECT seq, at, actor, action, detail FROM audit ORDER BY seq")
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    };
    for (seq, at, actor, action, detail) in rows {
        let at = lockerd::domain::Timestamp(at);
        let hash = lockerd::store::entry_hash(&prev, seq, at, &actor, &action, &detail);
        db.execute(
            "UPDATE audit SET hash = ?1 WHERE seq = ?2",
            rusqlite::params![hash.as_slice(), seq],
        )
        .unwrap();
        prev = hash.to_vec();
    }
    let head = i64::from_be_bytes(prev[..8].try_into().unwrap());
    db.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'audit_head'",
        [head],
    )
    .unwrap();
}
