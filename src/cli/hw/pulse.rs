//! `lockerd hw pulse`: one opening of one compartment, made by the daemon's own controller.
//!
//! A latch is pulsed by one code path, whoever asks. The tool starts the controller the daemon
//! runs (`crate::controller`) on the buses the compartment's latch and door are on, with
//! `latch.retries` forced to 0, asks it for one opening and reports its verdict: the door
//! confirmed open, not confirmed, or a bus error. Every safety rule is the controller's: all
//! outputs off at start and again when it stops, the pulse cap, the cooldown, and the door
//! confirmed with the daemon's debounce (two equal reads on Modbus). A door the controller
//! reads open at start is refused: its opening could not be confirmed.
//!
//! The database is opened before the bus is touched, so an opening that cannot be recorded is
//! not made. As the daemon's maintenance opening does, the intent goes into the audit log
//! (`maintenance.opening`, actor `cli`) before the controller is asked, and `maintenance.opened`
//! is published once the controller has seen the door open, through the store's functions.
//! The service (`crate::locker`) is not started: it would also settle the daemon's unfinished
//! openings, count the opening against an API credential's limit and mark the compartment
//! `fault` after one unconfirmed pulse, none of which belongs in a commissioning check.

use super::open_buses;
use crate::config::{CompartmentConfig, Config};
use crate::controller::{self, ControllerHandle, Heartbeat, HwEvent, Timing};
use crate::domain::{CompartmentId, Door};
use crate::locker::{Clock, SystemClock};
use crate::state::StateDir;
use crate::store::{self, Db};
use anyhow::{Context, bail};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Who and why, in the audit event: a person at the locker with a shell, not an API token.
const ACTOR: &str = "lockerd hw pulse";
const REASON: &str = "commissioning";

/// What the controller decided about the opening.
enum Verdict {
    /// Read open at start: nothing was asked.
    AlreadyOpen,
    /// Seen open, this long after the opening was asked for.
    Opened(std::time::Duration),
    Failed {
        reason: String,
        /// The bus was down or its outputs not known off: the latch itself is not to blame.
        bus_unavailable: bool,
    },
}

/// The running controller, and Ctrl-C.
struct Session {
    handle: ControllerHandle<()>,
    events: mpsc::UnboundedReceiver<HwEvent<()>>,
    interrupt: Signal,
    interrupted: bool,
}

