//! `[mqtt]`: the outbound fleet link (README, "The fleet link over MQTT"). The table is
//! optional; without it the link is off.
//!
//! Every file it names is read here, when the config loads, so a missing or unreadable CA,
//! certificate, key, password or command secret is an error naming its key before any hardware
//! is touched; the daemon then connects with the TLS configuration built here. The password and
//! the command secret are never shown: not in `Debug`, not in an error, not in a log line.

use super::check::{Check, ConfigError};
use super::duration;
use super::push::is_loopback;
use super::tls::{read_chain, read_key};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A validated `[mqtt]`.
#[derive(Clone)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    /// `mqtts://`: the TLS configuration (roots, client certificate) to connect with.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub client_id: String,
    /// `P` of every topic, without a trailing `/`.
    pub topic_prefix: String,
    pub username: Option<String>,
    pub password: Option<MqttSecret>,
    pub keepalive: Duration,
    /// When set, every command must carry `sig`, its HMAC-SHA256 under this.
    pub command_secret: Option<MqttSecret>,
    pub home_assistant: bool,
    pub discovery_prefix: String,
}

impl fmt::Debug for MqttConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MqttConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .field("client_id", &self.client_id)
            .field("topic_prefix", &self.topic_prefix)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("keepalive", &self.keepalive)
            .field("command_secret", &self.command_secret)
            .field("home_assistant", &self.home_assistant)
            .field("discovery_prefix", &self.discovery_prefix)
            .finish()
    }
}

/// A password or HMAC key read from a file. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct MqttSecret(String);

impl MqttSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MqttSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MqttSecret(<redacted>)")
    }
}

/// The table as the file spells it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMqtt {
    pub url: String,
    pub client_id: Option<String>,
    pub topic_prefix: Option<String>,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password_file: PathBuf,
    #[serde(default)]
    pub ca_file: PathBuf,
    #[serde(default)]
    pub cert_file: PathBuf,
    #[serde(default)]
    pub key_file: PathBuf,
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub keepalive: Option<Duration>,
    #[serde(default)]
    pub allow_plaintext: bool,
    #[serde(default)]
    pub command_secret_file: PathBuf,
    #[serde(default)]
    pub home_assistant: bool,
    pub discovery_prefix: Option<String>,
}

/// MQTT's keep-alive is whole seconds in 16 bits; below 5 s a slow link drops for nothing.
const KEEPALIVE: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(65_535));
/// HMAC keys shorter than this are guessable from one signed command.
const MIN_SECRET_CHARS: usize = 32;

pub(super) fn validate(
    check: &Check,
    raw: RawMqtt,
    locker_name: &str,
) -> Result<MqttConfig, ConfigError> {
    let (tls, host, port) = url(check, &raw.url)?;
    let clear = !tls && !is_loopback(&host);
    check.ensure(!clear || raw.allow_plaintext, "mqtt.url", || {
        "is plain mqtt:// to a host other than loopback: events carry pickup codes and commands \
         open doors. Use mqtts://, or mqtt.allow_plaintext = true to accept that"
            .to_owned()
    })?;
    let keepalive = raw.keepalive.unwrap_or(Duration::from_secs(30));
    check.ensure(
        keepalive >= KEEPALIVE.0 && keepalive <= KEEPALIVE.1 && keepalive.subsec_nanos() == 0,
        "mqtt.keepalive",
        || "must be whole seconds, 5s..=65535s".to_owned(),
    )?;
    let client_id = raw
        .client_id
        .clone()
        .unwrap_or_else(|| format!("lockerd-{locker_name}"));
    check.ensure(
        !client_id.is_empty() && client_id.len() <= 128,
        "mqtt.client_id",
        || "must be 1..=128 characters".to_owned(),
    )?;
    let topic_prefix = raw
        .topic_prefix
        .clone()
        .unwrap_or_else(|| format!("lockerd/{locker_name}"));
    topic(check, "mqtt.topic_prefix", &topic_prefix)?;
    let discovery_prefix = raw
        .discovery_prefix
        .clone()
        .unwrap_or_else(|| "homeassistant".to_owned());
    topic(check, "mqtt.discovery_prefix", &discovery_prefix)?;
    let password = file_secret(check, "mqtt.password_file", &raw.password_file, 1)?;
    let command_secret = file_secret(
        check,
        "mqtt.command_secret_file",
        &raw.command_secret_file,
        MIN_SECRET_CHARS,
    )?;
    let tls = match tls {
        true => Some(Arc::new(client_tls(check, &raw)?)),
        false => {
            let files = [("ca_file", &raw.ca_file), ("cert_file", &raw.cert_file)];
            for (key, path) in files {
                check.ensure(path.as_os_str().is_empty(), &format!("mqtt.{key}"), || {
                    "only with an mqtts:// url".to_owned()
                })?;
            }
            None
        }
    };
    Ok(MqttConfig {
        host,
        port,
        tls,
        client_id,
        topic_prefix: topic_prefix.trim_end_matches('/').to_owned(),
        username: (!raw.username.is_empty()).then_some(raw.username),
        password,
        keepalive,
        command_secret,
        home_assistant: raw.home_assistant,
        discovery_prefix: discovery_prefix.trim_end_matches('/').to_owned(),
    })
}

