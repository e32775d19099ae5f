//! The role matrix of docs/api.md, over every route the daemon documents: without a token 401, with
//! a token of a role that may not call it 403, and with a token of a role that may call it
//! neither, except the two refusals the service documents for an operator (creating a deposit
//! and logging out need a courier). Routes are read from the served OpenAPI document, so a new
//! route cannot escape the check.

mod common;

use common::{Harness, totp_now};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Who may call a route, as docs/api.md ("Credentials and roles") says.
fn allowed(method: &str, path: &str, role: &str) -> bool {
    let read = method == "get";
    match role {
        "operator" => path != "/api/v1/sync/ack",
        "kiosk" => matches!(
            path,
            "/api/v1/courier/login"
                | "/api/v1/deliveries"
                | "/api/v1/pickup"
                | "/api/v1/incidents"
                | "/api/v1/kiosk/events"
        ),
        "courier" => {
            path.starts_with("/api/v1/deposits")
                || path.starts_with("/api/v1/courier/returns")
                || path == "/api/v1/courier/logout"
        }
        // Reading parcels (their photos and evidence too, for the delivery notice and claims)
        // and compartments.
        "sync" => {
            path.starts_with("/api/v1/sync/")
                || (read
                    && (path.starts_with("/api/v1/parcels")
                        || path.starts_with("/api/v1/compartments")))
        }
        _ => false,
    }
}

/// Routes a role may call where the service still refuses that role with `403 forbidden`, as
/// the OpenAPI document says: a deposit needs a courier identity, and an operator has no session
/// to log out of. Both are refused only once the body has been read.
fn refused_by_the_service(method: &str, path: &str, role: &str) -> bool {
    role == "operator"
        && method == "post"
        && matches!(path, "/api/v1/deposits" | "/api/v1/courier/logout")
}

const PUBLIC: [&str; 3] = ["/healthz", "/api/v1/openapi.json", "/metrics"];

async fn routes(h: &Harness) -> Vec<(String, String)> {
    let (status, doc) = h.request("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    let mut out = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "delete"] {
            if item.get(method).is_some() {
                out.push((method.to_owned(), path.clone()));
            }
        }
    }
    assert!(out.len() >= 30, "the document lists every route: {out:?}");
    out
}

/// The status of the kiosk's live feed, without waiting for its endless body.
async fn stream_status(h: &Harness, token: &str) -> u16 {
    let response = h
        .http
        .get(h.url("/api/v1/kiosk/events"))
        .bearer_auth(token)
        .send()
        .await;
    response.expect("answered").status().as_u16()
}

