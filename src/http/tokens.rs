//! API tokens (operator): create, list, delete.

use super::AppState;
use super::error::{ApiError, AuthErrors, BodyErrors, ErrorBody};
use super::extract::{Caller, Json, OPERATOR, Path};
use super::views::{RoleView, TokenCreated, TokenList, TokenView};
use crate::locker::Role;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(delete_token))
}

/// The roles a token can be created with; courier sessions come from courier login only.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenRole {
    Kiosk,
    Sync,
    Operator,
}

impl From<TokenRole> for Role {
    fn from(r: TokenRole) -> Self {
        match r {
            TokenRole::Kiosk => Role::Kiosk,
            TokenRole::Sync => Role::Sync,
            TokenRole::Operator => Role::Operator,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateToken {
    pub role: TokenRole,
    #[schema(example = "kiosk-front")]
    pub name: String,
}

/// Create an API token.
///
/// Roles: operator. The answer carries the token itself, the only time it is shown: only its
/// hash is stored.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "tokens",
    security(("bearer" = ["operator"])),
    responses(
        (status = 201, description = "created", body = TokenCreated),
        (status = 409, description = "`conflict`: a token of this name exists", body = ErrorBody),
        BodyErrors,
        AuthErrors,
    )
)]
async fn create_token(
    Caller(actor): Caller<OPERATOR>,
    State(state): State<AppState>,
    Json(body): Json<CreateToken>,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    let role = Role::from(body.role);
    let token = state.locker.create_token(role, &body.name, &actor).await?;
    let created = TokenCreated {
        name: body.name,
        role: RoleView::from(role),
        token,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// List API tokens: names and roles, never the tokens.
///
/// Roles: operator.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "tokens",
    security(("bearer" = ["operator"])),
    responses((status = 200, description = "every token", body = TokenList), AuthErrors)
)]
async fn list_tokens(
    _: Caller<OPERATOR>,
    State(state): State<AppState>,
) -> Result<Json<TokenList>, ApiError> {
    let tokens = state.locker.list_tokens().await?;
    let tokens = tokens.into_iter().map(TokenView::from).collect();
    Ok(Json(TokenList { tokens }))
}

/// Delete an API token; it stops working at once.
///
/// Roles: operator. Also cancels the kiosk pairing and console links of that name not spent
/// yet, which would make the token again: `204` for a name with only such a link.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{name}",
    tag = "tokens",
    params(("name" = String, Path, description = "the token's name")),
    security(("bearer" = ["operator"])),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "`not_found`: no token nor link of this name", body = ErrorBody),
        AuthErrors,
    )
)]
async fn delete_token(
    Caller(actor): Caller<OPERATOR>,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.locker.delete_token(&name, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
