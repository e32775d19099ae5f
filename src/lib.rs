//! lockerd: the controller of a bank of parcel lockers.
//!
//! Layout, from the outside in. The command line, apart from the daemon's layers:
//! - `cli` — `lockerd run` (which starts `daemon`), `check-config`, `token create`, `kiosk
//!   pair`, and the tools beside the daemon: `cli::audit`, `cli::backup`, `cli::hw`
//!   (commissioning), `cli::ops` (the running daemon's API for operators), `cli::tls`.
//!   `main.rs` calls it; nothing below depends on it.
//!
//! The daemon, outermost first:
//! - `daemon` — start-up order (hardware safe first, database, service, listener) and shutdown.
//! - `systemd` — readiness, status, stopping and the watchdog fed by the controller's heartbeat.
//! - `logging` — structured journal records under systemd, plain lines elsewhere.
//! - `telemetry` — the counters `/metrics` shows.
//! - `http` — the axum router of the local HTTP API (docs/api.md), its errors, and the generated
//!   OpenAPI document.
//! - `sync` — push delivery of the event feed to the cloud: the signed batches, the task that
//!   retries them, and its state for `/healthz` and `/metrics`.
//! - `locker` — the service: each use case as a transaction plus, where a door opens, a
//!   request to the controller; the engine that applies hardware events; restart reconciliation.
//! - `controller` — the one owner of the hardware: one latch pulse at a time, door polling;
//!   `controller/drivers` is where each bus driver is registered.
//! - `photo` — the proof-of-delivery camera, an outside command run after a deposit is stored.
//! - `state` — the state directory: its layout (database, install key, photos, hardware lock)
//!   and its permissions, for every module that touches it.
//! - `store` — SQLite: migrations, rows, the event feed, the hash-chained audit log.
//! - `config` — the TOML file, validated before any hardware is touched.
//! - `domain` — the rules (compartment and parcel state machines, assignment, lockout), pure.
//!
//! Dependencies point inward: `domain` depends on nothing here; `store` and `controller` on
//! `domain`; `state` on `store`; `locker` on those; `photo` and `sync` on `locker`; `systemd`
//! on `controller`; `http` and `daemon` on `locker` and `sync`, and `daemon` on `systemd`.

pub mod cli;
pub mod config;
pub mod controller;
pub mod daemon;
pub mod domain;
pub mod http;
pub mod locker;
pub mod logging;
pub mod mqtt;
pub mod photo;
pub mod state;
pub mod store;
pub mod sync;
pub mod systemd;
pub mod telemetry;
