//! What a handler takes from a request: the caller, checked against the route's roles, and a
//! body, query or path whose rejections are the API's own JSON errors (`400 invalid_request`
//! naming the bad field, `413 payload_too_large`) instead of axum's plain text.
//!
//! Authentication is an extractor that reads only the headers, and a handler lists it first, so
//! a request without a valid token is refused before its body is read or judged.

use super::AppState;
use super::console_session::Live;
use super::error::ApiError;
use super::session_cookie;
use crate::domain::Timestamp;
use crate::locker::{LockerError, Principal, Role};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::error::Error;
use std::fmt;
use std::marker::PhantomData;

/// The caller of a route open to `roles` (bits below): the bearer token's holder or, from the
/// paired kiosk page, the holder of its cookies (`session_cookie`).
async fn authenticate(parts: &Parts, state: &AppState, roles: u8) -> Result<Principal, ApiError> {
    if parts.headers.contains_key(header::AUTHORIZATION) {
        let token = bearer_token(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let principal = state.locker.authenticate(token).await;
        return principal.ok_or(ApiError::Unauthorized);
    }
    if !session_cookie::from_page(&parts.headers) {
        return Err(ApiError::Unauthorized);
    }
    session_cookie::check_same_origin(parts)
        .map_err(|why| ApiError::Locker(LockerError::CrossSite(why)))?;
    if roles & OPERATOR != 0
        && let Some((_, operator)) = console_holder(&parts.headers, state).await
    {
        return Ok(operator);
    }
    let holder = |name, role| cookie_holder(&parts.headers, state, name, role);
    if roles & COURIER != 0 {
        if let Some(courier) = holder(session_cookie::COURIER_COOKIE, Role::Courier).await {
            return Ok(courier);
        }
        if roles & KIOSK == 0 {
            // A courier route from the page without a live session: the session ended.
            return Err(ApiError::Unauthorized);
        }
    }
    let kiosk = holder(session_cookie::KIOSK_COOKIE, Role::Kiosk).await;
    kiosk.ok_or(ApiError::Unauthorized)
}

/// The holder of the token in cookie `name`, if it is live and has `role`.
pub async fn cookie_holder(
    headers: &HeaderMap,
    state: &AppState,
    name: &str,
    role: Role,
) -> Option<Principal> {
    let token = session_cookie::cookie(headers, name)?;
    let principal = state.locker.authenticate(&token).await?;
    (principal.role == role).then_some(principal)
}

/// The operator token and holder behind the request's console cookie, if its session is live
/// and the token still is (a deleted token ends its sessions at once).
pub async fn console_holder(headers: &HeaderMap, state: &AppState) -> Option<(String, Principal)> {
    let id = session_cookie::cookie(headers, session_cookie::CONSOLE_COOKIE)?;
    let live = console_session(&id, state).await?;
    Some((live.token, live.holder))
}

/// The console session `id`, if it and its operator token are live.
async fn console_session(id: &str, state: &AppState) -> Option<Live> {
    let live = state.consoles.get(id, std::time::Instant::now())?;
    let now = state.locker.authenticate(&live.token).await?;
    (now == live.holder && live.holder.role == Role::Operator).then_some(live)
}

/// What the caller of a live stream authenticated with, kept to check it again while the stream
/// lasts. Never logged.
pub enum Credential {
    /// A bearer token, or the kiosk page's cookie (which is its token).
    Token(String),
    /// The console's session cookie: the session's id, and when the session lapses.
    Console {
        id: String,
        ends: std::time::Instant,
    },
}

impl Credential {
    /// Whether it still stands for `holder`: the token is not deleted (nor replaced), and a
    /// console session is not signed out or over.
    pub async fn holds(&self, state: &AppState, holder: &Principal) -> bool {
        match self {
            Credential::Token(token) => {
                state.locker.authenticate(token).await.as_ref() == Some(holder)
            }
            Credential::Console { id, .. } => console_session(id, state)
                .await
                .is_some_and(|live| &live.holder == holder),
        }
    }

    /// When it lapses by itself, if it does (a console session).
    pub fn ends(&self) -> Option<std::time::Instant> {
        match self {
            Credential::Token(_) => None,
            Credential::Console { ends, .. } => Some(*ends),
        }
    }
}

/// The credential `holder`, a caller of a kiosk or operator route, authenticated with: the
/// bearer token, the console's session, or the kiosk page's cookie.
pub async fn credential(
    headers: &HeaderMap,
    state: &AppState,
    holder: &Principal,
) -> Option<Credential> {
    if headers.contains_key(header::AUTHORIZATION) {
        bearer_token(headers).map(|t| Credential::Token(t.to_owned()))
    } else if holder.role == Role::Operator {
        let id = session_cookie::cookie(headers, session_cookie::CONSOLE_COOKIE)?;
        let live = console_session(&id, state).await?;
        Some(Credential::Console {
            id,
            ends: live.ends,
        })
    } else {
        session_cookie::cookie(headers, session_cookie::KIOSK_COOKIE).map(Credential::Token)
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// `403 forbidden` unless the principal's role is one of `allowed`.
pub fn require(principal: &Principal, allowed: &[Role]) -> Result<(), ApiError> {
    if allowed.contains(&principal.role) {
        Ok(())
    } else {
        Err(LockerError::Forbidden.into())
    }
}

/// Role bits for [`Caller`]: a route's roles are part of its handler's signature, e.g.
/// `Caller<{ OPERATOR | SYNC }>`, and are checked before the body is read.
pub const KIOSK: u8 = 1 << 0;
pub const COURIER: u8 = 1 << 1;
pub const OPERATOR: u8 = 1 << 2;
pub const SYNC: u8 = 1 << 3;

const ROLE_BITS: [(Role, u8); 4] = [
    (Role::Kiosk, KIOSK),
    (Role::Courier, COURIER),
    (Role::Operator, OPERATOR),
    (Role::Sync, SYNC),
];

/// The holder of the request's bearer token (or the kiosk page's cookies), whose role is one of
/// the bits in `ROLES`.
pub struct Caller<const ROLES: u8>(pub Principal);

impl<const ROLES: u8> FromRequestParts<AppState> for Caller<ROLES> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = authenticate(parts, state, ROLES).await?;
        let allowed: Vec<Role> = ROLE_BITS
            .into_iter()
            .filter(|(_, bit)| ROLES & bit != 0)
            .map(|(role, _)| role)
            .collect();
        require(&principal, &allowed)?;
        Ok(Caller(principal))
    }
}

/// Whether the request came from the paired kiosk page (its cookies, no bearer header): its
/// answers then set or clear the page's courier-session cookie instead of showing a token.
pub struct FromKioskPage(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for FromKioskPage {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(FromKioskPage(session_cookie::from_kiosk_page(
            &parts.headers,
        )))
    }
}

/// A JSON body (or answer). Its rejections are `ApiError`s.
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<Object<T>>::from_request(req, state).await {
            Ok(axum::Json(Object(value))) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// A body's top level, read as a JSON object only. serde's derived structs also read an array,
/// field by field in declaration order, so `["kiosk", "n"]` would be taken for a token request;
/// every body of the API is an object.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ObjectVisitor(PhantomData)).map(Object)
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A body given as an already-parsed JSON value (an MQTT command's `args`), read as [`Json`]
/// reads a request's body, with the same `400 invalid_request` messages.
pub fn body_from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize::<_, Object<T>>(value)
        .map(|Object(body)| body)
        .map_err(|e| ApiError::InvalidRequest(format!("invalid body: {e}")))
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge;
    }
    let message = match &rejection {
        // serde_path_to_error's text: `field.path: what is wrong`.
        JsonRejection::JsonDataError(e) => format!("invalid body: {}", cause(e)),
        JsonRejection::JsonSyntaxError(e) => format!("body is not valid JSON: {}", cause(e)),
        JsonRejection::MissingJsonContentType(_) => {
            "expected a JSON body with `Content-Type: application/json`".to_owned()
        }
        other => format!("could not read the body: {}", cause(other)),
    };
    ApiError::InvalidRequest(message)
}

/// A query string. Its rejections are `ApiError`s.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(e @ QueryRejection::FailedToDeserializeQueryString(_)) => Err(
                ApiError::InvalidRequest(format!("invalid query: {}", cause(&e))),
            ),
            Err(e) => Err(ApiError::InvalidRequest(e.body_text())),
        }
    }
}

