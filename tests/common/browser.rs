//! A browser as the page-serving tests need one (the kiosk's and the console's): cookies kept
//! by hand as `Set-Cookie` says, redirects not followed, and the page's own `fetch` (same
//! origin, the CSRF header, the cookies).

use super::Harness;
use reqwest::header::{self, HeaderMap};
use reqwest::redirect::Policy;
use serde_json::Value;

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
