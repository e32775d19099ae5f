//! Deliveries from drivers without a courier account, over HTTP against the real daemon on the
//! simulated bus: each way in (a pre-advised parcel, its deposit PIN, a delivery access code,
//! open drop) and its refusal, the delivery's own session and how far it reaches, and the
//! owner's standing pickup code.

mod common;

use common::Harness;
use serde_json::{Value, json};

const DEPOSIT_PIN: &str = "552901";

async fn deliver(h: &Harness, body: Value) -> (u16, Value) {
    h.post("/api/v1/deliveries", &h.kiosk, body).await
}

async fn reserve(h: &Harness, tracking_id: &str, body: Value) {
    let path = format!("/api/v1/sync/reservations/{tracking_id}");
    let (status, answer) = h.request("PUT", &path, Some(&h.sync), Some(body)).await;
    assert_eq!(status, 201, "{answer}");
}

async fn access_code(h: &Harness, body: Value) -> Value {
    let (status, created) = h.post("/api/v1/access-codes", &h.operator, body).await;
    assert_eq!(status, 201, "{created}");
    created
}

fn error_code(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["error"]["code"].as_str().unwrap_or(""))
}

async fn keypad_failures(h: &Harness) -> u64 {
    let (status, keypad) = h.get("/api/v1/keypad", &h.operator).await;
    assert_eq!(status, 200, "{keypad}");
    keypad["failures"].as_u64().unwrap()
}

/// Closes the door of a delivery just opened and confirms it with the delivery's own token.
async fn close_and_confirm(h: &Harness, delivered: &Value) -> Value {
    let parcel = delivered["parcel_id"].as_str().unwrap();
    let token = delivered["token"].as_str().unwrap();
    h.door(delivered["compartment"]["id"].as_str().unwrap(), false)
        .await;
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
        .await;
    let (status, stored) = h.confirm(token, parcel).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["state"], "stored");
    stored
}

fn stored_event<'a>(events: &'a [Value], parcel: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["type"] == "parcel.stored" && e["data"]["parcel_id"] == parcel)
        .expect("parcel.stored")
}

#[tokio::test]
async fn a_scanned_parcel_the_owner_expects_opens_its_compartment_and_its_token_reaches_only_it() {
    let h = Harness::start().await;
    reserve(&h, "EXP-1", json!({"size": "M"})).await;
    // The driver picks S; the owner said M, and the reservation's size wins.
    let delivered = deliver(&h, json!({"tracking_id": "EXP-1", "size": "S"})).await;
    assert_eq!(delivered.0, 201, "{}", delivered.1);
    let delivered = delivered.1;
    assert_eq!(delivered["compartment"]["size"], "M");
    assert!(delivered["expires_at"].is_string());
    let parcel = delivered["parcel_id"].as_str().unwrap().to_owned();
    let token = delivered["token"].as_str().unwrap().to_owned();
    let shown = h.parcel(&parcel).await;
    assert_eq!(
        (&shown["courier"], &shown["delivered_by"], &shown["state"]),
        (&Value::Null, &json!("reservation"), &json!("open"))
    );

    // The session reaches this parcel and nothing else: not a courier's parcel, not a new
    // deposit, not the returns of expired parcels.
    let courier = h.courier_session("alice").await;
    let (other, _, _) = h.deposit_stored(&courier, "C-1", "S").await;
    assert_eq!(h.confirm(&token, &other).await.0, 404);
    assert_eq!(h.cancel(&token, &other).await.0, 404);
    let resize_other = h.resize(&token, &other, "L").await;
    assert_eq!(resize_other.0, 404, "{}", resize_other.1);
    assert_eq!(
        error_code(&h.deposit(&token, "C-2", "S").await),
        (403, "forbidden")
    );
    assert_eq!(h.get("/api/v1/courier/returns", &token).await.0, 403);
    assert_eq!(h.get("/api/v1/parcels", &token).await.0, 403);
    assert_eq!(h.get("/api/v1/compartments", &token).await.0, 403);

    let stored = close_and_confirm(&h, &delivered).await;
    assert_eq!(stored["id"], parcel.as_str());
    // Stored: the session has ended.
    assert_eq!(h.confirm(&token, &parcel).await.0, 401);

    let events = h.events().await;
    let data = &stored_event(&events, &parcel)["data"];
    assert_eq!(data["tracking_id"], "EXP-1");
    assert_eq!(data["compartment"], delivered["compartment"]["id"]);
    assert_eq!(data["delivered_by"], "reservation");
    assert_eq!(data["courier"], Value::Null);
    assert!(data["stored_at"].is_string(), "{data}");
    assert_eq!(data["photo"], false, "no camera is configured");
    assert!(data["pickup_code"].is_string());
    // The reservation was used up: the same tracking id is not expected any more.
    let again = deliver(&h, json!({"tracking_id": "EXP-1"})).await;
    assert_eq!(error_code(&again), (403, "delivery_not_allowed"));
    h.stop().await;
}

