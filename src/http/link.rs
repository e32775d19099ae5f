//! What the MQTT link (`crate::mqtt`) asks of the API: a command run through the very function
//! behind its local route, answered with that route's status and JSON body; the state that
//! `P/state` carries (the `/healthz` status and buses, the `GET /api/v1/compartments` list).
//!
//! A command's `args` are the route's path parameter (`compartment`, `tracking_id`,
//! `parcel_id`, `id`) and its body's fields, read as the route reads its body, so a bad field
//! gets the same `400 invalid_request` message.

use super::compartments::{Reason, run_disable, run_enable, run_open};
use super::deliveries::{NewAccessCode, run_create_access_code, run_delete_access_code};
use super::error::{ApiError, ErrorBody, ErrorDetail};
use super::extract::body_from_value;
use super::health::health_view;
use super::live::LiveView;
use super::parcels::{NewExpiry, run_extend, run_new_code};
use super::reservations::{NewReservation, run_reserve, run_withdraw};
use super::views::{HealthStatus, HealthView};
use super::{BODY_LIMIT, Monitoring};
use crate::locker::{Locker, Principal};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The names of the commands, in the order of the table in the README.
pub const COMMANDS: [&str; 9] = [
    "reserve",
    "withdraw",
    "open",
    "disable",
    "enable",
    "extend",
    "new_code",
    "create_access_code",
    "delete_access_code",
];

/// The API's side of the MQTT link.
#[derive(Clone)]
pub struct Link {
    locker: Locker,
    monitoring: Monitoring,
    live: Arc<LiveView>,
}

/// What `P/state` and Home Assistant show of the locker.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkState {
    /// `/healthz`'s `status` is `degraded`.
    pub degraded: bool,
    /// The `/healthz` buses, as JSON.
    pub buses: Value,
    /// The body of `GET /api/v1/compartments`: `{"compartments": [...]}`.
    pub compartments: Value,
}

impl Link {
    pub fn new(locker: Locker, monitoring: Monitoring) -> Link {
        Link {
            live: Arc::new(LiveView::new(locker.clone())),
            locker,
            monitoring,
        }
    }

    /// Runs command `name` as `actor` and answers as its local route would: status and body
    /// (`null` for an empty body such as a `204`).
    pub async fn command(&self, name: &str, args: Value, actor: Principal) -> (u16, Value) {
        let response = match self.dispatch(name, args, actor).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        };
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), BODY_LIMIT)
            .await
            .ok()
            .filter(|b| !b.is_empty())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        (status, body)
    }

    async fn dispatch(
        &self,
        name: &str,
        args: Value,
        actor: Principal,
    ) -> Result<Response, ApiError> {
        let l = &self.locker;
        let Value::Object(mut args) = args else {
            return Err(ApiError::InvalidRequest(
                "args: expected a JSON object".into(),
            ));
        };
        match name {
            "reserve" => {
                let id = take(&mut args, "tracking_id")?;
                let body: NewReservation = body_from_value(Value::Object(args))?;
                run_reserve(l, id, body, actor).await
            }
            "withdraw" => run_withdraw(l, take(&mut args, "tracking_id")?, actor).await,
            "open" => {
                let id = take(&mut args, "compartment")?;
                run_open(
                    l,
                    id,
                    body_from_value::<Reason>(Value::Object(args))?,
                    actor,
                )
                .await
            }
            "disable" => {
                let id = take(&mut args, "compartment")?;
                let body = body_from_value::<Reason>(Value::Object(args))?;
                run_disable(l, id, body, actor).await
            }
            "enable" => run_enable(l, take(&mut args, "compartment")?, actor).await,
            "extend" => {
                let id = take(&mut args, "parcel_id")?;
                let body = body_from_value::<NewExpiry>(Value::Object(args))?;
                run_extend(l, id, body, actor).await
            }
            "new_code" => run_new_code(l, take(&mut args, "parcel_id")?, actor).await,
            "create_access_code" => {
                let body = body_from_value::<NewAccessCode>(Value::Object(args))?;
                run_create_access_code(l, body, actor).await
            }
            "delete_access_code" => run_delete_access_code(l, take(&mut args, "id")?, actor).await,
            other => Err(ApiError::InvalidRequest(format!(
                "command: unknown command {:?}; known: {}",
                other.chars().take(64).collect::<String>(),
                COMMANDS.join(", ")
            ))),
        }
    }

    /// The locker as `P/state` shows it.
    pub async fn state(&self) -> Result<LinkState, ApiError> {
        let (_, health): (_, HealthView) = health_view(&self.locker, &self.monitoring).await;
        let snapshot = self.live.snapshot().await?;
        let compartments: Value = serde_json::from_slice(&snapshot.list).unwrap_or(Value::Null);
        Ok(LinkState {
            degraded: matches!(health.status, HealthStatus::Degraded),
            buses: serde_json::to_value(&health.buses).unwrap_or(Value::Null),
            compartments,
        })
    }

    pub fn locker(&self) -> &Locker {
        &self.locker
    }
}

/// The route's path parameter, given in `args` as the string `key`.
fn take(args: &mut Map<String, Value>, key: &str) -> Result<String, ApiError> {
    match args.remove(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::InvalidRequest(format!(
            "args.{key}: required, a non-empty string"
        ))),
    }
}

/// An error body as every route answers: `{"error": {"code", "message"}}`.
pub fn error_body(code: &'static str, message: impl Into<String>) -> Value {
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message: message.into(),
            retry_after_s: None,
            attempts_left: None,
        },
    };
    serde_json::to_value(body).unwrap_or_else(|_| json!({}))
}
