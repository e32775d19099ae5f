//! A driver's own keys, read from the part of a `[[bus]]`, `latch` or `door` table that the
//! file's shape leaves to the driver (`raw` keeps them as TOML values). Each driver module
//! declares a serde struct for its keys and reads it through here, so a wrong type is reported
//! at its key (`bus[0].baud`) with serde's message, as for every other table of the file.

use super::check::{Check, ConfigError};
use serde::de::DeserializeOwned;

/// The driver's keys of one table, as TOML values, in the order the file writes them.
#[derive(Debug, Default)]
pub(super) struct Keys(toml::Table);

impl std::ops::Deref for Keys {
    type Target = toml::Table;
    fn deref(&self) -> &toml::Table {
        &self.0
    }
}

/// toml hands a date-time to serde as a table of this one key: where a table belongs, refuse it
/// the way a struct that denies unknown keys would, so `raw` names it a date-time.
const DATETIME_KEY: &str = "$__toml_private_datetime";

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let table = <toml::Table as serde::Deserialize>::deserialize(d)?;
        if table.contains_key(DATETIME_KEY) {
            return Err(serde::de::Error::unknown_field(DATETIME_KEY, &[]));
        }
        Ok(Keys(table))
    }
}

/// Reads `keys` into the driver's struct `T`; `key` is the table's path (`bus[2]`,
/// `compartment[0].latch`).
pub(super) fn read<T: DeserializeOwned>(
    check: &Check,
    key: &str,
    keys: &Keys,
) -> Result<T, ConfigError> {
    let value = toml::Value::Table(keys.0.clone());
    serde_path_to_error::deserialize(value).map_err(|error| {
        let field = error.path().to_string();
        let message = error.inner().message().trim_end().to_owned();
        // toml hands a date-time to serde as a one-key table: call it what the file wrote.
        let is_date = keys.get(&field).is_some_and(toml::Value::is_datetime);
        let message = match message.strip_prefix("invalid type: map") {
            Some(rest) if is_date => format!("invalid type: date-time{rest}"),
            _ => message,
        };
        let at = if field.is_empty() || field == "." {
            key.to_owned()
        } else {
            format!("{key}.{field}")
        };
        check.error(at, message)
    })
}
