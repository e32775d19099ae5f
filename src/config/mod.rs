//! The configuration file: one TOML file, read once at start-up and checked completely before
//! any hardware is touched. `config/lockerd.toml` is the contract for its keys: it documents
//! every one of them, with its default.
//!
//! [`Config::load`] reads, parses and cross-checks. Every failure is a [`ConfigError`] naming the
//! file, the key path as the file spells it (`compartment[3].latch.coil`) and what was expected,
//! so an installer can fix the file without reading code. The loader never writes any file and
//! depends on nothing in the crate but `domain::Size`.
//!
//! Layout: `raw` is the file's shape as serde reads it; `validate` turns it into a [`Config`],
//! with `buses`, `compartments` and `wiring` (a compartment's latch and door against its bus's
//! driver) for the hardware tables, and `drivers` for what each bus driver reads (one module
//! per driver, registered in one list, its keys read through `keys`), and `push` for `[sync.push]`, `tls` for the API's
//! certificate; `sections`, `hardware` and `push` hold the public types; `check` builds every
//! [`ConfigError`] and holds the limits tables share. The modules' imports form a tree: this
//! one uses the others, `check` none of them, and none uses this one.

mod buses;
mod check;
mod compartments;
mod drivers;
mod duration;
mod hardware;
mod keys;
mod mqtt;
mod push;
mod raw;
mod sections;
mod table;
mod tls;
mod validate;
mod wiring;

#[cfg(test)]
mod tests;

pub use check::ConfigError;
pub use drivers::{
    BoardLink, DoorRef, Driver, FeedbackClosed, LatchRef, Level, OccupancyRef, Parity, Profile,
    Pull,
};
pub use hardware::{BusConfig, CompartmentConfig};
pub use mqtt::{MqttConfig, MqttSecret};
pub use push::{PushConfig, PushSecret, is_loopback};
pub use sections::{
    ApiConfig, Config, DeliveryConfig, LatchConfig, LockerConfig, PhotoConfig, PolicyConfig,
    SyncConfig, TlsIdentity,
};

use std::path::Path;

impl Config {
    /// Reads, parses and validates the file at `path`.
    ///
    /// A relative `locker.state_dir` is resolved against the file's directory and made absolute
    /// here, so the daemon's state does not move if its working directory does.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path, "", format!("cannot read the file: {e}")))?;
        let mut config = Config::parse(&text, path)?;
        if config.locker.state_dir.is_relative() {
            config.locker.state_dir =
                std::path::absolute(&config.locker.state_dir).map_err(|e| {
                    ConfigError::new(
                        path,
                        "locker.state_dir",
                        format!("cannot make the path absolute: {e}"),
                    )
                })?;
        }
        Ok(config)
    }

    /// Parses and validates `text`; `source` names the file in errors and anchors a relative
    /// `locker.state_dir`, `sync.push.secret_file`, `api.tls_cert` or `api.tls_key` (joined to
    /// `source`'s directory; nothing is read from disk but that secret file and the TLS files).
    pub fn parse(text: &str, source: &Path) -> Result<Config, ConfigError> {
        use sha2::Digest;
        let raw = raw::parse(text, source)?;
        validate::validate(raw, source, sha2::Sha256::digest(text).into())
    }

    /// The bus called `name`.
    pub fn bus(&self, name: &str) -> Option<&BusConfig> {
        self.buses.iter().find(|bus| bus.name == name)
    }

    /// The table `lockerd check-config` prints: a header, then one line per compartment with
    /// its id, size, accessibility, latch and door.
    pub fn describe_compartments(&self) -> String {
        let header = ["id", "size", "accessible", "latch", "door"].map(str::to_owned);
        let rows: Vec<[String; 5]> = self
            .compartments
            .iter()
            .map(|c| {
                [
                    c.id.clone(),
                    c.size.to_string(),
                    if c.accessible { "yes" } else { "no" }.to_owned(),
                    c.latch.to_string(),
                    c.door.to_string(),
                ]
            })
            .collect();
        let mut widths = [0; 5];
        for row in std::iter::once(&header).chain(&rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(widths) {
                line.push_str(&format!("{cell:<width$}  "));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}
