//! Every route that reads a JSON body, driven in-process through the real router
//! (`lockerd::http::router`) of a daemon on simulated hardware, and what any answer to any body
//! must be: shared by the `request_bodies` fuzz target and the body properties.
//!
//! The promise checked ([`Rig::judge`]): no panic and no 5xx; every status is one the OpenAPI
//! document gives for the route; an error is the API's JSON `{"error": {"code", "message"}}`
//! with a message, `400` is `invalid_request`, `413` is `payload_too_large`, and any other code
//! is one the document names (in backquotes) for that status. The callers hold valid tokens of
//! the right roles, so `unauthorized`, `forbidden` and `internal` are never right.

#![allow(dead_code)]

use Caller::{Courier, Kiosk, Operator};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use lockerd::config::Config;
use lockerd::daemon::{self, Options, Running};
use lockerd::http::{Monitoring, openapi, router};
use lockerd::locker::{Clock, ManualClock, Principal, Role};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

/// Who calls a route: a token of a role the route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Operator,
    Kiosk,
    Sync,
    Courier,
}

/// What fills a route's `{param}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    None,
    Compartment,
    Parcel,
    TrackingId,
}

/// A route that reads a JSON body, and the fields of its body type.
#[derive(Debug)]
pub struct Route {
    /// As the OpenAPI document spells it, `{param}` included.
    pub path: &'static str,
    pub caller: Caller,
    pub fields: &'static [&'static str],
}

impl Route {
    pub fn method(&self) -> &'static str {
        if self.path.contains("/reservations/") {
            "PUT"
        } else {
            "POST"
        }
    }

    pub fn param(&self) -> Param {
        match self.path {
            p if p.contains("{tracking_id}") => Param::TrackingId,
            p if p.contains("{parcel_id}") || p.starts_with("/api/v1/parcels/") => Param::Parcel,
            p if p.contains('{') => Param::Compartment,
            _ => Param::None,
        }
    }
}

