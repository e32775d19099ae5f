//! Counters of what the daemon did, for `GET /metrics`: HTTP requests, door events, keypad
//! failures and lockouts, latch pulses and bus requests. Each part of the daemon counts its own
//! doings here; `http::metrics` registers them next to the gauges it reads at scrape time.
//!
//! Cheap to clone (every metric is an `Arc` inside) and lock-free to count, so counting never
//! slows a request or the hardware loop.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Every label comes from a fixed set, whatever a client sends: a series is kept for the life
/// of the daemon, so a label copied from a request would let anyone grow its memory and
/// `/metrics` without bound (issue 14).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// One of [`METHODS`], or `other`.
    pub method: &'static str,
    /// The route's template (`/api/v1/parcels/{id}`), never the raw path: ids would explode
    /// the number of series. The router's templates are a fixed set; `unmatched` for any
    /// other path.
    pub route: String,
    pub status: u16,
}

/// The methods counted under their own name; any other is `other`.
pub const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

/// `method`'s label: its name if it is one of [`METHODS`], else `other`.
pub fn method_label(method: &str) -> &'static str {
    METHODS
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("other")
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BusLabels {
    pub bus: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DoorLabels {
    /// `opened` (asked for), `closed`, `forced`, `left_open`.
    pub event: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CompartmentLabels {
    pub compartment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlertLabels {
    /// `parcel.not_detected`, `parcel.left_behind`.
    pub event: &'static str,
}

/// Bus request latency buckets, in seconds: a Modbus TCP request on a LAN takes about a
/// millisecond, an RTU request at 9600 baud about ten, a timeout hundreds.
const BUS_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Clone)]
pub struct Telemetry {
    pub http_requests: Family<HttpLabels, Counter>,
    pub door_events: Family<DoorLabels, Counter>,
    pub keypad_failures: Counter,
    pub keypad_lockouts: Counter,
    pub latch_pulses: Family<BusLabels, Counter>,
    pub latch_failures: Family<BusLabels, Counter>,
    pub bus_requests: Family<BusLabels, Histogram>,
    pub bus_errors: Family<BusLabels, Counter>,
    /// 1 while a compartment's occupancy sensor reads something inside, 0 while it reads
    /// empty; absent without a sensor or while its bus does not answer.
    pub occupied: Family<CompartmentLabels, Gauge>,
    pub occupancy_alerts: Family<AlertLabels, Counter>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            http_requests: Family::default(),
            door_events: Family::default(),
            keypad_failures: Counter::default(),
            keypad_lockouts: Counter::default(),
            latch_pulses: Family::default(),
            latch_failures: Family::default(),
            bus_requests: Family::new_with_constructor(|| Histogram::new(BUS_BUCKETS)),
            bus_errors: Family::default(),
            occupied: Family::default(),
            occupancy_alerts: Family::default(),
        }
    }
}

impl Telemetry {
    /// Makes the counters of `bus` exist at 0, so a scrape shows "no failures" rather than
    /// nothing (an absent series cannot be told from a missing exporter).
    pub fn start_bus(&self, bus: &str) {
        let labels = BusLabels {
            bus: bus.to_owned(),
        };
        let _ = self.latch_pulses.get_or_create(&labels);
        let _ = self.latch_failures.get_or_create(&labels);
        let _ = self.bus_errors.get_or_create(&labels);
    }

    pub fn occupancy_alert(&self, event: &'static str) {
        self.occupancy_alerts
            .get_or_create(&AlertLabels { event })
            .inc();
    }

    /// What the occupancy sensor of `compartment` reads now (`None`: not known).
    pub fn set_occupied(&self, compartment: &str, occupied: Option<bool>) {
        let labels = CompartmentLabels {
            compartment: compartment.to_owned(),
        };
        match occupied {
            Some(occupied) => {
                self.occupied
                    .get_or_create(&labels)
                    .set(i64::from(occupied));
            }
            None => {
                self.occupied.remove(&labels);
            }
        }
    }

    pub fn door(&self, event: &'static str) {
        self.door_events.get_or_create(&DoorLabels { event }).inc();
    }

    /// Adds every metric to `registry` (prefix `lockerd_`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            self.http_requests.clone(),
        );
        registry.register(
            "door_events",
            "Door events: opened (as asked), closed, forced, left_open",
            self.door_events.clone(),
        );
        registry.register(
            "compartment_occupied",
            "Occupancy sensors: 1 while one reads something inside, 0 while it reads empty",
            self.occupied.clone(),
        );
        registry.register(
            "occupancy_alerts",
            "Closings the occupancy sensor contradicts: parcel.not_detected, parcel.left_behind",
            self.occupancy_alerts.clone(),
        );
        registry.register(
            "keypad_failures",
            "Wrong, used, expired or unknown pickup codes entered",
            self.keypad_failures.clone(),
        );
        registry.register(
            "keypad_lockouts",
            "Times the keypad locked after too many failures",
            self.keypad_lockouts.clone(),
        );
        registry.register(
            "latch_pulses",
            "Latch pulses fired, by bus",
            self.latch_pulses.clone(),
        );
        registry.register(
            "latch_failures",
            "Openings whose latch gave up (the compartment went to fault), by bus",
            self.latch_failures.clone(),
        );
        // The unit is in the name rather than a UNIT line: strict OpenMetrics parsers refuse a
        // unit on a histogram.
        registry.register(
            "bus_request_duration_seconds",
            "How long each door read or all-off request to a bus took, by bus",
            self.bus_requests.clone(),
        );
        registry.register(
            "bus_errors",
            "Bus requests that failed (timeout, disconnect, exception), by bus",
            self.bus_errors.clone(),
        );
    }
}
