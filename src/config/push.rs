//! `[sync.push]`: where the event feed is pushed, and how. The table is optional; without it the
//! cloud only pulls. Its secret signs every body, so it is never shown: not in `Debug`, not in
//! an error, not in a log line.
//!
//! `secret_file` is the one key whose checking reads a file: the secret may live apart from the
//! config (0600, root-owned) so the config can be shared or put in version control.

use super::check::{Check, ConfigError, MINUTE};
use super::duration::{self, show};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Shorter secrets are guessable offline from one signed body.
pub const MIN_SECRET_CHARS: usize = 32;
const MAX_BATCH: i64 = 1000;
/// The longest wait between attempts: a locker should not stay silent for longer than this once
/// the cloud is back.
const HOUR: Duration = Duration::from_secs(3600);

/// A validated `[sync.push]`.
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// Where batches are POSTed; http or https, without user or password.
    pub url: reqwest::Url,
    pub secret: PushSecret,
    /// Events per request, 1..=1000.
    pub batch: usize,
    /// The first wait after a failure; each further failure waits longer, up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// How long one request may take, connecting included.
    pub timeout: Duration,
    /// `sync.push.allow_plaintext`: an `http://` URL to a host other than loopback is accepted.
    pub allow_plaintext: bool,
}

/// The HMAC key of push bodies. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct PushSecret(String);

impl PushSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        PushSecret(secret.into())
    }

    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for PushSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PushSecret(<redacted>)")
    }
}

/// The table as the file spells it; the defaults are applied in `validate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPush {
    pub url: String,
    pub secret: Option<PushSecret>,
    pub secret_file: Option<PathBuf>,
    /// Read wide so an out-of-range value gets the allowed range in its message.
    pub batch: Option<i64>,
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub backoff_min: Option<Duration>,
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub backoff_max: Option<Duration>,
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub allow_plaintext: bool,
}

pub(super) fn validate(check: &Check, raw: RawPush) -> Result<PushConfig, ConfigError> {
    let url = url(check, &raw.url)?;
    plaintext(check, &url, raw.allow_plaintext)?;
    let secret = secret(check, raw.secret, raw.secret_file.as_deref())?;
    let batch = raw.batch.unwrap_or(100);
    check.ensure((1..=MAX_BATCH).contains(&batch), "sync.push.batch", || {
        format!("must be 1..={MAX_BATCH}, got {batch}")
    })?;
    let backoff_min = raw.backoff_min.unwrap_or(Duration::from_secs(1));
    let backoff_max = raw.backoff_max.unwrap_or(5 * MINUTE);
    let timeout = raw.timeout.unwrap_or(Duration::from_secs(10));
    check.positive("sync.push.backoff_min", backoff_min)?;
    check.ensure(backoff_min <= backoff_max, "sync.push.backoff_max", || {
        format!(
            "{} is shorter than sync.push.backoff_min ({})",
            show(backoff_max),
            show(backoff_min)
        )
    })?;
    check.at_most(
        "sync.push.backoff_max",
        backoff_max,
        HOUR,
        "1h",
        "a locker would stay silent that long after the cloud is back",
    )?;
    check.positive("sync.push.timeout", timeout)?;
    check.at_most(
        "sync.push.timeout",
        timeout,
        5 * MINUTE,
        "5m",
        "a request hanging longer holds back every later event",
    )?;
    Ok(PushConfig {
        url,
        secret,
        batch: batch as usize,
        backoff_min,
        backoff_max,
        timeout,
        allow_plaintext: raw.allow_plaintext,
    })
}

/// The bodies carry pickup codes: plain `http` leaves this machine only if the file says so.
fn plaintext(check: &Check, url: &reqwest::Url, allowed: bool) -> Result<(), ConfigError> {
    let host = url.host_str().unwrap_or_default();
    let clear = url.scheme() == "http" && !is_loopback(host);
    check.ensure(!clear || allowed, "sync.push.url", || {
        "is plain http:// to a host other than loopback: the batches carry pickup codes. Use \
         https://, or sync.push.allow_plaintext = true to accept that"
            .to_owned()
    })
}

/// `localhost`, `127.0.0.0/8` or `[::1]`: this machine.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The URL is never repeated in a message: a mistyped one may carry a password.
fn url(check: &Check, text: &str) -> Result<reqwest::Url, ConfigError> {
    let key = "sync.push.url";
    let url = reqwest::Url::parse(text.trim()).map_err(|e| {
        check.error(
            key,
            format!("not a URL ({e}); write it like \"https://cloud.example/lockerd/events\""),
        )
    })?;
    check.ensure(matches!(url.scheme(), "http" | "https"), key, || {
        format!("must be an http:// or https:// URL, not {}:", url.scheme())
    })?;
    check.ensure(url.host().is_some(), key, || "must name a host".to_owned())?;
    check.ensure(
        url.username().is_empty() && url.password().is_none(),
        key,
        || {
            "must not carry a user or password: the body's signature authenticates the locker"
                .to_owned()
        },
    )?;
    Ok(url)
}

fn secret(
    check: &Check,
    inline: Option<PushSecret>,
    file: Option<&Path>,
) -> Result<PushSecret, ConfigError> {
    let (key, secret) = match (inline, file) {
        (Some(secret), None) => ("sync.push.secret", secret),
        (None, Some(path)) => ("sync.push.secret_file", read_secret(check, path)?),
        (Some(_), Some(_)) => {
            let message = "give sync.push.secret or sync.push.secret_file, not both";
            return Err(check.error("sync.push.secret_file", message));
        }
        (None, None) => {
            let message = "required with sync.push.url (or give sync.push.secret_file): the \
                           cloud verifies each body's signature with it";
            return Err(check.error("sync.push.secret", message));
        }
    };
    let chars = secret.0.chars().count();
    check.ensure(chars >= MIN_SECRET_CHARS, key, || {
        format!(
            "must be at least {MIN_SECRET_CHARS} characters, got {chars}; \
             generate one with `openssl rand -hex 32`"
        )
    })?;
    Ok(secret)
}

/// Reads the secret from `path` (relative to the config file's directory), without the
/// surrounding whitespace an editor or `echo` leaves.
fn read_secret(check: &Check, path: &Path) -> Result<PushSecret, ConfigError> {
    let path = check.source.parent().unwrap_or(Path::new("")).join(path);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        check.error(
            "sync.push.secret_file",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    Ok(PushSecret(text.trim().to_owned()))
}
