//! The generated OpenAPI document against the contract (docs/api.md): every route, its roles,
//! its schemas.

use crate::http::openapi;
use serde_json::Value;
use std::collections::BTreeSet;

/// Every route of docs/api.md that the locker's service offers, as `METHOD path`.
const API_ROUTES: &[&str] = &[
    "GET /healthz",
    "GET /api/v1/openapi.json",
    "GET /metrics",
    "POST /api/v1/tokens",
    "GET /api/v1/tokens",
    "DELETE /api/v1/tokens/{name}",
    "GET /api/v1/compartments",
    "GET /api/v1/compartments/{id}",
    "POST /api/v1/compartments/{id}/open",
    "POST /api/v1/compartments/{id}/disable",
    "POST /api/v1/compartments/{id}/enable",
    "POST /api/v1/couriers",
    "GET /api/v1/couriers",
    "DELETE /api/v1/couriers/{id}",
    "POST /api/v1/courier/login",
    "POST /api/v1/courier/logout",
    "POST /api/v1/deposits",
    "POST /api/v1/deposits/{parcel_id}/confirm",
    "POST /api/v1/deposits/{parcel_id}/reopen",
    "POST /api/v1/deposits/{parcel_id}/resize",
    "POST /api/v1/deposits/{parcel_id}/cancel",
    "GET /api/v1/courier/returns",
    "POST /api/v1/courier/returns/{parcel_id}/open",
    "POST /api/v1/deliveries",
    "POST /api/v1/access-codes",
    "GET /api/v1/access-codes",
    "DELETE /api/v1/access-codes/{id}",
    "POST /api/v1/pickup",
    "GET /api/v1/keypad",
    "POST /api/v1/keypad/unlock",
    "GET /api/v1/parcels",
    "GET /api/v1/parcels/{id}",
    "GET /api/v1/parcels/{id}/photo",
    "GET /api/v1/parcels/{id}/evidence",
    "POST /api/v1/incidents",
    "POST /api/v1/parcels/{id}/extend",
    "POST /api/v1/parcels/{id}/new-code",
    "GET /api/v1/sync/events",
    "POST /api/v1/sync/ack",
    "PUT /api/v1/sync/reservations/{tracking_id}",
    "DELETE /api/v1/sync/reservations/{tracking_id}",
    "GET /api/v1/sync/reservations",
    "GET /api/v1/audit",
    "GET /api/v1/audit/verify",
    "POST /api/v1/kiosk/pairings",
    "POST /api/v1/console/links",
    "GET /api/v1/kiosk/events",
];

const SIM_ROUTE: &str = "POST /api/v1/sim/doors/{compartment}";

fn document(with_sim: bool) -> Value {
    serde_json::to_value(openapi(with_sim)).unwrap()
}

/// Every operation of the document: (`METHOD path`, operation).
fn operations(doc: &Value) -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push((
                format!("{} {path}", method.to_uppercase()),
                operation.clone(),
            ));
        }
    }
    all
}

#[test]
fn the_document_lists_every_route_and_no_other() {
    let listed = |with_sim| -> BTreeSet<String> {
        operations(&document(with_sim))
            .into_iter()
            .map(|(route, _)| route)
            .collect()
    };
    let mut expected: BTreeSet<String> = API_ROUTES.iter().map(|r| r.to_string()).collect();
    assert_eq!(listed(false), expected);
    expected.insert(SIM_ROUTE.to_owned());
    assert_eq!(listed(true), expected);
}

#[test]
fn every_route_below_api_v1_names_its_roles_and_needs_the_bearer_token() {
    let doc = document(true);
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    for (route, operation) in operations(&doc) {
        if route.ends_with("/healthz") || route.ends_with("/openapi.json") {
            assert!(operation.get("security").is_none(), "{route}");
            continue;
        }
        let roles: Vec<&str> = operation["security"][0]["bearer"]
            .as_array()
            .unwrap_or_else(|| panic!("{route} has no bearer requirement"))
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let description = operation["description"].as_str().unwrap_or_default();
        let written = format!("Roles: {}.", roles.join(", "));
        assert!(
            description.starts_with(&written),
            "{route}: {description:?} vs {written:?}"
        );
        for status in ["401", "403"] {
            assert!(
                operation["responses"].get(status).is_some(),
                "{route} lacks {status}"
            );
        }
    }
}

#[test]
fn only_sync_may_acknowledge_and_operators_may_read_everything_else() {
    for (route, operation) in operations(&document(true)) {
        let Some(roles) = operation["security"][0]["bearer"].as_array() else {
            continue;
        };
        let operator = roles.iter().any(|r| r == "operator");
        assert_eq!(operator, route != "POST /api/v1/sync/ack", "{route}");
    }
}

#[test]
fn the_document_defines_every_schema_it_refers_to() {
    let doc = document(true);
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for piece in text.split("\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(
            schemas.contains_key(name),
            "{name} is referred to but not defined"
        );
    }
    assert!(schemas.contains_key("ErrorBody") && schemas.contains_key("ParcelView"));
}

