//! The validated [`Config`] and the scalar tables of the file — `[locker]`, `[api]` (with the
//! [`TlsIdentity`] `tls` loads for it), `[policy]`, `[latch]`, `[photo]`, `[sync]` — and their
//! defaults. Every table is optional and every key in it has a default; the
//! `Default` impls are the values `config/lockerd.toml` documents, so keep the two in step.
//! (`[sync.push]`, whose `url` and secret have no default, is in `push`.)

use super::duration;
use super::hardware::{BusConfig, CompartmentConfig};
use super::mqtt::MqttConfig;
use super::push::PushConfig;
use crate::domain::RateLimit;
use rustls::sign::CertifiedKey;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub source: PathBuf,
    /// SHA-256 of the file's bytes: the daemon's start-up audit entry records it, so a config
    /// changed between two starts shows in the audit log.
    pub sha256: [u8; 32],
    pub locker: LockerConfig,
    pub api: ApiConfig,
    pub policy: PolicyConfig,
    pub latch: LatchConfig,
    pub photo: PhotoConfig,
    pub delivery: DeliveryConfig,
    pub sync: SyncConfig,
    /// `[mqtt]`, the fleet link, when configured.
    pub mqtt: Option<MqttConfig>,
    /// From `[[bus]]`, in file order; names are unique.
    pub buses: Vec<BusConfig>,
    /// From `[[compartment]]`, in file order; ids are unique and every latch and door names a
    /// bus in `buses` whose driver matches.
    pub compartments: Vec<CompartmentConfig>,
}

/// `[locker]`: who this locker is and where it keeps its state.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockerConfig {
    /// Shown in events and metrics.
    pub name: String,
    /// SQLite database, secrets and photos. After loading it is never relative to the working
    /// directory: a relative value in the file is resolved against the file's own directory.
    pub state_dir: PathBuf,
    /// What is logged: a level (`info`) or per-module directives (`info,lockerd::controller=debug`),
    /// as `RUST_LOG` takes them; `RUST_LOG`, when set, wins.
    pub log_level: String,
}

impl Default for LockerConfig {
    fn default() -> Self {
        LockerConfig {
            name: "lockerd".to_owned(),
            state_dir: PathBuf::from("/var/lib/lockerd"),
            log_level: "info".to_owned(),
        }
    }
}

/// `[api]`: the local HTTP API.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Loopback by default: exposing the API on the LAN is an explicit choice.
    #[serde(deserialize_with = "socket_addr")]
    pub listen: SocketAddr,
    pub metrics_public: bool,
    /// PEM certificate chain; with `tls_key` the API is served over HTTPS. Empty: plain HTTP.
    /// Relative to the file's directory; resolved by the loader.
    pub tls_cert: PathBuf,
    /// PEM private key of `tls_cert` (a 0600 file).
    pub tls_key: PathBuf,
    /// A non-loopback `listen` without TLS is refused unless this is true.
    pub allow_plaintext: bool,
    /// The certificate and key, loaded by the loader when both files are named.
    #[serde(skip)]
    pub tls: Option<TlsIdentity>,
    /// Live streams (`GET /api/v1/kiosk/events`) open at once, from all callers together.
    pub max_streams: u32,
    /// Live streams open at once with one token (a paired kiosk's cookie holds its token).
    pub max_streams_per_token: u32,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_public: false,
            tls_cert: PathBuf::new(),
            tls_key: PathBuf::new(),
            allow_plaintext: false,
            tls: None,
            max_streams: 32,
            max_streams_per_token: 4,
        }
    }
}

/// The API's certificate chain and private key, loaded and checked to belong together.
#[derive(Clone)]
pub struct TlsIdentity {
    /// `api.tls_cert`, resolved against the config file's directory.
    pub cert: PathBuf,
    /// `api.tls_key`, likewise.
    pub key: PathBuf,
    /// The chain (end-entity certificate first) and the key ready to sign handshakes.
    pub certified: Arc<CertifiedKey>,
}

impl TlsIdentity {
    /// The end-entity certificate, DER: what a client pins and `lockerd tls fingerprint` hashes.
    pub fn end_entity(&self) -> &CertificateDer<'static> {
        &self.certified.cert[0]
    }
}

/// Shows the paths only: never key material.
impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// `[policy]`: pickup codes, parcel lifetimes and keypad lockout.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    pub code_length: u8,
    #[serde(deserialize_with = "duration::deserialize")]
    pub dwell: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub deposit_grace: Duration,
    pub keypad_max_failures: u32,
    #[serde(deserialize_with = "duration::deserialize")]
    pub keypad_lockout: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub keypad_lockout_max: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub courier_session: Duration,
    /// How long an operator stays signed in to the console (`/console/`) from sign-in,
    /// whatever is done meanwhile.
    #[serde(deserialize_with = "duration::deserialize")]
    pub console_session: Duration,
    /// Door openings one operator credential may ask for per `opens_window` (maintenance).
    pub opens_per_credential: u32,
    /// The same for every credential together.
    pub opens_locker_wide: u32,
    #[serde(deserialize_with = "duration::deserialize")]
    pub opens_window: Duration,
    /// Compartments one courier may open (deposits, resizes, returns) per `courier_session`.
    pub courier_opens: u32,
}

