//! Deliveries without an account and access codes, from the positions of someone at the kiosk,
//! a resident holding their own codes, and a sync token (issue 16).

use crate::common::Harness;
use serde_json::{Value, json};

async fn access_code(h: &Harness, body: Value) -> String {
    let (status, created) = h.post("/api/v1/access-codes", &h.operator, body).await;
    assert_eq!(status, 201, "{created}");
    created["code"].as_str().unwrap().to_owned()
}

/// Six-digit codes that are none of `taken`, in a fixed order.
fn wrong_codes(taken: Vec<String>) -> impl Iterator<Item = String> {
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .filter(move |c| !taken.contains(c))
}

/// A resident of an apartment bank holds, as `config/examples/apartment-bank-8.toml` sets it
/// up, a delivery PIN and a standing pickup code for their own compartment. A standing code's
/// opening cleared the keypad's failure count, and the PIN makes a parcel to collect whenever
/// the resident likes: deliver, a few guesses at the neighbours' codes, collect, and again,
/// never meeting a lockout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standing_code_does_not_reset_the_keypad_throttle() {
    let h = Harness::start().await; // keypad_max_failures = 3
    let own = json!(["A3"]);
    let pin = access_code(
        &h,
        json!({"name": "flat 3 deliveries", "purpose": "delivery", "compartments": own}),
    )
    .await;
    let standing = access_code(
        &h,
        json!({"name": "flat 3", "purpose": "pickup", "compartments": own}),
    )
    .await;
    let mut guesses = wrong_codes(vec![pin.clone(), standing.clone()]);
    let (mut wrong_answered, mut locked) = (0, false);
    'rounds: for round in 0..4 {
        let (status, delivered) = h
            .post(
                "/api/v1/deliveries",
                &h.kiosk,
                json!({"tracking_id": format!("JUNK-{round}"), "pin": pin}),
            )
            .await;
        if status == 429 {
            locked = true;
            break;
        }
        assert_eq!(status, 201, "{delivered}");
        let parcel = delivered["parcel_id"].as_str().unwrap();
        h.door("A3", false).await;
        h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
            .await;
        let token = delivered["token"].as_str().unwrap();
        assert_eq!(h.confirm(token, parcel).await.0, 200);
        let code = h.code_of(parcel).await;
        for _ in 0..2 {
            let guess = guesses.find(|g| *g != code).unwrap();
            let (status, answer) = h.enter_code(&guess).await;
            match status {
                401 => wrong_answered += 1,
                429 => {
                    locked = true;
                    break 'rounds;
                }
                other => panic!("a wrong code answered {other}: {answer}"),
            }
        }
        let (status, opened) = h.enter_code(&standing).await;
        if status == 429 {
            locked = true;
            break;
        }
        assert_eq!(status, 200, "{opened}");
        h.door("A3", false).await;
        h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "collected")
            .await;
    }
    assert!(
        locked && wrong_answered <= 3,
        "{wrong_answered} wrong codes answered 401 and the keypad never locked: a standing \
         code reset the count"
    );
    h.stop().await;
}

/// In an apartment bank a resident's standing code covers "their" compartments, but the locker
/// assigned any parcel to any free compartment that fits: a neighbour's pre-advised parcel,
/// scanned at the kiosk, went into the resident's compartment, and the resident's standing code
/// opened it with their own. Now a scoped standing code owns its compartments: no other parcel
/// is put there while it lives, and one already there before it was made stays shut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standing_code_does_not_open_a_neighbours_parcel_put_in_its_compartment() {
    let h = Harness::start().await;
    let reserve = async |tracking_id: &str| {
        let path = format!("/api/v1/sync/reservations/{tracking_id}");
        let body = json!({"size": "S"});
        let (status, _) = h.request("PUT", &path, Some(&h.sync), Some(body)).await;
        assert_eq!(status, 201);
    };
    // Delivers `body` at the kiosk and stores it; returns (parcel, compartment).
    let deliver = async |body: Value| {
        let (status, delivered) = h.post("/api/v1/deliveries", &h.kiosk, body).await;
        assert_eq!(status, 201, "{delivered}");
        let parcel = delivered["parcel_id"].as_str().unwrap().to_owned();
        let compartment = delivered["compartment"]["id"].as_str().unwrap().to_owned();
        h.door(&compartment, false).await;
        h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
            .await;
        let token = delivered["token"].as_str().unwrap();
        assert_eq!(h.confirm(token, &parcel).await.0, 200);
        (parcel, compartment)
    };
    // Flat 5's parcel is already in the compartment that becomes flat 3's.
    reserve("FLAT5-1").await;
    let (earlier, taken) = deliver(json!({"tracking_id": "FLAT5-1"})).await;
    let free = ["A1", "A2", "A3", "A4"]
        .into_iter()
        .find(|c| *c != taken)
        .unwrap();
    let own = json!([taken, free]);
    let pin = access_code(
        &h,
        json!({"name": "flat 3 deliveries", "purpose": "delivery", "compartments": own}),
    )
    .await;
    let standing = access_code(
        &h,
        json!({"name": "flat 3", "purpose": "pickup", "compartments": own}),
    )
    .await;
    // Flat 5's next parcel no longer goes into flat 3's free compartment.
    reserve("FLAT5-2").await;
    let (later, elsewhere) = deliver(json!({"tracking_id": "FLAT5-2"})).await;
    assert_ne!(
        elsewhere, free,
        "a neighbour's parcel went into an owned compartment"
    );
    assert_ne!(elsewhere, taken);
    // Flat 3's own delivery does.
    let (own_parcel, in_own) = deliver(json!({"tracking_id": "FLAT3-1", "pin": pin})).await;
    assert_eq!(in_own, free);

    let (status, opened) = h.enter_code(&standing).await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!(
        opened["opened"],
        json!([{"parcel_id": own_parcel, "compartment": {"id": free}}]),
        "flat 3's code opened only flat 3's delivery"
    );
    for neighbours in [earlier, later] {
        assert_eq!(h.parcel(&neighbours).await["state"], "stored");
    }
    h.stop().await;
}
