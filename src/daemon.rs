//! Assembling and running the daemon: state directory, database, hardware, service, API.
//!
//! `start` returns once the database is open, every latch output has been driven off, the doors
//! have been read and reconciled with unfinished openings, and the listener is bound, so tests
//! (and systemd's readiness) see a daemon that is ready. `Running::stop` is the graceful
//! shutdown: stop accepting, finish in-flight requests, latches off.

use crate::config::Config;
use crate::controller::{self, Timing};
use crate::http::Monitoring;
use crate::locker::{Clock, InstallKey, Locker, Parts, SystemClock};
use crate::state::{HardwareClaim, StateDir};
use crate::store::Db;
use crate::sync::{PushStatus, Pusher};
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// How long a graceful stop waits for in-flight requests by default (a stalled client must not
/// keep the latches from being switched off).
const DRAIN: Duration = Duration::from_secs(10);

/// How often time-driven changes (grace periods, expiry) are checked.
const TICK: Duration = Duration::from_secs(1);

/// Knobs for tests; the daemon uses the defaults.
pub struct Options {
    pub clock: Arc<dyn Clock>,
    /// Overrides `api.listen` (tests bind port 0).
    pub listen: Option<SocketAddr>,
    /// How long a graceful stop waits for in-flight requests.
    pub drain: Duration,
    /// Beaten by the controller's loop; `lockerd run` feeds the systemd watchdog from it.
    pub heartbeat: controller::Heartbeat,
    /// The API's header-read timeout and connection cap.
    pub limits: crate::http::Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            clock: Arc::new(SystemClock),
            listen: None,
            drain: DRAIN,
            heartbeat: controller::Heartbeat::default(),
            limits: crate::http::Limits::default(),
        }
    }
}

/// A started daemon.
pub struct Running {
    pub addr: SocketAddr,
    pub locker: Locker,
    /// The simulated locker, when a `sim` bus is configured: tests read its pulses and move its
    /// doors directly.
    pub sim: Option<lockerd_hal::sim::SimHandle>,
    drain: Duration,
    /// The hardware lock (see `claim_hardware`), released when the daemon is gone.
    _claim: HardwareClaim,
    stop_server: watch::Sender<bool>,
    stop_hardware: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    controller: JoinHandle<()>,
    engine: JoinHandle<()>,
    ticker: JoinHandle<()>,
    /// The push task, with `[sync.push]`.
    push: Option<JoinHandle<()>>,
    /// The camera task, with `photo.command`.
    camera: Option<JoinHandle<()>>,
}

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

