//! Properties of the request bodies, through the real router of a daemon on simulated hardware
//! (`oracles/bodies.rs`): for every route that reads a JSON body, a valid body with one thing
//! wrong with it — a field missing, a field of random JSON, an unknown key — is accepted or is
//! `400 invalid_request` naming that field; a well-formed body is never refused as malformed;
//! a body that is not a JSON object is `400 invalid_request`; and no body gets a 5xx, an
//! undocumented status or error code, or panics a task of the daemon.
//!
//! Case counts are bounded so the file runs in seconds; the `request_bodies` fuzz target (fuzz/)
//! sends arbitrary bytes for longer.

#[path = "oracles/bodies.rs"]
mod oracle;

use oracle::{ROUTES, Rig, Route};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};

/// Body types that refuse unknown keys (`#[serde(deny_unknown_fields)]`).
const STRICT: &[&str] = &[
    "/api/v1/incidents",
    "/api/v1/sync/reservations/{tracking_id}",
];

/// A value of the field's own type that the service takes.
fn valid(field: &str) -> BoxedStrategy<Value> {
    let s = |re: &str| {
        let strings = proptest::string::string_regex(re).expect("a regex");
        strings.prop_map(Value::from).boxed()
    };
    match field {
        "role" => prop_oneof![Just("kiosk"), Just("sync"), Just("operator")]
            .prop_map(Value::from)
            .boxed(),
        "name" | "courier" | "reason" => s("[a-z][a-z0-9 _-]{0,20}"),
        "code" | "pickup_code" => s("[0-9]{6}"),
        "tracking_id" => s("[A-Z0-9][A-Z0-9-]{0,20}"),
        "size" => prop_oneof![Just("S"), Just("M"), Just("L"), Just("XL")]
            .prop_map(Value::from)
            .boxed(),
        "accessible" | "photo" | "open" => any::<bool>().prop_map(Value::from).boxed(),
        "until" | "expires_at" => (2030u32..2100)
            .prop_map(|y| json!(format!("{y}-01-31T18:00:00Z")))
            .boxed(),
        "kind" => prop_oneof![
            Just("empty"),
            Just("damaged"),
            Just("wrong_item"),
            Just("door_stuck"),
            Just("other")
        ]
        .prop_map(Value::from)
        .boxed(),
        "parcel_id" => s("[a-z0-9-]{1,12}"),
        "compartment" => prop_oneof![Just("A1"), Just("D2"), Just("ZZ")]
            .prop_map(Value::from)
            .boxed(),
        "note" => s("[ -~]{0,100}"),
        "seq" => (0i64..1000).prop_map(Value::from).boxed(),
        other => panic!("no valid value for {other}"),
    }
}

/// Any JSON at all, favouring values that are nearly right: the field types' own words,
/// numbers at the edges, control characters.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            Just(""),
            Just("S"),
            Just("xl"),
            Just("kiosk"),
            Just("courier"),
            Just("123456"),
            Just("2030-01-31T18:00:00Z"),
            Just("9999-12-31T23:59:60Z"),
            Just("0000-01-01T00:00:00Z"),
            Just("2030-01-31T18:00:00+23:59"),
            Just(" \u{0}\n")
        ]
        .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One thing wrong with a body.
#[derive(Debug, Clone)]
enum Wrong {
    Nothing,
    Missing(usize),
    Retyped(usize, Value),
    Unknown(String),
}

fn a_case() -> impl Strategy<Value = (usize, u8, Vec<Value>, Wrong)> {
    (0..ROUTES.len()).prop_flat_map(|r| {
        let fields: Vec<_> = ROUTES[r].fields.iter().map(|f| valid(f)).collect();
        let n = ROUTES[r].fields.len();
        let wrong = prop_oneof![
            Just(Wrong::Nothing),
            (0..n).prop_map(Wrong::Missing),
            (0..n, any_json()).prop_map(|(i, v)| Wrong::Retyped(i, v)),
            "[a-z_]{1,10}".prop_map(Wrong::Unknown),
        ];
        (Just(r), any::<u8>(), fields, wrong)
    })
}

