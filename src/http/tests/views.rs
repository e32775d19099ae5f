//! The answer shapes: docs/api.md's field names, RFC 3339 times, `null` for absent values.

use crate::domain::{
    Compartment, CompartmentId, CompartmentState, CourierId, Door, Parcel, ParcelId, ParcelState,
    Removal, RemovalKind, Size, Timestamp,
};
use crate::http::views::{
    CompartmentView, DepositView, EventView, HealthView, KeypadView, ParcelView,
};
use crate::locker::{BusHealth, DepositOpened, EventRecord, Health, KeypadStatus};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const T0: Timestamp = Timestamp(1_790_000_000_000);

fn parcel(state: ParcelState) -> Parcel {
    Parcel {
        id: ParcelId::from("p1"),
        tracking_id: "TRK1".into(),
        size: Size::M,
        state,
        removal: None,
        compartment: Some(CompartmentId::from("A1")),
        courier: Some(CourierId::from("c1")),
        deposited_at: T0,
        closed_at: None,
        stored_at: None,
        expires_at: None,
        ended_at: None,
        photo: false,
        delivered_by: None,
    }
}

fn view(p: Parcel) -> Value {
    serde_json::to_value(ParcelView::from(p)).unwrap()
}

#[test]
fn a_parcel_shows_rfc3339_times_and_nulls_and_never_a_code() {
    let mut p = parcel(ParcelState::Stored);
    p.stored_at = Some(Timestamp(T0.0 + 60_000));
    p.expires_at = Some(Timestamp(T0.0 + 3_600_000));
    p.removal = Some(Removal {
        kind: RemovalKind::Pickup,
        door_seen_open: false,
    });
    let v = view(p);
    assert_eq!(v["state"], "stored");
    assert_eq!(v["size"], "M");
    assert_eq!(v["compartment"], "A1");
    assert_eq!(v["courier"], "c1");
    assert_eq!(v["removal"], "pickup");
    assert_eq!(v["photo"], false);
    let deposited = v["deposited_at"].as_str().unwrap();
    assert_eq!(Timestamp::parse_rfc3339(deposited), Some(T0));
    assert!(deposited.ends_with('Z'), "{deposited}");
    assert_eq!(v["stored_at"], Timestamp(T0.0 + 60_000).to_rfc3339());
    for absent in ["closed_at", "collected_at", "ended_at"] {
        assert!(v.get(absent).is_some_and(Value::is_null), "{absent}: {v}");
    }
    let keys: BTreeSet<_> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for field in [
        "id",
        "tracking_id",
        "state",
        "compartment",
        "courier",
        "deposited_at",
        "stored_at",
        "expires_at",
        "collected_at",
        "photo",
    ] {
        assert!(keys.contains(field), "{field} missing");
    }
    assert!(!keys.iter().any(|k| k.contains("code")), "{keys:?}");
}

#[test]
fn collected_at_is_the_end_only_of_a_collected_parcel() {
    let end = Some(Timestamp(T0.0 + 5_000));
    let mut collected = parcel(ParcelState::Collected);
    collected.ended_at = end;
    collected.compartment = None;
    let v = view(collected);
    assert_eq!(v["collected_at"], Timestamp(T0.0 + 5_000).to_rfc3339());
    assert_eq!(v["ended_at"], v["collected_at"]);
    assert!(v["compartment"].is_null());

    let mut cancelled = parcel(ParcelState::Cancelled);
    cancelled.ended_at = end;
    let v = view(cancelled);
    assert!(v["collected_at"].is_null());
    assert_eq!(v["ended_at"], Timestamp(T0.0 + 5_000).to_rfc3339());
}

#[test]
fn a_compartment_shows_the_api_shape() {
    let mut c = Compartment::new(CompartmentId::from("B2"), Size::XL, true);
    c.state = CompartmentState::Occupied;
    c.door = Door::Closed;
    c.parcel = Some(ParcelId::from("p9"));
    let v = serde_json::to_value(CompartmentView::new(c.clone(), true)).unwrap();
    let expected = json!({"id": "B2", "size": "XL", "accessible": true, "state": "occupied",
        "door": "closed", "parcel_id": "p9", "available": true, "occupied": null});
    assert_eq!(v, expected);
    // On a bus that does not answer, the door is not known.
    let v = serde_json::to_value(CompartmentView::new(c, false)).unwrap();
    assert_eq!(
        (v["available"].as_bool(), v["door"].as_str()),
        (Some(false), Some("unknown"))
    );
}

#[test]
fn a_deposit_answer_says_opening() {
    let d = DepositOpened {
        parcel_id: ParcelId::from("p1"),
        compartment: CompartmentId::from("A1"),
        size: Size::L,
    };
    let v = serde_json::to_value(DepositView::from(d)).unwrap();
    let expected = json!({"parcel_id": "p1", "compartment": {"id": "A1", "size": "L"},
        "state": "opening"});
    assert_eq!(v, expected);
}

#[test]
fn an_event_has_type_and_an_rfc3339_time() {
    let e = EventRecord {
        seq: 7,
        id: "e7".into(),
        kind: "parcel.stored".into(),
        at: T0,
        data: json!({"parcel_id": "p1"}),
    };
    let v = serde_json::to_value(EventView::from(e)).unwrap();
    let expected = json!({"seq": 7, "id": "e7", "type": "parcel.stored",
        "at": T0.to_rfc3339(), "data": {"parcel_id": "p1"}});
    assert_eq!(v, expected);
}

