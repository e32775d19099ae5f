//! lockerd: the controller of a bank of parcel lockers.
//!
//! Layout, from the outside in:
//! - `cli` — the command line (`lockerd run`, `check-config`, `token create`, `kiosk pair`, and
//!   the tools below); `main.rs` calls it.
//! - `audit` — `lockerd audit verify` and `export`: the audit log checked and exported
//!   read-only, beside a running daemon.
//! - `backup` — `lockerd backup`: a consistent copy of the live database.
//! - `hw` — commissioning tools (`lockerd hw status`, `pulse`, `scan`) for installers at the
//!   locker, with the daemon stopped: `pulse` runs the daemon's controller, the others read the
//!   buses through its drivers.
//! - `ops` — `lockerd courier|parcel|compartment`: the running daemon's API, for operators.
//! - `tls` — `lockerd tls` (a first self-signed certificate, the configured one's fingerprint)
//!   and the pinned client the operator commands reach a daemon served over TLS with.
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
//! `domain`; `locker` on those; `sync` on `locker`; `systemd` on `controller`; `http` and
//! `daemon` on `locker` and `sync`, and `daemon` on `systemd`.

pub mod audit;
pub mod backup;
pub mod cli;
pub mod config;
pub mod controller;
pub mod daemon;
pub mod domain;
pub mod http;
pub mod hw;
pub mod locker;
pub mod logging;
pub mod ops;
pub mod photo;
pub mod state;
pub mod store;
pub mod sync;
pub mod systemd;
pub mod telemetry;
pub mod tls;
