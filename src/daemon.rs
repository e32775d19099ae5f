//! Assembling and running the daemon: state directory, database, hardware, service, API.
//!
//! `start` returns once the database is open, every latch output has been driven off, the doors
//! have been read and reconciled with unfinished openings, and the listener is bound, so tests
//! (and systemd's readiness) see a daemon that is ready. `Running::stop` is the graceful
//! shutdown: stop accepting, finish in-flight requests, latches off.

use crate::config::Config;
use crate::controller::{self, Timing};
use crate::locker::{Clock, InstallKey, Locker, Parts, SystemClock};
use crate::store::Db;
use anyhow::Context;
use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// How often time-driven changes (grace periods, expiry) are checked.
const TICK: Duration = Duration::from_secs(1);

/// Knobs for tests; the daemon uses the defaults.
pub struct Options {
    pub clock: Arc<dyn Clock>,
    /// Overrides `api.listen` (tests bind port 0).
    pub listen: Option<SocketAddr>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            clock: Arc::new(SystemClock),
            listen: None,
        }
    }
}

/// A started daemon.
pub struct Running {
    pub addr: SocketAddr,
    pub locker: Locker,
    /// The simulated locker, when a `sim` bus is configured.
    pub sim: Option<lockerd_hal::sim::SimHandle>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    controller: JoinHandle<()>,
    tasks: Vec<JoinHandle<()>>,
}

fn shutdown_signal(
    rx: &watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let mut rx = rx.clone();
    async move {
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// The database file and install key live here.
pub fn open_state(state_dir: &Path) -> anyhow::Result<(Db, InstallKey)> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(state_dir)
        .with_context(|| format!("cannot create state directory {}", state_dir.display()))?;
    let db_path = state_dir.join("lockerd.db");
    let db = Db::open(&db_path)
        .with_context(|| format!("cannot open database {}", db_path.display()))?;
    let key_path = state_dir.join("install.key");
    let key = InstallKey::load_or_create(&key_path)
        .with_context(|| format!("cannot read install key {}", key_path.display()))?;
    Ok((db, key))
}

pub async fn start(config: Config, options: Options) -> anyhow::Result<Running> {
    let config = Arc::new(config);
    let (db, key) = open_state(&config.locker.state_dir)?;
    let hardware = controller::build(&config)?;
    let sim = hardware.sim.clone();
    let (shutdown, shutdown_rx) = watch::channel(false);
    let l = &config.latch;
    let timing = Timing {
        pulse: l.pulse,
        max_pulse: l.max_pulse,
        cooldown: l.cooldown,
        open_timeout: l.open_timeout,
        retries: l.retries,
        door_left_open: l.door_left_open,
    };
    let (handle, events, controller) =
        controller::spawn(hardware, timing, shutdown_signal(&shutdown_rx));
    let locker = Locker::new(Parts {
        db,
        config: config.clone(),
        clock: options.clock,
        key,
        controller: handle,
        sim: sim.clone(),
    })?;

    let (reconciled, ready) = oneshot::channel();
    let engine = tokio::spawn({
        let locker = locker.clone();
        async move { locker.run_engine(events, Some(reconciled)).await }
    });
    ready
        .await
        .context("the hardware controller stopped during start-up")?;
    let ticker = tokio::spawn(run_ticks(locker.clone(), shutdown_signal(&shutdown_rx)));

    let addr = options.listen.unwrap_or(config.api.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(crate::http::serve(
        listener,
        locker.clone(),
        shutdown_signal(&shutdown_rx),
    ));
    tracing::info!(%addr, locker = %config.locker.name, compartments = config.compartments.len(), "lockerd ready");
    Ok(Running {
        addr,
        locker,
        sim: sim.map(|(handle, _)| handle),
        shutdown,
        server,
        controller,
        tasks: vec![engine, ticker],
    })
}

async fn run_ticks(locker: Locker, shutdown: impl std::future::Future<Output = ()>) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = interval.tick() => {
                if let Err(e) = locker.tick().await {
                    tracing::error!(error = %e, "periodic check failed");
                }
            }
        }
    }
}

impl Running {
    /// Graceful shutdown: stop accepting, finish in-flight requests, every latch output off.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        let served = self.server.await.context("the API server panicked")?;
        self.controller
            .await
            .context("the hardware controller panicked")?;
        for task in self.tasks {
            let _ = task.await;
        }
        served.context("the API server failed")
    }

    /// Runs until SIGTERM or SIGINT, then stops gracefully.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
        self.stop().await
    }
}
