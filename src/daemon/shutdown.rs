//! Stopping the daemon: the signals that ask for it, the graceful stop (stop accepting, finish
//! in-flight requests, latches off), and, for tests of what a restart finds, a crash.

use super::Running;
use anyhow::Context;

/// SIGTERM and SIGINT, caught from the moment this exists. Install it before start-up: a
/// signal's default action kills the process on the spot, so systemd's stop right after
/// `READY=1` (or during a slow start) would skip the graceful stop; caught, it is held until
/// [`Running::run_until_signal`] looks.
pub struct StopSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Must be called within a tokio runtime.
    pub fn install() -> std::io::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }
}

impl Running {
    /// Graceful shutdown: stop accepting and let in-flight requests finish (their doors still
    /// open) for at most `Options::drain`, then let the controller settle the openings it was asked
    /// for, then every latch output off. The hardware is stopped whatever happened before.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.stop_server.send(true);
        let served = match tokio::time::timeout(self.drain, &mut self.server).await {
            Ok(joined) => joined
                .map_err(anyhow::Error::from)
                .and_then(|r| r.map_err(anyhow::Error::from)),
            Err(_) => {
                tracing::warn!("requests still open after {:?}: closing them", self.drain);
                self.server.abort();
                Ok(())
            }
        };
        for link in std::mem::take(&mut self.links) {
            // Stopped with the server: each waits for nothing but its current step (the MQTT
            // link publishes `offline` first, for at most a couple of seconds).
            let _ = link.await;
        }
        self.locker.stop_opening();
        let _ = self.stop_hardware.send(true);
        let controller = self.controller.await;
        let _ = self.engine.await;
        let _ = self.ticker.await;
        if let Some(camera) = self.camera.take() {
            // It gives up a photo being taken (and deletes its partial file) at the signal.
            let _ = camera.await;
        }
        controller.context("the hardware controller panicked")?;
        served.context("the API server failed")
    }

    /// Stops every task, as a crash or power cut would: no draining, no all-off. For tests of
    /// what a restart finds. The API goes first, with every connection (the server's task owns
    /// them): a crashed daemon answers nothing more, and a request served after the controller
    /// had gone would fail where no real crash lets it answer at all.
    pub async fn crash(self) {
        self.server.abort();
        let _ = self.server.await;
        for task in [&self.controller, &self.engine, &self.ticker] {
            task.abort();
        }
        for task in self.links.iter().chain(&self.camera) {
            task.abort();
        }
    }

    /// Runs until SIGTERM or SIGINT (caught by `signals`, possibly before this call), then
    /// stops gracefully. If the controller or the engine stops on its own (a panic), the daemon
    /// exits with an error so systemd restarts it: a daemon that answers the API but cannot
    /// move doors must not look alive.
    pub async fn run_until_signal(mut self, mut signals: StopSignals) -> anyhow::Result<()> {
        let died = tokio::select! {
            _ = signals.term.recv() => { tracing::info!("SIGTERM: shutting down"); None }
            _ = signals.int.recv() => { tracing::info!("SIGINT: shutting down"); None }
            r = &mut self.controller => Some(("hardware controller", r)),
            r = &mut self.engine => Some(("event engine", r)),
        };
        match died {
            None => {
                crate::systemd::stopping();
                self.stop().await
            }
            Some((task, result)) => {
                self.server.abort();
                for link in &self.links {
                    link.abort();
                }
                self.locker.stop_opening();
                let _ = self.stop_hardware.send(true);
                let why = result
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "it returned".into());
                crate::systemd::status(&format!("failed: the {task} stopped ({why})"));
                anyhow::bail!("the {task} stopped unexpectedly ({why})")
            }
        }
    }
}
