//! Durations in the file are humantime strings ("400ms", "90s", "15m", "72h", "30d"), never bare
//! numbers: a bare `400` would leave the reader guessing whether it means ms or s.

use serde::Deserializer;
use serde::de::{self, Visitor};
use std::fmt;
use std::time::Duration;

/// Deserializes a required duration field (used with `#[serde(default)]` for the defaults
/// `config/lockerd.toml` documents).
pub(super) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    deserializer.deserialize_str(DurationVisitor)
}

/// Deserializes an optional duration field; a missing key stays `None` through `#[serde(default)]`.
pub(super) fn deserialize_opt<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    deserialize(deserializer).map(Some)
}

/// Parses one duration, with a message that shows the accepted forms.
pub(super) fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!(
            "invalid duration {text:?} ({e}); write it like \"400ms\", \"90s\", \"72h\" or \"30d\""
        )
    })
}

/// Renders a duration the way the file writes it, for messages.
pub(super) fn show(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration string such as \"400ms\", \"90s\" or \"72h\"")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        parse(text).map_err(E::custom)
    }
}
