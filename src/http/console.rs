//! The operator console (docs/console.md): its page, signing in and out.
//!
//! The page's files under `console/` are compiled into the binary like the kiosk's. `/console/`
//! serves the app only to a browser holding a live console session; any other gets the sign-in
//! page. Signing in takes an operator token once, or a one-time link's code
//! (`lockerd console link`; the link's token is made by the daemon and never leaves it), at
//! `POST /console/session`, and answers with the `lockerd_console` cookie, the session's id: the
//! token is kept by the daemon, never by the page.
//! The page then calls the ordinary `/api/v1` routes, authenticated by that cookie under the
//! kiosk page's CSRF check. A kiosk, sync or courier credential cannot sign in.

use super::AppState;
use super::error::{ApiError, AuthErrors, BodyErrors, ErrorBody};
use super::extract::{Caller, Json, OPERATOR, Secret, console_holder};
use super::pages::{Assets, CSS, JS, assets, page, with_assets};
use super::session_cookie::{self, CONSOLE_COOKIE};
use super::views::PairingView;
use crate::locker::{LockerError, Role};
use axum::Router;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::time::Instant;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

const INDEX: &str = include_str!("../../console/index.html");
const SIGN_IN: &str = include_str!("../../console/signin.html");

/// The page's scripts and style sheet, served to anyone (they hold no secret): `app.js` and
/// `signin.js` are the entries, and every ES module they import must be listed here.
const ASSETS: Assets = assets!(
    "console",
    [
        ("app.js", JS),
        ("api.js", JS),
        ("codes.js", JS),
        ("dom.js", JS),
        ("health.js", JS),
        ("i18n.js", JS),
        ("lists.js", JS),
        ("parcels.js", JS),
        ("people.js", JS),
        ("signin.js", JS),
        ("strings.js", JS),
        ("wall.js", JS),
        ("style.css", CSS),
    ]
);

/// Making a one-time sign-in link (in the API document).
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_link))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewConsoleLink {
    /// The operator token's name the link makes, one per person or browser. Spending a link
    /// under a name replaces that name's operator token: the browser signed in by its previous
    /// link, and anything else using that token, loses access.
    #[schema(example = "desk-phone")]
    pub name: String,
}

/// Make a one-time link that signs a browser in to the console (extension).
///
/// Roles: operator. `url` is `/console/#link=<code>`: opening it on this server within 10
/// minutes shows the sign-in page with a "Sign in with this link" button, which spends the code
/// (`POST /console/session {"link"}`) and signs that browser in as an operator named `name`.
/// The code rides in the fragment, which browsers never send, so no log or link preview holds
/// or spends it. Sign the browser out for good by deleting the token of that name.
#[utoipa::path(
    post,
    path = "/api/v1/console/links",
    tag = "console",
    security(("bearer" = ["operator"])),
    responses(
        (status = 201, description = "the link; shown once", body = PairingView),
        (status = 409, description = "`conflict`: a token of another role has this name", body = ErrorBody),
        BodyErrors,
        AuthErrors,
    )
)]
async fn create_link(
    Caller(actor): Caller<OPERATOR>,
    State(state): State<AppState>,
    Json(body): Json<NewConsoleLink>,
) -> Result<(StatusCode, Json<PairingView>), ApiError> {
    let link = state
        .locker
        .create_pairing(&body.name, Role::Operator, &actor)
        .await?;
    Ok((StatusCode::CREATED, Json(link.into())))
}

/// The page, its files, signing in and out (outside the API document, like the kiosk's page).
pub(super) fn pages() -> Router<AppState> {
    let router = Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(index))
        .route("/console/session", post(sign_in))
        .route("/console/signout", post(sign_out))
        .route("/console/qr", post(qr));
    with_assets(router, ASSETS)
}

async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match console_holder(&headers, &state).await {
        Some(_) => page(StatusCode::OK, INDEX),
        None => page(StatusCode::UNAUTHORIZED, SIGN_IN),
    }
}

