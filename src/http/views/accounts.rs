//! Tokens, couriers and courier sessions. The secrets in `TokenCreated`, `CourierCreated` and
//! `SessionView` are the only ones the API ever shows, once, to whoever created them.

use super::states::RoleView;
use super::time;
use crate::locker::{CourierInfo, NewCourier, Session, TokenInfo};
use serde::Serialize;
use utoipa::ToSchema;

/// A token just created: the only time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    pub name: String,
    pub role: RoleView,
    pub token: String,
}

/// A token, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub name: String,
    pub role: RoleView,
    /// Extension: when the token was created.
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<TokenInfo> for TokenView {
    fn from(t: TokenInfo) -> Self {
        Self {
            name: t.name,
            role: t.role.into(),
            created_at: time(t.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

/// A courier just created: the only time its TOTP secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourierCreated {
    pub id: String,
    pub name: String,
    /// Base32, as authenticator apps take it.
    pub totp_secret: String,
    pub otpauth_url: String,
}

impl From<NewCourier> for CourierCreated {
    fn from(c: NewCourier) -> Self {
        Self {
            id: c.id.0,
            name: c.name,
            totp_secret: c.totp_secret,
            otpauth_url: c.otpauth_url,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourierView {
    pub id: String,
    pub name: String,
    pub active: bool,
}

impl From<CourierInfo> for CourierView {
    fn from(c: CourierInfo) -> Self {
        Self {
            id: c.id.0,
            name: c.name,
            active: c.active,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourierList {
    pub couriers: Vec<CourierView>,
}

/// A courier session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// A bearer token with the `courier` role. Absent when the paired kiosk page logged in (no
    /// `Authorization` header, its cookie instead): the session is then an HttpOnly cookie
    /// (`lockerd_courier`) that the page's script never sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// Extension: the courier's name, for a greeting.
    #[schema(example = "dana")]
    pub courier: String,
}

impl From<Session> for SessionView {
    fn from(s: Session) -> Self {
        Self {
            token: Some(s.token),
            expires_at: time(s.expires_at),
            courier: s.courier,
        }
    }
}
