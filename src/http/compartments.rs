//! Compartments (operator; sync may read): list, one, maintenance opening, disable, enable.

use super::error::{
    ApiError, AuthErrors, BodyErrors, CompartmentConflict, CompartmentNotFound, ErrorBody,
    RateErrors,
};
use super::extract::{Caller, Json, OPERATOR, Path, SYNC};
use super::views::{Accepted, CompartmentList, CompartmentView};
use super::{AppState, to_completion};
use crate::locker::{Locker, Principal};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_compartments))
        .routes(routes!(get_compartment))
        .routes(routes!(open_compartment))
        .routes(routes!(disable_compartment))
        .routes(routes!(enable_compartment))
}

/// Why an operator acts on a compartment; kept in the audit log.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Reason {
    #[schema(example = "cleaning")]
    pub reason: String,
}

/// List every compartment.
///
/// Roles: operator, sync. Always as of the latest change, including the caller's own.
#[utoipa::path(
    get,
    path = "/api/v1/compartments",
    tag = "compartments",
    security(("bearer" = ["operator", "sync"])),
    responses((status = 200, description = "every compartment", body = CompartmentList), AuthErrors)
)]
async fn list_compartments(
    _: Caller<{ OPERATOR | SYNC }>,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    // The shared snapshot's JSON, serialized once per change (see `live`).
    let snapshot = state.live.snapshot().await?;
    let json = [(header::CONTENT_TYPE, "application/json")];
    Ok((json, snapshot.list.clone()).into_response())
}

/// One compartment.
///
/// Roles: operator, sync.
#[utoipa::path(
    get,
    path = "/api/v1/compartments/{id}",
    tag = "compartments",
    params(("id" = String, Path, description = "the compartment's id, e.g. `A1`")),
    security(("bearer" = ["operator", "sync"])),
    responses(
        (status = 200, description = "the compartment", body = CompartmentView),
        CompartmentNotFound,
        AuthErrors,
    )
)]
async fn get_compartment(
    _: Caller<{ OPERATOR | SYNC }>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CompartmentView>, ApiError> {
    Ok(Json(view(
        &state.locker,
        state.locker.compartment(&id).await?,
    )))
}

/// Open a compartment for maintenance.
///
/// Roles: operator. Audited with the token's name and the reason. The body is `{"reason": "..."}`;
/// an empty reason is `400 invalid_request`. One token may ask for `policy.opens_per_credential`
/// openings per `policy.opens_window`, all tokens together `policy.opens_locker_wide`; beyond,
/// `429 rate_limited`, and the first refusal of a run publishes `security.mass_open`.
///
/// The answer is sent once the opening is queued, before the latch fires, so it never reports a
/// hardware failure: the outcome shows in the compartment's state and the event feed. A
/// `maintenance.opened` event follows once the door has been seen open; if the latch fails, the
/// compartment is marked `fault` (a `compartment.fault` event).
#[utoipa::path(
    post,
    path = "/api/v1/compartments/{id}/open",
    tag = "compartments",
    params(("id" = String, Path, description = "the compartment's id")),
    security(("bearer" = ["operator"])),
    responses(
        (status = 202, description = "the opening is queued; follow the compartment's state or \
            the event feed for its outcome", body = Accepted),
        CompartmentNotFound,
        (status = 409, description = "`compartment_busy`: another opening of it is in progress", body = ErrorBody),
        RateErrors,
        BodyErrors,
        AuthErrors,
    )
)]
async fn open_compartment(
    Caller(actor): Caller<OPERATOR>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Reason>,
) -> Result<Response, ApiError> {
    run_open(&state.locker, id, body, actor).await
}

/// The opening of `POST /api/v1/compartments/{id}/open` (and of the MQTT `open` command).
pub(super) async fn run_open(
    locker: &Locker,
    id: String,
    body: Reason,
    actor: Principal,
) -> Result<Response, ApiError> {
    let locker = locker.clone();
    to_completion(async move { locker.maintenance_open(&id, &body.reason, &actor).await }).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted {})).into_response())
}

/// Take a compartment out of service: it is never assigned while disabled.
///
/// Roles: operator. A parcel inside stays and can still be picked up.
#[utoipa::path(
    post,
    path = "/api/v1/compartments/{id}/disable",
    tag = "compartments",
    params(("id" = String, Path, description = "the compartment's id")),
    security(("bearer" = ["operator"])),
    responses(
        (status = 200, description = "the compartment, now disabled", body = CompartmentView),
        CompartmentNotFound,
        CompartmentConflict,
        BodyErrors,
        AuthErrors,
    )
)]
async fn disable_compartment(
    Caller(actor): Caller<OPERATOR>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Reason>,
) -> Result<Response, ApiError> {
    run_disable(&state.locker, id, body, actor).await
}

/// `POST /api/v1/compartments/{id}/disable` (and the MQTT `disable` command).
pub(super) async fn run_disable(
    locker: &Locker,
    id: String,
    body: Reason,
    actor: Principal,
) -> Result<Response, ApiError> {
    let compartment = locker.disable(&id, &body.reason, &actor).await?;
    Ok(Json(view(locker, compartment)).into_response())
}

/// Put a disabled or faulted compartment back in service; enabling clears a fault.
///
/// Roles: operator. No body.
#[utoipa::path(
    post,
    path = "/api/v1/compartments/{id}/enable",
    tag = "compartments",
    params(("id" = String, Path, description = "the compartment's id")),
    security(("bearer" = ["operator"])),
    responses(
        (status = 200, description = "the compartment, now enabled", body = CompartmentView),
        CompartmentNotFound,
        CompartmentConflict,
        AuthErrors,
    )
)]
async fn enable_compartment(
    Caller(actor): Caller<OPERATOR>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    run_enable(&state.locker, id, actor).await
}

/// `POST /api/v1/compartments/{id}/enable` (and the MQTT `enable` command).
pub(super) async fn run_enable(
    locker: &Locker,
    id: String,
    actor: Principal,
) -> Result<Response, ApiError> {
    Ok(Json(view(locker, locker.enable(&id, &actor).await?)).into_response())
}

/// A compartment as the API shows it, with whether its bus answers.
fn view(locker: &Locker, c: crate::domain::Compartment) -> CompartmentView {
    let available = locker.available(&c.id);
    let occupied = locker.occupied(&c.id);
    CompartmentView::new(c, available).occupied(occupied)
}
