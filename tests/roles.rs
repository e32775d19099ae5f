//! The role matrix of API.md, over every route the daemon documents: without a token 401, with
//! a token of a role that may not call it 403. Routes are read from the served OpenAPI
//! document, so a new route cannot escape the check.

mod common;

use common::Harness;
use serde_json::{Value, json};

/// Who may call a route, as API.md's role table says.
fn allowed(method: &str, path: &str, role: &str) -> bool {
    let read = method == "get";
    match role {
        "operator" => path != "/api/v1/sync/ack",
        "kiosk" => matches!(
            path,
            "/api/v1/courier/login" | "/api/v1/pickup" | "/api/v1/incidents"
        ),
        "courier" => {
            path.starts_with("/api/v1/deposits")
                || path.starts_with("/api/v1/courier/returns")
                || path == "/api/v1/courier/logout"
        }
        "sync" => {
            path.starts_with("/api/v1/sync/")
                || (read
                    && (path.starts_with("/api/v1/parcels")
                        || path.starts_with("/api/v1/compartments")))
        }
        _ => false,
    }
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
    let (status, body) = h
        .post(
            "/api/v1/deposits",
            &courier,
            json!({"tracking_id": big, "size": "S"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_cannot_deposit_without_a_courier_session() {
    let h = Harness::start().await;
    let (status, body) = h
        .post(
            "/api/v1/deposits",
            &h.operator,
            json!({"tracking_id": "OP-1", "size": "S"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    assert!(h.sim().pulses().is_empty(), "nothing opened");
}
