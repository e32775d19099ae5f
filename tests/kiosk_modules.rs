//! The kiosk's and the console's scripts are ES modules the browser loads as they are (no
//! bundler, no build step): each entry and every module it imports, directly or not, must be
//! served like it, as JavaScript with the same headers, or the page stops before its first
//! screen. Only the files compiled into the daemon are served. The pages themselves run in
//! tests/kiosk_e2e.rs.

mod common;

use common::Harness;
use reqwest::header;
use serde_json::Value;
use std::collections::{BTreeSet, VecDeque};

/// The pages' entry modules: the kiosk's, the console's and the console's sign-in page's.
const ENTRIES: &[&str] = &["/kiosk/app.js", "/console/app.js", "/console/signin.js"];

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
    let mut seen: BTreeSet<String> = ENTRIES.iter().map(|e| e.to_string()).collect();
    let mut queue: VecDeque<String> = seen.iter().cloned().collect();
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
            let folder = &path[..path[1..].find('/').expect("a folder") + 2];
            assert!(module.starts_with(folder), "{path} imports {module}");
            if seen.insert(module.clone()) {
                queue.push_back(module);
            }
        }
    }
    let expected = [
        "/kiosk/strings.js",
        "/kiosk/screens/start.js",
        "/console/strings.js",
        "/console/wall.js",
    ];
    for module in expected {
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
