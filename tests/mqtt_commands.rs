//! Every command of the MQTT link against a real Mosquitto: answered as its local route
//! answers (the same status and body), run at most once per id (across a restart), refused
//! unexecuted when expired, unsigned, badly signed, unknown or malformed, audited as
//! `mqtt:<client_id>`.

#[path = "common/mqtt.rs"]
mod broker;
mod common;

use broker::{Broker, Observer, start, wait_published};
use common::Harness;
use lockerd::locker::Clock;
use serde_json::{Value, json};
use std::path::Path;

const PREFIX: &str = "lockerd/test-locker";
const SECRET: &str = "mqtt-command-secret-0123456789abcdef";

/// Sends command `cmd` (signed with `secret` when given) and waits for its result.
async fn command(fleet: &Observer, cmd: Value, secret: Option<&str>) -> Value {
    let mut cmd = cmd;
    if let Some(secret) = secret {
        cmd["sig"] = json!(lockerd::mqtt::sign(secret.as_bytes(), &cmd));
    }
    let id = cmd["id"].clone();
    let before = fleet.messages(&format!("{PREFIX}/cmd/result")).len();
    fleet
        .publish(&format!("{PREFIX}/cmd"), cmd.to_string().into_bytes())
        .await;
    fleet
        .wait_for("a command result", |_| {
            let results = fleet.messages(&format!("{PREFIX}/cmd/result"));
            results[before.min(results.len())..]
                .iter()
                .map(|m| m.json())
                .find(|r| r["id"] == id)
        })
        .await
}

/// Sends command `name` with `args` under `id`, signed with the locker's secret, and waits for
/// its result.
async fn signed(fleet: &Observer, h: &Harness, id: &str, name: &str, args: Value) -> Value {
    command(fleet, cmd(h, id, name, args), Some(SECRET)).await
}