fn signal(rx: &watch::Receiver<bool>) -> impl std::future::Future<Output = ()> + Send + 'static {
    let mut rx = rx.clone();
    async move {
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// The database and the install key of `state`, created on first start. Both hold secrets
/// (code hashes, sealed TOTP seeds, the HMAC key): `StateDir` keeps them private.
fn open_state(state: &StateDir) -> anyhow::Result<(Db, InstallKey)> {
    let db = state.open_database()?;
    let key_path = state.install_key();
    let key = InstallKey::load_or_create(&key_path)
        .with_context(|| format!("cannot read install key {}", key_path.display()))?;
    crate::state::make_private(&key_path, 0o600)?;
    Ok((db, key))
}

pub async fn start(config: Config, options: Options) -> anyhow::Result<Running> {
    let config = Arc::new(config);
    // Hardware first: the controller drives every latch output off before anything else, even
    // before the database is opened, so a daemon crash-looping on a bad database cannot leave
    // a coil energized.
    let state = StateDir::new(&config.locker.state_dir);
    let claim = state.claim_hardware()?;
    let telemetry = crate::telemetry::Telemetry::default();
    let mut hardware = controller::build(&config)?;
    hardware.telemetry = telemetry.clone();
    for bus in &config.buses {
        telemetry.start_bus(&bus.name);
    }
    // For tests only (`Running::sim`): the service moves simulated doors through the controller.
    let sim = hardware.sim.as_ref().map(|(handle, _)| handle.clone());
    let (stop_hardware, hardware_rx) = watch::channel(false);
    let (handle, events, controller) = controller::spawn(
        hardware,
        Timing::from_config(&config.latch),
        options.heartbeat,
        signal(&hardware_rx),
    );
    let (db, key) = open_state(&state)?;
    let camera = crate::photo::Camera::new(&config.photo, state);
    let (photos, photo_requests) = match camera.is_some() {
        true => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        }
        false => (None, None),
    };
    let parts = Parts {
        telemetry,
        photos,
        db,
        config: config.clone(),
        clock: options.clock,
        key,
        controller: handle,
    };
    let locker = Locker::new(parts)?;
    locker
        .record_start()
        .await
        .context("cannot record the start in the audit log")?;

    let (reconciled, ready) = oneshot::channel();
    let engine = tokio::spawn({
        let locker = locker.clone();
        async move { locker.run_engine(events, Some(reconciled)).await }
    });
    ready
        .await
        .context("the hardware controller stopped during start-up")?;
    let ticker = tokio::spawn(run_ticks(locker.clone(), signal(&hardware_rx)));
    // The camera runs beside the controller and stops with it; what a crash left half-done
    // in the photo directory goes first.
    if let Err(e) = locker.sweep_photos().await {
        tracing::warn!(error = %e, "cannot tidy the photo directory");
    }
    let camera = match (camera, photo_requests) {
        (Some(camera), Some(requests)) => {
            let stop = signal(&hardware_rx);
            let task = crate::photo::run_camera(locker.clone(), camera, requests, stop);
            Some(tokio::spawn(task))
        }
        _ => None,
    };

    let addr = options.listen.unwrap_or(config.api.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener.local_addr()?;
    let (stop_server, server_rx) = watch::channel(false);
    let (push_status, push) = match start_push(&config, &locker, &server_rx)? {
        Some((status, task)) => (Some(status), Some(task)),
        None => (None, None),
    };
    let monitoring = Monitoring {
        push: push_status,
        metrics_public: config.api.metrics_public,
    };
    let server = crate::http::serve(
        listener,
        locker.clone(),
        monitoring,
        config.api.tls.as_ref(),
        options.limits,
        signal(&server_rx),
    )
    .context("cannot set up TLS for the API")?;
    let server = tokio::spawn(server);
    let scheme = if config.api.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(%addr, scheme, locker = %config.locker.name, compartments = config.compartments.len(), "lockerd ready");
    Ok(Running {
        addr,
        locker,
        sim,
        drain: options.drain,
        _claim: claim,
        stop_server,
        stop_hardware,
        server,
        controller,
        engine,
        ticker,
        push,
        camera,
    })
}

/// Spawns the push task if `[sync.push]` is configured. It stops with the API server: at the
/// start of a graceful stop, whatever it was waiting for.
fn start_push(
    config: &Config,
    locker: &Locker,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Option<(PushStatus, JoinHandle<()>)>> {
    let Some(push) = &config.sync.push else {
        return Ok(None);
    };
    let host = push.url.host_str().unwrap_or_default().to_owned();
    // Only with sync.push.allow_plaintext: the loader refuses it otherwise.
    if push.url.scheme() == "http" && !crate::config::is_loopback(&host) {
        tracing::warn!(%host, "sync.push.url is plain http: pickup codes cross the network unencrypted");
    }
    let status = PushStatus::new();
    let pusher = Pusher::new(
        locker.clone(),
        config.locker.name.clone(),
        push.clone(),
        status.clone(),
    )
    .context("cannot set up the push client")?;
    tracing::info!(%host, batch = push.batch, "pushing the event feed");
    Ok(Some((status, tokio::spawn(pusher.run(signal(stop))))))
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
        if let Some(push) = self.push.take() {
            // Stopped with the server: it waits for nothing but its current step.
            let _ = push.await;
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
        for task in [&self.push, &self.camera].into_iter().flatten() {
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
                if let Some(push) = &self.push {
                    push.abort();
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
