//! `ApiError`: every way a request fails, turned into the API's error JSON
//! `{"error": {"code", "message"}}` and its status.
//!
//! The message is the only free text that reaches a client, so it is built from the service's
//! error messages, which never carry a code, token or secret; an internal error's detail goes to
//! the log, never to the client.

use crate::locker::LockerError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::time::Duration;
use utoipa::{IntoResponses, ToSchema};

/// An error answer of the HTTP API.
#[derive(Debug)]
pub enum ApiError {
    /// No `Authorization: Bearer` header, a malformed one, or a token nobody holds.
    Unauthorized,
    /// A malformed body, query or path, naming what is wrong.
    InvalidRequest(String),
    /// A body over the size limit.
    PayloadTooLarge,
    /// No route at this path.
    RouteNotFound,
    /// A route at this path, but not for this method.
    MethodNotAllowed,
    /// What the service refused.
    Locker(LockerError),
}

impl From<LockerError> for ApiError {
    fn from(e: LockerError) -> Self {
        ApiError::Locker(e)
    }
}

/// The error JSON every failed request answers with.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: what a client acts on.
    #[schema(example = "not_found")]
    pub code: &'static str,
    /// For people; may change between versions.
    pub message: String,
    /// With `locked_out`, and with the `invalid_code` that started a lockout: seconds until the
    /// lockout ends, as in the `Retry-After` header. With `rate_limited`: seconds until the cap
    /// lets the request through again, as in `Retry-After`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
    /// Extension, only with `invalid_code`: wrong codes the keypad still takes before it locks
    /// (0: this one locked it). The same for every wrong code, so it tells nothing about codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
}

