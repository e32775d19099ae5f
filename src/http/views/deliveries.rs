//! Deliveries without a courier account and access codes.

use super::parcels::{DepositState, DepositView, SizedCompartmentRef};
use super::{opt_time, time};
use crate::domain::{AccessCode, CodePurpose};
use crate::locker::{DeliveryOpened, NewAccessCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A delivery whose compartment door has been seen open, and its own session.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub parcel_id: String,
    pub compartment: SizedCompartmentRef,
    pub state: DepositState,
    /// A `courier`-role bearer token that reaches only this parcel (confirm, reopen, resize,
    /// cancel). Absent when the paired kiosk page made the delivery: the session is then the
    /// HttpOnly cookie `lockerd_courier`, which the page's script never sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// When the session ends at the latest; it also ends once the parcel is stored or cancelled.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

impl From<DeliveryOpened> for DeliveryView {
    fn from(d: DeliveryOpened) -> Self {
        let deposit = DepositView::from(d.opened);
        Self {
            parcel_id: deposit.parcel_id,
            compartment: deposit.compartment,
            state: deposit.state,
            token: Some(d.token),
            expires_at: time(d.expires_at),
        }
    }
}

/// What an access code is for.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodePurposeView {
    /// A `pin` for `POST /api/v1/deliveries`.
    Delivery,
    /// A standing pickup code: collects every stored parcel in its scope.
    Pickup,
}

impl From<CodePurpose> for CodePurposeView {
    fn from(p: CodePurpose) -> Self {
        match p {
            CodePurpose::Delivery => Self::Delivery,
            CodePurpose::Pickup => Self::Pickup,
        }
    }
}

impl From<CodePurposeView> for CodePurpose {
    fn from(p: CodePurposeView) -> Self {
        match p {
            CodePurposeView::Delivery => Self::Delivery,
            CodePurposeView::Pickup => Self::Pickup,
        }
    }
}

/// An access code, without its code.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessCodeView {
    pub id: String,
    pub name: String,
    pub purpose: CodePurposeView,
    /// Uses left; `null`: unlimited.
    pub uses_left: Option<u32>,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// The compartments it works for; `null`: all.
    pub compartments: Option<Vec<String>>,
    /// Extension: when it was made.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Extension: when it was last used.
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
}

impl From<AccessCode> for AccessCodeView {
    fn from(c: AccessCode) -> Self {
        Self {
            id: c.id,
            name: c.name,
            purpose: c.purpose.into(),
            uses_left: c.uses_left,
            expires_at: opt_time(c.expires_at),
            compartments: c
                .compartments
                .map(|ids| ids.into_iter().map(|id| id.0).collect()),
            created_at: time(c.created_at),
            last_used_at: opt_time(c.last_used_at),
        }
    }
}

/// An access code just made: the only time its code is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessCodeCreated {
    pub id: String,
    pub name: String,
    pub purpose: CodePurposeView,
    /// The digits to type at the keypad (`policy.code_length` of them). Shown only here.
    #[schema(example = "830215")]
    pub code: String,
    pub uses_left: Option<u32>,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    pub compartments: Option<Vec<String>>,
}

impl From<NewAccessCode> for AccessCodeCreated {
    fn from(n: NewAccessCode) -> Self {
        let view = AccessCodeView::from(n.access_code);
        Self {
            id: view.id,
            name: view.name,
            purpose: view.purpose,
            code: n.code.expose().to_owned(),
            uses_left: view.uses_left,
            expires_at: view.expires_at,
            compartments: view.compartments,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessCodeList {
    pub access_codes: Vec<AccessCodeView>,
}
