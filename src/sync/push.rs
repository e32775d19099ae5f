//! The push task: POSTs the undelivered events, oldest first, one batch at a time, until the
//! cloud has them all; then sleeps until the feed changes.
//!
//! Push has its own cursor, moved only by a 2xx answer of the push endpoint: a pull agent's
//! acknowledgement never makes it skip an event (see `crate::locker` feed). Each attempt re-reads
//! the feed after that cursor, so a retry sends the same events, never a later batch while an
//! earlier one is undelivered. Anything but a 2xx, a refused connection or a timeout is retried
//! after a back-off. Shutdown interrupts any wait
//! or request: an interrupted batch is simply sent again after the restart.
//!
//! Logs name the seq range and the cloud's status or error, never the body (it carries pickup
//! codes), the secret or the URL (it may carry a token in its query).

use super::backoff::Backoff;
use super::status::PushStatus;
use super::wire::{EventView, PushBody, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature};
use crate::config::PushConfig;
use crate::domain::Timestamp;
use crate::locker::Locker;
use reqwest::header::CONTENT_TYPE;
use std::future::Future;
use std::time::Duration;

/// Pushes one locker's feed to one URL.
/// How often an idle pusher looks at the feed even without a wake-up.
const IDLE_RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

pub struct Pusher {
    locker: Locker,
    /// `locker.name`, sent in every body.
    name: String,
    config: PushConfig,
    client: reqwest::Client,
    status: PushStatus,
}

/// What one attempt came to.
enum Step {
    /// A batch was delivered and acknowledged: go on at once.
    Delivered,
    /// Nothing is waiting.
    Empty,
    /// Nothing was acknowledged; the reason is for logs and `/healthz`.
    Failed {
        why: String,
        range: Option<(i64, i64)>,
    },
}

impl Pusher {
    /// Builds the HTTP client: fails only if the system's CA store is unreadable.
    pub fn new(
        locker: Locker,
        name: String,
        config: PushConfig,
        status: PushStatus,
    ) -> reqwest::Result<Pusher> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // A redirected POST may become a GET whose 2xx would acknowledge events the cloud
            // never saw: a redirect is a failure to fix in `sync.push.url`.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("lockerd/", env!("CARGO_PKG_VERSION")))
            .build()?;
        status.idle();
        Ok(Pusher {
            locker,
            name,
            config,
            client,
            status,
        })
    }

    /// Runs until `shutdown` completes, or for ever.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let _stopped = StoppedOnDrop(self.status.clone());
        tokio::pin!(shutdown);
        let mut changes = self.locker.feed_changes();
        let mut backoff = Backoff::new(self.config.backoff_min, self.config.backoff_max);
        loop {
            // Seen before the feed is read: an event committed after this wakes the wait below.
            changes.borrow_and_update();
            let step = tokio::select! {
                _ = &mut shutdown => break,
                step = self.attempt() => step,
            };
            match step {
                Step::Delivered => backoff.reset(),
                Step::Empty => {
                    self.status.idle();
                    // Woken by new events; the timer is a safety net for a wake-up that was
                    // missed, so a committed event never waits for the next one.
                    tokio::select! {
                        _ = &mut shutdown => break,
                        changed = changes.changed() => if changed.is_err() { break },
                        _ = tokio::time::sleep(IDLE_RECHECK) => {}
                    }
                }
                Step::Failed { why, range } => {
                    let delay = backoff.next(&mut rand::rng());
                    let next = self.locker.now().plus(delay);
                    let failures = self.status.failed(&why, next);
                    let (first_seq, last_seq) = range.unwrap_or_default();
                    tracing::warn!(
                        error = %why, first_seq, last_seq, failures,
                        retry_in_ms = delay.as_millis() as u64,
                        "push to the cloud failed"
                    );
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    /// Sends the oldest undelivered batch, if any, and moves push's cursor on a 2xx.
    async fn attempt(&self) -> Step {
        let failed = |why: String, range| Step::Failed { why, range };
        let delivered = match self.locker.feed_status().await {
            Ok(feed) => feed.push_seq,
            Err(e) => return failed(format!("cannot read the event feed: {e}"), None),
        };
        let events = match self.locker.events(delivered, self.config.batch).await {
            Ok((events, _)) => events,
            Err(e) => return failed(format!("cannot read the event feed: {e}"), None),
        };
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Step::Empty;
        };
        let (first_seq, last_seq, count) = (first.seq, last.seq, events.len());
        let range = Some((first_seq, last_seq));
        self.status.sending();
        let now = self.locker.now();
        let body = PushBody {
            locker: &self.name,
            sent_at: now.to_rfc3339(),
            events: events.into_iter().map(EventView::from).collect(),
            last_seq,
        };
        let body = match serde_json::to_vec(&body) {
            Ok(body) => body,
            Err(e) => return failed(format!("cannot encode the batch: {e}"), range),
        };
        let answer = self
            .client
            .post(self.config.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, unix_seconds(now).to_string())
            .header(
                SIGNATURE_HEADER,
                signature(self.config.secret.expose(), &body),
            )
            .body(body)
            .send()
            .await;
        match answer {
            Ok(answer) if answer.status().is_success() => {
                if let Err(e) = self.locker.push_delivered(last_seq).await {
                    let why = format!("delivered, but cannot record the acknowledgement: {e}");
                    return failed(why, range);
                }
                let failures = self.status.snapshot().consecutive_failures;
                self.status.delivered(now);
                let status = answer.status().as_u16();
                if failures > 0 {
                    tracing::info!(first_seq, last_seq, failures, "push to the cloud recovered");
                }
                tracing::debug!(first_seq, last_seq, count, status, "pushed events");
                Step::Delivered
            }
            Ok(answer) => failed(format!("the cloud answered {}", answer.status()), range),
            Err(e) => failed(describe(&e, self.config.timeout), range),
        }
    }
}

fn unix_seconds(t: Timestamp) -> i64 {
    t.0.div_euclid(1000)
}

/// A request error in one line, without its URL.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {}", humantime::format_duration(timeout));
    }
    let mut text = String::from(if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    });
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Marks the task stopped however it ends: shutdown, or a panic (then also logged).
struct StoppedOnDrop(PushStatus);

impl Drop for StoppedOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            tracing::error!("the push task panicked; events wait for the pull agent or a restart");
        }
        self.0.stopped();
    }
}
