//! Arbitrary text as a config file, parsed the way `lockerd check-config` parses it: the loader
//! must answer, never panic, name a key or a line in every refusal, and keep every cross-check
//! in what it accepts (`tests/oracles/config.rs`). Bytes that are not UTF-8 are refused before
//! parsing (`cannot read the file`) and are skipped here.

#![no_main]

#[path = "../../tests/oracles/config.rs"]
mod oracle;

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // A directory that does not exist: a relative `secret_file` is never found.
        let _ = oracle::judge(text, Path::new("/nonexistent/lockerd-fuzz/lockerd.toml"));
    }
});