/// What signs in: an operator token, or the code of a one-time console link
/// (`lockerd console link`), never both. `Secret` keeps either out of any message or log.
#[derive(Deserialize)]
struct SignIn {
    token: Option<Secret>,
    link: Option<Secret>,
}

/// Signs in with an operator token or a console link's code: `204` and the session's cookie.
/// `401 unauthorized` for a token that is not live or a link that is unknown, spent or lapsed,
/// `403 forbidden` for a token of another role or a cross-site request.
async fn sign_in(
    State(state): State<AppState>,
    parts: Parts,
    Json(body): Json<SignIn>,
) -> Result<Response, ApiError> {
    same_origin(&parts)?;
    let linked;
    let token = match (&body.token, &body.link) {
        (Some(token), None) => token.expose(),
        (None, Some(link)) => {
            let code = link.expose();
            // A link's code is 32 hex digits; anything longer is not worth hashing.
            let spent = match code.len() <= 128 {
                true => state.locker.redeem_pairing(code, Role::Operator).await?,
                false => None,
            };
            linked = spent.ok_or(ApiError::Unauthorized)?;
            linked.as_str()
        }
        _ => {
            let msg = "give either token or link".to_owned();
            return Err(ApiError::InvalidRequest(msg));
        }
    };
    let holder = state
        .locker
        .authenticate(token)
        .await
        .ok_or(ApiError::Unauthorized)?;
    if holder.role != Role::Operator {
        return Err(LockerError::Forbidden.into());
    }
    let how = if body.link.is_some() { "link" } else { "token" };
    tracing::info!(operator = %holder.name, how, "console session began");
    let id = state.consoles.begin(token, holder, Instant::now());
    let lifetime = state.consoles.lifetime();
    let cookie = session_cookie::console_cookie(&id, lifetime, state.secure_cookies);
    let headers = [
        (header::SET_COOKIE, cookie),
        (
            header::CACHE_CONTROL,
            "no-store".parse().expect("a header value"),
        ),
    ];
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// Signs out: the session ends in the daemon and its cookie in the browser. `204` whether or not
/// a session was live.
async fn sign_out(State(state): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    same_origin(&parts)?;
    if let Some(id) = session_cookie::cookie(&parts.headers, CONSOLE_COOKIE) {
        state.consoles.end(&id);
    }
    let clear = session_cookie::clear_console_cookie(state.secure_cookies);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// The kiosk page's CSRF check, for sign-in and sign-out too: a page on another site can neither
/// sign a browser in (into its own session) nor out.
fn same_origin(parts: &Parts) -> Result<(), ApiError> {
    session_cookie::check_same_origin(parts).map_err(|why| LockerError::CrossSite(why).into())
}

#[derive(Deserialize)]
struct QrText {
    /// What the code says: a courier's `otpauth://` URL, shown once. `Secret`: never logged.
    text: Secret,
}

/// The longest text `POST /console/qr` draws: an otpauth URL with a long courier name.
const QR_MAX: usize = 512;

/// Draws a QR code of `text` as SVG, for the page to show a courier's TOTP secret once: the
/// secret stays in the page's memory and this answer (`no-store`), never in an address. For a
/// live console session only, under the CSRF check (`403`, `401` otherwise).
async fn qr(
    State(state): State<AppState>,
    parts: Parts,
    Json(body): Json<QrText>,
) -> Result<Response, ApiError> {
    same_origin(&parts)?;
    console_holder(&parts.headers, &state)
        .await
        .ok_or(ApiError::Unauthorized)?;
    let text = body.text.expose();
    if text.is_empty() || text.len() > QR_MAX {
        let msg = format!("text: must be 1 to {QR_MAX} bytes");
        return Err(ApiError::InvalidRequest(msg));
    }
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| ApiError::InvalidRequest(format!("text: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    let headers = [
        (header::CONTENT_TYPE, "image/svg+xml"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    Ok((headers, svg).into_response())
}
