//! Liveness and discovery: the two routes that need no token.

use super::extract::Json;
use super::views::{HealthView, SyncHealthView};
use super::{AppState, Monitoring};
use crate::locker::Locker;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(openapi_json))
}

/// The daemon's health.
///
/// No token. `status` is `degraded` when any bus (or the database) is not ok, or while the
/// keypad is locked out (`keypad`: every recipient is refused then, so someone should look: a
/// guesser, or someone locking recipients out on purpose). Answers `503`
/// with the same body when the database is unusable, so a supervisor can restart the daemon.
///
/// `sync` (an extension) shows how far the cloud is behind: the feed's `last_seq`
/// and `acked_seq` (with `[sync.push]` push's cursor, else the pull acknowledgement), the pull
/// agent's own `pull_acked_seq`, the `unacked` count, the age of the oldest unacknowledged
/// event, and the push task's state with its cursor `delivered_seq` (`null` without
/// `[sync.push]`). A cloud that is behind does not make the
/// locker `degraded`: `status` says whether the locker itself needs a technician, while it keeps
/// working offline (codes are checked locally, events wait); a cloud outage would otherwise mark
/// a whole fleet degraded at once. Alert on `oldest_unacked_age_s` (or the metric of the same
/// name) instead.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "the database is usable", body = HealthView),
        (status = 503, description = "the database is unusable", body = HealthView),
    )
)]
async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<HealthView>) {
    let (status, view) = health_view(&state.locker, &state.monitoring).await;
    (status, Json(view))
}

/// `/healthz`'s status and body; the MQTT link's `P/state` and problem sensor read it too.
pub(super) async fn health_view(
    locker: &Locker,
    monitoring: &Monitoring,
) -> (StatusCode, HealthView) {
    let health = locker.health().await;
    let status = if health.db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let sync = locker.feed_status().await.ok().map(|feed| {
        let push = monitoring.push.as_ref().map(|p| p.snapshot());
        let mqtt = monitoring.mqtt.as_ref().map(|m| m.snapshot());
        SyncHealthView::new(feed, push, mqtt, locker.now())
    });
    let keypad = locker.keypad().await.ok();
    (status, HealthView::new(health, sync, keypad))
}

/// This OpenAPI document.
///
/// No token. Generated from the handlers themselves: every route the daemon serves is here.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "health",
    responses((status = 200, description = "the OpenAPI 3.1 document", body = Object))
)]
async fn openapi_json(State(state): State<AppState>) -> Response {
    Json(state.openapi.as_ref()).into_response()
}
