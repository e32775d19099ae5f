//! Deposits and returns (courier): the routes that put a parcel in a compartment and take
//! an expired one back out.
//!
//! Each call that opens a door runs to completion even if the client hangs up (see
//! `to_completion`); the answer is sent once the outcome is known.

use super::error::{ApiError, AuthErrors, BodyErrors, ErrorBody};
use super::extract::{COURIER, Caller, Json, OPERATOR, Path};
use super::views::{Accepted, DepositView, ParcelList, ParcelView};
use super::{AppState, to_completion};
use crate::domain::Size;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(deposit))
        .routes(routes!(confirm))
        .routes(routes!(reopen))
        .routes(routes!(resize))
        .routes(routes!(cancel))
        .routes(routes!(list_returns))
        .routes(routes!(open_return))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewDeposit {
    #[schema(example = "1Z999AA10123456784")]
    pub tracking_id: String,
    pub size: Size,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewSize {
    pub size: Size,
}

/// Deposit a parcel: the smallest free, enabled compartment that fits opens.
///
/// Roles: courier, operator. The answer is sent once the door has been seen open, or once every
/// fitting compartment has failed to open (each one that failed is marked `fault`). Its `state`
/// is the literal `"opening"`; the parcel itself is `open` by then. Closing the door makes it
/// `closed`; it is `stored` on confirm, on logout, or after the deposit grace period.
#[utoipa::path(
    post,
    path = "/api/v1/deposits",
    tag = "deposits",
    security(("bearer" = ["courier", "operator"])),
    responses(
        (status = 201, description = "the compartment is open", body = DepositView),
        (status = 409, description = "`no_compartment_available`: no free compartment fits; \
            `duplicate_tracking_id`: that tracking id already has a parcel in the locker", body = ErrorBody),
        (status = 503, description = "`hardware_unavailable`: no fitting compartment could be opened", body = ErrorBody),
        BodyErrors,
        AuthErrors,
    )
)]
async fn deposit(
    Caller(courier): Caller<{ COURIER | OPERATOR }>,
    State(state): State<AppState>,
    Json(body): Json<NewDeposit>,
) -> Result<(StatusCode, Json<DepositView>), ApiError> {
    let locker = state.locker;
    let opened =
        to_completion(async move { locker.deposit(&courier, &body.tracking_id, body.size).await })
            .await?;
    Ok((StatusCode::CREATED, Json(opened.into())))
}

/// Confirm a deposit: the parcel becomes `stored` and its pickup code is issued.
///
/// Roles: courier, operator. Only the depositing courier's own deposits.
#[utoipa::path(
    post,
    path = "/api/v1/deposits/{parcel_id}/confirm",
    tag = "deposits",
    params(("parcel_id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["courier", "operator"])),
    responses(
        (status = 200, description = "the parcel, now stored", body = ParcelView),
        (status = 404, description = "`not_found`: no such parcel of this courier", body = ErrorBody),
        (status = 409, description = "`conflict`: the parcel is not in a state to confirm", body = ErrorBody),
        AuthErrors,
    )
)]
async fn confirm(
    Caller(courier): Caller<{ COURIER | OPERATOR }>,
    State(state): State<AppState>,
    Path(parcel_id): Path<String>,
) -> Result<Json<ParcelView>, ApiError> {
    Ok(Json(
        state.locker.confirm(&courier, &parcel_id).await?.into(),
    ))
}

/// Reopen a closed, not yet stored deposit.
///
/// Roles: courier, operator. The same courier only. The body is `{}`.
#[utoipa::path(
    post,
    path = "/api/v1/deposits/{parcel_id}/reopen",
    tag = "deposits",
    params(("parcel_id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["courier", "operator"])),
    responses(
        (status = 202, description = "the door is being opened", body = Accepted),
        (status = 404, description = "`not_found`: no such parcel of this courier", body = ErrorBody),
        (status = 409, description = "`conflict`: the parcel is not `closed`", body = ErrorBody),
        (status = 503, description = "`hardware_unavailable`: the latch could not be opened", body = ErrorBody),
        AuthErrors,
    )
)]
async fn reopen(
    Caller(courier): Caller<{ COURIER | OPERATOR }>,
    State(state): State<AppState>,
    Path(parcel_id): Path<String>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let locker = state.locker;
    to_completion(async move { locker.reopen(&courier, &parcel_id).await }).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted {})))
}

