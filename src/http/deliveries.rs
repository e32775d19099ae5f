//! Deliveries from drivers without a courier account (kiosk) and the access codes that admit
//! them or let an owner collect (operator).

use super::error::{ApiError, AuthErrors, BodyErrors, ErrorBody};
use super::extract::{Caller, FromKioskPage, Json, KIOSK, OPERATOR, Path, Rfc3339, Secret};
use super::session_cookie;
use super::views::{AccessCodeCreated, AccessCodeList, CodePurposeView, DeliveryView, SizeView};
use super::{AppState, to_completion};
use crate::domain::PickupCode;
use crate::locker::{AccessCodeRequest, DeliveryRequest, Locker, Principal};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::time::Duration;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(deliver))
        .routes(routes!(create_access_code, list_access_codes))
        .routes(routes!(delete_access_code))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDelivery {
    /// The parcel's tracking id, as scanned from its label or typed.
    #[schema(example = "1Z999AA10123456784")]
    pub tracking_id: String,
    /// The parcel's size; default `S`. A reservation's size wins.
    pub size: Option<SizeView>,
    /// A reservation's deposit PIN or a delivery access code: `policy.code_length` digits.
    #[schema(value_type = Option<String>, example = "552901")]
    pub pin: Option<Secret>,
}

/// Deliver a parcel without a courier account: a compartment opens.
///
/// Roles: kiosk, operator. Admitted by, in this order: a live reservation of the tracking id
/// (with its `deposit_pin` as `pin` when it has one; scan to open needs `[delivery]
/// scan_to_open`), a delivery access code as `pin`, or `[delivery] open_drop`. The answer is sent
/// once the door has been seen open, with a `courier`-role `token` that reaches only this parcel
/// (confirm, reopen, resize, cancel as for a deposit) until it is stored or cancelled, or until
/// `expires_at`. Without a confirm the parcel is stored once `policy.deposit_grace` has passed
/// since its door closed. The parcel's `courier` is `null` and its `delivered_by` says what
/// admitted it. Called by the paired kiosk page, the session is set as the HttpOnly cookie
/// `lockerd_courier` and `token` is left out. A `pin` that matches nothing is one keypad failure
/// (the pickup throttle); a right one never clears the count. Deliveries through one kiosk
/// credential count against `policy.opens_per_credential` and `policy.opens_locker_wide`.
#[utoipa::path(
    post,
    path = "/api/v1/deliveries",
    tag = "deliveries",
    security(("bearer" = ["kiosk", "operator"])),
    request_body = NewDelivery,
    responses(
        (status = 201, description = "the compartment is open", body = DeliveryView),
        (status = 403, description = "`delivery_not_allowed`: nothing admits this delivery (an \
            unknown tracking id, a wrong or missing PIN: which, is not said); `forbidden`: the \
            token's role may not call this route", body = ErrorBody),
        (status = 409, description = "`no_compartment_available`: no free compartment fits; \
            `duplicate_tracking_id`: that tracking id already has a parcel in the locker", body = ErrorBody),
        (status = 429, description = "`locked_out`: the keypad is locked (a `pin` was given); \
            `rate_limited`: this credential's or the locker's ceiling on openings. `Retry-After` \
            gives the seconds left", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds until one more is allowed"))),
        (status = 503, description = "`hardware_unavailable`: no fitting compartment could be opened", body = ErrorBody),
        BodyErrors,
        (status = 401, description = "`unauthorized`: no valid token", body = ErrorBody),
    )
)]
async fn deliver(
    Caller(kiosk): Caller<{ KIOSK | OPERATOR }>,
    page: FromKioskPage,
    State(state): State<AppState>,
    Json(body): Json<NewDelivery>,
) -> Result<Response, ApiError> {
    let request = DeliveryRequest {
        tracking_id: body.tracking_id,
        size: body.size.map(Into::into),
        pin: body.pin.map(|p| PickupCode::new(p.expose().to_owned())),
    };
    let locker = state.locker.clone();
    let opened = to_completion(async move { locker.deliver(&kiosk, request).await }).await?;
    let expires_at = opened.expires_at;
    let token = opened.token.clone();
    let mut view = DeliveryView::from(opened);
    if !page.0 {
        return Ok((StatusCode::CREATED, Json(view)).into_response());
    }
    let lifetime =
        Duration::from_millis(u64::try_from(expires_at.0 - state.locker.now().0).unwrap_or(0));
    let cookie = session_cookie::courier_cookie(&token, lifetime, state.secure_cookies);
    view.token = None;
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, cookie)],
        Json(view),
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccessCode {
    /// Who or what it is for, e.g. `owner` or `shop deliveries`; unique; shown in
    /// `delivered_by` (`pin:<name>`) and in `access_code.used`.
    #[schema(example = "owner")]
    pub name: String,
    pub purpose: CodePurposeView,
    /// How many times it works, at most 1,000,000; `null` or absent: unlimited.
    #[schema(minimum = 1, maximum = 1000000)]
    pub uses: Option<u32>,
    /// When it stops working; `null` or absent: never.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Rfc3339>,
    /// The compartments it works for; `null` or absent: all. A `pickup` code with compartments
    /// owns them: while it lives, only deliveries through a delivery code limited to them are
    /// put there.
    pub compartments: Option<Vec<String>>,
}

