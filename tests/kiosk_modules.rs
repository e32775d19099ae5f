//! The kiosk page's script is ES modules the browser loads as they are (no bundler, no build
//! step): `app.js` and every module it imports, directly or not, must be served like app.js,
//! as JavaScript with the same headers, or the page stops before its first screen. Only the
//! files compiled into the daemon are served. The page itself runs in tests/kiosk_e2e.rs.

mod common;

use common::Harness;
use reqwest::header;
use serde_json::Value;
use std::collections::{BTreeSet, VecDeque};

const ENTRY: &str = "/kiosk/app.js";

/// The modules `source` (served at `path`) imports with a relative specifier, as paths.
fn imports(path: &str, source: &str) -> Vec<String> {
    let mut found = vec![];
    for keyword in ["from '", "import '"] {
        for (at, _) in source.match_indices(keyword) {
            let rest = &source[at + keyword.len()..];
            let spec = &rest[..rest.find('\'').expect("a closed specifier")];
            if spec.starts_with('.') {
                found.push(resolve(path, spec));
            }
        }
    }
    found
}

/// `spec` (`./x.js`, `../x.js`) against the module at `path`, as a browser resolves it.
fn resolve(path: &str, spec: &str) -> String {
    let mut segments: Vec<&str> = path.split('/').collect();
    segments.pop();
    for segment in spec.split('/') {
        match segment {
            "." => {}
            ".." => {
                segments.pop();
            }
            name => segments.push(name),
        }
    }
    segments.join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_module_the_page_imports_is_served_as_javascript() {
    let h = Harness::start().await;
    let http = &h.http;
    let mut seen = BTreeSet::from([ENTRY.to_owned()]);
    let mut queue = VecDeque::from([ENTRY.to_owned()]);
    while let Some(path) = queue.pop_front() {
        let response = http.get(h.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        let content_type = headers[header::CONTENT_TYPE].to_str().unwrap();
        assert!(
            content_type.starts_with("text/javascript"),
            "{path}: {content_type}"
        );
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache", "{path}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        let source = response.text().await.unwrap();
        for module in imports(&path, &source) {
            assert!(module.starts_with("/kiosk/"), "{path} imports {module}");
            if seen.insert(module.clone()) {
                queue.push_back(module);
            }
        }
    }
    for module in ["/kiosk/strings.js", "/kiosk/screens/start.js"] {
        assert!(seen.contains(module), "{module} among {seen:?}");
    }

    // A path beside the compiled-in files is the API's ordinary 404.
    let response = http
        .get(h.url("/kiosk/screens/missing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found", "{body}");
}
