//! The local HTTP API (docs/api.md): an axum router over the `Locker` handle, and `serve`.
//!
//! Every route is registered through its `#[utoipa::path]`, so the OpenAPI document served at
//! `/api/v1/openapi.json` is generated from the same handlers that answer and cannot drift from
//! them. Handlers are thin: take the caller and the input, call the service once, map the result
//! onto a view. What a request may do is decided by the caller's role here and by the service;
//! nothing here touches the store or the hardware.
//!
//! Layout: `error` (the error JSON), `extract` (caller, body, query), `views` (answer shapes),
//! `server` (the listener: TLS, timeouts, the connection cap), `pages` (files served to
//! browsers: the kiosk's and the console's), `live` (the compartments built
//! once per change for the live feeds and the list), `slots` (the caps on open live feeds), and
//! one file of handlers per area of the API.

mod audit;
mod compartments;
mod console;
mod console_session;
mod couriers;
mod deliveries;
mod deposits;
mod error;
mod extract;
mod health;
mod incidents;
mod kiosk;
mod link;
mod live;
mod metrics;
mod pages;
mod parcels;
mod pickup;
mod reservations;
mod server;
mod session_cookie;
mod sim;
mod slots;
mod sync;
mod tokens;
mod views;

#[cfg(test)]
mod tests;

pub use error::{ApiError, ErrorBody};
pub use link::{COMMANDS, Link, LinkState, error_body};
pub use server::Limits;

use crate::config::TlsIdentity;
use crate::locker::{Locker, LockerError};
use crate::sync::{MqttStatus, PushStatus};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::future::Future;
use std::sync::Arc;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

/// Request bodies larger than this are refused with `413 payload_too_large`.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
struct AppState {
    locker: Locker,
    /// The document of the routes this router serves, for `/api/v1/openapi.json`.
    openapi: Arc<OpenApiDoc>,
    monitoring: Monitoring,
    metrics: Arc<metrics::Metrics>,
    /// Set once the server starts its graceful stop: endless answers (the kiosk's live feed)
    /// end then, so they do not hold the stop up.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// Served over TLS: cookies are set `Secure`, so a browser never sends them in clear.
    secure_cookies: bool,
    /// The compartments, built once per change for the live feeds and the list route.
    live: Arc<live::LiveView>,
    /// The caps on open live feeds.
    slots: Arc<slots::Slots>,
    /// Operators' console sessions (the `lockerd_console` cookie).
    consoles: Arc<console_session::ConsoleSessions>,
}

/// What the operator's view (`/healthz`, `/metrics`) reads besides the locker.
#[derive(Debug, Clone, Default)]
pub struct Monitoring {
    /// The push task's state, with `[sync.push]`.
    pub push: Option<PushStatus>,
    /// The MQTT link's state, with `[mqtt]`.
    pub mqtt: Option<MqttStatus>,
    /// `api.metrics_public`: `/metrics` without a token.
    pub metrics_public: bool,
}

/// The whole API, with its state: hand it to `axum::serve`, or to `oneshot` in tests.
pub fn router(locker: Locker, monitoring: Monitoring) -> Router {
    build(locker, monitoring, Default::default(), false)
}

fn build(
    locker: Locker,
    monitoring: Monitoring,
    closing: Arc<tokio::sync::watch::Sender<bool>>,
    secure_cookies: bool,
) -> Router {
    let (routes, openapi) = api(locker.has_sim()).split_for_parts();
    let state = AppState {
        openapi: Arc::new(openapi),
        live: Arc::new(live::LiveView::new(locker.clone())),
        slots: slots::Slots::new(&locker.config().api),
        consoles: Arc::new(console_session::ConsoleSessions::new(
            locker.config().policy.console_session,
        )),
        metrics: Arc::new(metrics::Metrics::new(&monitoring, locker.telemetry())),
        locker,
        monitoring,
        closing,
        secure_cookies,
    };
    let counted = axum::middleware::from_fn_with_state(state.clone(), metrics::count_requests);
    finish(routes.merge(kiosk::pages()).merge(console::pages()))
        .layer(counted)
        .with_state(state)
}

