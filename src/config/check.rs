//! How the loader refuses a file: [`ConfigError`], built through [`Check`], and the limits more
//! than one table shares. Every other module of the loader depends on this one, and this one on
//! none of them, so the modules' imports form a tree.

use super::duration::show;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The longest latch cooldown or open timeout (in `validate`) and bus poll or request timeout
/// (in `buses`): the controller adds these to its clock, and nothing real takes longer. `push`
/// counts its limits in it too.
pub(super) const MINUTE: Duration = Duration::from_secs(60);

/// Why a file was refused: `file: key: message`. `key` is empty where no key is to blame (the
/// file cannot be read, or is not TOML; the message then starts with the line and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}{}", .file.display(), key_prefix(.key), .message)]
pub struct ConfigError {
    pub file: PathBuf,
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(file: &Path, key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            key: key.into(),
            message: message.into(),
        }
    }
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("{key}: ")
    }
}

/// Builds errors for one file.
pub(super) struct Check<'a> {
    pub source: &'a Path,
}

impl Check<'_> {
    pub fn error(&self, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::new(self.source, key, message)
    }

    /// Fails with `message` at `key` unless `ok`.
    pub fn ensure(
        &self,
        ok: bool,
        key: &str,
        message: impl FnOnce() -> String,
    ) -> Result<(), ConfigError> {
        if ok {
            Ok(())
        } else {
            Err(self.error(key, message()))
        }
    }

    pub fn positive(&self, key: &str, value: Duration) -> Result<(), ConfigError> {
        self.ensure(!value.is_zero(), key, || {
            "must be longer than 0s".to_owned()
        })
    }

    /// Fails unless `value <= max`; `limit` is `max` as the file would write it, `why` the reason.
    pub fn at_most(
        &self,
        key: &str,
        value: Duration,
        max: Duration,
        limit: &str,
        why: &str,
    ) -> Result<(), ConfigError> {
        self.ensure(value <= max, key, || {
            format!("must be at most {limit}, got {}: {why}", show(value))
        })
    }
}
