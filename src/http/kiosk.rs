//! The kiosk (docs/kiosk.md): its page, pairing a browser, and the page's live feed.
//!
//! The page's files under `kiosk/` are compiled into the binary: nothing is fetched at run time
//! and a running daemon cannot be made to serve other files. `/kiosk/` serves the app only to a
//! browser holding a live kiosk cookie; any other gets the "not paired" page and nothing else.
//! The pages are not part of the API document; the pairing and feed routes are.

use super::AppState;
use super::error::{ApiError, AuthErrors, BodyErrors, ErrorBody};
use super::extract::{Caller, Credential, Json, KIOSK, OPERATOR, Query, cookie_holder, credential};
use super::live::KioskFrame;
use super::pages::{Assets, CSS, JS, assets, page, with_assets};
use super::session_cookie::{self, KIOSK_COOKIE};
use super::slots::Slot;
use super::views::{KioskState, PairingView};
use crate::locker::{Principal, Role};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use futures_util::Stream;
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::watch;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

const INDEX: &str = include_str!("../../kiosk/index.html");
const NOT_PAIRED: &str = include_str!("../../kiosk/not-paired.html");

/// The page's scripts and style sheet, served to anyone (they hold no secret): `app.js` is the
/// entry, and every ES module it imports, directly or not, must be listed here.
const ASSETS: Assets = assets!(
    "kiosk",
    [
        ("app.js", JS),
        ("api.js", JS),
        ("dom.js", JS),
        ("i18n.js", JS),
        ("live.js", JS),
        ("screen.js", JS),
        ("session.js", JS),
        ("strings.js", JS),
        ("screens/courier.js", JS),
        ("screens/deliver.js", JS),
        ("screens/deposit.js", JS),
        ("screens/pickup.js", JS),
        ("screens/returns.js", JS),
        ("screens/start.js", JS),
        ("style.css", CSS),
    ]
);

/// The page and its files (outside the API document).
pub(super) fn pages() -> Router<AppState> {
    let router = Router::new()
        .route("/kiosk", get(|| async { Redirect::permanent("/kiosk/") }))
        .route("/kiosk/", get(index))
        .route("/kiosk/pair", get(pair));
    with_assets(router, ASSETS)
}

/// The pairing and live-feed routes (in the API document).
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_pairing))
        .routes(routes!(events))
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
        Some(code) => state.locker.redeem_pairing(&code, Role::Kiosk).await,
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
    let pairing = state
        .locker
        .create_pairing(&body.name, Role::Kiosk, &actor)
        .await?;
    Ok((StatusCode::CREATED, Json(pairing.into())))
}

/// The kiosk's live view: compartments and doors as they change (extension).
///
/// Roles: kiosk, operator. Server-sent events: an event `state` at once, and another whenever a
/// committed change altered what it shows (a door moved, a compartment was taken or freed).
/// Its `data` is a `KioskState`. Comment lines keep the connection alive. The stream ends when
/// the daemon stops, when the token it was opened with is deleted (or, for a kiosk page,
/// replaced by pairing again), and, for the console's page, when the session its cookie stands
/// for ends (signed out, or over); browsers reconnect by themselves. At most `api.max_streams`
/// streams are open at once, `api.max_streams_per_token` of them with one token.
#[utoipa::path(
    get,
    path = "/api/v1/kiosk/events",
    tag = "kiosk",
    security(("bearer" = ["kiosk", "operator"])),
    responses(
        (status = 200, description = "a stream of `state` events", content_type = "text/event-stream", body = KioskState),
        (status = 429, description = "`rate_limited`: as many streams as allowed are open, with \
            this token or in all; `Retry-After` and `error.retry_after_s` say when to ask again",
            body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds after which to ask again"))),
        AuthErrors,
    )
)]
async fn events(
    Caller(holder): Caller<{ KIOSK | OPERATOR }>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let credential = credential(&headers, &state, &holder)
        .await
        .ok_or(ApiError::Unauthorized)?;
    let slot = state.slots.take(&holder.audit_actor())?;
    state.live.follow(state.closing.subscribe());
    let mut revocations = state.locker.revocations();
    // Checked again once the stream starts: the token may go between the check of the caller
    // and this subscription.
    revocations.mark_changed();
    let feed = Feed {
        frames: state.live.subscribe(),
        revocations,
        sign_outs: state.consoles.endings(),
        closing: state.closing.subscribe(),
        state: state.clone(),
        credential,
        holder,
        last: None,
        _slot: slot,
    };
    // The feeds' first state, if no change has built one yet.
    if let Err(e) = state.live.snapshot().await {
        tracing::warn!(error = ?e, "cannot read the compartments for a live feed");
    }
    let stream = futures_util::stream::unfold(feed, |feed| feed.next());
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// One open live feed: what it listens to, who opened it, and what it last sent.
struct Feed {
    frames: watch::Receiver<Option<Arc<KioskFrame>>>,
    revocations: watch::Receiver<u64>,
    /// Console sessions ended before their time (signed out).
    sign_outs: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    state: AppState,
    /// What it was opened with, checked again whenever a token is removed or a console session
    /// ends; a console session's feed also ends when the session lapses. Never logged.
    credential: Credential,
    holder: Principal,
    last: Option<Arc<KioskFrame>>,
    /// Given back when the stream is dropped: it ended, or its client went away.
    _slot: Slot,
}

/// What woke a feed.
enum Wake {
    CredentialEnded,
    StateBuilt,
}

impl Feed {
    /// The next `state` event, or `None` to end: the server closes, the token is gone, or the
    /// console session it was opened with is over.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Feed)> {
        loop {
            match self.wake().await? {
                Wake::CredentialEnded => {
                    if !self.credential.holds(&self.state, &self.holder).await {
                        return None;
                    }
                }
                Wake::StateBuilt => {
                    let frame = self.frames.borrow_and_update().clone();
                    // The shared state skips equal neighbours only: this feed may have missed
                    // a state between two equal ones.
                    let new =
                        |f: &Arc<KioskFrame>| self.last.as_ref().is_none_or(|l| l.state != f.state);
                    if let Some(frame) = frame.filter(new) {
                        let event = Event::default().event("state").data(&frame.data);
                        self.last = Some(frame);
                        return Some((Ok(event), self));
                    }
                }
            }
        }
    }

    /// Waits for a removed token, a console sign-out or a new state; `None` once the server
    /// closes or the console session lapses.
    async fn wake(&mut self) -> Option<Wake> {
        let lapses = self.credential.ends();
        let lapsed = async {
            match lapses {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = self.closing.wait_for(|c| *c) => None,
            () = lapsed => None,
            removed = self.revocations.changed() => removed.ok().map(|()| Wake::CredentialEnded),
            ended = self.sign_outs.changed() => ended.ok().map(|()| Wake::CredentialEnded),
            built = self.frames.changed() => built.ok().map(|()| Wake::StateBuilt),
        }
    }
}