#[test]
fn health_is_degraded_when_a_bus_or_the_database_fails() {
    let bus = |ok: bool| BusHealth {
        name: "rs485".into(),
        ok,
        last_error: (!ok).then(|| "timeout".to_owned()),
    };
    let health =
        |db_ok, buses| serde_json::to_value(HealthView::from(Health { db_ok, buses })).unwrap();

    let ok = health(true, vec![bus(true)]);
    assert_eq!(
        ok,
        json!({"status": "ok", "db": "ok",
        "buses": [{"name": "rs485", "ok": true, "last_error": null}], "sync": null,
        "keypad": null})
    );
    let v = health(true, vec![bus(true), bus(false)]);
    assert_eq!(
        (v["status"].clone(), v["db"].clone()),
        (json!("degraded"), json!("ok"))
    );
    assert_eq!(v["buses"][1]["last_error"], "timeout");
    let v = health(false, vec![]);
    assert_eq!(
        (v["status"].clone(), v["db"].clone()),
        (json!("degraded"), json!("error"))
    );
}

#[test]
fn health_is_degraded_while_the_keypad_is_locked_out() {
    let health = || Health {
        db_ok: true,
        buses: vec![],
    };
    let keypad = |locked_until| KeypadStatus {
        locked_until,
        failures: 0,
        lockouts: 3,
    };
    let open = serde_json::to_value(HealthView::new(health(), None, Some(keypad(None)))).unwrap();
    assert_eq!(open["status"], "ok");
    assert_eq!(open["keypad"]["lockouts_in_a_row"], 3);
    let locked =
        serde_json::to_value(HealthView::new(health(), None, Some(keypad(Some(T0))))).unwrap();
    assert_eq!(locked["status"], "degraded");
    assert_eq!(locked["keypad"]["locked_until"], T0.to_rfc3339());
}

#[test]
fn health_shows_how_far_the_cloud_is_behind_and_the_push_state() {
    use crate::http::views::SyncHealthView;
    use crate::locker::FeedStatus;
    use crate::sync::{PushPhase, PushState};
    let feed = FeedStatus {
        last_seq: 12,
        acked_seq: 9,
        pull_acked_seq: 11,
        push_seq: 9,
        mqtt_seq: 0,
        oldest_unacked_at: Some(T0),
    };
    let push = PushState {
        enabled: true,
        phase: PushPhase::Backoff,
        last_success_at: Some(T0),
        last_error: Some("the cloud answered 500 Internal Server Error".into()),
        consecutive_failures: 3,
        next_attempt_at: Some(T0.plus(std::time::Duration::from_secs(4))),
    };
    let now = T0.plus(std::time::Duration::from_millis(90_500));
    let health = Health {
        db_ok: true,
        buses: vec![],
    };
    let v = serde_json::to_value(HealthView::new(
        health,
        Some(SyncHealthView::new(feed, Some(push), None, now)),
        None,
    ))
    .unwrap();
    assert_eq!(
        v["status"], "ok",
        "a cloud that is behind is not a degraded locker"
    );
    assert_eq!(
        v["sync"],
        json!({"last_seq": 12, "acked_seq": 9, "pull_acked_seq": 11, "unacked": 3,
            "oldest_unacked_age_s": 90,
            "push": {"enabled": true, "state": "backoff", "delivered_seq": 9,
                "last_success_at": T0.to_rfc3339(),
                "last_error": "the cloud answered 500 Internal Server Error",
                "consecutive_failures": 3,
                "next_attempt_at": T0.plus(std::time::Duration::from_secs(4)).to_rfc3339()},
            "mqtt": null})
    );
    let caught_up = FeedStatus {
        last_seq: 12,
        acked_seq: 12,
        pull_acked_seq: 12,
        push_seq: 0,
        mqtt_seq: 10,
        oldest_unacked_at: None,
    };
    let v = serde_json::to_value(SyncHealthView::new(caught_up, None, None, now)).unwrap();
    assert_eq!(
        v,
        json!({"last_seq": 12, "acked_seq": 12, "pull_acked_seq": 12, "unacked": 0,
            "oldest_unacked_age_s": null, "push": null, "mqtt": null})
    );
    let link = lockerd_mqtt_state();
    let v = serde_json::to_value(SyncHealthView::new(caught_up, None, Some(link), now)).unwrap();
    assert_eq!(
        v["mqtt"],
        json!({"enabled": true, "connected": true, "published_seq": 10, "outstanding": 2,
            "last_publish_at": T0.to_rfc3339(), "last_error": null, "consecutive_failures": 0,
            "next_attempt_at": null}),
        "the link's cursor and what the broker has not acknowledged"
    );
}

fn lockerd_mqtt_state() -> crate::sync::MqttState {
    crate::sync::MqttState {
        enabled: true,
        connected: true,
        last_publish_at: Some(T0),
        ..Default::default()
    }
}

#[test]
fn an_unlocked_keypad_shows_null() {
    let k = KeypadStatus {
        locked_until: None,
        failures: 2,
        lockouts: 1,
    };
    let v = serde_json::to_value(KeypadView::from(k)).unwrap();
    assert_eq!(
        v,
        json!({"locked_until": null, "failures": 2, "lockouts_in_a_row": 1})
    );
}