#[tokio::test]
async fn unknown_parcels_and_wrong_pins_are_refused_alike_and_a_wrong_pin_is_a_keypad_failure() {
    let h = Harness::start().await;
    reserve(
        &h,
        "PIN-1",
        json!({"size": "S", "deposit_pin": DEPOSIT_PIN}),
    )
    .await;
    let unknown = deliver(&h, json!({"tracking_id": "NOBODY-1"})).await;
    let no_pin = deliver(&h, json!({"tracking_id": "PIN-1"})).await;
    let wrong_pin = deliver(&h, json!({"tracking_id": "PIN-1", "pin": "000000"})).await;
    for refused in [&unknown, &no_pin, &wrong_pin] {
        assert_eq!(error_code(refused), (403, "delivery_not_allowed"));
    }
    // The answers say nothing about which part was wrong.
    assert_eq!(unknown.1, no_pin.1);
    assert_eq!(no_pin.1, wrong_pin.1);
    assert_eq!(keypad_failures(&h).await, 1, "only the wrong PIN counts");
    // A malformed PIN is a wrong one too.
    let short = deliver(&h, json!({"tracking_id": "NOBODY-2", "pin": "12"})).await;
    assert_eq!(error_code(&short), (403, "delivery_not_allowed"));
    assert_eq!(keypad_failures(&h).await, 2);
    assert_eq!(h.sim().pulses().len(), 0, "nothing opened");

    // The right PIN admits the parcel.
    let delivered = deliver(&h, json!({"tracking_id": "PIN-1", "pin": DEPOSIT_PIN})).await;
    assert_eq!(delivered.0, 201, "{}", delivered.1);
    assert_eq!(
        keypad_failures(&h).await,
        2,
        "a right PIN never clears the count"
    );
    // The third wrong code locks the keypad: every PIN, the right one too, is refused now.
    let third = deliver(&h, json!({"tracking_id": "NOBODY-3", "pin": "999999"})).await;
    assert_eq!(error_code(&third), (403, "delivery_not_allowed"));
    reserve(&h, "PIN-2", json!({"size": "S", "deposit_pin": "123123"})).await;
    let locked = deliver(&h, json!({"tracking_id": "PIN-2", "pin": "123123"})).await;
    assert_eq!(error_code(&locked), (429, "locked_out"));
    assert!(locked.1["error"]["retry_after_s"].as_u64().unwrap() > 0);
    h.stop().await;
}

#[tokio::test]
async fn a_deposit_pin_is_never_listed_published_or_audited() {
    let h = Harness::start().await;
    reserve(
        &h,
        "SECRET-1",
        json!({"size": "S", "deposit_pin": DEPOSIT_PIN}),
    )
    .await;
    let delivered = deliver(&h, json!({"tracking_id": "SECRET-1", "pin": DEPOSIT_PIN})).await;
    assert_eq!(delivered.0, 201, "{}", delivered.1);
    close_and_confirm(&h, &delivered.1).await;
    let (_, reservations) = h.get("/api/v1/sync/reservations", &h.sync).await;
    let (_, audit) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    let (_, parcels) = h.get("/api/v1/parcels", &h.operator).await;
    let events = h.events().await;
    for (what, text) in [
        ("reservations", reservations.to_string()),
        ("audit", audit.to_string()),
        ("parcels", parcels.to_string()),
        ("events", serde_json::to_string(&events).unwrap()),
    ] {
        assert!(
            !text.contains(DEPOSIT_PIN),
            "the PIN is in the {what}: {text}"
        );
    }
    assert!(audit.to_string().contains("has_deposit_pin"), "{audit}");
    h.stop().await;
}

