//! Couriers: accounts (operator) and sessions (login at the kiosk, logout by the courier).

use super::AppState;
use super::error::{ApiError, AuthErrors, BodyErrors, ErrorBody};
use super::extract::{COURIER, Caller, FromKioskPage, Json, KIOSK, OPERATOR, Path, Secret};
use super::session_cookie;
use super::views::{CourierCreated, CourierList, CourierView, SessionView};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::time::Duration;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_courier, list_couriers))
        .routes(routes!(delete_courier))
        .routes(routes!(login))
        .routes(routes!(logout))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateCourier {
    #[schema(example = "dana")]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Login {
    /// The courier's id or name.
    pub courier: String,
    /// The courier's current TOTP (RFC 6238, 6 digits, 30 s).
    #[schema(value_type = String, example = "123456")]
    pub code: Secret,
}

/// Create a courier.
///
/// Roles: operator. The answer carries the courier's TOTP secret, the only time it is shown.
#[utoipa::path(
    post,
    path = "/api/v1/couriers",
    tag = "couriers",
    security(("bearer" = ["operator"])),
    responses(
        (status = 201, description = "created", body = CourierCreated),
        (status = 409, description = "`conflict`: a courier of this name exists", body = ErrorBody),
        BodyErrors,
        AuthErrors,
    )
)]
async fn create_courier(
    Caller(actor): Caller<OPERATOR>,
    State(state): State<AppState>,
    Json(body): Json<CreateCourier>,
) -> Result<(StatusCode, Json<CourierCreated>), ApiError> {
    let courier = state.locker.create_courier(&body.name, &actor).await?;
    Ok((StatusCode::CREATED, Json(courier.into())))
}

/// List couriers.
///
/// Roles: operator.
#[utoipa::path(
    get,
    path = "/api/v1/couriers",
    tag = "couriers",
    security(("bearer" = ["operator"])),
    responses((status = 200, description = "every courier", body = CourierList), AuthErrors)
)]
async fn list_couriers(
    _: Caller<OPERATOR>,
    State(state): State<AppState>,
) -> Result<Json<CourierList>, ApiError> {
    let couriers = state.locker.list_couriers().await?;
    let couriers = couriers.into_iter().map(CourierView::from).collect();
    Ok(Json(CourierList { couriers }))
}

/// Delete a courier; its live sessions end.
///
/// Roles: operator.
#[utoipa::path(
    delete,
    path = "/api/v1/couriers/{id}",
    tag = "couriers",
    params(("id" = String, Path, description = "the courier's id")),
    security(("bearer" = ["operator"])),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "`not_found`: no such courier", body = ErrorBody),
        AuthErrors,
    )
)]
async fn delete_courier(
    Caller(actor): Caller<OPERATOR>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.locker.delete_courier(&id, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Log a courier in at the kiosk: a `courier` session token.
///
/// Roles: kiosk, operator. The code is accepted at most once. The session lasts 15 minutes by
/// default and ends early on logout. Called by the paired kiosk page (its cookie instead of a
/// bearer header), the session is set as the HttpOnly cookie `lockerd_courier` and `token` is
/// left out of the answer.
#[utoipa::path(
    post,
    path = "/api/v1/courier/login",
    tag = "couriers",
    security(("bearer" = ["kiosk", "operator"])),
    responses(
        (status = 200, description = "a session", body = SessionView),
        AuthErrors,
        (status = 401, description = "`invalid_credentials`: unknown courier or wrong code; \
            `unauthorized`: no valid token", body = ErrorBody),
        (status = 429, description = "`locked_out`: too many failures; see `Retry-After`", body = ErrorBody),
        BodyErrors,
    )
)]
async fn login(
    _: Caller<{ KIOSK | OPERATOR }>,
    page: FromKioskPage,
    State(state): State<AppState>,
    Json(body): Json<Login>,
) -> Result<Response, ApiError> {
    let session = state
        .locker
        .courier_login(&body.courier, body.code.expose())
        .await?;
    if !page.0 {
        return Ok(Json(SessionView::from(session)).into_response());
    }
    let lifetime = Duration::from_millis(
        u64::try_from(session.expires_at.0 - state.locker.now().0).unwrap_or(0),
    );
    let cookie = session_cookie::courier_cookie(&session.token, lifetime, state.secure_cookies);
    let view = SessionView {
        token: None,
        ..SessionView::from(session)
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(view)).into_response())
}

/// End the caller's courier session.
///
/// Roles: courier, operator. Closed deposits of the courier become stored. Only a courier
/// session can log out: an operator's token passes the role check but has no session, so it is
/// refused with `403 forbidden`.
#[utoipa::path(
    post,
    path = "/api/v1/courier/logout",
    tag = "couriers",
    security(("bearer" = ["courier", "operator"])),
    responses(
        (status = 204, description = "logged out"),
        AuthErrors,
        (status = 403, description = "`forbidden`: the token's role may not call this route, or \
            the caller is an operator (an operator has no session to end)", body = ErrorBody),
    )
)]
async fn logout(
    Caller(courier): Caller<{ COURIER | OPERATOR }>,
    page: FromKioskPage,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    state.locker.courier_logout(&courier).await?;
    if page.0 {
        let clear = session_cookie::clear_courier_cookie(state.secure_cookies);
        return Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
