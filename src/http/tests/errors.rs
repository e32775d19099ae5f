//! The error JSON: status, code, message, and `Retry-After` on a lockout or a rate limit.

use crate::http::error::ApiError;
use crate::locker::LockerError;
use axum::body::{Body, to_bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// The status, the parsed error JSON and the head of the answer to an error.
async fn answer(error: ApiError) -> (StatusCode, Value, Response) {
    let response = error.into_response();
    let status = response.status();
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap();
    let json = serde_json::from_slice(&bytes).unwrap();
    (status, json, Response::from_parts(parts, Body::empty()))
}

#[tokio::test]
async fn each_locker_error_has_its_status_and_code() {
    let cases = [
        (LockerError::NotFound("parcel p1".into()), 404, "not_found"),
        (
            LockerError::InvalidRequest("bad".into()),
            400,
            "invalid_request",
        ),
        (LockerError::Conflict("state".into()), 409, "conflict"),
        (LockerError::CompartmentBusy, 409, "compartment_busy"),
        (
            LockerError::NoCompartmentAvailable,
            409,
            "no_compartment_available",
        ),
        (
            LockerError::DuplicateTrackingId,
            409,
            "duplicate_tracking_id",
        ),
        (
            LockerError::HardwareUnavailable,
            503,
            "hardware_unavailable",
        ),
        (LockerError::InvalidCredentials, 401, "invalid_credentials"),
        (LockerError::Forbidden, 403, "forbidden"),
        (LockerError::Internal("boom".into()), 500, "internal"),
    ];
    for (error, status, code) in cases {
        let (got, json, response) = answer(error.into()).await;
        assert_eq!(got.as_u16(), status, "{code}");
        let error = json.as_object().unwrap()["error"].as_object().unwrap();
        let keys: BTreeSet<_> = error.keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["code", "message"]), "{code}");
        assert_eq!(error["code"], code);
        assert!(!error["message"].as_str().unwrap().is_empty(), "{code}");
        assert!(
            response.headers().get(header::RETRY_AFTER).is_none(),
            "{code}"
        );
    }
}

#[tokio::test]
async fn api_errors_have_their_status_and_code() {
    let cases = [
        (ApiError::Unauthorized, 401, "unauthorized"),
        (ApiError::InvalidRequest("x".into()), 400, "invalid_request"),
        (ApiError::PayloadTooLarge, 413, "payload_too_large"),
        (ApiError::RouteNotFound, 404, "not_found"),
        (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
    ];
    for (error, status, code) in cases {
        let (got, json, _) = answer(error).await;
        assert_eq!(got.as_u16(), status, "{code}");
        assert_eq!(json["error"]["code"], code);
    }
}

#[tokio::test]
async fn unauthorized_names_the_bearer_scheme() {
    let (_, _, response) = answer(ApiError::Unauthorized).await;
    assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
}

#[tokio::test]
async fn locked_out_gives_retry_after_rounded_up_and_at_least_one() {
    for (retry_after, secs) in [(1500, 2), (3000, 3), (1, 1), (0, 1)] {
        let error = LockerError::LockedOut {
            retry_after: Duration::from_millis(retry_after),
        };
        let (status, json, response) = answer(error.into()).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(json["error"]["code"], "locked_out");
        assert_eq!(json["error"]["retry_after_s"], secs, "{retry_after} ms");
        let header = response.headers()[header::RETRY_AFTER].to_str().unwrap();
        assert_eq!(header, secs.to_string(), "{retry_after} ms");
    }
}

#[tokio::test]
async fn rate_limited_says_when_to_come_back() {
    let error = LockerError::RateLimited {
        retry_after: Duration::from_millis(3_600_500),
    };
    let (status, json, response) = answer(error.into()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(json["error"]["code"], "rate_limited");
    assert_eq!(json["error"]["retry_after_s"], 3601);
    assert_eq!(response.headers()[header::RETRY_AFTER], "3601");
}

#[tokio::test]
async fn internal_error_detail_stays_out_of_the_answer() {
    let error = LockerError::Internal("database: /var/lib/lockerd/db locked".into());
    let (_, json, _) = answer(error.into()).await;
    let message = json["error"]["message"].as_str().unwrap();
    assert!(!message.contains("database"), "{message}");
}

#[tokio::test]
async fn invalid_code_tells_the_attempts_left_and_nothing_else() {
    let wrong = LockerError::InvalidCode {
        attempts_left: 2,
        locked_for: None,
    };
    let (status, json, _) = answer(wrong.into()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let error = json["error"].as_object().unwrap();
    let keys: BTreeSet<_> = error.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["code", "message", "attempts_left"]));
    assert_eq!(error["code"], "invalid_code");
    assert_eq!(error["attempts_left"], 2);
}

#[tokio::test]
async fn a_cross_site_refusal_is_forbidden() {
    let (status, json, _) =
        answer(LockerError::CrossSite("cross-site request refused").into()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json["error"]["code"], "forbidden");
    assert_eq!(json["error"]["message"], "cross-site request refused");
}
