//! Pickup by code (kiosk) and the keypad lockout (operator).

use super::error::{ApiError, AuthErrors, BodyErrors, ErrorBody};
use super::extract::{Caller, Json, KIOSK, OPERATOR, Secret};
use super::views::{KeypadView, PickupView};
use super::{AppState, to_completion};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pickup))
        .routes(routes!(keypad))
        .routes(routes!(keypad_unlock))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PickupCode {
    /// The pickup code as typed on the keypad.
    #[schema(value_type = String, example = "123456")]
    pub code: Secret,
}

/// Open the compartment of the parcel this code belongs to, or every compartment a standing
/// pickup code reaches.
///
/// Roles: kiosk, operator. The parcel is `collected` once its door has been seen open and then
/// closed; the same code never opens anything again. A wrong, used, expired or unknown code is
/// `invalid_code`, all alike; after too many the keypad locks, and every pickup is `locked_out`
/// until the lockout ends, a correct code included. When the compartment cannot be opened — its
/// latch fails, or a maintenance opening of it is in progress — the answer is
/// `503 hardware_unavailable` and the code stays valid.
///
/// A parcel's own code opens its compartment; `opened` lists that one parcel. A standing pickup
/// code (`POST /api/v1/access-codes`, purpose `pickup`) opens, one after another, every
/// compartment in its scope holding a stored parcel, listed in `opened` (`parcel_id` and
/// `compartment` are the first); each `200` uses one, and its openings never clear the keypad's
/// failures.
#[utoipa::path(
    post,
    path = "/api/v1/pickup",
    tag = "pickup",
    security(("bearer" = ["kiosk", "operator"])),
    responses(
        (status = 200, description = "the compartment is open", body = PickupView),
        AuthErrors,
        (status = 401, description = "`invalid_code`: the code opens nothing; \
            `unauthorized`: no valid token", body = ErrorBody),
        (status = 429, description = "`locked_out`: the keypad is locked; `rate_limited`: an \
            operator's token (not the kiosk's) reached its ceiling on door openings \
            (`policy.opens_per_credential`, `policy.opens_locker_wide`). `Retry-After` and \
            `error.retry_after_s` give the seconds left", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds until a code is taken again"))),
        (status = 409, description = "`nothing_to_collect`: a standing pickup code (an access \
            code) whose compartments hold no stored parcel; not a keypad failure", body = ErrorBody),
        (status = 503, description = "`hardware_unavailable`: the compartment could not be \
            opened (its latch failed, or a maintenance opening of it is in progress); the code \
            stays valid", body = ErrorBody),
        BodyErrors,
    )
)]
async fn pickup(
    Caller(kiosk): Caller<{ KIOSK | OPERATOR }>,
    State(state): State<AppState>,
    Json(body): Json<PickupCode>,
) -> Result<Json<PickupView>, ApiError> {
    let locker = state.locker;
    let opened =
        to_completion(async move { locker.pickup(body.code.expose(), &kiosk).await }).await?;
    Ok(Json(opened.into()))
}

/// The keypad's lockout state.
///
/// Roles: operator.
#[utoipa::path(
    get,
    path = "/api/v1/keypad",
    tag = "pickup",
    security(("bearer" = ["operator"])),
    responses((status = 200, description = "the lockout state", body = KeypadView), AuthErrors)
)]
async fn keypad(
    _: Caller<OPERATOR>,
    State(state): State<AppState>,
) -> Result<Json<KeypadView>, ApiError> {
    Ok(Json(state.locker.keypad().await?.into()))
}

/// End a keypad lockout early.
///
/// Roles: operator. Audited.
#[utoipa::path(
    post,
    path = "/api/v1/keypad/unlock",
    tag = "pickup",
    security(("bearer" = ["operator"])),
    responses((status = 204, description = "unlocked"), AuthErrors)
)]
async fn keypad_unlock(
    Caller(actor): Caller<OPERATOR>,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    state.locker.keypad_unlock(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
