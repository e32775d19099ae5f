//! The operator commands' HTTP client: where the running daemon listens (the config's
//! `api.listen`, on loopback when it listens on every address), the operator token, one request
//! at a time with a deadline, and every failure turned into a message an operator can act on.
//!
//! The token goes into the `Authorization` header only: no message, `Debug` output or log line
//! here contains it. Depends on `config` and `reqwest`; only `ops` uses it.

use crate::config::{Config, ConfigError};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every request's deadline. The daemon answers each route promptly (a maintenance `open` is
/// `202` once queued, before the latch fires), so a slower answer means something is wrong.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where the token may come from, besides `--token-file`.
pub const TOKEN_VAR: &str = "LOCKERD_TOKEN";

/// Why an operator command failed. Usage errors (bad config, no token) exit 2, the rest 1.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Usage(String),
    #[error(
        "lockerd is not running at {url} (api.listen in {config}): start it with \
         `systemctl start lockerd`"
    )]
    NotRunning { url: String, config: String },
    #[error("lockerd at {url} did not answer within {}s", TIMEOUT.as_secs())]
    Timeout { url: String },
    #[error("cannot talk to lockerd at {url}: {cause}")]
    Transport { url: String, cause: String },
    #[error(
        "{status}: the token from {token_from} is not an operator token of lockerd at {url}; \
         create one with `lockerd token create --role operator --name NAME`"
    )]
    NotOperator {
        status: String,
        token_from: String,
        url: String,
    },
    #[error("{status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("lockerd at {url} answered {status} with a body that is not the API's JSON")]
    BadAnswer { url: String, status: u16 },
    #[error("{0}")]
    Failed(String),
}

impl OpsError {
    pub fn exit_code(&self) -> u8 {
        match self {
            OpsError::Config(_) | OpsError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// An operator token and where it came from (for messages; never the token itself).
pub struct Token {
    secret: String,
    source: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token(from {}, redacted)", self.source)
    }
}

impl Token {
    /// The token from `--token-file` (trimmed), else from `LOCKERD_TOKEN` (`env`).
    pub fn find(token_file: Option<&Path>, env: Option<String>) -> Result<Token, OpsError> {
        let (secret, source) = match token_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    OpsError::Usage(format!("cannot read --token-file {}: {e}", path.display()))
                })?;
                (text, format!("--token-file {}", path.display()))
            }
            None => match env {
                Some(text) if !text.trim().is_empty() => (text, TOKEN_VAR.to_owned()),
                _ => {
                    return Err(OpsError::Usage(format!(
                        "no operator token: set {TOKEN_VAR} or pass --token-file"
                    )));
                }
            },
        };
        let secret = secret.trim().to_owned();
        if secret.is_empty() {
            return Err(OpsError::Usage(format!("{source} is empty")));
        }
        // A header value must be visible ASCII; say so here rather than fail inside reqwest.
        if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(OpsError::Usage(format!(
                "{source} does not hold a token (a token is one word of visible ASCII)"
            )));
        }
        Ok(Token { secret, source })
    }
}

/// The daemon's API as the operator commands use it.
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Token,
    config: PathBuf,
}

impl Client {
    pub fn new(config: &Config, token: Token) -> Result<Client, OpsError> {
        let tls = config.api.tls.as_ref();
        let base = Url::parse(&base_url(config.api.listen, tls.is_some())).map_err(|e| {
            OpsError::Failed(format!("api.listen {} is no URL: {e}", config.api.listen))
        })?;
        let cannot = |e: &dyn std::fmt::Display| {
            OpsError::Failed(format!("cannot build the HTTP client: {e}"))
        };
        let mut http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            // The daemon is on this machine: an HTTP(S)_PROXY meant for the internet must not
            // carry the token elsewhere. No root certificates are loaded: over TLS, the daemon
            // must show exactly the certificate of api.tls_cert.
            .no_proxy()
            .tls_built_in_root_certs(false);
        if let Some(tls) = tls {
            let pinned =
                crate::cli::tls::pinned_client(tls.end_entity()).map_err(|e| cannot(&e))?;
            http = http.use_preconfigured_tls(pinned);
        }
        let http = http.build().map_err(|e| cannot(&e))?;
        Ok(Client {
            http,
            base,
            token,
            config: config.source.clone(),
        })
    }

