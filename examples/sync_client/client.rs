//! A minimal client of lockerd's cloud-sync API: page through the event feed, persist a
//! cursor, acknowledge, and manage reservations. Start here when integrating a cloud.
//!
//! The order that loses nothing: read a page, hand every event to your system (de-duplicate
//! by `id`: delivery is at least once), save the cursor durably, then acknowledge. An event
//! holding a pickup code (`parcel.stored`, `parcel.code_changed`) loses that code in the
//! locker's database once acknowledged, so acknowledge only what you have stored.

use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;

/// Events per request (the locker caps pages at 1000).
pub const PAGE: usize = 500;

pub struct SyncClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

#[derive(Debug)]
pub struct Page {
    pub events: Vec<Value>,
    pub last_seq: i64,
}

/// What went wrong, as a line for the operator.
pub type Error = String;

impl SyncClient {
    /// `base`: the daemon's address, e.g. `http://127.0.0.1:8080`; `token`: a `sync` token.
    pub fn new(base: &str, token: &str) -> SyncClient {
        SyncClient {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                // lockerd closes a connection idle for 10 s; one idle that long is not reused,
                // or a request could meet the close on its way.
                .pool_idle_timeout(std::time::Duration::from_secs(5))
                .build()
                .expect("an HTTP client"),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), Error> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| format!("{path}: {e}"))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| format!("{path}: {e}"))?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// The locker's error message, or the status when there is none.
    fn refused(path: &str, status: u16, body: &Value) -> Error {
        match body["error"]["message"].as_str() {
            Some(message) => format!("{path}: {status} {message}"),
            None => format!("{path}: HTTP {status}"),
        }
    }

    /// Up to `limit` events after `after`, oldest first.
    pub async fn events(&self, after: i64, limit: usize) -> Result<Page, Error> {
        let path = format!("/api/v1/sync/events?after={after}&limit={limit}");
        match self.call(reqwest::Method::GET, &path, None).await? {
            (200, body) => Ok(Page {
                events: body["events"].as_array().cloned().unwrap_or_default(),
                last_seq: body["last_seq"].as_i64().unwrap_or(after),
            }),
            (status, body) => Err(Self::refused(&path, status, &body)),
        }
    }

    /// Tells the locker every event up to `seq` is safely stored.
    pub async fn ack(&self, seq: i64) -> Result<(), Error> {
        let path = "/api/v1/sync/ack";
        match self
            .call(reqwest::Method::POST, path, Some(json!({"seq": seq})))
            .await?
        {
            (204, _) => Ok(()),
            (status, body) => Err(Self::refused(path, status, &body)),
        }
    }

    /// Creates or replaces a reservation; answers the reservation and whether it was new.
    pub async fn reserve(
        &self,
        tracking_id: &str,
        reservation: Value,
    ) -> Result<(Value, bool), Error> {
        let path = format!("/api/v1/sync/reservations/{tracking_id}");
        match self
            .call(reqwest::Method::PUT, &path, Some(reservation))
            .await?
        {
            (201, body) => Ok((body, true)),
            (200, body) => Ok((body, false)),
            (status, body) => Err(Self::refused(&path, status, &body)),
        }
    }

    /// Withdraws a reservation.
    pub async fn unreserve(&self, tracking_id: &str) -> Result<(), Error> {
        let path = format!("/api/v1/sync/reservations/{tracking_id}");
        match self.call(reqwest::Method::DELETE, &path, None).await? {
            (204, _) => Ok(()),
            (status, body) => Err(Self::refused(&path, status, &body)),
        }
    }

    /// Reads every event after the cursor saved in `cursor_file` (0 if there is none), writes
    /// each as one JSON line to `out`, saves the cursor, then acknowledges (unless `ack` is
    /// false). Returns how many events were handled; stops when the feed is drained.
    pub async fn drain(
        &self,
        cursor_file: &Path,
        ack: bool,
        out: &mut impl Write,
    ) -> Result<usize, Error> {
        let mut cursor = load_cursor(cursor_file)?;
        let mut handled = 0;
        loop {
            let page = self.events(cursor, PAGE).await?;
            let Some(last) = page.events.last().and_then(|e| e["seq"].as_i64()) else {
                return Ok(handled);
            };
            for event in &page.events {
                writeln!(out, "{event}").map_err(|e| format!("output: {e}"))?;
            }
            out.flush().map_err(|e| format!("output: {e}"))?;
            save_cursor(cursor_file, last)?;
            if ack {
                self.ack(last).await?;
            }
            handled += page.events.len();
            cursor = last;
            if cursor >= page.last_seq {
                return Ok(handled);
            }
        }
    }
}

/// The last seq handled, from `path`; 0 when the file does not exist yet.
pub fn load_cursor(path: &Path) -> Result<i64, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{}: not a sequence number", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Saves the cursor so that a crash never loses it: write a temporary file, fsync, rename.
pub fn save_cursor(path: &Path, seq: i64) -> Result<(), Error> {
    let temporary = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        writeln!(file, "{seq}")?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    };
    write().map_err(|e| format!("{}: {e}", path.display()))
}
