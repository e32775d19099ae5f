//! The operator console's server side (docs/console.md): signing in with an operator token
//! once, the session cookie that stands for it (never the token), the kiosk's CSRF check on
//! every cookie-authenticated request, sign-out, and who may not use it. The page itself is
//! driven in a real browser by tests/kiosk_e2e.rs (tests/e2e/console*.test.js).

mod common;

use common::Harness;
use common::browser::{Browser, console_link, feed_ends, link_code, next_state};
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
    drop(browser.live_feed().await);

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_link_signs_one_browser_in_once_as_an_operator_of_its_name() {
    let h = Harness::start().await;
    let code = console_link(&h, "desk-phone").await;

    // Loading the page the link names spends nothing: the code is in the fragment.
    let mut phone = Browser::new(&h);
    let (status, _, body) = phone.open("/console/").await;
    assert!(is_sign_in_page(status, &body), "{status}");
    // Another site cannot make a browser spend it either.
    let (status, _) = phone
        .call_with(
            "POST",
            "/console/session",
            Some(json!({"link": code})),
            &[("sec-fetch-site", "cross-site"), ("x-lockerd-csrf", "1")],
        )
        .await;
    assert_eq!(status, 403);

    assert_eq!(phone.use_link(&code).await, 204);
    assert!(phone.has_cookie("lockerd_console"));
    let (status, _, page) = phone.open("/console/").await;
    assert_eq!(status, 200, "signed in");
    assert!(!page.contains(&code));
    let (status, done) = phone
        .call(
            "POST",
            "/api/v1/compartments/A1/disable",
            Some(json!({"reason": "cleaning"})),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    let (_, audit) = h.get("/api/v1/audit?limit=1000", &h.operator).await;
    let entries = audit["entries"].as_array().unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    for want in [
        ("operator:ops", "console.link_created"),
        ("lockerd", "console.linked"),
        ("operator:desk-phone", "compartment.disabled"),
    ] {
        assert!(actions.contains(&want), "{want:?} in {actions:?}");
    }
    assert!(
        !audit.to_string().contains(&code),
        "the code is not audited"
    );
    let (_, tokens) = h.get("/api/v1/tokens", &h.operator).await;
    let made = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "desk-phone")
        .expect("the link's token is listed")
        .clone();
    assert_eq!(made["role"], "operator");

    // Once only: a second browser with the same code gets nothing.
    let mut other = Browser::new(&h);
    assert_eq!(other.use_link(&code).await, 401);
    assert!(!other.has_cookie("lockerd_console"));

    // A new link under the name replaces its token: the first phone is signed out.
    let again = console_link(&h, "desk-phone").await;
    let mut new_phone = Browser::new(&h);
    assert_eq!(new_phone.use_link(&again).await, 204);
    let (status, _) = phone.call("GET", "/api/v1/compartments", None).await;
    assert_eq!(status, 401, "the replaced browser");
    let (status, _) = new_phone.call("GET", "/api/v1/compartments", None).await;
    assert_eq!(status, 200);

    // Deleting the token signs its browser out.
    let (status, _) = h
        .request(
            "DELETE",
            "/api/v1/tokens/desk-phone",
            Some(&h.operator),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _, body) = new_phone.open("/console/").await;
    assert!(is_sign_in_page(status, &body), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_link_lapses_and_is_no_kiosk_pairing_nor_the_other_way_round() {
    let h = Harness::start().await;

    // Ten minutes, by the locker's clock.
    let late = console_link(&h, "late").await;
    h.clock.advance(std::time::Duration::from_secs(10 * 60 + 1));
    let mut browser = Browser::new(&h);
    assert_eq!(browser.use_link(&late).await, 401);

    // A kiosk's pairing code posted as a console link signs nothing in and stays unspent.
    let (_, pairing) = h
        .post(
            "/api/v1/kiosk/pairings",
            &h.operator,
            json!({"name": "lobby"}),
        )
        .await;
    let url = pairing["url"].as_str().unwrap().to_owned();
    let kiosk_code = url.split_once("code=").unwrap().1.to_owned();
    assert_eq!(browser.use_link(&kiosk_code).await, 401);
    let mut kiosk = Browser::new(&h);
    let (status, _, _) = kiosk.open(&url).await;
    assert_eq!(status, 303, "the pairing still works");

    // And a console link opened as a kiosk pairing pairs nothing.
    let console = console_link(&h, "desk").await;
    let mut stranger = Browser::new(&h);
    let (status, _, _) = stranger.open(&format!("/kiosk/pair?code={console}")).await;
    assert_eq!(status, 401);
    assert_eq!(browser.use_link(&console).await, 204, "still live");

    // A link may not take over a kiosk's (or the cloud's) token name.
    let (status, body) = h
        .post(
            "/api/v1/console/links",
            &h.operator,
            json!({"name": "lobby"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");

    // Token or link, not both, not neither; nothing else but an operator may make links.
    for body in [json!({"token": h.operator, "link": console}), json!({})] {
        let (status, answer) = browser.call("POST", "/console/session", Some(body)).await;
        assert_eq!(status, 400, "{answer}");
    }
    for token in [&h.kiosk, &h.sync] {
        let (status, _) = h
            .post("/api/v1/console/links", token, json!({"name": "x"}))
            .await;
        assert_eq!(status, 403);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_sessions_live_feed_and_no_other() {
    let h = Harness::start().await;
    let mut signed_out = Browser::new(&h);
    assert_eq!(sign_in(&mut signed_out, &h.operator).await, 204);
    let open = signed_out.live_feed().await;
    // Another console's feed, and one opened with the operator's token itself.
    let mut staying = Browser::new(&h);
    assert_eq!(sign_in(&mut staying, &h.operator).await, 204);
    let mut other = staying.live_feed().await;
    next_state(&mut other).await;
    let mut bearer = h
        .api
        .http
        .get(format!("{}/api/v1/kiosk/events", h.base))
        .bearer_auth(&h.operator)
        .send()
        .await
        .unwrap();
    next_state(&mut bearer).await;

    let (status, _) = signed_out.call("POST", "/console/signout", None).await;
    assert_eq!(status, 204);
    assert!(feed_ends(open).await, "the signed-out feed ended cleanly");

    let (status, _) = h
        .post(
            "/api/v1/compartments/B1/disable",
            &h.operator,
            json!({"reason": "still here"}),
        )
        .await;
    assert_eq!(status, 200);
    for feed in [&mut other, &mut bearer] {
        let state = next_state(feed).await;
        assert!(state.contains("\"id\":\"B1\""), "{state}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_session_lapses_with_its_live_feed() {
    let h = Harness::start_with("console_session = \"3s\"").await;
    let mut browser = Browser::new(&h);
    assert_eq!(sign_in(&mut browser, &h.operator).await, 204);
    let answer = browser
        .http
        .post(format!("{}/console/session", h.base))
        .header("x-lockerd-csrf", "1")
        .json(&json!({"token": h.operator}))
        .send()
        .await
        .unwrap();
    let set = answer.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.split("; ").any(|a| a == "Max-Age=3"),
        "the cookie lapses with it: {set}"
    );
    let open = browser.live_feed().await;
    assert!(
        feed_ends(open).await,
        "the lapsed session's feed ended cleanly"
    );
    let (status, _) = browser.call("GET", "/api/v1/compartments", None).await;
    assert_eq!(status, 401, "the session is over");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockerd_console_link_prints_a_link_the_running_daemon_honours() {
    let h = Harness::start().await;
    let config = h.cli_config();
    let link = |args: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_lockerd"));
        command.args(["console", "link", "--config"]).arg(&config);
        command.args(args);
        async move {
            let output = command.output().await.unwrap();
            let stdout = String::from_utf8(output.stdout).unwrap();
            let stderr = String::from_utf8(output.stderr).unwrap();
            (output.status.success(), stdout, stderr)
        }
    };

    let (ok, stdout, stderr) = link(&["--name", "desk", "--host", "locker.example"]).await;
    assert!(ok, "{stdout}\n{stderr}");
    let url = stdout.trim();
    assert!(
        url.starts_with("http://locker.example:8080/console/#link="),
        "{url}"
    );
    assert!(stderr.contains("operator desk"), "{stderr}");
    assert!(!stderr.contains(&link_code(url)), "the code only on stdout");
    let mut browser = Browser::new(&h);
    assert_eq!(browser.use_link(&link_code(url)).await, 204);
    let (status, _, _) = browser.open("/console/").await;
    assert_eq!(status, 200);

    // Without --host, on every address: this machine's host name.
    let (ok, stdout, _) = link(&["--name", "desk-2"]).await;
    assert!(ok);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let want = format!("http://{}:8080/console/#link=", host.trim());
    assert!(stdout.starts_with(&want), "{stdout} (want {want})");

    // The name of the harness's own operator token: a warning that the link replaces it.
    let (ok, _, stderr) = link(&["--name", "ops"]).await;
    assert!(ok);
    assert!(stderr.contains("replaces it"), "{stderr}");

    // A kiosk's name: refused, nothing printed.
    let mut kiosk = Browser::new(&h);
    let (_, pairing) = h
        .post(
            "/api/v1/kiosk/pairings",
            &h.operator,
            json!({"name": "lobby"}),
        )
        .await;
    let (status, _, _) = kiosk.open(pairing["url"].as_str().unwrap()).await;
    assert_eq!(status, 303);
    let (ok, stdout, stderr) = link(&["--name", "lobby"]).await;
    assert!(!ok, "{stdout}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("kiosk token"), "{stderr}");
}
