//! docs/api.md is the API in words; the OpenAPI document the daemon serves is generated from the
//! handlers. This checks that every route the daemon serves (with a `sim` bus, so the simulated
//! hardware's routes too) is named in docs/api.md, so a new route cannot land undocumented there.

const DOC: &str = include_str!("../docs/api.md");

#[test]
fn every_served_route_is_in_docs_api_md() {
    let openapi = serde_json::to_value(lockerd::http::openapi(true)).expect("the document");
    let paths = openapi["paths"].as_object().expect("paths");
    assert!(paths.len() > 30, "{} routes", paths.len());
    let mut missing = vec![];
    for (path, methods) in paths {
        for method in methods.as_object().expect("methods").keys() {
            let route = format!("{} {path}", method.to_uppercase());
            let listed = DOC.contains(&format!("{route}`"))
                || DOC.contains(&format!("{route} "))
                || DOC.contains(&format!("{route}?"));
            if !listed {
                missing.push(route);
            }
        }
    }
    assert!(missing.is_empty(), "not in docs/api.md: {missing:#?}");
}