impl PolicyConfig {
    /// One operator credential's ceiling on door openings.
    pub fn opens_per_credential(&self) -> RateLimit {
        RateLimit {
            max: self.opens_per_credential,
            window: self.opens_window,
        }
    }

    /// Every credential's openings together.
    pub fn opens_locker_wide(&self) -> RateLimit {
        RateLimit {
            max: self.opens_locker_wide,
            window: self.opens_window,
        }
    }

    /// One courier's ceiling on compartments opened, per session length.
    pub fn courier_opens(&self) -> RateLimit {
        RateLimit {
            max: self.courier_opens,
            window: self.courier_session,
        }
    }
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            code_length: 6,
            dwell: Duration::from_secs(72 * 3600),
            deposit_grace: Duration::from_secs(120),
            keypad_max_failures: 5,
            keypad_lockout: Duration::from_secs(60),
            keypad_lockout_max: Duration::from_secs(24 * 3600),
            courier_session: Duration::from_secs(15 * 60),
            console_session: Duration::from_secs(12 * 3600),
            opens_per_credential: 10,
            opens_locker_wide: 30,
            opens_window: Duration::from_secs(60),
            courier_opens: 30,
        }
    }
}

/// `[latch]`: how latch outputs are driven, for every bus alike.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LatchConfig {
    #[serde(deserialize_with = "duration::deserialize")]
    pub pulse: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub max_pulse: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub cooldown: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub open_timeout: Duration,
    pub retries: u32,
    #[serde(deserialize_with = "duration::deserialize")]
    pub door_left_open: Duration,
}

impl Default for LatchConfig {
    fn default() -> Self {
        LatchConfig {
            pulse: Duration::from_millis(400),
            max_pulse: Duration::from_millis(1500),
            cooldown: Duration::from_secs(1),
            open_timeout: Duration::from_secs(3),
            retries: 1,
            door_left_open: Duration::from_secs(60),
        }
    }
}

/// `[photo]`: the proof-of-delivery photo; an empty command means no photos.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhotoConfig {
    /// Split into words like a shell would (quotes respected) but run without one; `{path}`
    /// in any word becomes the file to write.
    pub command: String,
    #[serde(deserialize_with = "duration::deserialize")]
    pub timeout: Duration,
    /// Photos of parcels stored longer ago than this are deleted.
    #[serde(deserialize_with = "duration::deserialize")]
    pub retention: Duration,
}

impl Default for PhotoConfig {
    fn default() -> Self {
        PhotoConfig {
            command: String::new(),
            timeout: Duration::from_secs(5),
            retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl PhotoConfig {
    /// The command's words, `None` when no photos are taken. The loader has checked it splits
    /// and names `{path}`.
    pub fn argv(&self) -> Option<Vec<String>> {
        match self.command.trim() {
            "" => None,
            command => shell_words::split(command).ok(),
        }
    }
}

/// `[delivery]`: deliveries from drivers without a courier account.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// A tracking id with a live reservation opens a compartment for its parcel ("scan to
    /// open"). A reservation with a `deposit_pin` needs its PIN whatever this says.
    pub scan_to_open: bool,
    /// Any delivery opens a free compartment (a porch box that takes anything while empty and
    /// locks once it holds a parcel).
    pub open_drop: bool,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            scan_to_open: true,
            open_drop: false,
        }
    }
}

/// `[sync]`: how long acknowledged events are kept, how long a pre-advised parcel's
/// reservation waits for its courier when the cloud gives no `expires_at`, and whether the feed
/// is also pushed (`[sync.push]`).
#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub retention: Duration,
    pub reservation_ttl: Duration,
    /// Reservations open at once; also how many writes (create, replace, withdraw) one
    /// credential may make per hour. Bounds what a sync token can make the locker store.
    pub max_reservations: u32,
    /// `None` without a `[sync.push]` table: the cloud pulls.
    pub push: Option<PushConfig>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            retention: Duration::from_secs(30 * 24 * 3600),
            reservation_ttl: Duration::from_secs(14 * 24 * 3600),
            max_reservations: 1000,
            push: None,
        }
    }
}

/// serde's own message for a bad address ("invalid socket address syntax") does not show the
/// expected form; this one does.
fn socket_addr<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(|_| {
        de::Error::custom(format!(
            "invalid address {text:?}; expected ip:port such as \"127.0.0.1:8080\" or \"0.0.0.0:8080\""
        ))
    })
}
