//! Wire names of the domain's states, sizes and roles.

use crate::domain::{CompartmentState, Door, ParcelState, RemovalKind, Size};
use crate::locker::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleView {
    Kiosk,
    Courier,
    Operator,
    Sync,
}

impl From<Role> for RoleView {
    fn from(r: Role) -> Self {
        match r {
            Role::Kiosk => Self::Kiosk,
            Role::Courier => Self::Courier,
            Role::Operator => Self::Operator,
            Role::Sync => Self::Sync,
        }
    }
}

/// A compartment or parcel size, smallest first; a compartment holds parcels of its size or
/// smaller.
// Named `Size` in the OpenAPI document; the domain's `Size` knows nothing of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Size, example = "M")]
pub enum SizeView {
    S,
    M,
    L,
    XL,
}

impl From<Size> for SizeView {
    fn from(s: Size) -> Self {
        match s {
            Size::S => Self::S,
            Size::M => Self::M,
            Size::L => Self::L,
            Size::XL => Self::XL,
        }
    }
}

impl From<SizeView> for Size {
    fn from(s: SizeView) -> Self {
        match s {
            SizeView::S => Self::S,
            SizeView::M => Self::M,
            SizeView::L => Self::L,
            SizeView::XL => Self::XL,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CompartmentStateView {
    Free,
    Reserved,
    Open,
    Occupied,
    Disabled,
    Fault,
}

impl From<CompartmentState> for CompartmentStateView {
    fn from(s: CompartmentState) -> Self {
        use CompartmentState as S;
        match s {
            S::Free => Self::Free,
            S::Reserved => Self::Reserved,
            S::Open => Self::Open,
            S::Occupied => Self::Occupied,
            S::Disabled => Self::Disabled,
            S::Fault => Self::Fault,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DoorView {
    Open,
    Closed,
    Unknown,
}

impl From<Door> for DoorView {
    fn from(d: Door) -> Self {
        match d {
            Door::Open => Self::Open,
            Door::Closed => Self::Closed,
            Door::Unknown => Self::Unknown,
        }
    }
}

/// A parcel's state; also accepted as the `state` filter of the parcel list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParcelStateView {
    Opening,
    Open,
    Closed,
    Stored,
    Collected,
    Expired,
    Returned,
    Cancelled,
}

impl From<ParcelState> for ParcelStateView {
    fn from(s: ParcelState) -> Self {
        use ParcelState as S;
        match s {
            S::Opening => Self::Opening,
            S::Open => Self::Open,
            S::Closed => Self::Closed,
            S::Stored => Self::Stored,
            S::Collected => Self::Collected,
            S::Expired => Self::Expired,
            S::Returned => Self::Returned,
            S::Cancelled => Self::Cancelled,
        }
    }
}

impl From<ParcelStateView> for ParcelState {
    fn from(s: ParcelStateView) -> Self {
        use ParcelStateView as V;
        match s {
            V::Opening => Self::Opening,
            V::Open => Self::Open,
            V::Closed => Self::Closed,
            V::Stored => Self::Stored,
            V::Collected => Self::Collected,
            V::Expired => Self::Expired,
            V::Returned => Self::Returned,
            V::Cancelled => Self::Cancelled,
        }
    }
}

/// Why a parcel's door is being opened to take it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RemovalView {
    Pickup,
    Cancel,
    Return,
}

impl From<RemovalKind> for RemovalView {
    fn from(k: RemovalKind) -> Self {
        match k {
            RemovalKind::Pickup => Self::Pickup,
            RemovalKind::Cancel => Self::Cancel,
            RemovalKind::Return => Self::Return,
        }
    }
}
