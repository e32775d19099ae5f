//! Pre-advised parcels (sync, operator): the cloud says a parcel is coming, how big it is, and
//! optionally which pickup code its recipient already has.

use super::AppState;
use super::error::{ApiError, AuthErrors, BodyErrors, ErrorBody, RateErrors};
use super::extract::{Caller, Json, OPERATOR, Path, Query, Rfc3339, SYNC, Secret, page_limit};
use super::views::{ReservationList, ReservationView, SizeView};
use crate::domain::PickupCode;
use crate::locker::{Locker, Principal, ReservationRequest};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_reservation, delete_reservation))
        .routes(routes!(list_reservations))
}

/// A reservation as the cloud sends it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReservation {
    /// The smallest compartment the parcel needs. A deposit of this tracking id uses at least
    /// this size, whatever size the courier picks.
    pub size: SizeView,
    /// When the reservation lapses if no courier has deposited the parcel; default now plus
    /// `sync.reservation_ttl` (14 days). Must be in the future.
    #[schema(value_type = Option<String>, format = DateTime, example = "2030-01-31T18:00:00Z")]
    pub expires_at: Option<Rfc3339>,
    /// A pickup code the cloud has already given the recipient: exactly `policy.code_length`
    /// digits, unique among live codes. Stored only as a keyed hash; when the parcel is stored
    /// it is used instead of a generated code and never repeated in events.
    #[schema(value_type = Option<String>, example = "493027")]
    pub pickup_code: Option<Secret>,
    /// A PIN a driver without a courier account must give (`pin`) to deliver this parcel at
    /// `POST /api/v1/deliveries`: exactly `policy.code_length` digits. Stored only as a keyed
    /// hash; never listed, logged or published.
    #[schema(value_type = Option<String>, example = "552901")]
    pub deposit_pin: Option<Secret>,
    /// `false`: take no proof-of-delivery photo of this parcel. Default `true`.
    pub photo: Option<bool>,
    /// Extension: `true` asks for a wheelchair-reachable compartment if one fits.
    /// Default `false`.
    pub accessible: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReservationsAfter {
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size, default 100; values over 1000 are taken as 1000.
    #[param(minimum = 1)]
    pub limit: Option<usize>,
}

/// Create or replace the reservation of a pre-advised parcel.
///
/// Roles: sync, operator. Idempotent: the same body again answers `200` with the same
/// reservation. Once a deposit of this tracking id has begun (or the parcel is in the locker),
/// it can no longer be changed: `409 conflict`. A `pickup_code` is accepted whether or not
/// another parcel or reservation uses it (a different answer would tell a caller which codes
/// are live); if it is another parcel's live code when this parcel is stored, the parcel gets a
/// locker-issued code, published in `parcel.code_changed` with the reason. Lapsed reservations
/// are deleted. `expires_at` is at most 90 days ahead. At most `sync.max_reservations` are open
/// at once, and one token makes at most that many writes an hour (`429 rate_limited`); the same
/// body again answers `200` and writes nothing.
#[utoipa::path(
    put,
    path = "/api/v1/sync/reservations/{tracking_id}",
    tag = "sync",
    params(("tracking_id" = String, Path, description = "the parcel's tracking id")),
    security(("bearer" = ["sync", "operator"])),
    request_body = NewReservation,
    responses(
        (status = 201, description = "created", body = ReservationView),
        (status = 200, description = "replaced", body = ReservationView),
        (status = 409, description = "`conflict`: the parcel is already deposited", body = ErrorBody),
        RateErrors,
        BodyErrors,
        AuthErrors,
    )
)]
async fn put_reservation(
    Caller(actor): Caller<{ SYNC | OPERATOR }>,
    State(state): State<AppState>,
    Path(tracking_id): Path<String>,
    Json(body): Json<NewReservation>,
) -> Result<Response, ApiError> {
    run_reserve(&state.locker, tracking_id, body, actor).await
}

/// `PUT /api/v1/sync/reservations/{tracking_id}` (and the MQTT `reserve` command).
pub(super) async fn run_reserve(
    locker: &Locker,
    tracking_id: String,
    body: NewReservation,
    actor: Principal,
) -> Result<Response, ApiError> {
    let request = ReservationRequest {
        size: body.size.into(),
        expires_at: body.expires_at.map(|t| t.0),
        pickup_code: body
            .pickup_code
            .map(|code| PickupCode::new(code.expose().to_owned())),
        deposit_pin: body
            .deposit_pin
            .map(|pin| PickupCode::new(pin.expose().to_owned())),
        photo: body.photo.unwrap_or(true),
        accessible: body.accessible.unwrap_or(false),
    };
    let (reservation, created) = locker.reserve(&tracking_id, request, &actor).await?;
    let status = match created {
        true => StatusCode::CREATED,
        false => StatusCode::OK,
    };
    Ok((status, Json(ReservationView::from(reservation))).into_response())
}

/// Withdraw a reservation.
///
/// Roles: sync, operator. `409 conflict` once a deposit of this tracking id has begun.
#[utoipa::path(
    delete,
    path = "/api/v1/sync/reservations/{tracking_id}",
    tag = "sync",
    params(("tracking_id" = String, Path, description = "the parcel's tracking id")),
    security(("bearer" = ["sync", "operator"])),
    responses(
        (status = 204, description = "withdrawn"),
        (status = 404, description = "`not_found`: no such reservation", body = ErrorBody),
        (status = 409, description = "`conflict`: the parcel is being deposited or is in the locker", body = ErrorBody),
        RateErrors,
        AuthErrors,
    )
)]
async fn delete_reservation(
    Caller(actor): Caller<{ SYNC | OPERATOR }>,
    State(state): State<AppState>,
    Path(tracking_id): Path<String>,
) -> Result<Response, ApiError> {
    run_withdraw(&state.locker, tracking_id, actor).await
}

/// `DELETE /api/v1/sync/reservations/{tracking_id}` (and the MQTT `withdraw` command).
pub(super) async fn run_withdraw(
    locker: &Locker,
    tracking_id: String,
    actor: Principal,
) -> Result<Response, ApiError> {
    locker.unreserve(&tracking_id, &actor).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Reservations waiting for their parcel, in tracking-id order. Never their codes.
///
/// Roles: sync, operator. Extension.
#[utoipa::path(
    get,
    path = "/api/v1/sync/reservations",
    tag = "sync",
    params(ReservationsAfter),
    security(("bearer" = ["sync", "operator"])),
    responses(
        (status = 200, description = "a page of reservations", body = ReservationList),
        (status = 400, description = "`invalid_request`: a bad `limit`", body = ErrorBody),
        AuthErrors,
    )
)]
async fn list_reservations(
    _: Caller<{ SYNC | OPERATOR }>,
    State(state): State<AppState>,
    Query(query): Query<ReservationsAfter>,
) -> Result<Json<ReservationList>, ApiError> {
    let limit = page_limit(query.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let page = state
        .locker
        .reservations(query.after.as_deref(), limit)
        .await?;
    Ok(Json(ReservationList {
        reservations: page.reservations.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}
