//! The event feed for the cloud-sync agent: read (sync, operator) and acknowledge (sync only).

use super::AppState;
use super::error::{ApiError, AuthErrors, BodyErrors, ErrorBody};
use super::extract::{Caller, Json, OPERATOR, Query, SYNC, page_limit};
use super::views::{EventPage, EventView};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(events))
        .routes(routes!(ack))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsAfter {
    /// Only events with a higher `seq`; default 0, i.e. from the start.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Page size, default 100; values over 1000 are taken as 1000.
    #[param(minimum = 1)]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Ack {
    /// The highest `seq` the agent has safely stored; at most the feed's `last_seq`.
    pub seq: i64,
}

/// Events after a sequence number, oldest first.
///
/// Roles: sync, operator. `parcel.stored` and `parcel.code_changed` carry `data.pickup_code`
/// until acknowledged; afterwards the code is scrubbed from the stored event.
///
/// Event types: `parcel.opening`, `parcel.stored`, `parcel.code_changed`, `parcel.collected`,
/// `parcel.expired`, `parcel.returned`, `parcel.cancelled` (data: the parcel's `parcel_id`,
/// `tracking_id`, `state`, `size`, `compartment`, `courier`, and the times `deposited_at`,
/// `closed_at`, `stored_at`, `expires_at`, `ended_at`, `delivered_by` (what admitted the
/// parcel: `courier:<courier name>` for a courier's deposit; later `reservation`,
/// `pin:<access code name>` or `open_drop`; `null` for parcels from before it was recorded),
/// plus `reason` or `cause` where one applies; `parcel.stored` adds `photo` (`true` when a
/// proof-of-delivery photo will be taken: a camera is configured and no reservation said
/// `photo: false`) and `pickup_code_issuer`: `locker` (the code is in `pickup_code`)
/// or `cloud` (a reservation's code, never repeated here; if that code turned out to be another
/// parcel's live code, a `parcel.code_changed` with a new code and the `reason` follows at
/// once)); `parcel.photo_taken` (`parcel_id`, `bytes`, `sha256`: lowercase hex of the JPEG)
/// once the photo is saved: fetch it with `GET /api/v1/parcels/{id}/photo` for the delivery
/// notice; `door.left_open`, `door.forced` (`compartment`, `parcel_id`, `cause`);
/// `compartment.fault` (`compartment`, `reason`, `purpose`, `parcel_id`);
/// `compartment.disabled`, `compartment.enabled` (`compartment`, `reason`, `actor`; a reason
/// starting `inspect:` means lockerd took it out of service until someone looks inside);
/// `maintenance.opened` (`compartment`, `actor`, `reason`); `keypad.locked_out` (`until`,
/// `lockout_s`, `lockouts_in_a_row`); `incident.reported` (see `POST /api/v1/incidents`);
/// `access_code.used` (`access_code_id`, `name`, `purpose`, `compartments`, `uses_left`; never
/// the code);
/// where a compartment has an occupancy sensor (its `occupied` is not `null`),
/// `parcel.not_detected` when a deposit's or delivery's door closed and the sensor still reads
/// empty, and `parcel.left_behind` when a pickup's door closed and it still reads occupied
/// (`parcel_id`, `tracking_id`, `compartment`, `occupied`; the parcel's state does not change).
/// Extensions: `security.mass_open` (`credential`, `scope`: `credential` or `locker`, `limit`,
/// `window_s`) when door openings are refused at a ceiling, once per run of refusals;
/// `bus.down` (`bus`, `error`) when a hardware bus stops
/// answering (its compartments are unavailable meanwhile) and `bus.up` (`bus`) when it answers
/// again; `audit.head` (`seq`, `hash`: the last audit log entry's seq and its hash in lowercase
/// hex, as `GET /api/v1/audit` shows it) at every start and then at most hourly when the log
/// grew. Keep them: an entry up to an anchored `seq` can no longer be rewritten unnoticed.
#[utoipa::path(
    get,
    path = "/api/v1/sync/events",
    params(EventsAfter),
    tag = "sync",
    security(("bearer" = ["sync", "operator"])),
    responses(
        (status = 200, description = "a page of events", body = EventPage),
        (status = 400, description = "`invalid_request`: a bad `after` or `limit`", body = ErrorBody),
        AuthErrors,
    )
)]
async fn events(
    _: Caller<{ SYNC | OPERATOR }>,
    State(state): State<AppState>,
    Query(query): Query<EventsAfter>,
) -> Result<Json<EventPage>, ApiError> {
    let after = query.after.unwrap_or(0);
    if after < 0 {
        let msg = "invalid query: after: must be at least 0";
        return Err(ApiError::InvalidRequest(msg.to_owned()));
    }
    let limit = page_limit(query.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let (events, last_seq) = state.locker.events(after, limit).await?;
    Ok(Json(EventPage {
        events: events.into_iter().map(EventView::from).collect(),
        last_seq,
    }))
}

/// Acknowledge events up to `seq`: without `[sync.push]`, their pickup codes are scrubbed, and
/// they may be pruned after the retention period.
///
/// Roles: sync. Operators may read the feed but not acknowledge it. The acknowledgement never
/// moves backwards (a lower `seq` answers `204` and changes nothing). A `seq` past the feed's
/// `last_seq` is refused with `400 invalid_request`: nobody can have read it. Each move is in
/// the audit log (`sync.acked`). With `[sync.push]` the pull acknowledgement is the pull agent's
/// own cursor: push keeps its cursor, and codes are scrubbed and events pruned only once push
/// has delivered them, so an acknowledgement can make the locker forget nothing the push
/// endpoint has not got.
#[utoipa::path(
    post,
    path = "/api/v1/sync/ack",
    tag = "sync",
    security(("bearer" = ["sync"])),
    responses(
        (status = 204, description = "acknowledged"),
        BodyErrors,
        AuthErrors,
    )
)]
async fn ack(
    Caller(agent): Caller<SYNC>,
    State(state): State<AppState>,
    Json(body): Json<Ack>,
) -> Result<StatusCode, ApiError> {
    state.locker.ack(body.seq, &agent).await?;
    Ok(StatusCode::NO_CONTENT)
}
