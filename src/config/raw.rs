//! The file's shape as serde reads it, before any cross-checks.
//!
//! Every table denies unknown keys, so a typo is an error rather than a silent default, and is
//! read as a table only (`table`), never field by field from an array. Bus and
//! latch/door tables keep the keys of their driver as TOML values: which of them are required or
//! forbidden, and their types, only the driver's module knows (`drivers`). Reading goes
//! through `serde_path_to_error` so an error names its key the way the file spells it
//! (`compartment[3].latch.coil`).

use super::check::ConfigError;
use super::duration;
use super::keys::Keys;
use super::mqtt::RawMqtt;
use super::push::RawPush;
use super::sections::{
    ApiConfig, DeliveryConfig, LatchConfig, LockerConfig, PhotoConfig, PolicyConfig, SyncConfig,
};
use super::table;
use crate::domain::Size;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default, deserialize_with = "table::one")]
    pub locker: LockerConfig,
    #[serde(default, deserialize_with = "table::one")]
    pub api: ApiConfig,
    #[serde(default, deserialize_with = "table::one")]
    pub policy: PolicyConfig,
    #[serde(default, deserialize_with = "table::one")]
    pub latch: LatchConfig,
    #[serde(default, deserialize_with = "table::one")]
    pub photo: PhotoConfig,
    #[serde(default, deserialize_with = "table::one")]
    pub delivery: DeliveryConfig,
    #[serde(default, deserialize_with = "table::one")]
    pub sync: RawSync,
    #[serde(default, deserialize_with = "table::optional")]
    pub mqtt: Option<RawMqtt>,
    // Defaulted so that a missing array gets validate's "at least one" message, not serde's.
    #[serde(default, rename = "bus", deserialize_with = "table::many")]
    pub buses: Vec<RawBus>,
    #[serde(default, rename = "compartment", deserialize_with = "table::many")]
    pub compartments: Vec<RawCompartment>,
}

/// `[sync]`: its scalars as `SyncConfig` has them, and `[sync.push]` before its checks.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawSync {
    #[serde(deserialize_with = "duration::deserialize")]
    pub retention: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub reservation_ttl: Duration,
    pub max_reservations: u32,
    #[serde(deserialize_with = "table::optional")]
    pub push: Option<RawPush>,
}

impl Default for RawSync {
    fn default() -> Self {
        let defaults = SyncConfig::default();
        RawSync {
            retention: defaults.retention,
            reservation_ttl: defaults.reservation_ttl,
            max_reservations: defaults.max_reservations,
            push: None,
        }
    }
}

/// A `[[bus]]`: its name and driver, and the driver's own keys, which only the driver's module
/// reads (`drivers`).
#[derive(Debug, Deserialize)]
pub(super) struct RawBus {
    // serde checks required keys before it reads a flattened map: these are optional here and
    // required in `buses`, so that a date-time where the table belongs is named as one.
    pub name: Option<String>,
    pub driver: Option<String>,
    #[serde(flatten)]
    pub keys: Keys,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCompartment {
    pub id: String,
    pub size: Size,
    #[serde(default)]
    pub accessible: bool,
    #[serde(deserialize_with = "table::one")]
    pub latch: RawWire,
    #[serde(deserialize_with = "table::one")]
    pub door: RawWire,
    #[serde(default, deserialize_with = "table::optional")]
    pub occupancy: Option<RawWire>,
}

/// A compartment's `latch` or `door`: the bus it is on, and keys the bus's driver reads.
#[derive(Debug, Deserialize)]
pub(super) struct RawWire {
    /// Required (in `wiring`); optional here for the reason `RawBus::name` is.
    pub bus: Option<String>,
    #[serde(flatten)]
    pub keys: Keys,
}

/// Reads `text` into the file's shape; `source` only names the file in errors.
pub(super) fn parse(text: &str, source: &Path) -> Result<RawFile, ConfigError> {
    let deserializer =
        toml::Deserializer::parse(text).map_err(|e| syntax_error(source, text, &e))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| shape_error(source, text, e))
}

