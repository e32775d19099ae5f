//! Deliveries from drivers without a courier account: a parcel the owner pre-advised ("scan to
//! open", with the reservation's deposit PIN when it has one), a delivery access code (a PIN
//! from a shop's delivery instructions), or `[delivery] open_drop`; checked in that order.
//!
//! Admission, the keypad throttle, the access code's use, the parcel and the delivery's own
//! session are written in one transaction; then the door opens as for a courier's deposit. The
//! session is a `courier`-role token that reaches only its parcel (confirm, reopen, resize,
//! cancel) and works while the parcel is being deposited. A right PIN never clears the keypad's
//! failures: whoever holds a delivery PIN must not be able to reset a guesser's count.

use super::assign::Placement;
use super::core::Inner;
use super::deposit::{Depositor, check_tracking_id};
use super::limits::Opening;
use super::secrets::{constant_time_eq, new_token, token_hash};
use super::tx::Tx;
use super::{DeliveryOpened, Locker, LockerError, Principal, Result, Role};
use crate::domain::{
    AccessCode, CodePurpose, CompartmentId, DeliveredBy, ParcelId, ParcelState, Size, Timestamp,
};
use crate::store;
use serde_json::json;

/// A delivery as the kiosk sends it.
#[derive(Debug, Clone)]
pub struct DeliveryRequest {
    pub tracking_id: String,
    pub size: Option<Size>,
    /// A reservation's deposit PIN or a delivery access code; never logged.
    pub pin: Option<crate::domain::PickupCode>,
}

/// What admitted a delivery.
enum Admission {
    Reservation { size: Size },
    Code(AccessCode),
    OpenDrop,
}

/// A delivery admitted and its compartment reserved, before its door opens.
struct Begun {
    parcel_id: ParcelId,
    compartment: CompartmentId,
    token: String,
    expires_at: Timestamp,
}

impl Inner {
    fn begin_delivery(&self, actor: &str, request: &DeliveryRequest) -> Result<Begun> {
        check_tracking_id(&request.tracking_id)?;
        let pin = request.pin.as_ref().map(|p| p.expose().to_owned());
        self.tx(|tx| {
            // A PIN is a code typed at the keypad: while the keypad is locked, none is tried.
            let throttle = match &pin {
                Some(_) => match self.keypad_throttle(tx)? {
                    Ok(throttle) => Some(throttle),
                    Err(locked) => return Ok(Err(locked)),
                },
                None => None,
            };
            let pin_hash = pin
                .as_deref()
                .filter(|p| self.well_formed_code(p))
                .map(|p| self.key.code_hash(p));
            let (admission, pin_matched) = self.admit(tx, &request.tracking_id, pin_hash)?;
            if let (Some(throttle), false) = (throttle, pin_matched) {
                self.keypad_failed(tx, throttle)?;
            }
            let Some(admission) = admission else {
                return Ok(Err(LockerError::DeliveryNotAllowed));
            };
            match self.admitted(tx, actor, request, admission) {
                Err(
                    e @ (LockerError::DuplicateTrackingId
                    | LockerError::NoCompartmentAvailable
                    | LockerError::HardwareUnavailable),
                ) => Ok(Err(e)),
                other => other,
            }
        })?
    }

    /// What admits a delivery of `tracking_id` with a PIN hashing to `pin`, and whether the PIN
    /// matched something (a PIN that matches nothing is one keypad failure).
    fn admit(
        &self,
        tx: &Tx<'_>,
        tracking_id: &str,
        pin: Option<Vec<u8>>,
    ) -> Result<(Option<Admission>, bool)> {
        let delivery = &self.config.delivery;
        if let Some(reservation) = self.reservation_for_deposit(tx, tracking_id)? {
            let size = reservation.size;
            // A reservation with a deposit PIN admits only with it, whatever else would.
            if let Some(wanted) = store::reservation_pin_hash(tx, tracking_id)? {
                let matched = pin.as_deref().is_some_and(|p| constant_time_eq(p, &wanted));
                return Ok((matched.then_some(Admission::Reservation { size }), matched));
            }
            if delivery.scan_to_open {
                return Ok((Some(Admission::Reservation { size }), false));
            }
        }
        if let Some(hash) = &pin
            && let Some(code) = self.access_code(tx, hash, CodePurpose::Delivery)?
        {
            return Ok((Some(Admission::Code(code)), true));
        }
        Ok((delivery.open_drop.then_some(Admission::OpenDrop), false))
    }

    /// The parcel of an admitted delivery, its compartment reserved, the access code's use
    /// counted and the delivery's session made.
    fn admitted(
        &self,
        tx: &Tx<'_>,
        actor: &str,
        request: &DeliveryRequest,
        admission: Admission,
    ) -> Result<Result<Begun>> {
        let requested = request.size.unwrap_or(Size::S);
        let (by, size, within) = match &admission {
            Admission::Reservation { size } => (DeliveredBy::Reservation, *size, None),
            Admission::Code(code) => (
                DeliveredBy::Pin(code.name.clone()),
                requested,
                code.compartments.clone(),
            ),
            Admission::OpenDrop => (DeliveredBy::OpenDrop, requested, None),
        };
        let depositor = Depositor {
            courier: None,
            by,
            opening: Opening::Delivery,
        };
        let placement = Placement {
            accessible: false,
            within,
        };
        let (parcel_id, compartment) = match self.deposit_in(
            tx,
            actor,
            &depositor,
            &request.tracking_id,
            size,
            &placement,
        )? {
            Ok(reserved) => reserved,
            Err(refused) => return Ok(Err(refused)),
        };
        if let Admission::Code(code) = &admission {
            self.use_access_code(tx, actor, code, std::slice::from_ref(&compartment))?;
        }
        let token = new_token();
        let expires_at = self.now().plus(self.config.policy.courier_session);
        store::insert_delivery_session(tx, &token_hash(&token), &parcel_id, expires_at)?;
        Ok(Ok(Begun {
            parcel_id,
            compartment,
            token,
            expires_at,
        }))
    }

    /// Ends a delivery's session: its parcel, if closed, is stored now.
    pub fn delivery_logout(&self, principal: &Principal, parcel: &ParcelId) -> Result<()> {
        self.tx(|tx| {
            let actor = principal.audit_actor();
            let found = self.parcel(tx, parcel.as_str())?;
            if found.state == ParcelState::Closed && found.removal.is_none() {
                let stored = self.store_parcel(tx, &found, "delivery session ended")?;
                self.audit_stored(tx, &actor, &stored, "delivery session ended")?;
            }
            store::delete_delivery_sessions_of(tx, parcel)?;
            self.audit(
                tx,
                &actor,
                "delivery.session_ended",
                json!({"parcel_id": parcel}),
            )
        })
    }
}

impl Locker {
    /// A delivery from a driver without a courier account, at `kiosk`: admitted, its
    /// compartment open, and its own session to confirm, resize, reopen or cancel it.
    pub async fn deliver(
        &self,
        kiosk: &Principal,
        request: DeliveryRequest,
    ) -> Result<DeliveryOpened> {
        if !matches!(kiosk.role, Role::Kiosk | Role::Operator) {
            return Err(LockerError::Forbidden);
        }
        let actor = kiosk.audit_actor();
        let begun = self
            .blocking(move |inner| inner.begin_delivery(&actor, &request))
            .await?;
        let opened = self
            .deposit_opened(begun.parcel_id, begun.compartment)
            .await?;
        Ok(DeliveryOpened {
            opened,
            token: begun.token,
            expires_at: begun.expires_at,
        })
    }
}
