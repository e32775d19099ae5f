//! An HTTP client for a daemon that may die mid-request: every call answers the status and JSON
//! body, or `Lost` when no answer came (the connection was reset by a kill). A lost answer is
//! normal here; what the request did is then learnt from the daemon after its restart.

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// No answer: the daemon went away with the request in flight (or before it was sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lost;

pub type Answer = Result<(u16, Value), Lost>;

#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(addr: SocketAddr) -> Api {
        let http = reqwest::Client::builder()
            // A kill resets connections at once; this only bounds a daemon that hangs.
            .timeout(Duration::from_secs(20))
            .build()
            .expect("http client");
        Api {
            base: format!("http://{addr}"),
            http,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let method = method.parse().expect("method");
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.map_err(|_| Lost)?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|_| Lost)?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call("GET", path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call("POST", path, Some(token), Some(body)).await
    }

    /// `GET path` that must answer 200 (checks and set-up, never under a kill).
    pub async fn get_ok(&self, path: &str, token: &str) -> Value {
        match self.get(path, Some(token)).await {
            Ok((200, body)) => body,
            other => panic!("GET {path}: {other:?}"),
        }
    }

    /// `POST path` that must answer `want` (set-up, never under a kill).
    pub async fn post_ok(&self, path: &str, token: &str, body: Value, want: u16) -> Value {
        match self.post(path, token, body).await {
            Ok((status, body)) if status == want => body,
            other => panic!("POST {path}: {other:?}"),
        }
    }

    /// Moves a simulated door as a hand would.
    pub async fn door(&self, operator: &str, compartment: &str, open: bool) -> Answer {
        let path = format!("/api/v1/sim/doors/{compartment}");
        self.post(&path, operator, json!({"open": open})).await
    }
}

/// The current RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret, on the real clock the
/// daemon uses.
pub fn totp_now(secret_base32: &str) -> String {
    let secret = totp_rs::Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .expect("base32");
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 0, 30, secret, None, "t".into())
        .expect("totp");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    totp.generate(now.as_secs())
}
