//! The console's one-time sign-in links (`/console/#link=…`) and the kiosk's pairing links, from
//! someone who got hold of a link, races its owner for it, or holds another role's credential.

use crate::common::Harness;
use crate::common::browser::{Browser, console_link, feed_ends};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaked_link_is_cancelled_by_deleting_its_name_before_anyone_spends_it() {
    let h = Harness::start().await;
    // The link went to the wrong chat. The docs' answer is to delete the token of that name;
    // it must also stop the link that has not made the token yet.
    let leaked = console_link(&h, "desk-phone").await;
    let (status, body) = h
        .request(
            "DELETE",
            "/api/v1/tokens/desk-phone",
            Some(&h.operator),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let mut stranger = Browser::new(&h);
    assert_eq!(stranger.use_link(&leaked).await, 401, "cancelled");
    assert!(!stranger.has_cookie("lockerd_console"));
    let (_, tokens) = h.get("/api/v1/tokens", &h.operator).await;
    assert!(
        !tokens.to_string().contains("desk-phone"),
        "no token was made: {tokens}"
    );

    // Likewise a kiosk's pairing link.
    let (_, pairing) = h
        .post(
            "/api/v1/kiosk/pairings",
            &h.operator,
            json!({"name": "lobby-2"}),
        )
        .await;
    let (status, _) = h
        .request("DELETE", "/api/v1/tokens/lobby-2", Some(&h.operator), None)
        .await;
    assert_eq!(status, 204);
    let mut kiosk = Browser::new(&h);
    let (status, _, _) = kiosk.open(pairing["url"].as_str().unwrap()).await;
    assert_eq!(status, 401, "the pairing link is cancelled too");
    assert!(!kiosk.has_cookie("lockerd_kiosk"));

    // The cancellation is audited, and a name with neither token nor link is still unknown.
    let (_, audit) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    let removed = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "token.removed" && e["detail"]["name"] == "desk-phone")
        .count();
    assert_eq!(removed, 1, "{audit}");
    let (status, _) = h
        .request("DELETE", "/api/v1/tokens/nobody", Some(&h.operator), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_racing_for_one_link_get_exactly_one_session() {
    let h = Harness::start().await;
    let code = console_link(&h, "desk").await;
    let racers = (0..8).map(|_| {
        let (mut browser, code) = (Browser::new(&h), code.clone());
        tokio::spawn(async move {
            let status = browser.use_link(&code).await;
            (status, browser.has_cookie("lockerd_console"))
        })
    });
    let mut answers = Vec::new();
    for racer in racers.collect::<Vec<_>>() {
        answers.push(racer.await.unwrap());
    }
    let won: Vec<_> = answers.iter().filter(|(s, _)| *s == 204).collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|&(status, cookie)| (status == 204) == cookie && (status == 204 || status == 401)),
        "the others get 401 and no cookie: {answers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_whose_name_went_to_a_kiosk_meanwhile_signs_nothing_in() {
    let h = Harness::start().await;
    // Made while the name is free; a kiosk is paired under it before the link is spent.
    let code = console_link(&h, "front").await;
    let (_, pairing) = h
        .post(
            "/api/v1/kiosk/pairings",
            &h.operator,
            json!({"name": "front"}),
        )
        .await;
    let mut kiosk = Browser::new(&h);
    let (status, _, _) = kiosk.open(pairing["url"].as_str().unwrap()).await;
    assert_eq!(status, 303, "paired");

    let mut browser = Browser::new(&h);
    assert_eq!(browser.use_link(&code).await, 401);
    assert!(!browser.has_cookie("lockerd_console"));
    let (status, _, _) = kiosk.open("/kiosk/").await;
    assert_eq!(status, 200, "the kiosk keeps its token");
    let (_, tokens) = h.get("/api/v1/tokens", &h.operator).await;
    let front: Vec<_> = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] == "front")
        .map(|t| t["role"].clone())
        .collect();
    assert_eq!(front, [json!("kiosk")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_roles_neither_make_links_nor_sign_in_with_one_and_huge_codes_are_refused() {
    let h = Harness::start().await;
    let courier = h.courier_session("alice").await;
    for (token, what) in [
        (&h.kiosk, "kiosk"),
        (&h.sync, "sync"),
        (&courier, "courier"),
    ] {
        let (status, _) = h
            .post("/api/v1/console/links", token, json!({"name": "mine"}))
            .await;
        assert_eq!(status, 403, "a {what} credential");
    }
    // A kiosk's own cookie, from its page.
    let (_, pairing) = h
        .post(
            "/api/v1/kiosk/pairings",
            &h.operator,
            json!({"name": "lobby"}),
        )
        .await;
    let mut kiosk = Browser::new(&h);
    kiosk.open(pairing["url"].as_str().unwrap()).await;
    assert!(kiosk.has_cookie("lockerd_kiosk"));
    let (status, _) = kiosk
        .call("POST", "/api/v1/console/links", Some(json!({"name": "k"})))
        .await;
    assert_eq!(status, 403, "the kiosk page");
    // Its token posted as a link's code is no code.
    assert_eq!(kiosk.use_link(&h.kiosk).await, 401);
    assert!(!kiosk.has_cookie("lockerd_console"));

    let mut browser = Browser::new(&h);
    let long = "a".repeat(200);
    assert_eq!(browser.use_link(&long).await, 401);
    let huge = "a".repeat(70 * 1024);
    assert_eq!(browser.use_link(&huge).await, 413);
    assert!(!browser.has_cookie("lockerd_console"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_that_replaces_an_operators_token_says_so_in_the_audit_log() {
    let h = Harness::start().await;
    // A script's operator token; an operator makes a link under its name and spends it, which
    // takes the token from the script.
    let (status, _) = h
        .post(
            "/api/v1/tokens",
            &h.operator,
            json!({"role": "operator", "name": "nightly-export"}),
        )
        .await;
    assert_eq!(status, 201);
    let taken = console_link(&h, "nightly-export").await;
    let fresh = console_link(&h, "desk").await;
    for code in [&taken, &fresh] {
        assert_eq!(Browser::new(&h).use_link(code).await, 204);
    }
    let (_, audit) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    let linked = |name: &str| {
        let entries = audit["entries"].as_array().unwrap().iter();
        let mut linked = entries.filter(|e| e["action"] == "console.linked");
        linked.find(|e| e["detail"]["name"] == name).unwrap()["detail"].clone()
    };
    assert_eq!(
        linked("nightly-export")["replaced"],
        true,
        "the script's token went"
    );
    assert_eq!(linked("desk")["replaced"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_under_any_allowed_name_can_be_revoked_and_odd_names_are_refused() {
    let h = Harness::start().await;
    // Whatever name a link may carry, its token must be deletable by that name: deleting it
    // is the only way to sign its browser out for good.
    let name = "Büro / Empfang 📱?#%";
    let code = console_link(&h, name).await;
    let mut browser = Browser::new(&h);
    assert_eq!(browser.use_link(&code).await, 204);
    let (status, _) = browser.call("GET", "/api/v1/compartments", None).await;
    assert_eq!(status, 200);
    let path: String = name
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let (status, body) = h
        .request(
            "DELETE",
            &format!("/api/v1/tokens/{path}"),
            Some(&h.operator),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = browser.call("GET", "/api/v1/compartments", None).await;
    assert_eq!(status, 401, "signed out");

    let long = "ü".repeat(33);
    for bad in [long.as_str(), "", "   ", "desk\u{7}", "desk\nphone"] {
        let (status, body) = h
            .post("/api/v1/console/links", &h.operator, json!({"name": bad}))
            .await;
        assert_eq!(status, 400, "{bad:?}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_pushed_out_by_the_cap_loses_its_live_feed_too() {
    let h = Harness::start().await;
    let mut first = Browser::new(&h);
    assert_eq!(first.use_link(&console_link(&h, "first").await).await, 204);
    let feed = first.live_feed().await;
    // 64 sessions are live at most: 64 more sign-ins push the first out.
    for _ in 0..64 {
        let body = Some(json!({"token": h.operator}));
        let (status, _) = Browser::new(&h)
            .call("POST", "/console/session", body)
            .await;
        assert_eq!(status, 204);
    }
    let (status, _) = first.call("GET", "/api/v1/compartments", None).await;
    assert_eq!(status, 401, "pushed out");
    assert!(feed_ends(feed).await, "its feed ended with it");
}
