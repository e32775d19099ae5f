//! The daemon's HTTP API as the benchmarks drive it: tokens made in-process, a courier signed
//! in with a real TOTP code, JSON requests, and pickup codes read from the sync feed as the
//! cloud would (and acknowledged, as it does).

use anyhow::{Context, ensure};
use lockerd::daemon::Running;
use lockerd::locker::{Clock, Principal, Role, SystemClock};
use serde_json::{Value, json};

/// A client of one running daemon, with a token of each role and a courier session.
pub struct Api {
    http: reqwest::Client,
    base: String,
    pub operator: String,
    pub kiosk: String,
    pub sync: String,
    pub courier: String,
    /// The sync feed's last event already read.
    feed_seq: u64,
}

impl Api {
    /// Tokens for an operator, a kiosk and the cloud, and a signed-in courier.
    pub async fn new(running: &Running) -> anyhow::Result<Api> {
        let admin = Principal {
            role: Role::Operator,
            name: "bench".into(),
            courier: None,
            parcel: None,
            mqtt: false,
        };
        let mut tokens = vec![];
        for (role, name) in [
            (Role::Operator, "ops"),
            (Role::Kiosk, "kiosk"),
            (Role::Sync, "cloud"),
        ] {
            tokens.push(running.locker.create_token(role, name, &admin).await?);
        }
        let [operator, kiosk, sync] = tokens.try_into().expect("three tokens");
        let api = Api {
            http: reqwest::Client::new(),
            base: format!("http://{}", running.addr),
            operator,
            kiosk,
            sync,
            courier: String::new(),
            feed_seq: 0,
        };
        api.sign_in().await
    }

    /// The same for a daemon in another process at `base` (`http://127.0.0.1:PORT`), from an
    /// operator token made offline: the kiosk and sync tokens are made over the API.
    #[allow(dead_code)]
    pub async fn over_http(base: String, operator: String) -> anyhow::Result<Api> {
        let mut api = Api {
            http: reqwest::Client::new(),
            base,
            operator,
            kiosk: String::new(),
            sync: String::new(),
            courier: String::new(),
            feed_seq: 0,
        };
        for (role, name) in [("kiosk", "kiosk"), ("sync", "cloud")] {
            let body = json!({"role": role, "name": name});
            let made = api.post("/api/v1/tokens", &api.operator, body, 201).await?;
            let token = made["token"].as_str().context("token")?.to_owned();
            match role {
                "kiosk" => api.kiosk = token,
                _ => api.sync = token,
            }
        }
        api.sign_in().await
    }

    /// Signs the bench courier in and skips the feed's history.
    async fn sign_in(self) -> anyhow::Result<Api> {
        let mut api = self;
        api.courier = api.courier_session("bench-courier").await?;
        // History a run starts with carries no live codes: the feed is read from here on.
        let (status, feed) = api
            .request("/api/v1/sync/events?limit=1", &api.sync, None)
            .await?;
        ensure!(status == 200, "GET /api/v1/sync/events: {status} {feed}");
        api.feed_seq = feed["last_seq"].as_u64().context("last_seq")?;
        Ok(api)
    }

    pub async fn request(
        &self,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}{path}", self.base);
        let req = match body {
            Some(body) => self.http.post(url).json(&body),
            None => self.http.get(url),
        };
        let resp = req.bearer_auth(token).send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// POSTs `body` and fails unless the answer is `want`.
    pub async fn post(
        &self,
        path: &str,
        token: &str,
        body: Value,
        want: u16,
    ) -> anyhow::Result<Value> {
        let (status, answer) = self.request(path, token, Some(body)).await?;
        ensure!(status == want, "POST {path}: {status} {answer}");
        Ok(answer)
    }

    async fn courier_session(&self, name: &str) -> anyhow::Result<String> {
        let body = json!({"name": name});
        let courier = self
            .post("/api/v1/couriers", &self.operator, body, 201)
            .await?;
        let secret = courier["totp_secret"].as_str().context("totp secret")?;
        let secret = totp_rs::Secret::Encoded(secret.to_owned())
            .to_bytes()
            .map_err(|e| anyhow::anyhow!("totp secret: {e:?}"))?;
        let totp = totp_rs::TOTP::new(
            totp_rs::Algorithm::SHA1,
            6,
            0,
            30,
            secret,
            None,
            name.into(),
        )?;
        let code = totp.generate(SystemClock.now().0 as u64 / 1000);
        let body = json!({"courier": name, "code": code});
        let session = self
            .post("/api/v1/courier/login", &self.kiosk, body, 200)
            .await?;
        Ok(session["token"]
            .as_str()
            .context("session token")?
            .to_owned())
    }

    /// Starts a deposit of a small parcel: `(parcel id, compartment id)`.
    pub async fn deposit(&self, tracking_id: &str) -> anyhow::Result<(String, String)> {
        let body = json!({"tracking_id": tracking_id, "size": "S"});
        let opened = self
            .post("/api/v1/deposits", &self.courier, body, 201)
            .await?;
        let parcel = opened["parcel_id"].as_str().context("parcel id")?;
        let compartment = opened["compartment"]["id"]
            .as_str()
            .context("compartment")?;
        Ok((parcel.to_owned(), compartment.to_owned()))
    }

    pub async fn confirm(&self, parcel: &str) -> anyhow::Result<()> {
        let path = format!("/api/v1/deposits/{parcel}/confirm");
        self.post(&path, &self.courier, json!({}), 200).await?;
        Ok(())
    }

    /// Enters `code` at the keypad and returns the compartment it opened.
    pub async fn pickup(&self, code: &str) -> anyhow::Result<String> {
        let body = json!({"code": code});
        let opened = self.post("/api/v1/pickup", &self.kiosk, body, 200).await?;
        let compartment = opened["compartment"]["id"]
            .as_str()
            .context("compartment")?;
        Ok(compartment.to_owned())
    }

    /// Every pickup code the feed published since the last call, as `(parcel id, code)`.
    pub async fn new_codes(&mut self) -> anyhow::Result<Vec<(String, String)>> {
        let mut codes = vec![];
        loop {
            let path = format!("/api/v1/sync/events?after={}&limit=1000", self.feed_seq);
            let (status, feed) = self.request(&path, &self.sync, None).await?;
            ensure!(status == 200, "GET {path}: {status} {feed}");
            let events = feed["events"].as_array().context("events")?;
            for e in events {
                let data = &e["data"];
                if let (Some(parcel), Some(code)) =
                    (data["parcel_id"].as_str(), data["pickup_code"].as_str())
                {
                    codes.push((parcel.to_owned(), code.to_owned()));
                }
            }
            match events.last().and_then(|e| e["seq"].as_u64()) {
                Some(seq) => self.feed_seq = seq,
                None => break,
            }
        }
        // Acknowledged, as the cloud does once it has stored them: the codes are scrubbed from
        // the feed and the events may be pruned after retention.
        let body = json!({"seq": self.feed_seq});
        let (status, answer) = self
            .request("/api/v1/sync/ack", &self.sync, Some(body))
            .await?;
        ensure!(status == 204, "POST /api/v1/sync/ack: {status} {answer}");
        Ok(codes)
    }
}