/// A file that is not TOML at all: there is no key path yet, so point at the line instead.
fn syntax_error(source: &Path, text: &str, error: &toml::de::Error) -> ConfigError {
    let message = error.message().trim_end();
    let message = match error.span() {
        Some(span) => format!("{}: {message}", position(text, span.start)),
        None => message.to_owned(),
    };
    ConfigError::new(source, "", message)
}

/// Valid TOML of the wrong shape: unknown or missing keys, wrong types, bad values.
fn shape_error(
    source: &Path,
    text: &str,
    error: serde_path_to_error::Error<toml::de::Error>,
) -> ConfigError {
    let path = match error.path().to_string() {
        root if root == "." => String::new(),
        path => path,
    };
    let message = error.inner().message().trim_end();
    // serde_path_to_error already ends the path with an unknown key, but a missing key is
    // reported at the table that should hold it: name the key itself either way.
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        if name == DATETIME_KEY {
            let key = path.strip_suffix(DATETIME_KEY).unwrap_or(&path);
            let message = "invalid type: date-time, expected a table";
            return ConfigError::new(source, key.trim_end_matches('.'), message);
        }
        let expected = expected.trim_start_matches(", ").replace('`', "");
        let message = match expected.as_str() {
            "" | "there are no fields" => "unknown key".to_owned(),
            expected => format!("unknown key ({expected})"),
        };
        // The path ends with the key as read, unquoted: name it as the file spells it.
        let table = path
            .strip_suffix(name)
            .unwrap_or(&path)
            .trim_end_matches('.');
        let key = match table {
            "" => toml_key(name),
            table => format!("{table}.{}", toml_key(name)),
        };
        return ConfigError::new(source, key, message);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        return ConfigError::new(source, join(&path, name), "required key is missing");
    }
    if message.starts_with("invalid type: map") && holds_date_time(text, error.path()) {
        let message = message.replacen("invalid type: map", "invalid type: date-time", 1);
        return ConfigError::new(source, path, message);
    }
    if (path == "bus" || path == "compartment") && message.starts_with("invalid type: map") {
        return ConfigError::new(
            source,
            &path,
            format!("write [[{path}]] (one per {path}), not [{path}]"),
        );
    }
    if path.is_empty() {
        // Errors toml finds while building tables (a key defined twice) have no path but a span.
        if let Some(span) = error.inner().span() {
            return ConfigError::new(
                source,
                "",
                format!("{}: {message}", position(text, span.start)),
            );
        }
    }
    ConfigError::new(source, path, message)
}

/// toml hands a date-time to serde as a table of this one key. Where another type belongs,
/// serde's message would name the key (`latch.$__toml_private_datetime: unknown key`) or call
/// the value a map; the errors above say "date-time" instead.
const DATETIME_KEY: &str = "$__toml_private_datetime";

/// Whether the value at `path` in `text` (which parsed) is a date-time.
fn holds_date_time(text: &str, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let Ok(root) = text.parse::<toml::Table>() else {
        return false;
    };
    let root = toml::Value::Table(root);
    let mut here = &root;
    for segment in path.iter() {
        let next = match segment {
            Segment::Map { key } => here.get(key.as_str()),
            Segment::Seq { index } => here.get(*index),
            Segment::Enum { .. } | Segment::Unknown => None,
        };
        match next {
            Some(value) => here = value,
            None => return false,
        }
    }
    here.is_datetime()
}

/// A key as TOML writes it: bare when it can be, quoted otherwise (`""`, `"log level"`).
fn toml_key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_owned()
    } else {
        format!("{name:?}")
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() || path == key {
        key.to_owned()
    } else if path.ends_with(&format!(".{key}")) {
        path.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// "line L, column C" (both 1-based) of a byte offset.
fn position(text: &str, offset: usize) -> String {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!("line {line}, column {column}")
}