#[tokio::test]
async fn scan_to_open_can_be_turned_off_but_a_deposit_pin_still_admits() {
    let h = Harness::start_with("\n[delivery]\nscan_to_open = false\n").await;
    reserve(&h, "OFF-1", json!({"size": "S"})).await;
    let refused = deliver(&h, json!({"tracking_id": "OFF-1"})).await;
    assert_eq!(error_code(&refused), (403, "delivery_not_allowed"));
    reserve(
        &h,
        "OFF-2",
        json!({"size": "S", "deposit_pin": DEPOSIT_PIN}),
    )
    .await;
    let admitted = deliver(&h, json!({"tracking_id": "OFF-2", "pin": DEPOSIT_PIN})).await;
    assert_eq!(admitted.0, 201, "{}", admitted.1);
    h.stop().await;
}

#[tokio::test]
async fn a_delivery_code_admits_within_its_scope_until_used_up_or_deleted() {
    let h = Harness::start().await;
    let code = access_code(
        &h,
        json!({"name": "shop", "purpose": "delivery", "uses": 2, "compartments": ["C1", "C2"]}),
    )
    .await;
    let pin = code["code"].as_str().unwrap().to_owned();
    assert_eq!(pin.len(), 6);
    assert_eq!(code["uses_left"], 2);

    let first = deliver(
        &h,
        json!({"tracking_id": "SHOP-1", "size": "S", "pin": pin}),
    )
    .await;
    assert_eq!(first.0, 201, "{}", first.1);
    // An S parcel, but the code's scope holds only the L compartments.
    assert_eq!(first.1["compartment"]["id"], "C1");
    let parcel = first.1["parcel_id"].as_str().unwrap();
    assert_eq!(h.parcel(parcel).await["delivered_by"], "pin:shop");
    let used: Vec<Value> = h
        .events()
        .await
        .into_iter()
        .filter(|e| e["type"] == "access_code.used")
        .collect();
    assert_eq!(used.len(), 1);
    assert_eq!(used[0]["data"]["name"], "shop");
    assert_eq!(used[0]["data"]["purpose"], "delivery");
    assert_eq!(used[0]["data"]["compartments"], json!(["C1"]));
    assert!(!used[0].to_string().contains(&pin));
    let (_, audit) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    assert!(audit.to_string().contains("access_code.used"));
    assert!(!audit.to_string().contains(&pin));

    let second = deliver(&h, json!({"tracking_id": "SHOP-2", "pin": pin})).await;
    assert_eq!(second.1["compartment"]["id"], "C2", "{}", second.1);
    // Used up: refused like any wrong PIN, and counted as one.
    let third = deliver(&h, json!({"tracking_id": "SHOP-3", "pin": pin})).await;
    assert_eq!(error_code(&third), (403, "delivery_not_allowed"));
    assert_eq!(keypad_failures(&h).await, 1);
    let (_, listed) = h.get("/api/v1/access-codes", &h.operator).await;
    assert_eq!(listed["access_codes"][0]["uses_left"], 0);
    assert!(!listed.to_string().contains(&pin), "{listed}");

    // A deleted code stops working at once.
    let other = access_code(&h, json!({"name": "post", "purpose": "delivery"})).await;
    let path = format!("/api/v1/access-codes/{}", other["id"].as_str().unwrap());
    assert_eq!(
        h.request("DELETE", &path, Some(&h.operator), None).await.0,
        204
    );
    assert_eq!(
        h.request("DELETE", &path, Some(&h.operator), None).await.0,
        404
    );
    let pin = other["code"].as_str().unwrap();
    let deleted = deliver(&h, json!({"tracking_id": "POST-1", "pin": pin})).await;
    assert_eq!(error_code(&deleted), (403, "delivery_not_allowed"));
    h.stop().await;
}