fn body(route: &Route, values: &[Value], wrong: &Wrong) -> (Value, Option<String>) {
    let mut map = Map::new();
    for (i, (field, value)) in route.fields.iter().zip(values).enumerate() {
        match wrong {
            Wrong::Missing(m) if *m == i => {}
            Wrong::Retyped(m, v) if *m == i => drop(map.insert((*field).into(), v.clone())),
            _ => drop(map.insert((*field).into(), value.clone())),
        }
    }
    let blamed = match wrong {
        Wrong::Nothing => None,
        Wrong::Missing(i) | Wrong::Retyped(i, _) => Some(route.fields[*i].to_owned()),
        Wrong::Unknown(key) => {
            if route.fields.contains(&key.as_str()) {
                return (Value::Object(map), None);
            }
            map.insert(key.clone(), json!(1));
            Some(key.clone())
        }
    };
    (Value::Object(map), blamed)
}

/// Whether a `400` says the body did not deserialize, rather than what the service refused.
fn malformed(message: &str) -> bool {
    message.starts_with("invalid body:") || message.starts_with("body is not valid JSON")
}

/// `PROPTEST_CASES` when set (a longer hunt), else the bounded count the test suite runs.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn runner(default_cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases: cases(default_cases),
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn a_body_with_one_thing_wrong_is_accepted_or_refused_naming_it() {
    let rt = runtime();
    let rig = rt.block_on(Rig::start(&std::env::temp_dir()));
    let result = runner(384).run(&a_case(), |(r, pick, values, wrong)| {
        let route = &ROUTES[r];
        let (body, blamed) = body(route, &values, &wrong);
        let answer = rt.block_on(rig.send(route, pick, body.to_string().into_bytes(), true));
        rig.judge(route, &answer);
        if answer.status != 400 {
            return Ok(());
        }
        let message = answer.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let strict = STRICT.contains(&route.path);
        let expected_malformed = match &wrong {
            Wrong::Nothing => false,
            Wrong::Unknown(_) => strict,
            _ => true,
        };
        if malformed(&message) && !expected_malformed {
            return Err(TestCaseError::fail(format!(
                "{body} refused as malformed: {message}"
            )));
        }
        // A malformed body is blamed on the field made wrong; what the service refuses names
        // one of the body's fields.
        let named = match (&blamed, malformed(&message)) {
            (Some(field), true) => message.contains(field.as_str()),
            _ => route
                .fields
                .iter()
                .chain(blamed.as_deref().as_slice())
                .any(|f| message.contains(f)),
        };
        if !named {
            return Err(TestCaseError::fail(format!(
                "{body}: the message names no field ({blamed:?}): {message}"
            )));
        }
        Ok(())
    });
    rt.block_on(rig.stop());
    result.unwrap();
}

#[test]
fn a_body_that_is_not_a_json_object_is_an_invalid_request() {
    let rt = runtime();
    let rig = rt.block_on(Rig::start(&std::env::temp_dir()));
    let not_an_object = prop_oneof![
        any_json()
            .prop_filter("not an object", |v| !v.is_object())
            .prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
        "\\{[ -~]{0,30}".prop_map(String::into_bytes),
    ];
    let case = (0..ROUTES.len(), any::<u8>(), not_an_object, any::<bool>());
    let result = runner(256).run(&case, |(r, pick, bytes, json_type)| {
        let route = &ROUTES[r];
        let is_object = serde_json::from_slice::<Value>(&bytes).is_ok_and(|v| v.is_object());
        let answer = rt.block_on(rig.send(route, pick, bytes, json_type));
        rig.judge(route, &answer);
        if !is_object || !json_type {
            prop_assert_eq!(
                answer.status,
                400,
                "{}",
                String::from_utf8_lossy(&answer.body)
            );
        }
        Ok(())
    });
    rt.block_on(rig.stop());
    result.unwrap();
}

#[test]
fn a_body_over_the_limit_is_payload_too_large_on_every_route() {
    let rt = runtime();
    let rig = rt.block_on(Rig::start(&std::env::temp_dir()));
    let big = format!(
        "{{\"name\": \"{}\"}}",
        "x".repeat(lockerd::http::BODY_LIMIT)
    );
    for route in ROUTES {
        let answer = rt.block_on(rig.send(route, 0, big.clone().into_bytes(), true));
        rig.judge(route, &answer);
        assert_eq!(answer.status, 413, "{} {}", route.method(), route.path);
    }
    rt.block_on(rig.stop());
}