/// A concrete URL for a templated path.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "A1" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_a_missing_token_and_a_wrong_role() {
    let h = Harness::start().await;
    let courier = h.courier_session("alice").await;
    let tokens = [
        ("operator", h.operator.clone()),
        ("kiosk", h.kiosk.clone()),
        ("courier", courier),
        ("sync", h.sync.clone()),
    ];
    let mut checked = 0;
    for (method, path) in routes(&h).await {
        if PUBLIC.contains(&path.as_str()) {
            continue;
        }
        let url = concrete(&path);
        let upper = method.to_uppercase();
        let body = (method != "get" && method != "delete").then(|| json!({}));
        let (status, answer) = h.request(&upper, &url, None, body.clone()).await;
        assert_eq!(status, 401, "{upper} {path} without a token: {answer}");
        assert_eq!(answer["error"]["code"], "unauthorized");
        let (status, _) = h
            .request(&upper, &url, Some("lkd_not-a-real-token"), body.clone())
            .await;
        assert_eq!(status, 401, "{upper} {path} with an unknown token");
        for (role, token) in &tokens {
            if allowed(&method, &path, role) {
                continue;
            }
            let (status, answer): (u16, Value) =
                h.request(&upper, &url, Some(token), body.clone()).await;
            assert_eq!(status, 403, "{upper} {path} as {role}: {answer}");
            assert_eq!(answer["error"]["code"], "forbidden");
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} wrong-role checks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_routes_and_unknown_routes() {
    let h = Harness::start().await;
    let (status, health) = h.request("GET", "/healthz", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["db"], "ok");
    assert_eq!(
        health["buses"],
        json!([{"name": "sim", "ok": true, "last_error": null}])
    );
    let (status, body) = h
        .request("GET", "/api/v1/nope", Some(&h.operator), None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, body) = h.get("/api/v1/parcels/does-not-exist", &h.operator).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, body) = h.get("/api/v1/compartments/Z9", &h.operator).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_invalid_request_naming_the_field() {
    let h = Harness::start().await;
    let courier = h.courier_session("bob").await;
    let resp = h
        .http
        .post(format!("{}/api/v1/deposits", h.base))
        .bearer_auth(&courier)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_request");
    let (status, body) = h
        .post("/api/v1/deposits", &courier, json!({"size": "S"}))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tracking_id"),
        "{body}"
    );
    let big = "x".repeat(70 * 1024);
    let (status, body) = h.deposit(&courier, &big, "S").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_cannot_deposit_without_a_courier_session() {
    let h = Harness::start().await;
    let (status, body) = h.deposit(&h.operator, "OP-1", "S").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    assert!(h.sim().pulses().is_empty(), "nothing opened");
}

/// Real credentials for the routes whose body carries them, per role, so an allowed caller is
/// answered on its merits and not with `401 invalid_code` / `invalid_credentials`.
struct Credentials {
    /// A live pickup code for each role that may pick up (each code opens once).
    pickup_codes: HashMap<&'static str, String>,
    /// A courier name and TOTP secret for each role that may log couriers in (each code is
    /// accepted once).
    logins: HashMap<&'static str, (String, String)>,
}

/// A body the route accepts, so that an allowed caller reaches the service, and with it any
/// refusal the service makes, instead of stopping at `400 invalid_request`.
fn valid_body(
    h: &Harness,
    credentials: &Credentials,
    method: &str,
    path: &str,
    role: &str,
) -> Option<Value> {
    if method == "get" || method == "delete" {
        return None;
    }
    Some(match path {
        "/api/v1/tokens" => json!({"role": "kiosk", "name": format!("roles-{role}")}),
        "/api/v1/couriers" => json!({"name": format!("roles-new-{role}")}),
        "/api/v1/courier/login" => {
            let (name, secret) = &credentials.logins[role];
            json!({"courier": name, "code": totp_now(secret, &h.clock)})
        }
        "/api/v1/pickup" => json!({"code": credentials.pickup_codes[role]}),
        "/api/v1/deposits" => json!({"tracking_id": format!("ROLES-{role}"), "size": "S"}),
        "/api/v1/incidents" => json!({"kind": "other", "note": "roles test"}),
        "/api/v1/sync/ack" => json!({"seq": 0}),
        p if p.starts_with("/api/v1/compartments/") => json!({"reason": "roles test"}),
        p if p.ends_with("/resize") => json!({"size": "XL"}),
        p if p.ends_with("/extend") => json!({"until": "2099-01-01T00:00:00Z"}),
        p if p.starts_with("/api/v1/sim/doors/") => json!({"open": true}),
        p if p.starts_with("/api/v1/sync/reservations/") => json!({"size": "S"}),
        _ => json!({}),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_lets_every_allowed_role_past_the_role_checks() {
    let h = Harness::start().await;
    let courier = h.courier_session("alice").await;
    // Logging out ends a session, so that check gets a session of its own.
    let leaving = h.courier_session("leaving").await;
    let depositor = h.courier_session("dora").await;
    let mut pickup_codes = HashMap::new();
    let mut logins = HashMap::new();
    for role in ["kiosk", "operator"] {
        // Size L: away from A1, which the path placeholders name and an operator opens.
        let (_, _, code) = h
            .deposit_stored(&depositor, &format!("PICKUP-{role}"), "L")
            .await;
        pickup_codes.insert(role, code);
        let name = format!("login-{role}");
        let secret = h.new_courier(&name).await;
        logins.insert(role, (name, secret));
    }
    let credentials = Credentials {
        pickup_codes,
        logins,
    };
    let mut checked = 0;
    let mut service_refusals = 0;
    for (method, path) in routes(&h).await {
        if PUBLIC.contains(&path.as_str()) {
            continue;
        }
        let url = concrete(&path);
        let upper = method.to_uppercase();
        for role in ["operator", "kiosk", "courier", "sync"] {
            if !allowed(&method, &path, role) {
                continue;
            }
            let token = match role {
                "operator" => h.operator.clone(),
                "kiosk" => h.kiosk.clone(),
                "sync" => h.sync.clone(),
                _ if path == "/api/v1/courier/logout" => leaving.clone(),
                _ => courier.clone(),
            };
            let body = valid_body(&h, &credentials, &method, &path, role);
            let (status, answer): (u16, Value) = match path.as_str() {
                // An endless stream: its status is all there is to check.
                "/api/v1/kiosk/events" => (stream_status(&h, &token).await, Value::Null),
                _ => h.request(&upper, &url, Some(&token), body).await,
            };
            if refused_by_the_service(&method, &path, role) {
                assert_eq!(status, 403, "{upper} {path} as {role}: {answer}");
                assert_eq!(answer["error"]["code"], "forbidden");
                service_refusals += 1;
            } else {
                assert!(
                    status != 401 && status != 403,
                    "{upper} {path} as {role} may call it, yet got {status}: {answer}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(service_refusals, 2, "both documented refusals were checked");
    assert!(checked > 40, "only {checked} allowed-role checks");
}
