//! `GET /metrics`: the daemon's state in the Prometheus text format (OpenMetrics), so a fleet
//! operator can alert on a locker that stopped syncing.
//!
//! One registry, built with the router; values that live elsewhere (the feed in the database,
//! the push task's state) are copied into its gauges when scraped, counters are the push task's
//! own. Later metrics join this registry.

use super::AppState;
use super::error::{ApiError, AuthErrors};
use super::extract::{Caller, OPERATOR};
use crate::sync::{MqttStatus, PushStatus};
use crate::telemetry::{HttpLabels, Telemetry};
use axum::extract::{FromRequestParts, State};
use axum::extract::{MatchedPath, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use utoipa_axum::{router::OpenApiRouter, routes};

const CONTENT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// The registry and the gauges set at each scrape.
pub(super) struct Metrics {
    registry: Registry,
    compartments: Family<StateLabels, Gauge>,
    parcels: Family<StateLabels, Gauge>,
    last_seq: Gauge,
    acked_seq: Gauge,
    pull_acked_seq: Gauge,
    unacked: Gauge,
    oldest_unacked_age: Gauge,
    keypad_locked: Gauge,
    keypad_lockouts: Gauge,
    /// With `[sync.push]` only: a locker that does not push has no push to be down.
    push: Option<PushGauges>,
    /// With `[mqtt]` only.
    mqtt: Option<MqttGauges>,
}

struct MqttGauges {
    status: MqttStatus,
    up: Gauge,
    last_publish: Gauge,
    published_seq: Gauge,
    outstanding: Gauge,
}

struct PushGauges {
    status: PushStatus,
    up: Gauge,
    last_success: Gauge,
    delivered_seq: Gauge,
}

impl Metrics {
    pub fn new(monitoring: &super::Monitoring, telemetry: &Telemetry) -> Metrics {
        let push = monitoring.push.clone();
        let mut registry = Registry::with_prefix("lockerd");
        telemetry.register(&mut registry);
        let r = &mut registry;
        // Fields are evaluated in the order written, which is the order of the exposition.
        Metrics {
            compartments: by_state(r, "compartments", "Configured compartments, by state"),
            parcels: by_state(
                r,
                "parcels",
                "Parcels in the database (history included), by state",
            ),
            last_seq: gauge(
                r,
                "events_last_seq",
                "The seq of the newest event in the sync feed",
            ),
            acked_seq: gauge(
                r,
                "events_acked_seq",
                "How far the cloud is known to have the feed: push's cursor with push, else the pull ack",
            ),
            pull_acked_seq: gauge(
                r,
                "events_pull_acked_seq",
                "The highest seq the pull agent acknowledged",
            ),
            unacked: gauge(
                r,
                "events_unacked",
                "Events the cloud has not acknowledged yet",
            ),
            oldest_unacked_age: gauge_in_seconds(
                r,
                "events_oldest_unacked_age",
                "How long the oldest unacknowledged event has waited; 0 when none waits",
            ),
            keypad_locked: gauge(
                r,
                "keypad_locked",
                "1 while the keypad is locked out and refuses every code, right or wrong",
            ),
            keypad_lockouts: gauge(
                r,
                "keypad_lockouts_in_a_row",
                "Keypad lockouts in a row; several mean someone keeps typing wrong codes",
            ),
            push: push.map(|status| PushGauges::new(r, status)),
            mqtt: monitoring
                .mqtt
                .clone()
                .map(|status| MqttGauges::new(r, status)),
            registry,
        }
    }
}

impl PushGauges {
    fn new(r: &mut Registry, status: PushStatus) -> PushGauges {
        let up = gauge(
            r,
            "push_up",
            "1 unless the last push attempt failed (or the push task is not running)",
        );
        r.register(
            "push_failures",
            "Push attempts that failed since start",
            status.failures_counter(),
        );
        PushGauges {
            up,
            last_success: gauge_in_seconds(
                r,
                "push_last_success_timestamp",
                "Unix time of the last delivered batch; 0 before the first",
            ),
            delivered_seq: gauge(
                r,
                "push_delivered_seq",
                "The highest seq the push endpoint accepted (push's own cursor)",
            ),
            status,
        }
    }
}

impl MqttGauges {
    fn new(r: &mut Registry, status: MqttStatus) -> MqttGauges {
        let up = gauge(
            r,
            "mqtt_up",
            "1 while the MQTT link is connected to its broker",
        );
        r.register(
            "mqtt_connection_failures",
            "MQTT connections that failed or dropped since start",
            status.failures_counter(),
        );
        MqttGauges {
            up,
            last_publish: gauge_in_seconds(
                r,
                "mqtt_last_publish_timestamp",
                "Unix time the broker last acknowledged an event; 0 before the first",
            ),
            published_seq: gauge(
                r,
                "mqtt_published_seq",
                "The highest seq the MQTT broker acknowledged (the link's own cursor)",
            ),
            outstanding: gauge(
                r,
                "mqtt_outstanding_events",
                "Events the MQTT broker has not acknowledged yet",
            ),
            status,
        }
    }
}

/// A gauge registered as `name`.
fn gauge(registry: &mut Registry, name: &str, help: &str) -> Gauge {
    let gauge = Gauge::default();
    registry.register(name, help, gauge.clone());
    gauge
}

/// A gauge in seconds, registered as `name` (the exposition adds `_seconds`).
fn gauge_in_seconds(registry: &mut Registry, name: &str, help: &str) -> Gauge {
    let gauge = Gauge::default();
    registry.register_with_unit(name, help, Unit::Seconds, gauge.clone());
    gauge
}

/// A gauge per state, registered as `name`.
fn by_state(registry: &mut Registry, name: &str, help: &str) -> Family<StateLabels, Gauge> {
    let family = Family::<StateLabels, Gauge>::default();
    registry.register(name, help, family.clone());
    family
}

/// The daemon's metrics.
///
/// Roles: operator. No token is needed when `api.metrics_public = true`. Prometheus text
/// (OpenMetrics 1.0): `lockerd_compartments{state}` (configured compartments),
/// `lockerd_parcels{state}` (history included), `lockerd_latch_pulses_total{bus}`,
/// `lockerd_latch_failures_total{bus}` (openings whose latch gave up),
/// `lockerd_bus_request_duration_seconds{bus}` (histogram of door reads and all-off requests;
/// for Modbus, request and answer), `lockerd_bus_errors_total{bus}`,
/// `lockerd_door_events_total{event}` (`opened`, `closed`, `forced`, `left_open`),
/// `lockerd_keypad_failures_total`, `lockerd_keypad_lockouts_total`, `lockerd_keypad_locked`
/// (1 while locked out: alert on it), `lockerd_keypad_lockouts_in_a_row`,
/// `lockerd_http_requests_total{method,route,status}` (`method`: GET, HEAD, POST, PUT,
/// DELETE, PATCH, OPTIONS, CONNECT, TRACE, or `other` for any other; `route`: the route's
/// template, `unmatched` for unknown paths), `lockerd_events_last_seq`, `lockerd_events_acked_seq` (how far the cloud is known
/// to have the feed: push's cursor with `[sync.push]`, else the pull acknowledgement),
/// `lockerd_events_pull_acked_seq`, `lockerd_events_unacked` (after `acked_seq`),
/// `lockerd_events_oldest_unacked_age_seconds` (0 when nothing waits)
/// and, with `[sync.push]`, `lockerd_push_up` (1 unless the last attempt failed or the push task
/// stopped), `lockerd_push_failures_total`, `lockerd_push_last_success_timestamp_seconds`
/// (0 before the first delivery) and `lockerd_push_delivered_seq` (push's own cursor, which a
/// pull acknowledgement never moves); with `[mqtt]`, `lockerd_mqtt_up` (1 while connected),
/// `lockerd_mqtt_connection_failures_total`, `lockerd_mqtt_last_publish_timestamp_seconds`,
/// `lockerd_mqtt_published_seq` and `lockerd_mqtt_outstanding_events`. Alert on the age of the oldest unacknowledged event: it grows
/// whenever the cloud is not getting events, by push or by pull.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "metrics",
    security(("bearer" = ["operator"]), ()),
    responses(
        (status = 200, description = "the metrics", content_type = "application/openmetrics-text", body = String),
        AuthErrors,
    )
)]
async fn metrics(State(state): State<AppState>, mut parts: Parts) -> Result<Response, ApiError> {
    if !state.monitoring.metrics_public {
        Caller::<OPERATOR>::from_request_parts(&mut parts, &state).await?;
    }
    let m = &state.metrics;
    let counts = state.locker.state_counts().await?;
    for (state, n) in counts.compartments {
        m.compartments.get_or_create(&StateLabels { state }).set(n);
    }
    for (state, n) in counts.parcels {
        m.parcels.get_or_create(&StateLabels { state }).set(n);
    }
    let feed = state.locker.feed_status().await?;
    let now = state.locker.now();
    m.last_seq.set(feed.last_seq);
    m.acked_seq.set(feed.acked_seq);
    m.pull_acked_seq.set(feed.pull_acked_seq);
    m.unacked.set(feed.last_seq - feed.acked_seq);
    let age = feed.oldest_unacked_at.map_or(0, |at| seconds(now.0 - at.0));
    m.oldest_unacked_age.set(age);
    let keypad = state.locker.keypad().await?;
    m.keypad_locked
        .set(i64::from(keypad.locked_until.is_some()));
    m.keypad_lockouts.set(i64::from(keypad.lockouts));
    if let Some(push) = &m.push {
        let s = push.status.snapshot();
        push.up
            .set(i64::from(s.enabled && s.consecutive_failures == 0));
        push.last_success
            .set(s.last_success_at.map_or(0, |t| seconds(t.0)));
        push.delivered_seq.set(feed.push_seq);
    }
    if let Some(mqtt) = &m.mqtt {
        let s = mqtt.status.snapshot();
        mqtt.up.set(i64::from(s.connected));
        mqtt.last_publish
            .set(s.last_publish_at.map_or(0, |t| seconds(t.0)));
        mqtt.published_seq.set(feed.mqtt_seq);
        mqtt.outstanding.set((feed.last_seq - feed.mqtt_seq).max(0));
    }
    let mut text = String::new();
    encode(&mut text, &m.registry)
        .map_err(|_| crate::locker::LockerError::Internal("cannot encode the metrics".into()))?;
    Ok(([(CONTENT_TYPE, CONTENT)], text).into_response())
}

/// Whole seconds of a span in milliseconds, never negative (a clock stepped back).
fn seconds(millis: i64) -> i64 {
    millis.max(0) / 1000
}

/// Counts every answered request by method, route template and status. Unknown paths count
/// under the route `unmatched` and unknown methods under `other`, so a scanner cannot create a
/// series per path or method it tries.
pub(super) async fn count_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = crate::telemetry::method_label(request.method().as_str());
    let response = next.run(request).await;
    let labels = HttpLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    state
        .locker
        .telemetry()
        .http_requests
        .get_or_create(&labels)
        .inc();
    response
}
