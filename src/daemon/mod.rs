//! Assembling and running the daemon: state directory, database, hardware, service, API.
//!
//! `start` returns once the database is open, every latch output has been driven off, the doors
//! have been read and reconciled with unfinished openings, and the listener is bound, so tests
//! (and systemd's readiness) see a daemon that is ready. `Running::stop` is the graceful
//! shutdown: stop accepting, finish in-flight requests, latches off.

use crate::config::Config;
use crate::controller::{self, ControllerHandle, HwEvent, Timing};
use crate::domain::ParcelId;
use crate::http::Monitoring;
use crate::locker::{Clock, InstallKey, Locker, Parts, SystemClock, Ticket};
use crate::photo::Camera;
use crate::state::{HardwareClaim, StateDir};
use crate::store::Db;
use crate::sync::{MqttStatus, PushStatus, Pusher};
use crate::telemetry::Telemetry;
use anyhow::Context;
use lockerd_hal::sim::SimHandle;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

mod shutdown;

pub use shutdown::StopSignals;

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
    /// The push task (with `[sync.push]`) and the MQTT link (with `[mqtt]`): consumers of the
    /// feed that stop with the API server.
    links: Vec<JoinHandle<()>>,
    /// The camera task, with `photo.command`.
    camera: Option<JoinHandle<()>>,
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

/// Starts the daemon, step by step in this order: the hardware (safe first), the database, the
/// service, the engine and the camera beside the controller, then the API.
pub async fn start(config: Config, options: Options) -> anyhow::Result<Running> {
    let config = Arc::new(config);
    // Hardware first: the controller drives every latch output off before anything else, even
    // before the database is opened, so a daemon crash-looping on a bad database cannot leave
    // a coil energized.
    let state = StateDir::new(&config.locker.state_dir);
    let claim = state.claim_hardware()?;
    let telemetry = crate::telemetry::Telemetry::default();
    let (stop_hardware, hardware_rx) = watch::channel(false);
    let hardware = start_hardware(&config, &telemetry, options.heartbeat, &hardware_rx)?;
    let (db, key) = open_state(&state)?;
    let (photos, camera) = camera(&config, state);
    let parts = Parts {
        telemetry,
        photos,
        db,
        config: config.clone(),
        clock: options.clock,
        key,
        controller: hardware.handle,
    };
    let locker = start_service(parts).await?;
    let (engine, ticker) = start_engine(&locker, hardware.events, &hardware_rx).await?;
    let camera = start_camera(&locker, camera, &hardware_rx).await;
    let api = start_api(&config, &locker, options.listen, options.limits).await?;
    Ok(Running {
        addr: api.addr,
        locker,
        sim: hardware.sim,
        drain: options.drain,
        _claim: claim,
        stop_server: api.stop,
        stop_hardware,
        server: api.server,
        controller: hardware.task,
        engine,
        ticker,
        links: api.links,
        camera,
    })
}

/// The hardware controller once spawned: the service's handle on it, the door and opening
/// events it reports, its task, and the simulated locker when a `sim` bus is configured (for
/// tests only, `Running::sim`: the service moves simulated doors through the controller).
struct Hardware {
    handle: ControllerHandle<Ticket>,
    events: mpsc::UnboundedReceiver<HwEvent<Ticket>>,
    task: JoinHandle<()>,
    sim: Option<SimHandle>,
}

/// Opens every bus and spawns the controller, which stops at `stop`.
fn start_hardware(
    config: &Config,
    telemetry: &Telemetry,
    heartbeat: controller::Heartbeat,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Hardware> {
    let mut hardware = controller::build(config)?;
    hardware.telemetry = telemetry.clone();
    for bus in &config.buses {
        telemetry.start_bus(&bus.name);
    }
    let sim = hardware.sim.as_ref().map(|(handle, _)| handle.clone());
    let (handle, events, task) = controller::spawn(
        hardware,
        Timing::from_config(&config.latch),
        heartbeat,
        signal(stop),
    );
    Ok(Hardware {
        handle,
        events,
        task,
        sim,
    })
}

/// The camera, with the channel on which the service asks it for photos.
type CameraRequests = (Camera, mpsc::UnboundedReceiver<ParcelId>);

/// The camera `photo.command` configures, if any, and the channel between it and the service.
fn camera(
    config: &Config,
    state: StateDir,
) -> (
    Option<mpsc::UnboundedSender<ParcelId>>,
    Option<CameraRequests>,
) {
    match Camera::new(&config.photo, state) {
        Some(camera) => {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some((camera, rx)))
        }
        None => (None, None),
    }
}

/// The service on the open database, its start in the audit log.
async fn start_service(parts: Parts) -> anyhow::Result<Locker> {
    let locker = Locker::new(parts)?;
    locker
        .record_start()
        .await
        .context("cannot record the start in the audit log")?;
    Ok(locker)
}

/// Spawns the engine that applies the controller's events, and returns once it has reconciled
/// the openings a previous run left unfinished with the doors; then the periodic checks.
async fn start_engine(
    locker: &Locker,
    events: mpsc::UnboundedReceiver<HwEvent<Ticket>>,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<(JoinHandle<()>, JoinHandle<()>)> {
    let (reconciled, ready) = oneshot::channel();
    let engine = tokio::spawn({
        let locker = locker.clone();
        async move { locker.run_engine(events, Some(reconciled)).await }
    });
    ready
        .await
        .context("the hardware controller stopped during start-up")?;
    let ticker = tokio::spawn(run_ticks(locker.clone(), signal(stop)));
    Ok((engine, ticker))
}

/// The camera runs beside the controller and stops with it; what a crash left half-done in the
/// photo directory goes first.
async fn start_camera(
    locker: &Locker,
    camera: Option<CameraRequests>,
    stop: &watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    if let Err(e) = locker.sweep_photos().await {
        tracing::warn!(error = %e, "cannot tidy the photo directory");
    }
    let (camera, requests) = camera?;
    let task = crate::photo::run_camera(locker.clone(), camera, requests, signal(stop));
    Some(tokio::spawn(task))
}

/// The API once listening: its address, the push task and MQTT link that stop with it, and
/// how to stop it.
struct Api {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    links: Vec<JoinHandle<()>>,
}

/// Binds the listener, starts the push task and the MQTT link, then serves the API.
async fn start_api(
    config: &Config,
    locker: &Locker,
    listen: Option<SocketAddr>,
    limits: crate::http::Limits,
) -> anyhow::Result<Api> {
    let addr = listen.unwrap_or(config.api.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener.local_addr()?;
    let (stop, server_rx) = watch::channel(false);
    let (push_status, push) = match start_push(config, locker, &server_rx)? {
        Some((status, task)) => (Some(status), Some(task)),
        None => (None, None),
    };
    let mqtt_status = config.mqtt.as_ref().map(|_| MqttStatus::new());
    let monitoring = Monitoring {
        push: push_status,
        mqtt: mqtt_status.clone(),
        metrics_public: config.api.metrics_public,
    };
    let mqtt = mqtt_status.and_then(|status| {
        crate::mqtt::start(
            config,
            locker,
            monitoring.clone(),
            status,
            signal(&server_rx),
        )
    });
    let server = crate::http::serve(
        listener,
        locker.clone(),
        monitoring,
        config.api.tls.as_ref(),
        limits,
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
    Ok(Api {
        addr,
        stop,
        server,
        links: push.into_iter().chain(mqtt).collect(),
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
