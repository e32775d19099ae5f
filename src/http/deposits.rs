//! Deposits and returns (courier): the routes that put a parcel in a compartment and take
//! an expired one back out.
//!
//! A deposit or resize waits for its door and runs to completion even if the client hangs up
//! (see `to_completion`); its answer carries the outcome. Reopen, cancel and opening a return
//! answer `202` once the opening is queued, before the latch fires: their outcome shows in the
//! parcel's state and the event feed, never in the answer.
//!
//! An operator may act on any parcel here, but only a courier session can create a deposit.

use super::error::{
    ApiError, AuthErrors, BodyErrors, ErrorBody, OwnParcelNotFound, ParcelConflict,
    ParcelOpeningConflict, RateErrors,
};
use super::extract::{COURIER, Caller, Json, OPERATOR, Path};
use super::views::{Accepted, DepositView, ParcelList, ParcelView, SizeView};
use super::{AppState, to_completion};
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
    /// The parcel's size; it goes to the smallest free compartment of at least this size.
    pub size: SizeView,
    /// Extension: prefer a low (accessible) compartment, for a recipient who needs one. A fitting
    /// accessible compartment is chosen when one is free, any fitting one otherwise; a resize
    /// keeps to the wish. A reservation that asks for one gets one without this.
    #[serde(default)]
    pub accessible: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewSize {
    /// The new size; larger than the parcel's current compartment.
    pub size: SizeView,
}

/// Deposit a parcel: the smallest free, enabled compartment that fits opens.
///
/// Roles: courier, operator. A deposit belongs to the courier who made it, so it needs a courier
/// session: an operator's token passes the role check but, once the body has been read, is
/// refused with `403 forbidden`. The answer is sent once the door has been seen open, or once
/// every fitting compartment has failed to open (each one that failed is marked `fault`). Its
/// `state` is the literal `"opening"`; the parcel itself is `open` by then. Closing the door makes
/// it `closed`; it is `stored` on confirm, on logout, or after the deposit grace period.
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
        RateErrors,
        BodyErrors,
        AuthErrors,
        (status = 403, description = "`forbidden`: the token's role may not call this route, or \
            the caller is an operator (creating a deposit needs a courier session; checked once \
            the body has been read)", body = ErrorBody),
    )
)]
async fn deposit(
    Caller(courier): Caller<{ COURIER | OPERATOR }>,
    State(state): State<AppState>,
    Json(body): Json<NewDeposit>,
) -> Result<(StatusCode, Json<DepositView>), ApiError> {
    let locker = state.locker;
    let opened = to_completion(async move {
        locker
            .deposit(
                &courier,
                &body.tracking_id,
                body.size.into(),
                body.accessible,
            )
            .await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(opened.into())))
}

/// Confirm a deposit: the parcel becomes `stored` and its pickup code is issued.
///
/// Roles: courier, operator. A courier may confirm only its own deposits (another courier's
/// parcel is `not_found`); an operator any parcel.
#[utoipa::path(
    post,
    path = "/api/v1/deposits/{parcel_id}/confirm",
    tag = "deposits",
    params(("parcel_id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["courier", "operator"])),
    responses(
        (status = 200, description = "the parcel, now stored", body = ParcelView),
        OwnParcelNotFound,
        ParcelConflict,
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
/// Roles: courier, operator. A courier may reopen only its own deposits (another courier's
/// parcel is `not_found`); an operator any parcel. The body is `{}`.
///
/// The answer is sent once the opening is queued, before the latch fires, so it never reports a
/// hardware failure: the outcome shows in the parcel's state and the event feed. The parcel is
/// `opening`, then `open` once the door has been seen open; if the latch fails, the compartment
/// is marked `fault` (a `compartment.fault` event) and the parcel is `closed` again.
#[utoipa::path(
    post,
    path = "/api/v1/deposits/{parcel_id}/reopen",
    tag = "deposits",
    params(("parcel_id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["courier", "operator"])),
    responses(
        (status = 202, description = "the opening is queued; follow the parcel's state or the \
            event feed for its outcome", body = Accepted),
        OwnParcelNotFound,
        ParcelOpeningConflict,
        RateErrors,
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
/// Roles: courier, operator. A courier may resize only its own deposits (another courier's
/// parcel is `not_found`); an operator any parcel. Only a deposit whose door is open can be
/// resized, to a size larger than its compartment (`400 invalid_request` otherwise). Answers like
/// a deposit; the old compartment is free once its door closes.
#[utoipa::path(
    post,
    path = "/api/v1/deposits/{parcel_id}/resize",
    tag = "deposits",
    params(("parcel_id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["courier", "operator"])),
    responses(
        (status = 201, description = "the new compartment is open", body = DepositView),
        OwnParcelNotFound,
        (status = 409, description = "`no_compartment_available`: no free compartment fits; \
            `conflict`: the parcel's door is not open", body = ErrorBody),
        (status = 503, description = "`hardware_unavailable`: no fitting compartment could be opened", body = ErrorBody),
        RateErrors,
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
        to_completion(async move { locker.resize(&courier, &parcel_id, body.size.into()).await })
            .await?;
    Ok((StatusCode::CREATED, Json(opened.into())))
}

/// Cancel a deposit: the parcel leaves with the courier.
///
/// Roles: courier, operator. A courier may cancel only its own deposits (another courier's
/// parcel is `not_found`); an operator any parcel. The body is `{}`. A parcel already stored or
/// gone is a `conflict`.
///
/// The compartment reopens if it is closed; the parcel is `cancelled` and the compartment free
/// once its door closes. The answer is sent once the opening is queued, before the latch fires,
/// so it never reports a hardware failure: the outcome shows in the parcel's state and the event
/// feed. If the latch fails, the compartment is marked `fault` (a `compartment.fault` event) and
/// the parcel stays as it was, its `removal` cleared.
#[utoipa::path(
    post,
    path = "/api/v1/deposits/{parcel_id}/cancel",
    tag = "deposits",
    params(("parcel_id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["courier", "operator"])),
    responses(
        (status = 202, description = "cancelling; the door is open or its opening is queued", body = Accepted),
        OwnParcelNotFound,
        ParcelOpeningConflict,
        RateErrors,
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
/// Roles: courier, operator. A courier sees the expired parcels it deposited; an operator every
/// expired parcel.
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
/// Roles: courier, operator. A courier may open only the returns it deposited (another
/// courier's parcel is `not_found`); an operator any expired parcel. The body is `{}`.
///
/// The parcel is `returned` when its door has been seen open and then closed. The answer is sent
/// once the opening is queued, before the latch fires, so it never reports a hardware failure:
/// the outcome shows in the parcel's state and the event feed. If the latch fails, the
/// compartment is marked `fault` (a `compartment.fault` event) and the parcel stays `expired`.
#[utoipa::path(
    post,
    path = "/api/v1/courier/returns/{parcel_id}/open",
    tag = "deposits",
    params(("parcel_id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["courier", "operator"])),
    responses(
        (status = 202, description = "the opening is queued; follow the parcel's state or the \
            event feed for its outcome", body = Accepted),
        OwnParcelNotFound,
        ParcelOpeningConflict,
        RateErrors,
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
