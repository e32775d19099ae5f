//! Keypad lockout against code guessing, on an injected clock.

mod common;

use common::Harness;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_lock_the_keypad_and_the_lockout_doubles() {
    // keypad_max_failures = 3, keypad_lockout = 60s in the test config.
    let h = Harness::start().await;
    let courier = h.courier_session("alice").await;
    let (_, _, code) = h.deposit_stored(&courier, "K-1", "S").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };

    for _ in 0..3 {
        let (status, body) = h.enter_code(wrong).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("invalid_code"))
        );
    }
    let resp = h
        .http
        .post(format!("{}/api/v1/pickup", h.base))
        .bearer_auth(&h.kiosk)
        .json(&json!({"code": wrong}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "60");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "locked_out");
    assert_eq!(body["error"]["retry_after_s"], 60);

    // A correct code during the lockout is refused too, and opens nothing.
    let pulses = h.sim().pulses().len();
    let (status, _) = h.enter_code(&code).await;
    assert_eq!(status, 429);
    assert_eq!(h.sim().pulses().len(), pulses);
    let (_, keypad) = h.get("/api/v1/keypad", &h.operator).await;
    assert!(keypad["locked_until"].is_string(), "{keypad}");

    // The lockout ends with time, not with sleeping; the next one is twice as long.
    h.clock.advance(Duration::from_secs(60));
    for _ in 0..3 {
        h.enter_code(wrong).await;
    }
    let (status, body) = h.enter_code(&code).await;
    assert_eq!(
        (status, body["error"]["retry_after_s"].as_u64()),
        (429, Some(120))
    );
    h.clock.advance(Duration::from_secs(120));
    let (status, body) = h.enter_code(&code).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        h.event_types()
            .await
            .iter()
            .filter(|t| *t == "keypad.locked_out")
            .count()
            == 2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_ends_a_lockout() {
    let h = Harness::start().await;
    for _ in 0..3 {
        h.enter_code("999999").await;
    }
    assert_eq!(h.enter_code("999999").await.0, 429);
    let (status, _) = h
        .post("/api/v1/keypad/unlock", &h.operator, json!({}))
        .await;
    assert_eq!(status, 204);
    let (_, keypad) = h.get("/api/v1/keypad", &h.operator).await;
    // The unlock forgets the doubling too: the next lockout is a short one again.
    assert_eq!(
        keypad,
        json!({"locked_until": null, "failures": 0, "lockouts_in_a_row": 0})
    );
    assert_eq!(h.enter_code("999999").await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lockout_survives_a_restart() {
    let mut h = Harness::start().await;
    for _ in 0..3 {
        h.enter_code("999999").await;
    }
    h.restart().await;
    let (status, body) = h.enter_code("999999").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("locked_out"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courier_login_accepts_a_totp_once_and_throttles_failures() {
    let h = Harness::start().await;
    let (_, courier) = h
        .post("/api/v1/couriers", &h.operator, json!({"name": "gus"}))
        .await;
    let secret = courier["totp_secret"].as_str().unwrap().to_owned();
    let code = common::totp_now(&secret, &h.clock);
    let login = |code: String| {
        h.post(
            "/api/v1/courier/login",
            &h.kiosk,
            json!({"courier": "gus", "code": code}),
        )
    };
    let (status, session) = login(code.clone()).await;
    assert_eq!(status, 200, "{session}");
    assert!(session["expires_at"].is_string());
    let (status, body) = login(code).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_credentials")),
        "a code is accepted once"
    );
    for _ in 0..2 {
        assert_eq!(login("000000".into()).await.0, 401);
    }
    let (status, body) = login(common::totp_now(&secret, &h.clock)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("locked_out"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_answers_do_not_tell_which_courier_names_exist() {
    let h = Harness::start().await;
    h.new_courier("alice").await;
    for name in ["x1", "x2", "x3"] {
        let (status, _) = h
            .post(
                "/api/v1/courier/login",
                &h.kiosk,
                json!({"courier": name, "code": "000000"}),
            )
            .await;
        assert_eq!(status, 401);
    }
    let (alice, _) = h
        .post(
            "/api/v1/courier/login",
            &h.kiosk,
            json!({"courier": "alice", "code": "000000"}),
        )
        .await;
    let (bob, _) = h
        .post(
            "/api/v1/courier/login",
            &h.kiosk,
            json!({"courier": "bob", "code": "000000"}),
        )
        .await;
    assert_eq!(
        (alice, bob),
        (401, 401),
        "an unknown name answers like a real one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_wrong_code_tells_the_attempts_left_and_the_last_one_the_wait() {
    let h = Harness::start().await;
    for left in [2, 1] {
        let (status, body) = h.enter_code("000000").await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["attempts_left"], left);
        assert!(body["error"].get("retry_after_s").is_none(), "{body}");
    }
    // The third locks the keypad (max 3 in the test config, first lockout 60 s): the kiosk can
    // count down at once instead of learning it on the next try.
    let (status, body) = h.enter_code("000000").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "invalid_code");
    assert_eq!(body["error"]["attempts_left"], 0);
    assert_eq!(body["error"]["retry_after_s"], 60);
    let (status, body) = h.enter_code("000000").await;
    assert_eq!(
        (status, body["error"]["retry_after_s"].as_u64()),
        (429, Some(60))
    );
}
