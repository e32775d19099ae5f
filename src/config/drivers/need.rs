//! [`Need`]: the driver-specific keys of one `latch` or `door` table, with the bus it names, so a
//! driver's module can require a key and refuse a value with the key path and bus in the message.

use super::super::check::{Check, ConfigError};
use super::super::hardware::BusConfig;

pub(in crate::config) struct Need<'a> {
    pub check: &'a Check<'a>,
    /// The table's path: `compartment[3].latch`.
    pub key: &'a str,
    /// "latch" or "door".
    pub what: &'static str,
    pub bus: &'a BusConfig,
}

impl Need<'_> {
    /// The value of `field`, which this driver requires.
    pub fn get<T>(&self, field: &str, value: Option<T>) -> Result<T, ConfigError> {
        value.ok_or_else(|| {
            self.check.error(
                format!("{}.{field}", self.key),
                format!(
                    "required for a {} on {} bus {:?}",
                    self.what,
                    self.bus.driver.kind(),
                    self.bus.name
                ),
            )
        })
    }

    pub fn invalid(&self, field: &str, message: String) -> ConfigError {
        self.check.error(format!("{}.{field}", self.key), message)
    }

    /// The bus's name, as a latch or door on it repeats it.
    pub fn bus_name(&self) -> String {
        self.bus.name.clone()
    }
}
