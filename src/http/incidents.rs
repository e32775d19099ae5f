//! Incident reports (kiosk, operator): a recipient's "my compartment was empty" becomes an
//! `incident.reported` event carrying the compartment's door history.

use super::AppState;
use super::error::{ApiError, AuthErrors, BodyErrors, ErrorBody};
use super::extract::{Caller, Json, KIOSK, OPERATOR};
use crate::locker::IncidentReport;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(report))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    Empty,
    Damaged,
    WrongItem,
    DoorStuck,
    Other,
}

impl IncidentKind {
    fn as_str(self) -> &'static str {
        match self {
            IncidentKind::Empty => "empty",
            IncidentKind::Damaged => "damaged",
            IncidentKind::WrongItem => "wrong_item",
            IncidentKind::DoorStuck => "door_stuck",
            IncidentKind::Other => "other",
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    pub kind: IncidentKind,
    /// The parcel concerned, e.g. the one the kiosk just opened.
    pub parcel_id: Option<String>,
    /// The compartment concerned; defaults to the parcel's.
    pub compartment: Option<String>,
    /// Free text, at most 1000 characters.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentCreated {
    pub id: String,
}

/// Report a problem with a parcel or a compartment.
///
/// Roles: kiosk, operator. Publishes `incident.reported` with `incident_id`, `kind`,
/// `parcel_id`, `tracking_id`, `parcel_state`, `compartment`, `note`, `reporter` and
/// `door_history`: every time the compartment's door was seen open or closed since the parcel
/// was deposited (or, with no parcel, in the last 24 hours), oldest first, each
/// `{"at", "door": "open"|"closed", "cause", "parcel_id"}` where `cause` is what the opening was
/// for (`deposit`, `reopen`, `pickup`, `cancel`, `return`, `maintenance`) or `forced`; a closing
/// carries the cause of the opening it ended. A `parcel_id` or `compartment` that does not
/// exist is `404 not_found`.
///
/// At most 10 reports about one compartment (the one named, else the parcel's) per UTC day, and
/// 20 about no compartment in all; beyond that `429 rate_limited` until the next UTC midnight
/// (`Retry-After`). The kiosk is in public: without a cap its credential could fill the disk.
#[utoipa::path(
    post,
    path = "/api/v1/incidents",
    tag = "incidents",
    security(("bearer" = ["kiosk", "operator"])),
    responses(
        (status = 201, description = "reported", body = IncidentCreated),
        (status = 404, description = "`not_found`: no such parcel or compartment", body = ErrorBody),
        (status = 429, description = "`rate_limited`: today's reports about this compartment (or \
            about none) reached the cap", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds until the next UTC day"))),
        BodyErrors,
        AuthErrors,
    )
)]
async fn report(
    Caller(reporter): Caller<{ KIOSK | OPERATOR }>,
    State(state): State<AppState>,
    Json(body): Json<NewIncident>,
) -> Result<(StatusCode, Json<IncidentCreated>), ApiError> {
    let report = IncidentReport {
        kind: body.kind.as_str(),
        parcel: body.parcel_id,
        compartment: body.compartment,
        note: body.note,
    };
    let id = state.locker.report_incident(&reporter, report).await?;
    Ok((StatusCode::CREATED, Json(IncidentCreated { id })))
}