/// Create an access code: a delivery PIN or an owner's standing pickup code.
///
/// Roles: operator. The code (`policy.code_length` digits, never a live pickup code or another
/// access code) is in this answer only; the locker keeps a keyed hash. A `delivery` code is a
/// `pin` for `POST /api/v1/deliveries`; each admitted delivery uses one. A `pickup` code at
/// `POST /api/v1/pickup` opens every compartment in its scope holding a stored parcel; each
/// `200` uses one. One limited to some compartments opens only parcels that a delivery code
/// limited to the same compartments (or fewer) brought, since any parcel may be put in any free
/// compartment. At most 500 codes exist at once.
#[utoipa::path(
    post,
    path = "/api/v1/access-codes",
    tag = "access-codes",
    security(("bearer" = ["operator"])),
    request_body = NewAccessCode,
    responses(
        (status = 201, description = "created; the only time `code` is shown", body = AccessCodeCreated),
        (status = 409, description = "`conflict`: the name is taken, or 500 codes exist", body = ErrorBody),
        BodyErrors,
        AuthErrors,
    )
)]
async fn create_access_code(
    Caller(actor): Caller<{ OPERATOR }>,
    State(state): State<AppState>,
    Json(body): Json<NewAccessCode>,
) -> Result<Response, ApiError> {
    run_create_access_code(&state.locker, body, actor).await
}

/// `POST /api/v1/access-codes` (and the MQTT `create_access_code` command).
pub(super) async fn run_create_access_code(
    locker: &Locker,
    body: NewAccessCode,
    actor: Principal,
) -> Result<Response, ApiError> {
    let request = AccessCodeRequest {
        name: body.name,
        purpose: body.purpose.into(),
        uses: body.uses,
        expires_at: body.expires_at.map(|t| t.0),
        compartments: body.compartments,
    };
    let created = locker.create_access_code(request, &actor).await?;
    Ok((StatusCode::CREATED, Json(AccessCodeCreated::from(created))).into_response())
}

/// Access codes, without their codes.
///
/// Roles: operator. Used-up and lapsed codes are listed (with `uses_left: 0` or a past
/// `expires_at`) until they are deleted.
#[utoipa::path(
    get,
    path = "/api/v1/access-codes",
    tag = "access-codes",
    security(("bearer" = ["operator"])),
    responses(
        (status = 200, description = "every access code", body = AccessCodeList),
        AuthErrors,
    )
)]
async fn list_access_codes(
    _: Caller<{ OPERATOR }>,
    State(state): State<AppState>,
) -> Result<Json<AccessCodeList>, ApiError> {
    let codes = state.locker.access_codes().await?;
    Ok(Json(AccessCodeList {
        access_codes: codes.into_iter().map(Into::into).collect(),
    }))
}

/// Delete an access code: it stops working at once.
///
/// Roles: operator.
#[utoipa::path(
    delete,
    path = "/api/v1/access-codes/{id}",
    tag = "access-codes",
    params(("id" = String, Path, description = "the access code's id")),
    security(("bearer" = ["operator"])),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "`not_found`: no such access code", body = ErrorBody),
        AuthErrors,
    )
)]
async fn delete_access_code(
    Caller(actor): Caller<{ OPERATOR }>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    run_delete_access_code(&state.locker, id, actor).await
}

/// `DELETE /api/v1/access-codes/{id}` (and the MQTT `delete_access_code` command).
pub(super) async fn run_delete_access_code(
    locker: &Locker,
    id: String,
    actor: Principal,
) -> Result<Response, ApiError> {
    locker.delete_access_code(&id, &actor).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