    /// `/api/v1/` plus `segments`, each percent-encoded (ids are typed by people).
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("an http URL has a path")
            .extend(["api", "v1"])
            .extend(segments);
        url
    }

    pub async fn get(&self, url: Url) -> Result<Value, OpsError> {
        self.send(Method::GET, url, None).await
    }

    pub async fn post(&self, url: Url, body: Value) -> Result<Value, OpsError> {
        self.send(Method::POST, url, Some(body)).await
    }

    pub async fn delete(&self, url: Url) -> Result<Value, OpsError> {
        self.send(Method::DELETE, url, None).await
    }

    /// One request; the answer's JSON (`Null` for an empty body) or the failure.
    async fn send(&self, method: Method, url: Url, body: Option<Value>) -> Result<Value, OpsError> {
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(&self.token.secret);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.transport(&e))?;
        self.answer(status, &bytes)
    }

    fn answer(&self, status: StatusCode, bytes: &[u8]) -> Result<Value, OpsError> {
        let bad = || OpsError::BadAnswer {
            url: self.base_str(),
            status: status.as_u16(),
        };
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes).map_err(|_| bad())?
        };
        if status.is_success() {
            return Ok(body);
        }
        let error = &body["error"];
        let code = error["code"].as_str().ok_or_else(bad)?.to_owned();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(OpsError::NotOperator {
                status: format!("{} {code}", status.as_u16()),
                token_from: self.token.source.clone(),
                url: self.base_str(),
            });
        }
        Err(OpsError::Api {
            status: status.as_u16(),
            code,
            message: error["message"].as_str().unwrap_or_default().to_owned(),
        })
    }

    fn transport(&self, e: &reqwest::Error) -> OpsError {
        let url = self.base_str();
        if e.is_connect() {
            OpsError::NotRunning {
                url,
                config: self.config.display().to_string(),
            }
        } else if e.is_timeout() {
            OpsError::Timeout { url }
        } else {
            OpsError::Transport {
                url,
                cause: causes(e),
            }
        }
    }

    /// `http://127.0.0.1:8080`, without the trailing slash `Url` adds.
    fn base_str(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }
}

/// The URL the daemon is reached at: `listen`, on loopback when it listens on every address;
/// `https` when it serves TLS.
pub fn base_url(listen: SocketAddr, tls: bool) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}", SocketAddr::new(ip, listen.port()))
}

/// An error and its causes, `a: b: c`.
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_address_is_reached_on_loopback() {
        let url = |listen: &str| base_url(listen.parse().unwrap(), false);
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(
            base_url("0.0.0.0:8443".parse().unwrap(), true),
            "https://127.0.0.1:8443"
        );
        assert_eq!(url("[::]:9000"), "http://[::1]:9000");
        assert_eq!(url("192.168.1.5:8080"), "http://192.168.1.5:8080");
        assert_eq!(url("[::1]:8080"), "http://[::1]:8080");
    }

    #[test]
    fn a_token_file_is_trimmed_and_wins_over_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "  file-token\n").unwrap();
        let token = Token::find(Some(&file), Some("env-token".into())).unwrap();
        assert_eq!(token.secret, "file-token");
        assert!(!format!("{token:?}").contains("file-token"));
    }

    #[test]
    fn no_token_is_a_usage_error_naming_both_ways() {
        for env in [None, Some("  \n".to_owned())] {
            let error = Token::find(None, env).unwrap_err();
            assert_eq!(error.exit_code(), 2);
            assert_eq!(
                error.to_string(),
                "no operator token: set LOCKERD_TOKEN or pass --token-file"
            );
        }
    }

    #[test]
    fn a_token_with_spaces_inside_is_refused_without_showing_it() {
        let error = Token::find(None, Some("two words".into())).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(!error.to_string().contains("two words"), "{error}");
    }
}