/// `mqtt://host[:1883]` or `mqtts://host[:8883]`: whether TLS, the host and the port. No user
/// or password in it (`username`, `password_file`), and it is never repeated in a message.
fn url(check: &Check, text: &str) -> Result<(bool, String, u16), ConfigError> {
    let key = "mqtt.url";
    let bad = || {
        check.error(
            key,
            "must be mqtt://host[:port] or mqtts://host[:port], e.g. \"mqtts://broker.example.net:8883\"",
        )
    };
    let (tls, rest) = match text.trim().split_once("://") {
        Some(("mqtts", rest)) => (true, rest),
        Some(("mqtt", rest)) => (false, rest),
        _ => return Err(bad()),
    };
    let rest = rest.trim_end_matches('/');
    check.ensure(!rest.contains('@'), key, || {
        "must not carry a user or password: use mqtt.username and mqtt.password_file".to_owned()
    })?;
    let default_port = if tls { 8883 } else { 1883 };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => {
            (host, port.parse::<u16>().map_err(|_| bad())?)
        }
        _ => (rest, default_port),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains('/') || port == 0 {
        return Err(bad());
    }
    Ok((tls, host.to_owned(), port))
}

/// A topic prefix: no wildcards, not empty.
fn topic(check: &Check, key: &str, value: &str) -> Result<(), ConfigError> {
    check.ensure(
        !value.trim_matches('/').is_empty() && !value.contains(['+', '#', '\0']),
        key,
        || "must be a topic without the wildcards + and #".to_owned(),
    )
}

/// The trimmed contents of `path` (relative to the config file), which must not be readable by
/// other users; `None` when the key is empty.
fn file_secret(
    check: &Check,
    key: &str,
    path: &Path,
    min_chars: usize,
) -> Result<Option<MqttSecret>, ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    if path.as_os_str().is_empty() {
        return Ok(None);
    }
    let path = check.source.parent().unwrap_or(Path::new("")).join(path);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| check.error(key, format!("cannot read {}: {e}", path.display())))?;
    let mode = std::fs::metadata(&path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    check.ensure(mode & 0o077 == 0, key, || {
        format!(
            "{} can be read by other users (mode {mode:o}): `chmod 600` it",
            path.display()
        )
    })?;
    let secret = text.trim().to_owned();
    let chars = secret.chars().count();
    check.ensure(chars >= min_chars, key, || {
        format!("must hold at least {min_chars} characters, got {chars}")
    })?;
    Ok(Some(MqttSecret(secret)))
}

/// The system roots, or `ca_file` instead; a client certificate with `cert_file` and `key_file`.
fn client_tls(check: &Check, raw: &RawMqtt) -> Result<rustls::ClientConfig, ConfigError> {
    let dir = check.source.parent().unwrap_or(Path::new(""));
    let named = |p: &PathBuf| (!p.as_os_str().is_empty()).then(|| dir.join(p));
    let mut roots = rustls::RootCertStore::empty();
    match named(&raw.ca_file) {
        Some(ca) => {
            for cert in read_chain(check, "mqtt.ca_file", &ca)? {
                roots
                    .add(cert)
                    .map_err(|e| check.error("mqtt.ca_file", format!("{}: {e}", ca.display())))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            check.ensure(!roots.is_empty(), "mqtt.ca_file", || {
                "the system has no CA certificates: install ca-certificates or name a ca_file"
                    .to_owned()
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| check.error("mqtt.url", e.to_string()))?
        .with_root_certificates(roots);
    match (named(&raw.cert_file), named(&raw.key_file)) {
        (Some(cert), Some(key)) => {
            let chain = read_chain(check, "mqtt.cert_file", &cert)?;
            let private = read_key(check, "mqtt.key_file", &key)?;
            builder.with_client_auth_cert(chain, private).map_err(|e| {
                check.error(
                    "mqtt.key_file",
                    format!("does not go with mqtt.cert_file: {e}"),
                )
            })
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(_), None) => Err(check.error("mqtt.key_file", "required with mqtt.cert_file")),
        (None, Some(_)) => Err(check.error("mqtt.cert_file", "required with mqtt.key_file")),
    }
}