const fn route(path: &'static str, caller: Caller, fields: &'static [&'static str]) -> Route {
    Route {
        path,
        caller,
        fields,
    }
}

pub const ROUTES: &[Route] = &[
    route("/api/v1/tokens", Operator, &["role", "name"]),
    route("/api/v1/couriers", Operator, &["name"]),
    route("/api/v1/courier/login", Kiosk, &["courier", "code"]),
    route(
        "/api/v1/deposits",
        Courier,
        &["tracking_id", "size", "accessible"],
    ),
    route("/api/v1/deposits/{parcel_id}/resize", Courier, &["size"]),
    route("/api/v1/compartments/{id}/open", Operator, &["reason"]),
    route("/api/v1/compartments/{id}/disable", Operator, &["reason"]),
    route("/api/v1/parcels/{id}/extend", Operator, &["until"]),
    route("/api/v1/pickup", Kiosk, &["code"]),
    route(
        "/api/v1/incidents",
        Kiosk,
        &["kind", "parcel_id", "compartment", "note"],
    ),
    route(
        "/api/v1/sync/reservations/{tracking_id}",
        Caller::Sync,
        &["size", "expires_at", "pickup_code", "photo", "accessible"],
    ),
    route("/api/v1/sync/ack", Caller::Sync, &["seq"]),
    route("/api/v1/sim/doors/{compartment}", Operator, &["open"]),
    route("/api/v1/kiosk/pairings", Operator, &["name"]),
    route("/api/v1/console/links", Operator, &["name"]),
];

const COMPARTMENTS: &[&str] = &["A1", "A2", "B1", "B2", "C1", "D1", "D2", "ZZ"];
const TRACKING_IDS: &[&str] = &["FUZZ-1", "FUZZ-2", "1Z999AA10123456784"];

/// One answer: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A daemon on four simulated compartments' worth of sizes, its router, and a token per caller.
pub struct Rig {
    running: Option<Running>,
    app: Router,
    tokens: Vec<(Caller, String)>,
    /// The OpenAPI document (with the sim routes), as JSON.
    doc: Value,
    /// Parcels deposited so far, for the routes that take a parcel id.
    parcels: Mutex<Vec<String>>,
    _dir: tempfile::TempDir,
}

fn config_text(state_dir: &Path) -> String {
    let mut text = format!(
        "[locker]\nname = \"fuzz\"\nstate_dir = \"{}\"\n\n[policy]\nkeypad_max_failures = 3\n\n\
         [latch]\npulse = \"5ms\"\nmax_pulse = \"50ms\"\ncooldown = \"5ms\"\n\
         open_timeout = \"200ms\"\n\n[[bus]]\nname = \"sim\"\ndriver = \"sim\"\npoll = \"5ms\"\n",
        state_dir.display()
    );
    for (id, size) in [
        ("A1", "S"),
        ("A2", "S"),
        ("B1", "M"),
        ("B2", "M"),
        ("C1", "L"),
    ] {
        text.push_str(&format!(
            "\n[[compartment]]\nid = \"{id}\"\nsize = \"{size}\"\n\
             latch = {{ bus = \"sim\" }}\ndoor = {{ bus = \"sim\" }}\n"
        ));
    }
    text.push_str(
        "\n[[compartment]]\nid = \"D1\"\nsize = \"XL\"\naccessible = true\n\
         latch = { bus = \"sim\" }\ndoor = { bus = \"sim\" }\n\
         \n[[compartment]]\nid = \"D2\"\nsize = \"XL\"\n\
         latch = { bus = \"sim\" }\ndoor = { bus = \"sim\" }\n",
    );
    text
}

impl Rig {
    /// Starts a daemon in a new directory under `parent` (a tmpfs makes SQLite's fsyncs cheap).
    pub async fn start(parent: &Path) -> Rig {
        let dir = tempfile::tempdir_in(parent).expect("tempdir");
        let text = config_text(&dir.path().join("state"));
        let config = Config::parse(&text, &dir.path().join("lockerd.toml")).expect("valid");
        let clock = ManualClock::new();
        let options = Options {
            clock: Arc::new(clock.clone()),
            listen: Some("127.0.0.1:0".parse().expect("addr")),
            drain: Duration::from_millis(200),
            ..Options::default()
        };
        let running = daemon::start(config, options).await.expect("daemon starts");
        let locker = running.locker.clone();
        let admin = Principal {
            role: Role::Operator,
            name: "fuzz".into(),
            courier: None,
            parcel: None,
            mqtt: false,
        };
        let mut tokens = Vec::new();
        for (caller, role) in [
            (Caller::Operator, Role::Operator),
            (Caller::Kiosk, Role::Kiosk),
            (Caller::Sync, Role::Sync),
        ] {
            let token = locker
                .create_token(role, &format!("{caller:?}"), &admin)
                .await;
            tokens.push((caller, token.expect("token")));
        }
        let courier = locker
            .create_courier("dana", &admin)
            .await
            .expect("courier");
        let code = totp(&courier.totp_secret, &clock);
        let session = locker.courier_login("dana", &code).await.expect("login");
        tokens.push((Caller::Courier, session.token));
        Rig {
            app: router(locker, Monitoring::default()),
            running: Some(running),
            tokens,
            doc: serde_json::to_value(openapi(true)).expect("document"),
            parcels: Mutex::new(Vec::new()),
            _dir: dir,
        }
    }

    /// Stops the daemon; panics if one of its tasks panicked.
    pub async fn stop(mut self) {
        let running = self.running.take().expect("running");
        running
            .stop()
            .await
            .expect("a clean stop, no task panicked");
    }

    /// The path of `route` with its parameter chosen by `pick` among real and unknown ones.
    pub fn path(&self, route: &Route, pick: u8) -> String {
        let pick = usize::from(pick);
        let value = match route.param() {
            Param::None => return route.path.to_owned(),
            Param::Compartment => COMPARTMENTS[pick % COMPARTMENTS.len()].to_owned(),
            Param::TrackingId => TRACKING_IDS[pick % TRACKING_IDS.len()].to_owned(),
            Param::Parcel => {
                let parcels = self.parcels.lock().expect("parcels");
                match parcels.len() {
                    0 => "no-such-parcel".to_owned(),
                    n => parcels[pick % n].clone(),
                }
            }
        };
        let start = route.path.find('{').expect("a parameter");
        let end = route.path.find('}').expect("a parameter");
        format!("{}{value}{}", &route.path[..start], &route.path[end + 1..])
    }

    /// Sends `body` to `route` as its caller; `json` says whether to send
    /// `Content-Type: application/json`.
    pub async fn send(&self, route: &Route, pick: u8, body: Vec<u8>, json: bool) -> Answer {
        let admin = Principal {
            role: Role::Operator,
            name: "fuzz".into(),
            courier: None,
            parcel: None,
            mqtt: false,
        };
        let locker = &self.running.as_ref().expect("running").locker;
        if route.path == "/api/v1/pickup" {
            // A lockout would answer every later pickup alike: end it, as an operator can.
            locker.keypad_unlock(&admin).await.expect("unlock");
        }
        let token = &self
            .tokens
            .iter()
            .find(|(c, _)| *c == route.caller)
            .expect("token")
            .1;
        let mut request = Request::builder()
            .method(route.method())
            .uri(self.path(route, pick))
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if json {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request.body(Body::from(body)).expect("request");
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec();
        let answer = Answer { status, body };
        if route.path == "/api/v1/deposits" && status == StatusCode::CREATED {
            let id = answer.json()["parcel_id"].as_str().map(str::to_owned);
            self.parcels.lock().expect("parcels").extend(id);
        }
        if route.path.ends_with("/disable") && status == StatusCode::OK {
            // Deposits need free compartments: undo it, as an operator would.
            let id = COMPARTMENTS[usize::from(pick) % COMPARTMENTS.len()];
            locker.enable(id, &admin).await.expect("enable");
        }
        answer
    }

    /// Panics, naming the route and the answer, unless `answer` keeps the promise above.
    pub fn judge(&self, route: &Route, answer: &Answer) {
        let status = answer.status;
        let text = String::from_utf8_lossy(&answer.body);
        let fail = |why: &str| -> ! {
            panic!("{} {}: {why}: {status} {text}", route.method(), route.path)
        };
        if status.is_server_error() {
            fail("a server error");
        }
        let method = route.method().to_ascii_lowercase();
        let documented = &self.doc["paths"][route.path][&method]["responses"][status.as_str()];
        if documented.is_null() {
            fail("a status the OpenAPI document does not give for this route");
        }
        if status.is_success() {
            if !answer.body.is_empty() && serde_json::from_slice::<Value>(&answer.body).is_err() {
                fail("a success whose body is not JSON");
            }
            return;
        }
        let json = answer.json();
        let (Some(code), Some(message)) = (
            json["error"]["code"].as_str(),
            json["error"]["message"].as_str(),
        ) else {
            fail("an error that is not {\"error\": {\"code\", \"message\"}}")
        };
        if message.trim().is_empty() {
            fail("an error without a message");
        }
        let right = match status {
            StatusCode::BAD_REQUEST => code == "invalid_request",
            StatusCode::PAYLOAD_TOO_LARGE => code == "payload_too_large",
            _ => {
                let description = documented["description"].as_str().unwrap_or("");
                !matches!(code, "unauthorized" | "forbidden" | "internal")
                    && description.contains(&format!("`{code}`"))
            }
        };
        if !right {
            fail("an error code the document does not give for this status");
        }
    }
}

/// The current TOTP of a courier's secret on `clock`, as an authenticator app would show it.
pub fn totp(secret_base32: &str, clock: &ManualClock) -> String {
    let secret = totp_rs::Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .expect("base32");
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 0, 30, secret, None, "t".into())
        .expect("totp");
    totp.generate(clock.now().0 as u64 / 1000)
}
