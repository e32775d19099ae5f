//! Simulated hardware (operator): move a simulated door as a hand would. Mounted only when a
//! `sim` bus is configured; otherwise these paths answer `404` like any unknown route.

use super::AppState;
use super::error::{ApiError, AuthErrors, BodyErrors, ErrorBody};
use super::extract::{Caller, Json, OPERATOR, Path};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sim_door))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DoorMove {
    /// `true` opens the door, `false` closes it.
    pub open: bool,
}

/// Open or close a simulated door.
///
/// Roles: operator. Only served when a `sim` bus is configured. A latch pulse on the sim bus
/// pops its door open by itself; this route is the hand that closes it again.
#[utoipa::path(
    post,
    path = "/api/v1/sim/doors/{compartment}",
    tag = "sim",
    params(("compartment" = String, Path, description = "the compartment's id")),
    security(("bearer" = ["operator"])),
    responses(
        (status = 204, description = "the door moved"),
        (status = 404, description = "`not_found`: no such compartment on a sim bus", body = ErrorBody),
        BodyErrors,
        AuthErrors,
    )
)]
async fn sim_door(
    _: Caller<OPERATOR>,
    State(state): State<AppState>,
    Path(compartment): Path<String>,
    Json(body): Json<DoorMove>,
) -> Result<StatusCode, ApiError> {
    state.locker.sim_door(&compartment, body.open).await?;
    Ok(StatusCode::NO_CONTENT)
}
