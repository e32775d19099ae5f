//! lockerd: the controller of a bank of parcel lockers.
//!
//! Layout, from the outside in:
//! - `cli` — the command line (`lockerd run`, `check-config`, `token create`).
//! - `config` — the TOML file, validated before any hardware is touched.
//! - `domain` — the rules (compartment and parcel state machines, assignment, keypad lockout), pure.

pub mod cli;
pub mod config;
pub mod controller;
pub mod daemon;
pub mod domain;
pub mod http;
pub mod locker;
pub mod store;
