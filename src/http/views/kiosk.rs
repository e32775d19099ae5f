//! What the kiosk's pairing and live feed answer.

use super::{CompartmentStateView, CompartmentView, DoorView, SizeView, time};
use crate::locker::Pairing;
use serde::Serialize;
use utoipa::ToSchema;

/// A one-time link that gives a browser a token it never sees: a kiosk's pairing link, or a
/// console sign-in link.
#[derive(Debug, Serialize, ToSchema)]
pub struct PairingView {
    /// The name of the token the link makes (a kiosk's, or an operator's for the console).
    #[schema(example = "kiosk-1")]
    pub name: String,
    /// The link to open in the browser (a path on this server), once, before `expires_at`:
    /// `/kiosk/pair?code=…` for a kiosk, `/console/#link=…` for the console. It carries a
    /// secret: hand it over like a password.
    #[schema(example = "/kiosk/pair?code=3f2a...")]
    pub url: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

impl From<Pairing> for PairingView {
    fn from(p: Pairing) -> Self {
        Self {
            url: p.path(),
            expires_at: time(p.expires_at),
            name: p.name,
        }
    }
}

/// One compartment as the kiosk shows it: never which parcel is inside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct KioskCompartment {
    pub id: String,
    pub size: SizeView,
    pub accessible: bool,
    pub state: CompartmentStateView,
    pub door: DoorView,
}

/// Free, assignable compartments of each size (exactly that size: a parcel of size X fits any
/// free compartment of size X or larger).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct FreeBySize {
    #[serde(rename = "S")]
    pub s: u32,
    #[serde(rename = "M")]
    pub m: u32,
    #[serde(rename = "L")]
    pub l: u32,
    #[serde(rename = "XL")]
    pub xl: u32,
}

/// The `data` of each `state` event of the kiosk's live feed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct KioskState {
    pub compartments: Vec<KioskCompartment>,
    pub free: FreeBySize,
}

impl FromIterator<CompartmentView> for KioskState {
    fn from_iter<I: IntoIterator<Item = CompartmentView>>(views: I) -> Self {
        let mut state = KioskState::default();
        for c in views {
            if c.available && c.state == CompartmentStateView::Free {
                let free = &mut state.free;
                *match c.size {
                    SizeView::S => &mut free.s,
                    SizeView::M => &mut free.m,
                    SizeView::L => &mut free.l,
                    SizeView::XL => &mut free.xl,
                } += 1;
            }
            state.compartments.push(KioskCompartment {
                id: c.id,
                size: c.size,
                accessible: c.accessible,
                state: c.state,
                door: c.door,
            });
        }
        state
    }
}