#[tokio::test]
async fn access_codes_are_for_operators_and_refuse_bad_requests() {
    let h = Harness::start().await;
    let body = json!({"name": "owner", "purpose": "pickup"});
    for token in [&h.kiosk, &h.sync] {
        let (status, _) = h.post("/api/v1/access-codes", token, body.clone()).await;
        assert_eq!(status, 403);
        assert_eq!(h.get("/api/v1/access-codes", token).await.0, 403);
    }
    for (bad, field) in [
        (json!({"name": "x", "purpose": "open_all"}), "purpose"),
        (json!({"name": "x", "purpose": "pickup", "uses": 0}), "uses"),
        (
            json!({"name": "x", "purpose": "pickup", "compartments": ["Z9"]}),
            "compartments",
        ),
        (
            json!({"name": "x", "purpose": "pickup", "compartments": []}),
            "compartments",
        ),
        (
            json!({"name": "x", "purpose": "pickup", "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (json!({"name": "", "purpose": "pickup"}), "name"),
    ] {
        let (status, refused) = h.post("/api/v1/access-codes", &h.operator, bad).await;
        assert_eq!(status, 400, "{refused}");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{field}: {message}");
    }
    access_code(&h, body.clone()).await;
    let (status, taken) = h.post("/api/v1/access-codes", &h.operator, body).await;
    assert_eq!((status, &taken["error"]["code"]), (409, &json!("conflict")));
    h.stop().await;
}

#[tokio::test]
async fn a_standing_pickup_code_opens_every_parcel_in_its_scope_then_has_nothing_to_collect() {
    let h = Harness::start().await;
    // The owner's parcels come through their delivery PIN, scoped like their standing code: a
    // scoped standing code opens only those (a courier's parcel in the same compartments may
    // be a neighbour's; tests/attacker/deliveries.rs).
    let (a, b) = ("A3".to_owned(), "A4".to_owned());
    let pin = access_code(
        &h,
        json!({"name": "owner deliveries", "purpose": "delivery", "compartments": [a, b]}),
    )
    .await;
    let pin = pin["code"].as_str().unwrap();
    let mut own = vec![];
    for tracking_id in ["OWN-1", "OWN-2"] {
        let delivered = deliver(&h, json!({"tracking_id": tracking_id, "pin": pin})).await;
        assert_eq!(delivered.0, 201, "{}", delivered.1);
        close_and_confirm(&h, &delivered.1).await;
        own.push(delivered.1["parcel_id"].as_str().unwrap().to_owned());
    }
    let [first, second] = own.try_into().unwrap();
    let courier = h.courier_session("alice").await;
    let (elsewhere, _, neighbours) = h.deposit_stored(&courier, "NEIGHBOUR-1", "L").await;
    let owner = access_code(
        &h,
        json!({"name": "owner", "purpose": "pickup", "compartments": [a, b]}),
    )
    .await;
    let code = owner["code"].as_str().unwrap().to_owned();

    let (status, opened) = h.enter_code(&code).await;
    assert_eq!(status, 200, "{opened}");
    let opened_parcels: Vec<&str> = opened["opened"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["parcel_id"].as_str().unwrap())
        .collect();
    assert_eq!(opened_parcels, [first.as_str(), second.as_str()]);
    assert_eq!(opened["parcel_id"], first.as_str());
    assert_eq!(opened["compartment"]["id"], a.as_str());
    assert_eq!(opened["opened"][1]["compartment"]["id"], b.as_str());
    for (parcel, compartment) in [(&first, &a), (&second, &b)] {
        h.door(compartment, false).await;
        h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "collected")
            .await;
    }
    assert_eq!(
        h.parcel(&elsewhere).await["state"],
        "stored",
        "out of scope"
    );
    let used = h
        .events()
        .await
        .into_iter()
        .find(|e| e["type"] == "access_code.used" && e["data"]["purpose"] == "pickup")
        .expect("access_code.used");
    assert_eq!(used["data"]["compartments"], json!([a, b]));

    // Nothing left: 409, and not a keypad failure.
    let nothing = h.enter_code(&code).await;
    assert_eq!(error_code(&nothing), (409, "nothing_to_collect"));
    assert_eq!(keypad_failures(&h).await, 0);
    let (_, listed) = h.get("/api/v1/access-codes", &h.operator).await;
    assert_eq!(
        listed["access_codes"][0]["uses_left"],
        Value::Null,
        "unlimited"
    );
    // A wrong code of the same length is a failure like any other.
    let wrong = ["000000", "111111", "222222"]
        .into_iter()
        .find(|w| *w != code && *w != neighbours && *w != pin)
        .unwrap();
    assert_eq!(
        error_code(&h.enter_code(wrong).await),
        (401, "invalid_code")
    );
    assert_eq!(keypad_failures(&h).await, 1);
    // A delivery code is not a pickup code.
    let shop = access_code(&h, json!({"name": "shop", "purpose": "delivery"})).await;
    let typed = h.enter_code(shop["code"].as_str().unwrap()).await;
    assert_eq!(error_code(&typed), (401, "invalid_code"));
    h.stop().await;
}

#[tokio::test]
async fn open_drop_admits_any_delivery_within_the_kiosks_ceiling_and_lifecycle_of_a_deposit() {
    let h = Harness::start_with("opens_per_credential = 3\n\n[delivery]\nopen_drop = true\n").await;
    let first = deliver(&h, json!({"tracking_id": "DROP-1"})).await;
    assert_eq!(first.0, 201, "{}", first.1);
    let parcel = first.1["parcel_id"].as_str().unwrap().to_owned();
    let token = first.1["token"].as_str().unwrap().to_owned();
    assert_eq!(h.parcel(&parcel).await["delivered_by"], "open_drop");
    assert_eq!(first.1["compartment"]["size"], "S");
    // Doesn't fit: a bigger compartment opens for the same parcel.
    let (status, resized) = h.resize(&token, &parcel, "L").await;
    assert_eq!(status, 201, "{resized}");
    assert_eq!(resized["compartment"]["size"], "L");
    // The same tracking id again is a duplicate.
    let duplicate = deliver(&h, json!({"tracking_id": "DROP-1"})).await;
    assert_eq!(error_code(&duplicate), (409, "duplicate_tracking_id"));
    // Cancel: the driver takes the parcel away; the session ends with it.
    let second = deliver(&h, json!({"tracking_id": "DROP-2", "size": "M"})).await;
    assert_eq!(second.0, 201, "{}", second.1);
    let (p2, t2) = (
        second.1["parcel_id"].as_str().unwrap().to_owned(),
        second.1["token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(h.cancel(&t2, &p2).await.0, 202);
    h.door(second.1["compartment"]["id"].as_str().unwrap(), false)
        .await;
    h.wait_for(&format!("/api/v1/parcels/{p2}"), "state", "cancelled")
        .await;
    assert_eq!(h.confirm(&t2, &p2).await.0, 401);
    // Three openings through this kiosk in a minute (two deliveries; the resize counts
    // against the delivery's own session): the next delivery is refused before anything opens.
    let third = deliver(&h, json!({"tracking_id": "DROP-3"})).await;
    assert_eq!(third.0, 201, "{}", third.1);
    let pulses = h.sim().pulses().len();
    let fourth = deliver(&h, json!({"tracking_id": "DROP-4"})).await;
    assert_eq!(error_code(&fourth), (429, "rate_limited"));
    assert_eq!(h.sim().pulses().len(), pulses);
    assert!(
        h.event_types()
            .await
            .contains(&"security.mass_open".to_owned())
    );

    // Without a confirm, the parcel is stored once the grace period has passed.
    h.door(first.1["compartment"]["id"].as_str().unwrap(), false)
        .await;
    h.door(resized["compartment"]["id"].as_str().unwrap(), false)
        .await;
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
        .await;
    h.clock.advance(std::time::Duration::from_secs(3600));
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "stored")
        .await;
    h.stop().await;
}

#[tokio::test]
async fn a_full_porch_box_refuses_a_delivery_before_anything_opens() {
    let h = Harness::start_config(common::SIM_PATIENCE, |state_dir| {
        let one_box = common::config_text(state_dir, "\n[delivery]\nopen_drop = true\n");
        let end = one_box.find("\n[[compartment]]\nid = \"A2\"").unwrap();
        one_box[..end].to_owned()
    })
    .await;
    let first = deliver(&h, json!({"tracking_id": "PORCH-1"})).await;
    assert_eq!(first.0, 201, "{}", first.1);
    close_and_confirm(&h, &first.1).await;
    let pulses = h.sim().pulses().len();
    let full = deliver(&h, json!({"tracking_id": "PORCH-2"})).await;
    assert_eq!(error_code(&full), (409, "no_compartment_available"));
    assert_eq!(h.sim().pulses().len(), pulses);
    h.stop().await;
}

#[tokio::test]
async fn a_delivery_survives_a_crash_with_its_door_open_and_its_session() {
    let mut h = Harness::start_with("\n[delivery]\nopen_drop = true\n").await;
    let delivered = deliver(&h, json!({"tracking_id": "CRASH-1"})).await;
    assert_eq!(delivered.0, 201, "{}", delivered.1);
    let parcel = delivered.1["parcel_id"].as_str().unwrap().to_owned();
    h.crash_and_restart().await;
    // New simulated hardware: every door reads closed, as a driver would have shut it.
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
        .await;
    let token = delivered.1["token"].as_str().unwrap();
    let (status, stored) = h.confirm(token, &parcel).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["delivered_by"], "open_drop");
    h.stop().await;
}
