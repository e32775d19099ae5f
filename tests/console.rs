//! The operator console's server side (docs/console.md): signing in with an operator token
//! once, the session cookie that stands for it (never the token), the kiosk's CSRF check on
//! every cookie-authenticated request, sign-out, and who may not use it. The page itself is
//! driven in a real browser by tests/kiosk_e2e.rs (tests/e2e/console*.test.js).

mod common;

use common::Harness;
use common::browser::Browser;
use reqwest::header;
use serde_json::json;

/// Signs `browser` in with `token` the way the sign-in page does.
async fn sign_in(browser: &mut Browser, token: &str) -> u16 {
    let (status, _) = browser
        .call("POST", "/console/session", Some(json!({"token": token})))
        .await;
    status
}

fn is_sign_in_page(status: u16, body: &str) -> bool {
    status == 401 && body.contains("/console/signin.js") && !body.contains("/console/app.js")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_operator_token_signs_in_and_the_cookie_never_holds_it() {
    let h = Harness::start().await;
    let mut stranger = Browser::new(&h);
    let (status, _, body) = stranger.open("/console/").await;
    assert!(is_sign_in_page(status, &body), "{status}: {body}");

    for (token, want, what) in [
        (h.kiosk.as_str(), 403, "a kiosk token"),
        (h.sync.as_str(), 403, "a sync token"),
        ("lkd_0000", 401, "an unknown token"),
    ] {
        assert_eq!(sign_in(&mut stranger, token).await, want, "{what}");
        assert!(!stranger.has_cookie("lockerd_console"), "{what}");
    }
    let courier = h.courier_session("alice").await;
    assert_eq!(
        sign_in(&mut stranger, &courier).await,
        403,
        "a courier session"
    );

    // Without the page's CSRF header (a form on another site), nothing.
    let body = Some(json!({"token": h.operator}));
    let (status, _) = stranger
        .call_with("POST", "/console/session", body, &[])
        .await;
    assert_eq!(status, 403);
    assert!(!stranger.has_cookie("lockerd_console"));

    let mut browser = Browser::new(&h);
    let response = browser
        .http
        .post(format!("{}/console/session", h.base))
        .header("x-lockerd-csrf", "1")
        .json(&json!({"token": h.operator}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(set.starts_with("lockerd_console=lkd_"), "{set}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    assert!(
        !set.contains("Secure"),
        "plain HTTP: no Secure (TLS sets it)"
    );
    assert!(!set.contains(&h.operator), "the cookie is not the token");
    browser.remember(response.headers());

    let (status, _, page) = browser.open("/console/").await;
    assert_eq!(status, 200);
    assert!(page.contains("/console/app.js"), "{page}");
    assert!(!page.contains(&h.operator));
    let (status, list) = browser.call("GET", "/api/v1/compartments", None).await;
    assert_eq!(status, 200, "{list}");
    assert!(list["compartments"].as_array().unwrap().len() > 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_refuses_cross_site_requests_and_ends_on_sign_out_or_token_deletion() {
    let h = Harness::start().await;
    let mut browser = Browser::new(&h);
    assert_eq!(sign_in(&mut browser, &h.operator).await, 204);
    let reason = Some(json!({"reason": "cleaning"}));

    let (status, _) = browser
        .call_with(
            "POST",
            "/api/v1/compartments/A1/disable",
            reason.clone(),
            &[],
        )
        .await;
    assert_eq!(status, 403, "no CSRF header");
    let cross = [("sec-fetch-site", "cross-site"), ("x-lockerd-csrf", "1")];
    let (status, _) = browser
        .call_with(
            "POST",
            "/api/v1/compartments/A1/disable",
            reason.clone(),
            &cross,
        )
        .await;
    assert_eq!(status, 403, "a cross-site request");
    let elsewhere = [("origin", "http://evil.example"), ("x-lockerd-csrf", "1")];
    let (status, _) = browser
        .call_with("GET", "/api/v1/parcels", None, &elsewhere)
        .await;
    assert_eq!(status, 403, "another origin reading");
    assert_eq!(h.compartment("A1").await["state"], "free", "nothing done");

    let (status, disabled) = browser
        .call("POST", "/api/v1/compartments/A1/disable", reason)
        .await;
    assert_eq!(status, 200, "{disabled}");
    let (_, audit) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    let last = audit["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "compartment.disabled");
    assert_eq!(last["actor"], "operator:ops", "the token's holder acts");

    // A console session is no kiosk: the kiosk's routes refuse it.
    let (status, _) = browser
        .call("POST", "/api/v1/pickup", Some(json!({"code": "123456"})))
        .await;
    assert_eq!(status, 401);

    // The live feed takes the console's cookie.
    let feed = browser
        .http
        .get(format!("{}/api/v1/kiosk/events", h.base))
        .header(header::COOKIE, browser.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status().as_u16(), 200);
    drop(feed);

    // Signing out ends the session in the daemon, not only in this browser.
    let kept = browser.cookie_header();
    let (status, _) = browser.call("POST", "/console/signout", None).await;
    assert_eq!(status, 204);
    assert!(!browser.has_cookie("lockerd_console"));
    let replayed = browser
        .http
        .get(format!("{}/api/v1/compartments", h.base))
        .header(header::COOKIE, kept)
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status().as_u16(), 401, "the old cookie is dead");
    let (status, _) = browser.call("GET", "/api/v1/compartments", None).await;
    assert_eq!(status, 401, "no cookie");

    // Deleting the operator's token ends its console sessions at once.
    let mut second = Browser::new(&h);
    assert_eq!(sign_in(&mut second, &h.operator).await, 204);
    let (status, _, _) = second.open("/console/").await;
    assert_eq!(status, 200);
    let (status, _) = h
        .request("DELETE", "/api/v1/tokens/ops", Some(&h.operator), None)
        .await;
    assert_eq!(status, 204);
    let (status, _, body) = second.open("/console/").await;
    assert!(is_sign_in_page(status, &body), "{status}");
    let (status, _) = second.call("GET", "/api/v1/compartments", None).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_cookie_does_not_open_the_console() {
    let h = Harness::start().await;
    let (_, pairing) = h
        .post(
            "/api/v1/kiosk/pairings",
            &h.operator,
            json!({"name": "lobby"}),
        )
        .await;
    let mut kiosk = Browser::new(&h);
    let (status, _, _) = kiosk.open(pairing["url"].as_str().unwrap()).await;
    assert_eq!(status, 303);
    let (status, _, body) = kiosk.open("/console/").await;
    assert!(is_sign_in_page(status, &body), "{status}");
    let (status, _) = kiosk.call("GET", "/api/v1/compartments", None).await;
    assert_eq!(status, 403, "the kiosk's role may not");
}