#[test]
fn every_path_and_query_parameter_is_declared() {
    let doc = document(true);
    for (route, operation) in operations(&doc) {
        let declared = |place: &str| -> BTreeSet<String> {
            let params = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            params
                .iter()
                .filter(|p| p["in"] == place)
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let in_path: BTreeSet<String> = route
            .split('{')
            .skip(1)
            .map(|piece| piece.split('}').next().unwrap().to_owned())
            .collect();
        assert_eq!(declared("path"), in_path, "{route}");
        let in_query: BTreeSet<String> = match route.as_str() {
            "GET /api/v1/parcels" => ["state", "limit", "after"].map(String::from).into(),
            "GET /api/v1/sync/events" | "GET /api/v1/sync/reservations" | "GET /api/v1/audit" => {
                ["after", "limit"].map(String::from).into()
            }
            _ => BTreeSet::new(),
        };
        assert_eq!(declared("query"), in_query, "{route}");
    }
}

/// The schema a `$ref` names, or the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

#[test]
fn sizes_are_the_enum_s_m_l_xl_wherever_a_size_appears() {
    let doc = document(true);
    let schemas = &doc["components"]["schemas"];
    let size_of = |schema: &str| resolve(&doc, &schemas[schema]["properties"]["size"]).clone();
    for schema in [
        "CompartmentView",
        "ParcelView",
        "SizedCompartmentRef",
        "NewDeposit",
        "NewSize",
    ] {
        let size = size_of(schema);
        assert_eq!(size["type"], "string", "{schema}: {size}");
        assert_eq!(
            size["enum"],
            serde_json::json!(["S", "M", "L", "XL"]),
            "{schema}: {size}"
        );
    }
    for schema in ["NewDeposit", "NewSize"] {
        let required = schemas[schema]["required"].as_array().unwrap();
        assert!(required.iter().any(|r| r == "size"), "{schema}");
    }
}

/// The description of `status` in the responses of `route`.
fn response(doc: &Value, route: &str, status: &str) -> Option<String> {
    let (_, operation) = operations(doc).into_iter().find(|(r, _)| r == route)?;
    operation["responses"][status]["description"]
        .as_str()
        .map(str::to_owned)
}

#[test]
fn routes_that_answer_before_the_latch_fires_do_not_promise_a_hardware_error() {
    let doc = document(true);
    for route in [
        "POST /api/v1/deposits/{parcel_id}/reopen",
        "POST /api/v1/deposits/{parcel_id}/cancel",
        "POST /api/v1/courier/returns/{parcel_id}/open",
        "POST /api/v1/compartments/{id}/open",
    ] {
        assert!(response(&doc, route, "202").is_some(), "{route}");
        assert_eq!(response(&doc, route, "503"), None, "{route}");
        let (_, operation) = operations(&doc)
            .into_iter()
            .find(|(r, _)| r == route)
            .unwrap();
        let description = operation["description"].as_str().unwrap();
        assert!(
            description.contains("`fault`") && description.contains("`compartment.fault`"),
            "{route}: {description}"
        );
    }
    for route in [
        "POST /api/v1/deposits",
        "POST /api/v1/deposits/{parcel_id}/resize",
    ] {
        let text = response(&doc, route, "503").unwrap_or_default();
        assert!(text.contains("`hardware_unavailable`"), "{route}: {text}");
    }
}

#[test]
fn a_busy_or_failed_pickup_is_hardware_unavailable_and_keeps_the_code() {
    let doc = document(false);
    let route = "POST /api/v1/pickup";
    // A busy compartment is never a 409 here; the only 409 is a standing code's nothing to
    // collect.
    let conflict = response(&doc, route, "409").unwrap_or_default();
    assert!(
        conflict.contains("`nothing_to_collect`") && !conflict.contains("compartment_busy"),
        "{conflict}"
    );
    let text = response(&doc, route, "503").unwrap();
    assert!(
        text.contains("`hardware_unavailable`") && text.contains("maintenance"),
        "{text}"
    );
    assert!(text.contains("stays valid"), "{text}");
    let text = response(&doc, route, "401").unwrap();
    assert!(text.contains("`invalid_code`") && text.contains("`unauthorized`"));
}

#[test]
fn an_operator_is_told_why_it_cannot_deposit_or_log_out() {
    let doc = document(false);
    for route in ["POST /api/v1/deposits", "POST /api/v1/courier/logout"] {
        let text = response(&doc, route, "403").unwrap();
        assert!(
            text.contains("`forbidden`") && text.contains("operator"),
            "{route}: {text}"
        );
    }
    let generic = response(&doc, "POST /api/v1/deposits/{parcel_id}/confirm", "403").unwrap();
    assert!(!generic.contains("operator"), "{generic}");
}

#[test]
fn the_event_feed_names_every_event_type_docs_api_md_lists() {
    let doc = document(false);
    let (_, operation) = operations(&doc)
        .into_iter()
        .find(|(route, _)| route == "GET /api/v1/sync/events")
        .unwrap();
    let description = operation["description"].as_str().unwrap();
    let table = include_str!("../../../docs/api.md")
        .split("## The event feed")
        .nth(1)
        .unwrap();
    // The first cell of each row of the table: `parcel.opening`, `bus.down`, ...
    let types: Vec<&str> = table
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("| `"))
        .flat_map(|l| l.split(" | ").next().unwrap().split(", "))
        .map(|t| t.trim_matches('`'))
        .collect();
    for wanted in ["parcel.not_detected", "parcel.left_behind", "bus.down"] {
        assert!(
            types.contains(&wanted),
            "{wanted} not in docs/api.md: {types:?}"
        );
    }
    for t in types {
        assert!(
            description.contains(&format!("`{t}`")),
            "{t} is not in the OpenAPI description"
        );
    }
}