/// Path parameters. Their rejections are `ApiError`s.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(e @ PathRejection::FailedToDeserializePathParams(_)) => Err(
                ApiError::InvalidRequest(format!("invalid path: {}", cause(&e))),
            ),
            Err(e) => Err(ApiError::Locker(LockerError::Internal(e.body_text()))),
        }
    }
}

/// The innermost error's text, without axum's generic prefix.
fn cause(e: &dyn Error) -> String {
    let mut inner = e;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}

/// A pickup code or TOTP as a body carries it. `Debug` hides it, and anything but a string is
/// refused with a message that does not repeat the value, as serde's own message would.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(Secret(s)),
            _ => Err(D::Error::custom("expected a string of digits")),
        }
    }
}

/// A time in a body, RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339(pub Timestamp);

impl<'de> Deserialize<'de> for Rfc3339 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).map(Rfc3339).ok_or_else(|| {
            D::Error::custom("expected an RFC 3339 time such as 2030-01-31T18:00:00Z")
        })
    }
}

/// A page size from a query: `default` when absent, at most `max` (larger asks get `max`, so a
/// client need not know the cap), and never 0, which could only be a client's bug.
pub fn page_limit(limit: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    match limit {
        None => Ok(default),
        Some(0) => Err(ApiError::InvalidRequest(
            "invalid query: limit: must be at least 1".to_owned(),
        )),
        Some(n) => Ok(n.min(max)),
    }
}
