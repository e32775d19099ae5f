//! Every (state, event) pair of both state machines, as tables: a change to a transition shows
//! up as one changed row.

use super::*;

const P: &str = "p-1";

fn compartment(state: CompartmentState) -> Compartment {
    use CompartmentState as S;
    let (door, parcel) = match state {
        S::Open => (Door::Open, Some(P)),
        S::Reserved | S::Occupied => (Door::Closed, Some(P)),
        S::Free | S::Disabled | S::Fault => (Door::Closed, None),
    };
    Compartment {
        state,
        door,
        parcel: parcel.map(ParcelId::from),
        ..Compartment::new("A1".into(), Size::M, false)
    }
}

#[test]
fn every_compartment_state_and_event() {
    use CompartmentState::*;
    let events = [
        CompartmentEvent::Reserved("p-2".into()),
        CompartmentEvent::Released,
        CompartmentEvent::DoorOpened,
        CompartmentEvent::DoorClosed {
            parcel_inside: true,
        },
        CompartmentEvent::DoorClosed {
            parcel_inside: false,
        },
        CompartmentEvent::Faulted,
        CompartmentEvent::Disabled,
        CompartmentEvent::Enabled,
    ];
    // Columns follow `events`; None = refused.
    #[rustfmt::skip]
    let table: [(CompartmentState, [Option<CompartmentState>; 8]); 6] = [
        (Free,     [Some(Reserved), None,          Some(Open),     Some(Free),     Some(Free),     Some(Fault), Some(Disabled), Some(Free)]),
        (Reserved, [None,           Some(Free),    Some(Open),     Some(Occupied), Some(Free),     Some(Fault), None,           None]),
        (Open,     [None,           Some(Open),    Some(Open),     Some(Occupied), Some(Free),     Some(Fault), Some(Disabled), Some(Open)]),
        (Occupied, [None,           Some(Free),    Some(Open),     Some(Occupied), Some(Free),     Some(Fault), Some(Disabled), Some(Occupied)]),
        (Disabled, [None,           Some(Disabled), Some(Disabled), Some(Disabled), Some(Disabled), Some(Fault), Some(Disabled), Some(Free)]),
        (Fault,    [None,           Some(Fault),   Some(Fault),    Some(Fault),    Some(Fault),    Some(Fault), Some(Disabled), Some(Free)]),
    ];
    for (state, expected) in table {
        for (event, want) in events.iter().zip(expected) {
            let got = compartment(state)
                .apply(event.clone())
                .ok()
                .map(|c| c.state);
            assert_eq!(got, want, "{state:?} + {event:?}");
        }
    }
}

#[test]
fn compartment_tracks_door_parcel_and_wear() {
    let free = compartment(CompartmentState::Free);
    let reserved = free.apply(CompartmentEvent::Reserved(P.into())).unwrap();
    assert_eq!(
        (reserved.parcel.as_ref().map(|p| p.as_str()), reserved.uses),
        (Some(P), 1)
    );
    let open = reserved.apply(CompartmentEvent::DoorOpened).unwrap();
    assert_eq!(open.door, Door::Open);
    let emptied = open
        .apply(CompartmentEvent::DoorClosed {
            parcel_inside: false,
        })
        .unwrap();
    assert_eq!((emptied.door, emptied.parcel), (Door::Closed, None));
    // A disabled compartment keeps its parcel and gives it back when enabled.
    let occupied = compartment(CompartmentState::Occupied);
    let back = occupied
        .apply(CompartmentEvent::Disabled)
        .and_then(|c| c.apply(CompartmentEvent::Enabled))
        .unwrap();
    assert_eq!(back.state, CompartmentState::Occupied);
    assert_eq!(back.parcel, occupied.parcel);
    // A door left open while disabled is still open when enabled.
    let disabled_open = compartment(CompartmentState::Disabled)
        .apply(CompartmentEvent::DoorOpened)
        .and_then(|c| c.apply(CompartmentEvent::Enabled))
        .unwrap();
    assert_eq!(disabled_open.state, CompartmentState::Open);
}

fn parcel(state: ParcelState, removal: Option<(RemovalKind, bool)>) -> Parcel {
    let mut p = Parcel::deposit(
        P.into(),
        "TRK-1".into(),
        Size::S,
        "A1".into(),
        Some("courier-1".into()),
        Timestamp(0),
    );
    p.state = state;
    p.removal = removal.map(|(kind, door_seen_open)| Removal {
        kind,
        door_seen_open,
    });
    p
}

/// A parcel's state as a short label: `stored`, `stored+pickup`, `stored+pickup(seen)`.
fn label(p: &Parcel) -> String {
    match p.removal {
        None => p.state.as_str().to_owned(),
        Some(r) if r.door_seen_open => format!("{}+{}(seen)", p.state.as_str(), r.kind.as_str()),
        Some(r) => format!("{}+{}", p.state.as_str(), r.kind.as_str()),
    }
}

/// A parcel's state and removal in progress (kind, door seen open).
type Before = (ParcelState, Option<(RemovalKind, bool)>);