/// What applies to every route: JSON answers for unknown paths and wrong methods, and the body
/// limit. Takes the finished set of routes, because the method fallback is attached to the
/// routes present when it is set.
fn finish<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// The server of the API on `listener`, over TLS with `tls`, within `limits` (see `server`):
/// it serves until `shutdown` completes, and requests in flight then finish before it returns.
/// Fails at once, before serving anything, if the TLS set-up does.
pub fn serve(
    listener: tokio::net::TcpListener,
    locker: Locker,
    monitoring: Monitoring,
    tls: Option<&TlsIdentity>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<impl Future<Output = std::io::Result<()>> + Send + 'static> {
    let acceptor = tls
        .map(server::acceptor)
        .transpose()
        .map_err(std::io::Error::other)?;
    let closing = Arc::new(tokio::sync::watch::Sender::new(false));
    let app = build(locker, monitoring, closing.clone(), tls.is_some());
    let shutdown = async move {
        shutdown.await;
        closing.send_replace(true);
    };
    Ok(server::run(listener, app, acceptor, limits, shutdown))
}

/// The routes and their document. The simulated-hardware routes exist only with a `sim` bus,
/// so without one they answer `404` like any unknown route and are absent from the document.
fn api(with_sim: bool) -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::routes())
        .merge(metrics::routes())
        .merge(tokens::routes())
        .merge(compartments::routes())
        .merge(couriers::routes())
        .merge(deposits::routes())
        .merge(deliveries::routes())
        .merge(pickup::routes())
        .merge(parcels::routes())
        .merge(sync::routes())
        .merge(reservations::routes())
        .merge(incidents::routes())
        .merge(kiosk::routes())
        .merge(console::routes())
        .merge(audit::routes());
    if with_sim {
        api.merge(sim::routes())
    } else {
        api
    }
}

/// The OpenAPI document of every route, with the simulated-hardware ones when `with_sim`.
pub fn openapi(with_sim: bool) -> OpenApiDoc {
    api(with_sim).into_openapi()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "lockerd local HTTP API",
        version = "1",
        description = "The API of a parcel locker's controller. Every route below `/api/v1` \
            except this document needs `Authorization: Bearer <token>`; each route's description \
            names the roles that may call it (also given as the bearer requirement's role names). \
            Every error is `{\"error\": {\"code\", \"message\"}}`; times are RFC 3339 UTC. \
            Served over HTTPS when the locker has a certificate (`api.tls_cert`). Whatever the \
            route: a request head (request line and headers) over 64 KiB is answered `431` \
            without a body, and a connection that has not sent a complete head within 10 s of \
            connecting or of its previous answer is closed without one."
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody)),
    tags(
        (name = "health", description = "Liveness and this document; no token."),
        (name = "metrics", description = "Prometheus metrics (operator, or public by config)."),
        (name = "tokens", description = "API tokens (operator)."),
        (name = "compartments", description = "Compartments (operator; sync may read)."),
        (name = "couriers", description = "Couriers and their sessions."),
        (name = "deposits", description = "Deposits and returns (courier)."),
        (name = "deliveries", description = "Deliveries without a courier account (kiosk)."),
        (name = "access-codes", description = "Standing pickup codes and delivery PINs (operator)."),
        (name = "pickup", description = "Pickup by code (kiosk) and the keypad lockout."),
        (name = "parcels", description = "Parcels (operator; sync may read)."),
        (name = "sync", description = "The event feed for the cloud-sync agent."),
        (name = "audit", description = "The tamper-evident audit log (operator)."),
        (name = "kiosk", description = "Pairing the kiosk page and its live feed (extension)."),
        (name = "console", description = "One-time sign-in links for the operator console (extension)."),
        (name = "sim", description = "Simulated hardware; only with a `sim` bus."),
    )
)]
struct ApiDoc;

/// Declares the `bearer` security scheme the routes refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut OpenApiDoc) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "A token from `lockerd token create` or `POST /api/v1/tokens`, or a courier \
                 session from `POST /api/v1/courier/login`.",
            ))
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Runs a service call that drives hardware to its end even if the client hangs up. hyper
/// drops a handler's future when its connection closes; a deposit or pickup cut off between
/// pulsing a latch and recording the outcome would leave the store behind the doors.
async fn to_completion<T, F>(call: F) -> Result<T, ApiError>
where
    F: Future<Output = Result<T, LockerError>> + Send + 'static,
    T: Send + 'static,
{
    match tokio::spawn(call).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => {
            let why = if e.is_panic() {
                "panicked"
            } else {
                "was cancelled"
            };
            Err(LockerError::Internal(format!("the request's task {why}")).into())
        }
    }
}