impl ApiError {
    /// Status, code and message of this error.
    fn parts(&self) -> (StatusCode, &'static str, String) {
        let (status, code, message) = match self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid `Authorization: Bearer <token>` header is required",
            ),
            ApiError::InvalidRequest(msg) => {
                return (StatusCode::BAD_REQUEST, "invalid_request", msg.clone());
            }
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body over 64 KiB",
            ),
            ApiError::RouteNotFound => (StatusCode::NOT_FOUND, "not_found", "no such route"),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take this method; see the `Allow` header",
            ),
            ApiError::Locker(e) => return locker_parts(e),
        };
        (status, code, message.to_owned())
    }

    /// Whole seconds a locked-out client must wait, rounded up so a retry at that time is not
    /// refused again, and at least 1 because `Retry-After: 0` invites a busy loop.
    fn retry_after_s(&self) -> Option<u64> {
        match self {
            ApiError::Locker(LockerError::LockedOut { retry_after })
            | ApiError::Locker(LockerError::RateLimited { retry_after })
            | ApiError::Locker(LockerError::InvalidCode {
                locked_for: Some(retry_after),
                ..
            }) => Some(ceil_secs(*retry_after)),
            _ => None,
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

fn locker_parts(e: &LockerError) -> (StatusCode, &'static str, String) {
    use LockerError as L;
    let (status, code) = match e {
        L::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        L::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
        L::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
        L::CompartmentBusy => (StatusCode::CONFLICT, "compartment_busy"),
        L::NoCompartmentAvailable => (StatusCode::CONFLICT, "no_compartment_available"),
        L::DuplicateTrackingId => (StatusCode::CONFLICT, "duplicate_tracking_id"),
        L::HardwareUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "hardware_unavailable"),
        L::InvalidCode { .. } => (StatusCode::UNAUTHORIZED, "invalid_code"),
        L::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        L::LockedOut { .. } => (StatusCode::TOO_MANY_REQUESTS, "locked_out"),
        L::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        L::Forbidden | L::CrossSite(_) => (StatusCode::FORBIDDEN, "forbidden"),
        L::DeliveryNotAllowed => (StatusCode::FORBIDDEN, "delivery_not_allowed"),
        L::NothingToCollect => (StatusCode::CONFLICT, "nothing_to_collect"),
        L::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    };
    let message = match e {
        // The detail (a database error, say) is for the log, not for whoever sent the request.
        L::Internal(_) => "internal error; see the daemon's log".to_owned(),
        _ => e.to_string(),
    };
    (status, code, message)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Locker(LockerError::Internal(detail)) = &self {
            tracing::error!(%detail, "internal error answering a request");
        }
        let (status, code, message) = self.parts();
        let retry_after_s = self.retry_after_s();
        let attempts_left = match &self {
            ApiError::Locker(LockerError::InvalidCode { attempts_left, .. }) => {
                Some(*attempts_left)
            }
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                retry_after_s,
                attempts_left,
            },
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = retry_after_s {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if matches!(self, ApiError::Unauthorized) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The errors of every route that needs a token, for the OpenAPI document.
#[derive(IntoResponses)]
#[allow(dead_code)] // only its derived impl is used
pub enum AuthErrors {
    /// `unauthorized`: no `Authorization: Bearer` header, a malformed one, or an unknown token.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// `forbidden`: the token's role may not call this route.
    #[response(status = 403)]
    Forbidden(ErrorBody),
}

/// The refusal of a route with a ceiling on how often it may be called (door openings by one
/// credential, and all together), for the OpenAPI document.
#[derive(IntoResponses)]
#[allow(dead_code)] // only its derived impl is used
pub enum RateErrors {
    /// `rate_limited`: a ceiling is reached (door openings: `policy.opens_per_credential`,
    /// `policy.opens_locker_wide`, `policy.courier_opens`; reservations:
    /// `sync.max_reservations` open, or that many writes an hour); `Retry-After` and
    /// `error.retry_after_s` give the seconds until one more may be allowed.
    #[response(
        status = 429,
        headers(("Retry-After" = u64, description = "seconds until one more is allowed"))
    )]
    RateLimited(ErrorBody),
}

/// The errors of every route that reads a JSON body, for the OpenAPI document.
#[derive(IntoResponses)]
#[allow(dead_code)] // only its derived impl is used
pub enum BodyErrors {
    /// `invalid_request`: the body is not JSON of the documented shape; `message` names the field.
    #[response(status = 400)]
    InvalidRequest(ErrorBody),
    /// `payload_too_large`: the body is over 64 KiB.
    #[response(status = 413)]
    PayloadTooLarge(ErrorBody),
}

/// The `404` of every route about one compartment, for the OpenAPI document.
#[derive(IntoResponses)]
#[allow(dead_code)] // only its derived impl is used
pub enum CompartmentNotFound {
    #[response(status = 404, description = "`not_found`: no such compartment")]
    NotFound(ErrorBody),
}

/// The `404` of an operator's route about one parcel, for the OpenAPI document.
#[derive(IntoResponses)]
#[allow(dead_code)] // only its derived impl is used
pub enum ParcelNotFound {
    #[response(status = 404, description = "`not_found`: no such parcel")]
    NotFound(ErrorBody),
}

/// The `404` of a courier's route about one of its deposits (an operator may name any parcel),
/// for the OpenAPI document: another courier's parcel is not found, not forbidden, so its id
/// tells nothing.
#[derive(IntoResponses)]
#[allow(dead_code)] // only its derived impl is used
pub enum OwnParcelNotFound {
    #[response(
        status = 404,
        description = "`not_found`: no such parcel, or (for a courier) not one of its own"
    )]
    NotFound(ErrorBody),
}

/// The `409` of a route that changes a parcel without opening its door, for the OpenAPI
/// document; the route's description says which states it needs.
#[derive(IntoResponses)]
#[allow(dead_code)] // only its derived impl is used
pub enum ParcelConflict {
    #[response(
        status = 409,
        description = "`conflict`: the parcel is not in a state for this"
    )]
    Conflict(ErrorBody),
}

/// The `409` of a route that opens a parcel's compartment, for the OpenAPI document; the route's
/// description says which states it needs.
#[derive(IntoResponses)]
#[allow(dead_code)] // only its derived impl is used
pub enum ParcelOpeningConflict {
    #[response(
        status = 409,
        description = "`conflict`: the parcel is not in a state for this; `compartment_busy`: \
            another opening of its compartment is in progress"
    )]
    Conflict(ErrorBody),
}

/// The `409` of a route that changes a compartment's state, for the OpenAPI document.
#[derive(IntoResponses)]
#[allow(dead_code)] // only its derived impl is used
pub enum CompartmentConflict {
    #[response(
        status = 409,
        description = "`compartment_busy`: an opening of it is in progress; `conflict`: its \
            state does not allow this"
    )]
    Conflict(ErrorBody),
}