#[test]
fn every_parcel_state_and_event() {
    use ParcelState::*;
    use RemovalKind::*;
    let events = [
        ParcelEvent::DoorOpened,
        ParcelEvent::DoorClosed,
        ParcelEvent::Stored {
            expires_at: Timestamp(100),
        },
        ParcelEvent::Reopened,
        ParcelEvent::Moved("B1".into()),
        ParcelEvent::DepositFailed,
        ParcelEvent::RemovalStarted(Pickup),
        ParcelEvent::RemovalStarted(Cancel),
        ParcelEvent::RemovalStarted(Return),
        ParcelEvent::RemovalFailed,
        ParcelEvent::Expired,
        ParcelEvent::Extended {
            until: Timestamp(200),
        },
    ];
    let x = "refused";
    // Columns follow `events`.
    #[rustfmt::skip]
    let table: [(Before, [&str; 12]); 13] = [
        ((Opening, None),                  ["open", "closed", x, x, "opening", "cancelled", x, x, x, x, x, x]),
        ((Open, None),                     ["open", "closed", x, x, "opening", x, x, "open+cancel(seen)", x, x, x, x]),
        ((Closed, None),                   ["open", "closed", "stored", "opening", x, x, x, "closed+cancel", x, x, x, x]),
        ((Stored, None),                   ["stored", "stored", x, x, x, x, "stored+pickup", x, x, x, "expired", "stored"]),
        ((Stored, Some((Pickup, false))),  ["stored+pickup(seen)", "stored+pickup", x, x, x, x, x, x, x, "stored", x, x]),
        ((Stored, Some((Pickup, true))),   ["stored+pickup(seen)", "collected", x, x, x, x, x, x, x, x, x, x]),
        ((Expired, None),                  ["expired", "expired", x, x, x, x, x, x, "expired+return", x, x, "stored"]),
        ((Expired, Some((Return, false))), ["expired+return(seen)", "expired+return", x, x, x, x, x, x, x, "expired", x, x]),
        ((Expired, Some((Return, true))),  ["expired+return(seen)", "returned", x, x, x, x, x, x, x, x, x, x]),
        ((Closed, Some((Cancel, false))),  ["closed+cancel(seen)", "closed+cancel", x, x, x, x, x, x, x, "closed", x, x]),
        ((Open, Some((Cancel, true))),     ["open+cancel(seen)", "cancelled", x, x, x, x, x, x, x, x, x, x]),
        ((Collected, None),                [x; 12]),
        ((Cancelled, None),                [x; 12]),
    ];
    for ((state, removal), expected) in table {
        for (event, want) in events.iter().zip(expected) {
            let before = parcel(state, removal);
            let got = before
                .apply(event.clone(), Timestamp(50))
                .map(|p| label(&p))
                .unwrap_or_else(|_| x.to_owned());
            assert_eq!(got, want, "{} + {event:?}", label(&before));
        }
    }
}

#[test]
fn returned_parcels_refuse_everything() {
    let returned = parcel(ParcelState::Returned, None);
    assert!(
        returned
            .apply(ParcelEvent::DoorOpened, Timestamp(1))
            .is_err()
    );
    assert!(
        returned
            .apply(
                ParcelEvent::Extended {
                    until: Timestamp(9)
                },
                Timestamp(1)
            )
            .is_err()
    );
}

#[test]
fn parcel_records_its_times_and_compartment() {
    let opened = parcel(ParcelState::Opening, None)
        .apply(ParcelEvent::DoorOpened, Timestamp(10))
        .unwrap();
    let closed = opened
        .apply(ParcelEvent::DoorClosed, Timestamp(20))
        .unwrap();
    assert_eq!(closed.closed_at, Some(Timestamp(20)));
    let stored = closed
        .apply(
            ParcelEvent::Stored {
                expires_at: Timestamp(99),
            },
            Timestamp(30),
        )
        .unwrap();
    assert_eq!(
        (stored.stored_at, stored.expires_at),
        (Some(Timestamp(30)), Some(Timestamp(99)))
    );
    let collected = stored
        .apply(
            ParcelEvent::RemovalStarted(RemovalKind::Pickup),
            Timestamp(40),
        )
        .and_then(|p| p.apply(ParcelEvent::DoorOpened, Timestamp(41)))
        .and_then(|p| p.apply(ParcelEvent::DoorClosed, Timestamp(42)))
        .unwrap();
    assert_eq!(
        (collected.state, collected.ended_at),
        (ParcelState::Collected, Some(Timestamp(42)))
    );
    let moved = opened
        .apply(ParcelEvent::Moved("C1".into()), Timestamp(11))
        .unwrap();
    assert_eq!(moved.compartment.as_ref().map(|c| c.as_str()), Some("C1"));
    let failed = parcel(ParcelState::Opening, None)
        .apply(ParcelEvent::DepositFailed, Timestamp(12))
        .unwrap();
    assert_eq!(failed.compartment, None);
}
