//! Parcels (operator; sync may read): list, one, extend, new code, photo, evidence.

use super::AppState;
use super::error::{ApiError, AuthErrors, BodyErrors, ErrorBody, ParcelConflict, ParcelNotFound};
use super::extract::{Caller, Json, OPERATOR, Path, Query, Rfc3339, SYNC, page_limit};
use super::views::{EvidenceView, ParcelPageView, ParcelStateView, ParcelView};
use crate::locker::{Locker, Principal};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_parcels))
        .routes(routes!(get_parcel))
        .routes(routes!(extend))
        .routes(routes!(new_code))
        .routes(routes!(photo))
        .routes(routes!(evidence))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ParcelFilter {
    /// Only parcels in this state.
    #[param(inline)]
    pub state: Option<ParcelStateView>,
    /// Page size, default 50; values over 500 are taken as 500.
    #[param(minimum = 1)]
    pub limit: Option<usize>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewExpiry {
    /// The new expiry, RFC 3339.
    #[schema(value_type = String, format = DateTime, example = "2030-01-31T18:00:00Z")]
    pub until: Rfc3339,
}

/// List parcels, a page at a time.
///
/// Roles: operator, sync.
#[utoipa::path(
    get,
    path = "/api/v1/parcels",
    params(ParcelFilter),
    tag = "parcels",
    security(("bearer" = ["operator", "sync"])),
    responses(
        (status = 200, description = "a page of parcels", body = ParcelPageView),
        (status = 400, description = "`invalid_request`: a bad `state`, `limit` or `after`", body = ErrorBody),
        AuthErrors,
    )
)]
async fn list_parcels(
    _: Caller<{ OPERATOR | SYNC }>,
    State(state): State<AppState>,
    Query(filter): Query<ParcelFilter>,
) -> Result<Json<ParcelPageView>, ApiError> {
    let limit = page_limit(filter.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let page = state
        .locker
        .parcels(filter.state.map(Into::into), limit, filter.after.as_deref())
        .await?;
    Ok(Json(ParcelPageView {
        parcels: page.parcels.into_iter().map(ParcelView::from).collect(),
        next: page.next,
    }))
}

/// One parcel.
///
/// Roles: operator, sync.
#[utoipa::path(
    get,
    path = "/api/v1/parcels/{id}",
    tag = "parcels",
    params(("id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["operator", "sync"])),
    responses(
        (status = 200, description = "the parcel", body = ParcelView),
        ParcelNotFound,
        AuthErrors,
    )
)]
async fn get_parcel(
    _: Caller<{ OPERATOR | SYNC }>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ParcelView>, ApiError> {
    Ok(Json(state.locker.parcel(&id).await?.into()))
}

/// Give a parcel more time before it expires.
///
/// Roles: operator.
#[utoipa::path(
    post,
    path = "/api/v1/parcels/{id}/extend",
    tag = "parcels",
    params(("id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["operator"])),
    responses(
        (status = 200, description = "the parcel with its new `expires_at`", body = ParcelView),
        ParcelNotFound,
        ParcelConflict,
        BodyErrors,
        AuthErrors,
    )
)]
async fn extend(
    Caller(actor): Caller<OPERATOR>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<NewExpiry>,
) -> Result<Response, ApiError> {
    run_extend(&state.locker, id, body, actor).await
}

/// `POST /api/v1/parcels/{id}/extend` (and the MQTT `extend` command).
pub(super) async fn run_extend(
    locker: &Locker,
    id: String,
    body: NewExpiry,
    actor: Principal,
) -> Result<Response, ApiError> {
    let parcel = locker.extend(&id, body.until.0, &actor).await?;
    Ok(Json(ParcelView::from(parcel)).into_response())
}

/// Issue a new pickup code for a parcel.
///
/// Roles: operator. The old code stops working; the new one is published in a
/// `parcel.code_changed` event only, never in this answer, which is the parcel.
#[utoipa::path(
    post,
    path = "/api/v1/parcels/{id}/new-code",
    tag = "parcels",
    params(("id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["operator"])),
    responses(
        (status = 200, description = "the parcel", body = ParcelView),
        ParcelNotFound,
        (status = 409, description = "`conflict`: the parcel has no live code to replace", body = ErrorBody),
        AuthErrors,
    )
)]
async fn new_code(
    Caller(actor): Caller<OPERATOR>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    run_new_code(&state.locker, id, actor).await
}

/// `POST /api/v1/parcels/{id}/new-code` (and the MQTT `new_code` command).
pub(super) async fn run_new_code(
    locker: &Locker,
    id: String,
    actor: Principal,
) -> Result<Response, ApiError> {
    locker.new_code(&id, &actor).await?;
    Ok(Json(ParcelView::from(locker.parcel(&id).await?)).into_response())
}

/// The parcel's proof-of-delivery photo.
///
/// Roles: operator, sync. The cloud puts it into the recipient's delivery notice once
/// `parcel.photo_taken` says it is saved. Taken by `photo.command` when the deposit was
/// stored, unless its reservation said `photo: false`; deleted after `photo.retention`. `404`
/// when the parcel has none (no camera, the camera failed, or the photo was deleted).
#[utoipa::path(
    get,
    path = "/api/v1/parcels/{id}/photo",
    tag = "parcels",
    params(("id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["operator", "sync"])),
    responses(
        (status = 200, description = "the photo", content_type = "image/jpeg", body = Vec<u8>),
        (status = 404, description = "`not_found`: no such parcel, or it has no photo", body = ErrorBody),
        AuthErrors,
    )
)]
async fn photo(
    _: Caller<{ OPERATOR | SYNC }>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let jpeg = state.locker.photo(&id).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "image/jpeg")], jpeg))
}

/// Everything the locker knows of one parcel, for a claim or an investigation.
///
/// Roles: operator, sync. One JSON document: the parcel, its events still in the feed (any
/// `pickup_code` removed), its audit entries (`seq`, `hash`), every opening and closing of its
/// compartment(s) from its deposit to its end (or now), incidents about it or its
/// compartment(s) meanwhile, its photo's `sha256`, and the audit chain's head at the time of
/// the answer, against which a later `lockerd audit verify` or `lockerd audit export` checks the
/// entries. Never a pickup code. `lockerd parcel evidence ID --out FILE` saves it.
#[utoipa::path(
    get,
    path = "/api/v1/parcels/{id}/evidence",
    tag = "parcels",
    params(("id" = String, Path, description = "the parcel's id")),
    security(("bearer" = ["operator", "sync"])),
    responses(
        (status = 200, description = "the parcel's evidence", body = EvidenceView),
        (status = 404, description = "`not_found`: no such parcel", body = ErrorBody),
        AuthErrors,
    )
)]
async fn evidence(
    _: Caller<{ OPERATOR | SYNC }>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EvidenceView>, ApiError> {
    Ok(Json(state.locker.evidence(&id).await?.into()))
}
