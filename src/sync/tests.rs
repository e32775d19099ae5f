//! The pieces of push that need no network: the signature, the body, the back-off and the state.

use super::*;
use crate::domain::Timestamp;
use crate::locker::EventRecord;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;
use std::time::Duration;

#[test]
fn the_signature_is_hmac_sha256_in_lowercase_hex() {
    // RFC 4231, test case 2.
    assert_eq!(
        signature(b"Jefe", b"what do ya want for nothing?"),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_ne!(
        signature(b"Jefe", b"what do ya want for nothing!"),
        signature(b"Jefe", b"what do ya want for nothing?")
    );
}

#[test]
fn a_pushed_event_is_the_pull_feeds_event_object() {
    let at = Timestamp(1_700_000_000_000);
    let event = EventRecord {
        seq: 7,
        id: "e7".into(),
        kind: "parcel.stored".into(),
        at,
        data: json!({"parcel_id": "p1", "pickup_code": "123456"}),
    };
    let body = PushBody {
        locker: "lobby-1",
        sent_at: at.to_rfc3339(),
        events: vec![EventView::from(event)],
        last_seq: 7,
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({
            "locker": "lobby-1",
            "sent_at": at.to_rfc3339(),
            "events": [{"seq": 7, "id": "e7", "type": "parcel.stored", "at": at.to_rfc3339(),
                "data": {"parcel_id": "p1", "pickup_code": "123456"}}],
            "last_seq": 7,
        })
    );
}

#[test]
fn backoff_doubles_with_jitter_between_min_and_max() {
    let (min, max) = (Duration::from_millis(100), Duration::from_secs(3));
    for seed in 0..50 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut backoff = Backoff::new(min, max);
        let waits: Vec<Duration> = (0..12).map(|_| backoff.next(&mut rng)).collect();
        assert_eq!(waits[0], min, "the first wait is min");
        for (n, wait) in waits.iter().enumerate() {
            let ceiling = (min * 2u32.pow(n as u32)).min(max);
            assert!(
                *wait >= (ceiling / 2).max(min) && *wait <= ceiling,
                "seed {seed}, failure {n}: {wait:?} outside [{:?}, {ceiling:?}]",
                ceiling / 2
            );
        }
        assert!(waits[11] >= max / 2, "reaches max: {waits:?}");
        backoff.reset();
        assert_eq!(backoff.next(&mut rng), min, "a success starts over");
    }
}

#[test]
fn backoff_jitter_spreads_a_fleet() {
    let (min, max) = (Duration::from_secs(1), Duration::from_secs(300));
    let waits: std::collections::BTreeSet<Duration> = (0..20)
        .map(|seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut backoff = Backoff::new(min, max);
            (0..5).map(|_| backoff.next(&mut rng)).last().unwrap()
        })
        .collect();
    assert!(
        waits.len() > 10,
        "lockers retry at different times: {waits:?}"
    );
}

#[test]
fn backoff_survives_thousands_of_failures() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(3600));
    for _ in 0..5000 {
        assert!(backoff.next(&mut rng) <= Duration::from_secs(3600));
    }
}

#[test]
fn status_counts_failures_until_a_delivery() {
    let status = PushStatus::new();
    assert_eq!(status.snapshot().phase, PushPhase::Disabled);
    status.idle();
    status.sending();
    let t = Timestamp(1_000);
    assert_eq!(status.failed("the cloud answered 500", t), 1);
    assert_eq!(status.failed(&"x".repeat(1000), t), 2);
    let s = status.snapshot();
    assert_eq!((s.phase, s.consecutive_failures), (PushPhase::Backoff, 2));
    assert_eq!(s.last_error.unwrap().len(), 200, "a long error is cut");
    assert_eq!(s.next_attempt_at, Some(t));
    assert_eq!(status.failures_counter().get(), 2);
    status.sending();
    status.delivered(Timestamp(2_000));
    status.idle();
    let s = status.snapshot();
    assert_eq!(s.phase, PushPhase::Idle);
    assert!(s.enabled);
    assert_eq!((s.consecutive_failures, s.last_error), (0, None));
    assert_eq!(
        (s.last_success_at, s.next_attempt_at),
        (Some(Timestamp(2_000)), None)
    );
    assert_eq!(
        status.failures_counter().get(),
        2,
        "the total keeps counting"
    );
    status.stopped();
    assert!(!status.snapshot().enabled);
}
