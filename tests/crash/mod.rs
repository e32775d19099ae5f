//! The crash-consistency harness behind `tests/crash_consistency.rs`: the real daemon killed
//! with SIGKILL under load, restarted over its state, and held to its invariants.
//!
//! - `daemon` — the `lockerd` binary as a child process: start, ready, SIGKILL, the CLI;
//! - `api` — an HTTP client for which a lost answer is normal, and TOTP on the real clock;
//! - `load` — the workers: couriers and recipients that resume after every crash;
//! - `ledger` — what the clients saw answered: the yardstick after a crash;
//! - `snapshot` — the state as the database file and the API show it;
//! - `check` — the invariants, each a function that reports instead of panicking;
//! - `run` — one run: set-up, crash cycles, checks, draining.

pub mod api;
pub mod check;
pub mod daemon;
pub mod ledger;
pub mod load;
pub mod run;
pub mod snapshot;