/// Move a deposit to a newly opened compartment of at least `size`.
///
/// Roles: courier, operator. Answers like a deposit; the old compartment is free once its door
/// closes.
#[utoipa::path(
    post,
    path = "/api/v1/deposits/{parcel_id}/resize",
    tag = "deposits",
    params(("parcel_id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["courier", "operator"])),
    responses(
        (status = 201, description = "the new compartment is open", body = DepositView),
        (status = 404, description = "`not_found`: no such parcel of this courier", body = ErrorBody),
        (status = 409, description = "`no_compartment_available`: no free compartment fits; \
            `conflict`: the parcel is no longer being deposited", body = ErrorBody),
        (status = 503, description = "`hardware_unavailable`: no fitting compartment could be opened", body = ErrorBody),
        BodyErrors,
        AuthErrors,
    )
)]
async fn resize(
    Caller(courier): Caller<{ COURIER | OPERATOR }>,
    State(state): State<AppState>,
    Path(parcel_id): Path<String>,
    Json(body): Json<NewSize>,
) -> Result<(StatusCode, Json<DepositView>), ApiError> {
    let locker = state.locker;
    let opened =
        to_completion(async move { locker.resize(&courier, &parcel_id, body.size).await }).await?;
    Ok((StatusCode::CREATED, Json(opened.into())))
}

/// Cancel a deposit: the parcel leaves with the courier.
///
/// Roles: courier, operator. The compartment reopens if it is closed; the parcel is `cancelled`
/// and the compartment free once its door closes. The body is `{}`.
#[utoipa::path(
    post,
    path = "/api/v1/deposits/{parcel_id}/cancel",
    tag = "deposits",
    params(("parcel_id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["courier", "operator"])),
    responses(
        (status = 202, description = "cancelling; the door is open or being opened", body = Accepted),
        (status = 404, description = "`not_found`: no such parcel of this courier", body = ErrorBody),
        (status = 409, description = "`conflict`: the parcel is already stored or gone", body = ErrorBody),
        (status = 503, description = "`hardware_unavailable`: the latch could not be opened", body = ErrorBody),
        AuthErrors,
    )
)]
async fn cancel(
    Caller(courier): Caller<{ COURIER | OPERATOR }>,
    State(state): State<AppState>,
    Path(parcel_id): Path<String>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let locker = state.locker;
    to_completion(async move { locker.cancel(&courier, &parcel_id).await }).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted {})))
}

/// Expired parcels waiting for a courier to take them back.
///
/// Roles: courier, operator.
#[utoipa::path(
    get,
    path = "/api/v1/courier/returns",
    tag = "deposits",
    security(("bearer" = ["courier", "operator"])),
    responses((status = 200, description = "the expired parcels", body = ParcelList), AuthErrors)
)]
async fn list_returns(
    Caller(courier): Caller<{ COURIER | OPERATOR }>,
    State(state): State<AppState>,
) -> Result<Json<ParcelList>, ApiError> {
    let parcels = state.locker.courier_returns(&courier).await?;
    let parcels = parcels.into_iter().map(ParcelView::from).collect();
    Ok(Json(ParcelList { parcels }))
}

/// Open an expired parcel's compartment to take it back.
///
/// Roles: courier, operator. The parcel is `returned` when its door closes. The body is `{}`.
#[utoipa::path(
    post,
    path = "/api/v1/courier/returns/{parcel_id}/open",
    tag = "deposits",
    params(("parcel_id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["courier", "operator"])),
    responses(
        (status = 202, description = "the door is being opened", body = Accepted),
        (status = 404, description = "`not_found`: no such parcel", body = ErrorBody),
        (status = 409, description = "`conflict`: the parcel is not `expired`", body = ErrorBody),
        (status = 503, description = "`hardware_unavailable`: the latch could not be opened", body = ErrorBody),
        AuthErrors,
    )
)]
async fn open_return(
    Caller(courier): Caller<{ COURIER | OPERATOR }>,
    State(state): State<AppState>,
    Path(parcel_id): Path<String>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let locker = state.locker;
    to_completion(async move { locker.open_return(&courier, &parcel_id).await }).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted {})))
}
