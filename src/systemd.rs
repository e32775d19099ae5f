//! Telling systemd how the daemon is doing (sd_notify): `READY=1` once it serves, a one-line
//! `STATUS=`, `STOPPING=1` when a graceful stop begins, and `WATCHDOG=1` only while the hardware
//! controller's loop keeps turning. Every message is a no-op outside systemd (no NOTIFY_SOCKET).
//!
//! These are process-wide: `lockerd run` (in `cli`) and `daemon::Running::run_until_signal`
//! send them, never `daemon::start`, so tests that start many daemons in one process notify
//! nothing. Depends on `controller` (its heartbeat and bus health) only.

use crate::controller::{BusHealth, Heartbeat};
use sd_notify::NotifyState;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// How often the status line is recomputed (bus health is in memory: this costs nothing).
const STATUS_EVERY: Duration = Duration::from_secs(2);

/// The watchdog timeout systemd set (`WatchdogSec=`), if it applies to this process.
pub fn watchdog_timeout() -> Option<Duration> {
    sd_notify::watchdog_enabled().filter(|t| !t.is_zero())
}

/// The heartbeat the controller loop must keep for a watchdog `timeout`: a beat at least every
/// quarter of it, so one late beat on a loaded machine still leaves a margin (see `feed_watchdog`).
pub fn heartbeat_for(timeout: Option<Duration>) -> Heartbeat {
    match timeout {
        Some(timeout) => Heartbeat::every(timeout / 4),
        None => Heartbeat::default(),
    }
}

/// Whether systemd listens: without it, there is no point in running the reporting tasks.
pub fn supervised() -> bool {
    std::env::var_os("NOTIFY_SOCKET").is_some()
}

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// Start-up is finished: the database is open, the buses were made safe and read (or marked
/// down), and the listener is bound. One datagram, so the status comes with the readiness.
pub fn ready(status_line: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status_line)]);
}

pub fn status(status_line: &str) {
    send(&[NotifyState::Status(status_line)]);
}

/// A graceful stop begins.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// `serving 12 compartments on 127.0.0.1:8080; buses: rs485 down, sim ok`
pub fn status_line(addr: SocketAddr, compartments: usize, buses: &[BusHealth]) -> String {
    let buses = match buses {
        [] => "none".to_owned(),
        buses => buses
            .iter()
            .map(|b| format!("{} {}", b.name, if b.ok { "ok" } else { "down" }))
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!("serving {compartments} compartments on {addr}; buses: {buses}")
}

/// Keeps the status line current as buses go down and come back.
pub async fn report_status(mut line: impl FnMut() -> String, mut last: String) {
    let mut interval = tokio::time::interval(STATUS_EVERY);
    loop {
        interval.tick().await;
        let now = line();
        if now != last {
            status(&now);
            last = now;
        }
    }
}

/// Pings the watchdog every quarter of `timeout` while the controller loop has beaten within
/// the last half of it. A wedged loop stops the pings, and systemd restarts the daemon at most
/// 1.5 × `timeout` after the loop's last beat. The pings come from this task rather than from
/// the loop itself so that a slow or blocked send can never hold up the hardware.
pub async fn feed_watchdog(heartbeat: Heartbeat, timeout: Duration) {
    let mut interval = tokio::time::interval(timeout / 4);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut seen, mut advanced) = (heartbeat.beats(), Instant::now());
    let mut feeding = true;
    loop {
        interval.tick().await;
        let beats = heartbeat.beats();
        if beats != seen {
            (seen, advanced) = (beats, Instant::now());
        }
        let stalled = advanced.elapsed();
        if stalled <= timeout / 2 {
            if !feeding {
                tracing::warn!("the hardware controller's loop turns again: feeding the watchdog");
                feeding = true;
            }
            send(&[NotifyState::Watchdog]);
        } else if feeding {
            tracing::error!(
                stalled = ?stalled,
                "the hardware controller's loop has stopped turning: no longer feeding the \
                 watchdog, systemd will restart the daemon"
            );
            feeding = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bus(name: &str, ok: bool) -> BusHealth {
        BusHealth {
            name: name.into(),
            ok,
            last_error: None,
        }
    }

    #[test]
    fn the_status_line_names_the_address_and_each_bus() {
        let addr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(
            status_line(addr, 12, &[bus("rs485", false), bus("sim", true)]),
            "serving 12 compartments on 127.0.0.1:8080; buses: rs485 down, sim ok"
        );
        assert_eq!(
            status_line(addr, 0, &[]),
            "serving 0 compartments on 127.0.0.1:8080; buses: none"
        );
    }
}
