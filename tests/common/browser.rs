//! A browser as the page-serving tests need one (the kiosk's and the console's): cookies kept
//! by hand as `Set-Cookie` says, redirects not followed, and the page's own `fetch` (same
//! origin, the CSRF header, the cookies).

use super::Harness;
use reqwest::header::{self, HeaderMap};
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use std::time::Duration;

/// A browser: cookies kept by hand (reqwest's store is off in this build), redirects not followed.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn new(h: &Harness) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: h.base.clone(),
            cookies: vec![],
        }
    }

    pub fn cookie_header(&self) -> String {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        pairs.join("; ")
    }

    /// Keeps what `Set-Cookie` says, as a browser would (an empty value or `Max-Age=0` deletes).
    pub fn remember(&mut self, headers: &HeaderMap) {
        for set in headers.get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, _) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() && !set.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    pub async fn open(&mut self, path: &str) -> (u16, HeaderMap, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.remember(response.headers());
        let headers = response.headers().clone();
        (
            response.status().as_u16(),
            headers,
            response.text().await.unwrap(),
        )
    }

    /// What the page's `fetch` sends: same origin, the CSRF header, the cookies.
    pub async fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let origin = self.base.clone();
        self.call_with(
            method,
            path,
            body,
            &[("origin", &origin), ("x-lockerd-csrf", "1")],
        )
        .await
    }

    pub async fn call_with(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookie_header());
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        self.remember(response.headers());
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.iter().any(|(k, _)| k == name)
    }
}

/// The code of a new console link for `name`, made by the harness's operator (what follows
/// `#link=` in its `url`).
pub async fn console_link(h: &Harness, name: &str) -> String {
    let (status, link) = h
        .post("/api/v1/console/links", &h.operator, json!({"name": name}))
        .await;
    assert_eq!(status, 201, "{link}");
    assert_eq!(link["name"], name);
    link_code(link["url"].as_str().unwrap())
}

/// What follows `#link=` in a console link.
pub fn link_code(url: &str) -> String {
    let (path, code) = url.split_once("#link=").expect("a console link");
    assert!(path.ends_with("/console/"), "{url}");
    code.to_owned()
}

impl Browser {
    /// Posts a console link's code as the sign-in page does: the status.
    pub async fn use_link(&mut self, code: &str) -> u16 {
        let body = Some(json!({"link": code}));
        self.call("POST", "/console/session", body).await.0
    }

    /// The live feed (`GET /api/v1/kiosk/events`) opened with this browser's cookies; `200`.
    pub async fn live_feed(&self) -> reqwest::Response {
        let feed = self
            .http
            .get(format!("{}/api/v1/kiosk/events", self.base))
            .header(header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        assert_eq!(feed.status().as_u16(), 200);
        feed
    }
}

/// Whether a live feed ends cleanly; fails unless it ends within 30 s (keep-alives or not).
pub async fn feed_ends(mut feed: reqwest::Response) -> bool {
    let end = async {
        loop {
            match feed.chunk().await {
                Ok(Some(_)) => continue,
                other => return other.is_ok(),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), end)
        .await
        .expect("the feed ended within 30 s")
}

/// The next `state` event of a live feed (keep-alive comments skipped); fails unless one comes
/// within 30 s.
pub async fn next_state(feed: &mut reqwest::Response) -> String {
    let next = async {
        loop {
            let chunk = feed.chunk().await.unwrap().expect("the feed goes on");
            let text = String::from_utf8_lossy(&chunk).into_owned();
            if text.contains("event: state") {
                return text;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), next)
        .await
        .expect("a state within 30 s")
}