fn cmd(h: &Harness, id: &str, name: &str, args: Value) -> Value {
    let expires = h.clock.now().plus(std::time::Duration::from_secs(60));
    json!({"id": id, "expires_at": expires.to_rfc3339(), "command": name, "args": args})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_answers_as_its_local_route_once_per_id() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("cmd.secret");
    write_private(&secret_file, SECRET);
    let broker = Broker::start(&dir.path().join("broker")).await;
    let fleet = Observer::connect(broker.port, "fleet", &[&format!("{PREFIX}/cmd/result")]).await;
    let extra = format!("command_secret_file = \"{}\"", secret_file.display());
    let h = start(&broker, &extra).await;
    wait_published(&h).await;

    let r = signed(
        &fleet,
        &h,
        "c1",
        "reserve",
        json!({"tracking_id": "T-9", "size": "M"}),
    )
    .await;
    assert_eq!(
        (r["status"].clone(), r["body"]["tracking_id"].clone()),
        (json!(201), json!("T-9")),
        "{r}"
    );
    // The same id again: the stored result, nothing run (a new reserve would answer 200).
    let again = signed(
        &fleet,
        &h,
        "c1",
        "reserve",
        json!({"tracking_id": "T-9", "size": "M"}),
    )
    .await;
    assert_eq!(again, r);
    let (status, list) = h.get("/api/v1/sync/reservations", &h.sync).await;
    assert_eq!(
        (status, list["reservations"].as_array().unwrap().len()),
        (200, 1)
    );
    let r = signed(&fleet, &h, "c2", "withdraw", json!({"tracking_id": "T-9"})).await;
    assert_eq!(
        (r["status"].clone(), r["body"].clone()),
        (json!(204), Value::Null),
        "{r}"
    );

    let r = signed(
        &fleet,
        &h,
        "c3",
        "disable",
        json!({"compartment": "D2", "reason": "x"}),
    )
    .await;
    assert_eq!(
        (r["status"].clone(), r["body"]["state"].clone()),
        (json!(200), json!("disabled")),
        "{r}"
    );
    let r = signed(&fleet, &h, "c4", "enable", json!({"compartment": "D2"})).await;
    let (_, local) = h.get("/api/v1/compartments/D2", &h.operator).await;
    assert_eq!(
        (r["status"].clone(), r["body"].clone()),
        (json!(200), local),
        "{r}"
    );
    let r = signed(
        &fleet,
        &h,
        "c5",
        "open",
        json!({"compartment": "C1", "reason": "check"}),
    )
    .await;
    assert_eq!(
        (r["status"].clone(), r["body"].clone()),
        (json!(202), json!({})),
        "{r}"
    );
    h.wait_for_pulses(1, "the MQTT opening").await;
    let (_, audit) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    let opening = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "maintenance.opening")
        .cloned()
        .unwrap_or_default();
    assert_eq!(opening["actor"], "mqtt:lockerd-test-locker", "{audit}");

    // A route's refusal is the same status and body over MQTT.
    let r = signed(
        &fleet,
        &h,
        "c6",
        "open",
        json!({"compartment": "ZZ", "reason": "x"}),
    )
    .await;
    let local = h
        .post(
            "/api/v1/compartments/ZZ/open",
            &h.operator,
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(
        (r["status"].as_u64().unwrap() as u16, r["body"].clone()),
        local
    );
    let r = signed(&fleet, &h, "c7", "disable", json!({"compartment": "D1"})).await;
    assert_eq!(
        (r["status"].clone(), r["body"]["error"]["code"].clone()),
        (json!(400), json!("invalid_request")),
        "{r}"
    );

    let courier = h.courier_session("alice").await;
    let (parcel, _, _) = h.deposit_stored(&courier, "T-1", "S").await;
    let until = h
        .clock
        .now()
        .plus(std::time::Duration::from_secs(10 * 86400))
        .to_rfc3339();
    let r = signed(
        &fleet,
        &h,
        "c8",
        "extend",
        json!({"parcel_id": parcel, "until": until}),
    )
    .await;
    assert_eq!(
        (r["status"].clone(), r["body"]["id"].clone()),
        (json!(200), json!(parcel)),
        "{r}"
    );
    let r = signed(&fleet, &h, "c9", "new_code", json!({"parcel_id": parcel})).await;
    assert_eq!(r["status"], 200, "{r}");
    assert!(
        h.event_types()
            .await
            .contains(&"parcel.code_changed".to_owned())
    );
    let r = signed(
        &fleet,
        &h,
        "c10",
        "create_access_code",
        json!({"name": "owner", "purpose": "pickup"}),
    )
    .await;
    assert_eq!(r["status"], 201, "{r}");
    let id = r["body"]["id"].as_str().unwrap().to_owned();
    let r = signed(&fleet, &h, "c11", "delete_access_code", json!({"id": id})).await;
    assert_eq!(r["status"], 204, "{r}");

    // Refused, nothing done: expired, unsigned, badly signed, unknown, malformed.
    let events_before = h.events().await.len();
    let mut late = cmd(
        &h,
        "c12",
        "disable",
        json!({"compartment": "D1", "reason": "late"}),
    );
    late["expires_at"] = json!(
        h.clock
            .now()
            .minus(std::time::Duration::from_secs(1))
            .to_rfc3339()
    );
    let r = command(&fleet, late, Some(SECRET)).await;
    assert_eq!(
        (r["status"].clone(), r["body"]["error"]["code"].clone()),
        (json!(410), json!("command_expired")),
        "{r}"
    );
    let mut forever = cmd(
        &h,
        "c13",
        "disable",
        json!({"compartment": "D1", "reason": "x"}),
    );
    forever.as_object_mut().unwrap().remove("expires_at");
    assert_eq!(command(&fleet, forever, Some(SECRET)).await["status"], 410);
    let unsigned = cmd(
        &h,
        "c14",
        "disable",
        json!({"compartment": "D1", "reason": "x"}),
    );
    let r = command(&fleet, unsigned, None).await;
    assert_eq!(
        (r["status"].clone(), r["body"]["error"]["code"].clone()),
        (json!(401), json!("bad_signature")),
        "{r}"
    );
    let forged = cmd(
        &h,
        "c15",
        "disable",
        json!({"compartment": "D1", "reason": "x"}),
    );
    let r = command(&fleet, forged, Some("another-secret-of-enough-length-000")).await;
    assert_eq!(r["status"], 401, "{r}");
    let r = signed(&fleet, &h, "c16", "explode", json!({})).await;
    assert_eq!(
        (r["status"].clone(), r["body"]["error"]["code"].clone()),
        (json!(400), json!("invalid_request")),
        "{r}"
    );
    fleet
        .publish(&format!("{PREFIX}/cmd"), b"{not json".to_vec())
        .await;
    let r = fleet
        .wait_for("the malformed command's result", |_| {
            fleet
                .messages(&format!("{PREFIX}/cmd/result"))
                .iter()
                .map(|m| m.json())
                .find(|r| r["id"].is_null())
        })
        .await;
    assert_eq!(r["status"], 400, "{r}");
    let (_, d1) = h.get("/api/v1/compartments/D1", &h.operator).await;
    assert_eq!(d1["state"], "free", "nothing refused was done");
    assert_eq!(
        h.events().await.len(),
        events_before,
        "no event from a refused command"
    );

    // Results survive a restart: the same id is answered from the store, not run again.
    let mut h = h;
    h.restart().await;
    let r = signed(
        &fleet,
        &h,
        "c3",
        "disable",
        json!({"compartment": "D2", "reason": "x"}),
    )
    .await;
    assert_eq!(r["status"], 200);
    let (_, d2) = h.get("/api/v1/compartments/D2", &h.operator).await;
    assert_eq!(
        d2["state"], "free",
        "c3 was not run again after the restart"
    );
    h.stop().await;
}

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
