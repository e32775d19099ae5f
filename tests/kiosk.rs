//! The kiosk page's server side (docs/kiosk.md): pairing a browser with a one-time link, the
//! page served only to a paired browser, the page's cookies as credentials, the CSRF defence,
//! and the live feed. The page itself is driven in a real browser by tests/kiosk_e2e.rs.

mod common;

use common::browser::Browser;
use common::{Harness, totp_now};
use reqwest::header;
use serde_json::{Value, json};
use std::time::Duration;

async fn pairing_link(h: &Harness, name: &str) -> String {
    let (status, pairing) = h
        .post("/api/v1/kiosk/pairings", &h.operator, json!({"name": name}))
        .await;
    assert_eq!(status, 201, "{pairing}");
    pairing["url"].as_str().unwrap().to_owned()
}

/// A browser paired through a fresh link.
async fn paired(h: &Harness) -> Browser {
    let link = pairing_link(h, "lobby").await;
    let mut browser = Browser::new(h);
    let (status, headers, _) = browser.open(&link).await;
    assert_eq!(status, 303);
    assert_eq!(headers[header::LOCATION], "/kiosk/");
    browser
}

fn is_not_paired_page(status: u16, body: &str) -> bool {
    status == 401 && body.to_lowercase().contains("not paired") && !body.contains("app.js")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_browser_paired_by_a_one_time_link_gets_the_page() {
    let h = Harness::start().await;
    let mut stranger = Browser::new(&h);
    let (status, headers, body) = stranger.open("/kiosk/").await;
    assert!(is_not_paired_page(status, &body), "{status}: {body}");
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let link = pairing_link(&h, "lobby").await;
    assert!(link.starts_with("/kiosk/pair?code="), "{link}");
    let mut kiosk = Browser::new(&h);
    let (status, headers, _) = kiosk.open(&link).await;
    assert_eq!(status, 303);
    assert_eq!(
        headers[header::LOCATION],
        "/kiosk/",
        "the code leaves the address bar"
    );
    let set = headers[header::SET_COOKIE].to_str().unwrap();
    for attribute in [
        "lockerd_kiosk=lkd_",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    let (status, headers, body) = kiosk.open("/kiosk/").await;
    assert_eq!(status, 200);
    assert!(body.contains("/kiosk/app.js"), "{body}");
    let token = &kiosk.cookies[0].1;
    assert!(
        !body.contains(token.as_str()),
        "the token is not in the page"
    );
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");

    // The link is spent: opened again (by anyone) it pairs nothing.
    let (status, _, body) = stranger.open(&link).await;
    assert!(is_not_paired_page(status, &body), "{status}: {body}");
    assert!(!stranger.has_cookie("lockerd_kiosk"));
    let (status, _, body) = stranger.open("/kiosk/pair?code=0123456789abcdef").await;
    assert!(is_not_paired_page(status, &body), "{status}: {body}");

    // The page's files are served to anyone; they hold no secret.
    for (path, kind) in [
        ("/kiosk/app.js", "text/javascript"),
        ("/kiosk/strings.js", "text/javascript"),
        ("/kiosk/style.css", "text/css"),
    ] {
        let (status, headers, _) = stranger.open(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_link_pairs_nothing_and_pairing_again_unpairs_the_old_browser() {
    let h = Harness::start().await;
    let link = pairing_link(&h, "lobby").await;
    h.clock.advance(Duration::from_secs(10 * 60 + 1));
    let mut late = Browser::new(&h);
    let (status, _, body) = late.open(&link).await;
    assert!(is_not_paired_page(status, &body), "{status}: {body}");

    let mut old = paired(&h).await;
    let mut new = paired(&h).await;
    let (status, _, _) = new.open("/kiosk/").await;
    assert_eq!(status, 200);
    let (status, _, body) = old.open("/kiosk/").await;
    assert!(
        is_not_paired_page(status, &body),
        "the replaced kiosk: {status}"
    );
    let (status, tokens) = h.get("/api/v1/tokens", &h.operator).await;
    assert_eq!(status, 200);
    let lobby: Vec<_> = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] == "lobby")
        .collect();
    assert_eq!(lobby.len(), 1, "{tokens}");
    assert_eq!(lobby[0]["role"], "kiosk");

    // Unpairing is deleting the token.
    let (status, _) = h
        .request("DELETE", "/api/v1/tokens/lobby", Some(&h.operator), None)
        .await;
    assert_eq!(status, 204);
    let (status, _, body) = new.open("/kiosk/").await;
    assert!(is_not_paired_page(status, &body), "{status}");
    let (status, body) = new
        .call("POST", "/api/v1/pickup", Some(json!({"code": "123456"})))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("unauthorized"))
    );

    // A pairing may not take over another role's token name.
    let (status, body) = h
        .post(
            "/api/v1/kiosk/pairings",
            &h.operator,
            json!({"name": "ops"}),
        )
        .await;
    assert_eq!((status, &body["error"]["code"]), (409, &json!("conflict")));
    let (status, _) = h
        .post("/api/v1/kiosk/pairings", &h.kiosk, json!({"name": "x"}))
        .await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_calls_the_api_with_its_cookie_and_cross_site_requests_are_refused() {
    let h = Harness::start().await;
    let mut kiosk = paired(&h).await;
    let code = json!({"code": "000000"});
    let (status, body) = kiosk
        .call("POST", "/api/v1/pickup", Some(code.clone()))
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "invalid_code");
    assert_eq!(body["error"]["attempts_left"], 2, "3 allowed, 1 used");

    let evil = [
        (
            "a form on another site",
            vec![("origin", "http://evil.example")],
        ),
        (
            "another site's script",
            vec![("origin", "http://evil.example"), ("x-lockerd-csrf", "1")],
        ),
        (
            "a cross-site fetch",
            vec![("sec-fetch-site", "cross-site"), ("x-lockerd-csrf", "1")],
        ),
        (
            "a same-site subdomain",
            vec![("sec-fetch-site", "same-site"), ("x-lockerd-csrf", "1")],
        ),
        ("no CSRF header", vec![]),
    ];
    for (what, headers) in evil {
        let (status, body) = kiosk
            .call_with("POST", "/api/v1/pickup", Some(code.clone()), &headers)
            .await;
        assert_eq!(status, 403, "{what}: {body}");
        assert_eq!(body["error"]["code"], "forbidden", "{what}");
    }
    let (_, keypad) = h.get("/api/v1/keypad", &h.operator).await;
    assert_eq!(
        keypad["failures"], 1,
        "refused requests never reach the keypad: {keypad}"
    );

    // The kiosk cookie is a kiosk's, nothing more; a bearer request ignores cookies.
    let (status, _) = kiosk.call("GET", "/api/v1/compartments", None).await;
    assert_eq!(status, 403);
    let (status, _) = kiosk.call("GET", "/api/v1/courier/returns", None).await;
    assert_eq!(status, 401, "no courier session yet");
    let (status, _) = kiosk
        .call_with(
            "GET",
            "/api/v1/compartments",
            None,
            &[("authorization", "Bearer lkd_nope")],
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_courier_session_through_the_page_lives_in_an_httponly_cookie() {
    let h = Harness::start().await;
    let secret = h.new_courier("alice").await;
    let mut kiosk = paired(&h).await;
    let login = json!({"courier": "alice", "code": totp_now(&secret, &h.clock)});
    let (status, session) = kiosk
        .call("POST", "/api/v1/courier/login", Some(login))
        .await;
    assert_eq!(status, 200, "{session}");
    assert!(
        session.get("token").is_none(),
        "no token for the page's script: {session}"
    );
    assert_eq!(session["courier"], "alice");
    assert!(kiosk.has_cookie("lockerd_courier"));

    let deposit = json!({"tracking_id": "K-1", "size": "S", "accessible": true});
    let (status, opened) = kiosk.call("POST", "/api/v1/deposits", Some(deposit)).await;
    assert_eq!(status, 201, "{opened}");
    let compartment = opened["compartment"]["id"].as_str().unwrap();
    assert_eq!(compartment, "A1", "the smallest accessible one, as asked");
    h.door(compartment, false).await;
    let parcel = opened["parcel_id"].as_str().unwrap();
    h.wait_for(&format!("/api/v1/parcels/{parcel}"), "state", "closed")
        .await;
    let (status, _) = kiosk.call("POST", "/api/v1/courier/logout", None).await;
    assert_eq!(status, 204);
    assert!(
        !kiosk.has_cookie("lockerd_courier"),
        "logout clears the cookie"
    );
    assert_eq!(
        h.parcel(parcel).await["state"],
        "stored",
        "logout stores closed deposits"
    );
    let (status, _) = kiosk
        .call(
            "POST",
            "/api/v1/deposits",
            Some(json!({"tracking_id": "K-2", "size": "S"})),
        )
        .await;
    assert_eq!(status, 401, "the session is over");

    // Without the page's cookie, login answers the token as docs/api.md says.
    let (status, session) = h
        .post(
            "/api/v1/courier/login",
            &h.kiosk,
            json!({"courier": "alice", "code": totp_now(&secret, &h.clock.clone())}),
        )
        .await;
    assert_eq!(status, 401, "a TOTP code is accepted once: {session}");
    h.clock.advance(Duration::from_secs(30));
    let token = h.login("alice", &secret).await;
    assert!(token.starts_with("lkd_"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefer_accessible_deposit_keeps_to_low_compartments_when_resized() {
    let h = Harness::start().await;
    let courier = h.courier_session("bob").await;
    let body = json!({"tracking_id": "ACC-1", "size": "S", "accessible": true});
    let (status, opened) = h.post("/api/v1/deposits", &courier, body).await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["compartment"]["id"], "A1");
    let parcel = opened["parcel_id"].as_str().unwrap();
    let (status, moved) = h.resize(&courier, parcel, "M").await;
    assert_eq!(status, 201, "{moved}");
    assert_eq!(moved["compartment"]["id"], "B1", "B1 is the accessible M");

    let (status, plain) = h.deposit(&courier, "PLAIN-1", "S").await;
    assert_eq!(status, 201, "{plain}");
    assert_eq!(
        plain["compartment"]["id"], "A3",
        "without the wish, low ones are kept free"
    );
}

/// The next `state` event of a kiosk feed.
async fn next_state(response: &mut reqwest::Response, buffer: &mut String) -> Option<Value> {
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            if frame.lines().any(|l| l == "event: state") {
                let data = frame.lines().find_map(|l| l.strip_prefix("data: "))?;
                return Some(serde_json::from_str(data).unwrap());
            }
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("a state event within 10 s")
            .expect("the stream reads cleanly")?;
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

fn door_of(state: &Value, id: &str) -> String {
    let c = state["compartments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id);
    c.unwrap()["door"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feed_shows_doors_and_free_compartments_as_they_change_and_ends_on_stop() {
    let h = Harness::start().await;
    let mut kiosk = paired(&h).await;
    let mut feed = kiosk
        .http
        .get(format!("{}/api/v1/kiosk/events", h.base))
        .header(header::COOKIE, kiosk.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    assert!(
        feed.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut buffer = String::new();
    let first = next_state(&mut feed, &mut buffer).await.unwrap();
    assert_eq!(first["free"], json!({"S": 4, "M": 4, "L": 2, "XL": 2}));
    assert_eq!(door_of(&first, "D2"), "closed");
    assert!(
        first["compartments"][0].get("parcel_id").is_none(),
        "no parcel ids on the kiosk"
    );

    h.door("D2", true).await;
    let mut state = next_state(&mut feed, &mut buffer).await.unwrap();
    while door_of(&state, "D2") != "open" {
        state = next_state(&mut feed, &mut buffer).await.unwrap();
    }
    let (status, _) = h
        .post(
            "/api/v1/compartments/C1/disable",
            &h.operator,
            json!({"reason": "broken hinge"}),
        )
        .await;
    assert_eq!(status, 200);
    while state["free"]["L"] != 1 {
        state = next_state(&mut feed, &mut buffer).await.unwrap();
    }
    let (status, _) = kiosk
        .call("POST", "/api/v1/pickup", Some(json!({"code": "1"})))
        .await;
    assert_eq!(
        status, 401,
        "the feed leaves the page's other calls working"
    );

    // A graceful stop ends the stream instead of waiting it out and cutting it.
    h.stop().await;
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(10), feed.chunk()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(other) => break other,
            Err(_) => panic!("the stream outlived the daemon"),
        }
    };
    assert!(matches!(end, Ok(None)), "the stream ended cleanly: {end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockerd_kiosk_pair_prints_a_link_the_running_daemon_honours() {
    let h = Harness::start().await;
    let config = h.cli_config();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .args(["kiosk", "pair", "--name", "screen-1", "--config"])
        .arg(&config)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let link = stdout.trim();
    let path = link
        .strip_prefix("http://127.0.0.1:8080")
        .unwrap_or_else(|| panic!("a link to this host: {link}"));
    assert!(stderr.contains("screen-1"), "{stderr}");
    let mut browser = Browser::new(&h);
    let (status, _, _) = browser.open(path).await;
    assert_eq!(status, 303);
    let (status, _, _) = browser.open("/kiosk/").await;
    assert_eq!(status, 200);
    let (_, audit) = h.get("/api/v1/audit", &h.operator).await;
    let actions: Vec<_> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert!(
        actions.contains(&("cli", "kiosk.pairing_created")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("lockerd", "kiosk.paired")),
        "{actions:?}"
    );
}