pub(super) async fn run(config: &Config, id: &str) -> anyhow::Result<()> {
    let compartment = find(config, id)?;
    let _claim = super::refuse_if_daemon_runs(
        config,
        &format!("open the compartment through it: POST /api/v1/compartments/{id}/open"),
    )
    .await?;
    let db = StateDir::new(&config.locker.state_dir).open_database()?;
    // Caught before any output is touched: Ctrl-C's default action would kill the tool
    // mid-pulse, leaving a coil energized.
    let interrupt = signal(SignalKind::interrupt()).context("cannot catch Ctrl-C")?;
    let latch_bus = compartment.latch.bus();
    let hw = open_buses(config, &[latch_bus, compartment.door.bus()])?;
    let telemetry = hw.telemetry.clone();
    let timing = Timing {
        retries: 0,
        ..Timing::from_config(&config.latch)
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let (handle, events, join) = controller::spawn(hw, timing, Heartbeat::default(), async {
        let _ = stopped.await;
    });
    let mut session = Session {
        handle,
        events,
        interrupt,
        interrupted: false,
    };
    let verdict = open_once(&mut session, &db, id).await;
    // Stopping, the controller switches every output off once more; its health then says
    // whether that worked.
    let _ = stop.send(());
    join.await.context("the hardware controller failed")?;
    let labels = crate::telemetry::BusLabels {
        bus: latch_bus.to_owned(),
    };
    // Counted by the controller for every pulse it tried, including one that failed on the bus.
    if telemetry.latch_pulses.get_or_create(&labels).get() == 0 {
        return report(id, verdict?, timing);
    }
    let length = humantime::format_duration(timing.pulse_length());
    println!("{id}: latch pulsed for {length} on bus {latch_bus}");
    let reported = report(id, verdict?, timing);
    match (reported, outputs_on(&session.handle)) {
        (reported, None) => reported,
        (Ok(()), Some(warning)) => Err(anyhow::anyhow!("{warning}")),
        (Err(e), Some(warning)) => Err(e.context(warning)),
    }
}

fn find<'c>(config: &'c Config, id: &str) -> anyhow::Result<&'c CompartmentConfig> {
    let Some(compartment) = config.compartments.iter().find(|c| c.id == id) else {
        bail!(
            "no compartment \"{id}\" in {} (it has {})",
            config.source.display(),
            config
                .compartments
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    Ok(compartment)
}

/// Asks the controller for one opening once it has read the doors, and waits for its verdict.
async fn open_once(session: &mut Session, db: &Db, id: &str) -> anyhow::Result<Verdict> {
    let c = CompartmentId(id.to_owned());
    // A bus that fails at start is reported down before the doors are: its doors are unknown.
    let doors = loop {
        if let HwEvent::DoorsRead(doors) = session.next().await? {
            break doors;
        }
    };
    if doors.get(&c) == Some(&Door::Open) {
        return Ok(Verdict::AlreadyOpen);
    }
    record_intent(db, id)?;
    let asked = Instant::now();
    session.handle.open(c, ())?;
    loop {
        match session.next().await? {
            HwEvent::Opened { .. } => {
                record_opened(db, id)?;
                return Ok(Verdict::Opened(asked.elapsed()));
            }
            HwEvent::OpenFailed {
                reason,
                bus_unavailable,
                ..
            } => {
                return Ok(Verdict::Failed {
                    reason,
                    bus_unavailable,
                });
            }
            // Door and bus changes on the way: the verdict is what counts.
            _ => {}
        }
    }
}

impl Session {
    /// The controller's next event. Ctrl-C does not cut the opening short: the controller
    /// finishes it (bounded by `latch.open_timeout`) and switches every output off.
    async fn next(&mut self) -> anyhow::Result<HwEvent<()>> {
        loop {
            tokio::select! {
                event = self.events.recv() => {
                    return event.context("the hardware controller stopped without an answer");
                }
                _ = self.interrupt.recv(), if !self.interrupted => {
                    self.interrupted = true;
                    eprintln!("interrupted: finishing the opening, then every latch output off");
                }
            }
        }
    }
}

/// A warning naming the buses whose outputs were not confirmed off when the controller stopped.
fn outputs_on(handle: &ControllerHandle<()>) -> Option<String> {
    let on: Vec<String> = handle
        .health()
        .into_iter()
        .filter(|bus| !bus.ok)
        .map(|bus| bus.name)
        .collect();
    (!on.is_empty()).then(|| {
        format!(
            "WARNING: the latch outputs of bus {} could NOT be confirmed off; cut the latch power",
            on.join(", ")
        )
    })
}

fn report(id: &str, verdict: Verdict, timing: Timing) -> anyhow::Result<()> {
    match verdict {
        Verdict::AlreadyOpen => {
            bail!("{id}: the door is already open: close it first, so the pulse can be confirmed")
        }
        Verdict::Opened(after) => {
            println!(
                "{id}: door seen open {:.2}s after the opening was asked for; close it before \
                 starting the daemon",
                after.as_secs_f64()
            );
            Ok(())
        }
        Verdict::Failed {
            reason,
            bus_unavailable: true,
        } => bail!("{id}: not opened: {reason}"),
        Verdict::Failed { reason, .. } => bail!(
            "{id}: not opened: {reason} (latch.open_timeout {}, no retries): check the latch, its \
             wiring and the door sensor",
            humantime::format_duration(timing.open_timeout)
        ),
    }
}

/// Intent before action: the opening is in the audit log before the controller is asked.
fn record_intent(db: &Db, id: &str) -> anyhow::Result<()> {
    let detail = serde_json::json!({"compartment": id, "reason": REASON, "command": ACTOR});
    // One immediate transaction, like the daemon's: the entry and the chain's head in `meta`
    // commit together, and no other process appends between reading the head and writing.
    let mut conn = db.lock();
    let mut append = || -> rusqlite::Result<()> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        store::append_audit(
            &tx,
            SystemClock.now(),
            "cli",
            "maintenance.opening",
            &detail,
        )?;
        tx.commit()
    };
    append().context("the opening could not be recorded in the audit log, so it was not made")?;
    Ok(())
}

/// The event the daemon publishes when a maintenance opening's door is seen open.
fn record_opened(db: &Db, id: &str) -> anyhow::Result<()> {
    let data = serde_json::json!({"compartment": id, "actor": ACTOR, "reason": REASON});
    store::append_event(&db.lock(), "maintenance.opened", SystemClock.now(), &data)
        .context("the door opened but the opening could not be recorded in the database")?;
    Ok(())
}
