//! The kiosk (docs/kiosk.md): its page, pairing a browser, and the page's live feed.
//!
//! The page's files under `kiosk/` are compiled into the binary: nothing is fetched at run time
//! and a running daemon cannot be made to serve other files. `/kiosk/` serves the app only to a
//! browser holding a live kiosk cookie; any other gets the "not paired" page and nothing else.
//! The pages are not part of the API document; the pairing and feed routes are.

use super::AppState;
use super::error::{ApiError, AuthErrors, BodyErrors, ErrorBody};
use super::extract::{Caller, Json, KIOSK, OPERATOR, Query, cookie_holder};
use super::session_cookie::{self, KIOSK_COOKIE};
use super::views::{CompartmentView, KioskState, PairingView};
use crate::locker::Role;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use futures_util::Stream;
use serde::Deserialize;
use std::convert::Infallible;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

const INDEX: &str = include_str!("../../kiosk/index.html");
const NOT_PAIRED: &str = include_str!("../../kiosk/not-paired.html");
const APP_JS: &str = include_str!("../../kiosk/app.js");
const STRINGS_JS: &str = include_str!("../../kiosk/strings.js");
const STYLE_CSS: &str = include_str!("../../kiosk/style.css");

/// Only this server's own files run or load in the page, and no other site may frame it.
const CSP: &str = "default-src 'self'; img-src 'self' data:; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// The page and its files (outside the API document).
pub(super) fn pages() -> Router<AppState> {
    const JS: &str = "text/javascript; charset=utf-8";
    Router::new()
        .route("/kiosk", get(|| async { Redirect::permanent("/kiosk/") }))
        .route("/kiosk/", get(index))
        .route("/kiosk/pair", get(pair))
        .route("/kiosk/app.js", get(|| async { asset(APP_JS, JS) }))
        .route("/kiosk/strings.js", get(|| async { asset(STRINGS_JS, JS) }))
        .route(
            "/kiosk/style.css",
            get(|| async { asset(STYLE_CSS, "text/css; charset=utf-8") }),
        )
}

/// The pairing and live-feed routes (in the API document).
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_pairing))
        .routes(routes!(events))
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, content_type),
        // Revalidate each load, so an updated daemon's page is never mixed with old files.
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, body).into_response()
}

fn page(status: StatusCode, body: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    (status, headers, body).into_response()
}

async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match cookie_holder(&headers, &state, KIOSK_COOKIE, Role::Kiosk).await {
        Some(_) => page(StatusCode::OK, INDEX),
        None => page(StatusCode::UNAUTHORIZED, NOT_PAIRED),
    }
}

#[derive(Deserialize)]
struct PairQuery {
    code: Option<String>,
}

/// Spends a pairing link: the kiosk cookie and on to `/kiosk/`, so the code leaves the address
/// bar at once. A used, lapsed or unknown code gets the "not paired" page.
async fn pair(State(state): State<AppState>, Query(query): Query<PairQuery>) -> Response {
    let code = query.code.filter(|c| !c.is_empty() && c.len() <= 128);
    let token = match code {
        Some(code) => state.locker.redeem_pairing(&code).await,
        None => Ok(None),
    };
    match token {
        Ok(Some(token)) => {
            let headers = [
                (header::LOCATION, HeaderValue::from_static("/kiosk/")),
                (
                    header::SET_COOKIE,
                    session_cookie::kiosk_cookie(&token, state.secure_cookies),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ),
            ];
            (StatusCode::SEE_OTHER, headers).into_response()
        }
        Ok(None) => page(StatusCode::UNAUTHORIZED, NOT_PAIRED),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPairing {
    /// The kiosk token's name once paired; pairing again under a kiosk's name replaces its
    /// token (its old browser is unpaired).
    #[schema(example = "kiosk-1")]
    pub name: String,
}

/// Make a one-time link that pairs a kiosk browser (extension).
///
/// Roles: operator. Opening `url` in the kiosk's browser within 10 minutes sets the HttpOnly
/// cookie that makes it a kiosk (see `/kiosk/`), and spends the link. Unpair by deleting the
/// token of that name.
#[utoipa::path(
    post,
    path = "/api/v1/kiosk/pairings",
    tag = "kiosk",
    security(("bearer" = ["operator"])),
    responses(
        (status = 201, description = "the link; shown once", body = PairingView),
        (status = 409, description = "`conflict`: a token of another role has this name", body = ErrorBody),
        BodyErrors,
        AuthErrors,
    )
)]
async fn create_pairing(
    Caller(actor): Caller<OPERATOR>,
    State(state): State<AppState>,
    Json(body): Json<NewPairing>,
) -> Result<(StatusCode, Json<PairingView>), ApiError> {
    let pairing = state.locker.create_pairing(&body.name, &actor).await?;
    Ok((StatusCode::CREATED, Json(pairing.into())))
}

/// The kiosk's live view: compartments and doors as they change (extension).
///
/// Roles: kiosk, operator. Server-sent events: an event `state` at once, and another whenever a
/// committed change altered what it shows (a door moved, a compartment was taken or freed).
/// Its `data` is a `KioskState`. Comment lines keep the connection alive. The stream ends when
/// the daemon stops; browsers reconnect by themselves.
#[utoipa::path(
    get,
    path = "/api/v1/kiosk/events",
    tag = "kiosk",
    security(("bearer" = ["kiosk", "operator"])),
    responses(
        (status = 200, description = "a stream of `state` events", content_type = "text/event-stream", body = KioskState),
        AuthErrors,
    )
)]
async fn events(
    _: Caller<{ KIOSK | OPERATOR }>,
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    Sse::new(live_states(state)).keep_alive(KeepAlive::default())
}

/// Each distinct kiosk state, read after every commit, until the server closes.
fn live_states(state: AppState) -> impl Stream<Item = Result<Event, Infallible>> {
    let changes = state.locker.changes();
    let closing = state.closing.subscribe();
    let start = (state, changes, closing, None::<KioskState>);
    futures_util::stream::unfold(
        start,
        |(state, mut changes, mut closing, last)| async move {
            loop {
                if *closing.borrow() {
                    return None;
                }
                // Marked seen before reading, so a commit during the read wakes the next wait.
                changes.borrow_and_update();
                // A failed read is skipped: the next commit tries again.
                if let Ok(now) = kiosk_state(&state).await
                    && last.as_ref() != Some(&now)
                {
                    let data = serde_json::to_string(&now).ok()?;
                    let event = Event::default().event("state").data(data);
                    return Some((Ok(event), (state, changes, closing, Some(now))));
                }
                tokio::select! {
                    changed = changes.changed() => changed.ok()?,
                    _ = closing.wait_for(|c| *c) => return None,
                }
            }
        },
    )
}

async fn kiosk_state(state: &AppState) -> Result<KioskState, ApiError> {
    let compartments = state.locker.compartments().await?;
    Ok(compartments
        .into_iter()
        .map(|c| {
            let available = state.locker.available(&c.id);
            CompartmentView::new(c, available)
        })
        .collect())
}
