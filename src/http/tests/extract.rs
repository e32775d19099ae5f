//! Rejections of bodies and queries, the body limit, and the fallbacks, on a small router of
//! the same extractors and the same `finish` as the real one, which needs no locker.

use crate::http::extract::{Json, Query, Rfc3339, Secret, page_limit};
use crate::http::tokens::CreateToken;
use crate::http::views::{ParcelStateView, SizeView};
use crate::http::{BODY_LIMIT, finish};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode, header};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Probe {
    size: SizeView,
    name: String,
    code: Option<Secret>,
    until: Option<Rfc3339>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct ProbeQuery {
    state: Option<ParcelStateView>,
    limit: Option<usize>,
}

fn probe_app() -> Router {
    let body = post(|Json(_): Json<Probe>| async { StatusCode::NO_CONTENT });
    let query = get(|Query(q): Query<ProbeQuery>| async move {
        page_limit(q.limit, 50, 500).map(|n| n.to_string())
    });
    let token = post(|Json(_): Json<CreateToken>| async { StatusCode::NO_CONTENT });
    finish(
        Router::new()
            .route("/body", body)
            .route("/query", query)
            .route("/token", token),
    )
}

async fn call(method: Method, uri: &str, body: Option<String>) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(body.map(Body::from).unwrap_or_default())
        .unwrap();
    let response = probe_app().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn post_body(body: Value) -> (StatusCode, String) {
    let (status, json) = call(Method::POST, "/body", Some(body.to_string())).await;
    let message = json["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if status == StatusCode::BAD_REQUEST {
        assert_eq!(json["error"]["code"], "invalid_request", "{json}");
    }
    (status, message)
}

#[tokio::test]
async fn a_bad_body_field_is_named_in_the_message() {
    let (status, message) = post_body(json!({"size": "XXL", "name": "n"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("size"), "{message}");

    let (status, message) = post_body(json!({"size": "S"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("name"), "{message}");

    let (status, message) = post_body(json!({"size": "S", "name": "n", "until": "soon"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("until"), "{message}");

    let ok = json!({"size": "S", "name": "n", "code": "1", "until": "2030-01-31T18:00:00Z"});
    assert_eq!(post_body(ok).await.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_code_of_the_wrong_type_is_not_echoed() {
    let (status, message) = post_body(json!({"size": "S", "name": "n", "code": 987654})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("code"), "{message}");
    assert!(!message.contains("987654"), "{message}");
}

#[tokio::test]
async fn malformed_json_and_missing_content_type_are_invalid_requests() {
    let (status, json) = call(Method::POST, "/body", Some("{\"size\":".into())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"]["code"], "invalid_request");

    let (status, json) = call(Method::POST, "/body", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"]["code"], "invalid_request");
}

#[tokio::test]
async fn a_body_over_the_limit_is_payload_too_large() {
    let name = "x".repeat(BODY_LIMIT);
    let (status, json) = call(
        Method::POST,
        "/body",
        Some(json!({"size": "S", "name": name}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn a_bad_query_is_named_and_limits_are_bounded() {
    let (status, json) = call(Method::GET, "/query?state=lost", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        json["error"]["message"].as_str().unwrap().contains("state"),
        "{json}"
    );

    let (status, json) = call(Method::GET, "/query?limit=0", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        json["error"]["message"].as_str().unwrap().contains("limit"),
        "{json}"
    );

    assert_eq!(
        call(Method::GET, "/query?limit=9999", None).await.1,
        json!(500)
    );
    assert_eq!(
        call(Method::GET, "/query?state=stored", None).await.1,
        json!(50)
    );
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let (status, json) = call(Method::GET, "/api/v1/nothing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json["error"]["code"], "not_found");

    let (status, json) = call(Method::DELETE, "/body", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn a_token_cannot_be_created_with_the_courier_role() {
    let body = json!({"role": "courier", "name": "n"}).to_string();
    let (status, json) = call(Method::POST, "/token", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        json["error"]["message"].as_str().unwrap().contains("role"),
        "{json}"
    );

    let body = json!({"role": "sync", "name": "n"}).to_string();
    assert_eq!(
        call(Method::POST, "/token", Some(body)).await.0,
        StatusCode::NO_CONTENT
    );
}

/// serde's derived structs also read an array, field by field in declaration order: found by
/// the body properties, `["kiosk", "n"]` created a token and `["S", "n", null, null]` passed as
/// the probe, though the document says every body is an object.
#[tokio::test]
async fn an_array_is_not_taken_for_the_object() {
    let body = json!(["kiosk", "n"]).to_string();
    let (status, json) = call(Method::POST, "/token", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert_eq!(json["error"]["code"], "invalid_request");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains("expected a JSON object"), "{message}");

    let (status, _) = post_body(json!(["S", "n", null, null])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
