//! `lockerd hw pulse`: one latch pulse, confirmed by the door sensor and audited.
//!
//! The order is the daemon's: every latch output of the buses involved off first, then the
//! door read (an open door could not confirm anything, so it is refused as the controller
//! refuses it), then one pulse of `latch.pulse`, never longer than `latch.max_pulse`, then the
//! door polled until `latch.open_timeout`. The database is opened before the bus is touched, so
//! a pulse that cannot be recorded is not made: the audit log's `maintenance.opening` entry
//! (actor `cli`) is appended before the pulse, and the `maintenance.opened` event as soon as
//! the pulse is done, before the door is watched, so an interrupted check still leaves the
//! pulse on record.

use super::{open_buses, read_doors};
use crate::config::Config;
use crate::controller::{AnyBus, Hardware};
use crate::daemon;
use crate::domain::CompartmentId;
use crate::locker::{Clock, SystemClock};
use crate::store::{self, Db};
use anyhow::{Context, bail};
use lockerd_hal::DoorState;
use std::time::Duration;
use tokio::time::Instant;

/// Who and why, in the audit event: a person at the locker with a shell, not an API token.
const ACTOR: &str = "lockerd hw pulse";
const REASON: &str = "commissioning";

/// How often the door is read after the pulse: the bus's own poll period, within these bounds
/// (often enough to see a door that pops and is pushed back, gently enough for a slow bus).
const MIN_POLL: Duration = Duration::from_millis(20);
const MAX_POLL: Duration = Duration::from_millis(250);

pub(super) async fn run(config: &Config, id: &str) -> anyhow::Result<()> {
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
    let _claim = super::refuse_if_daemon_runs(
        config,
        &format!("open the compartment through it: POST /api/v1/compartments/{id}/open"),
    )
    .await?;
    let (db, _) = daemon::open_state(&config.locker.state_dir)?;

    let (latch_bus, door_bus) = (compartment.latch.bus(), compartment.door.bus());
    let mut hw = open_buses(config, &[latch_bus, door_bus])?;
    all_off(&mut hw).await?;
    let c = CompartmentId(id.to_owned());
    let (Some(latch), Some(door)) = (hw.latches.get(&c).copied(), hw.doors.get(&c).copied()) else {
        bail!("{id}: its latch or door is not on a bus that could be opened");
    };
    let door_at = (door.bus, door.channel);
    if door_state(&mut hw, door_at).await? == DoorState::Open {
        bail!("{id}: the door is already open: close it first, so the pulse can be confirmed");
    }

    let length = config.latch.pulse.min(config.latch.max_pulse);
    record_intent(&db, id)?;
    let started = Instant::now();
    if let Err(e) = pulse(&mut hw.buses[latch.bus].driver, latch.channel, length).await {
        // The pulse may have been cut off with the coil still on: this tool must not exit
        // leaving a solenoid energized.
        let off = switch_off_with_retries(&mut hw).await;
        let state = if off {
            "the latch outputs are confirmed off"
        } else {
            "WARNING: the latch outputs could NOT be confirmed off; cut the latch power"
        };
        return Err(e.context(format!(
            "{id}: the latch pulse on bus {latch_bus} failed; {state}"
        )));
    }
    audit(&db, id)?;
    println!(
        "{id}: latch pulsed for {} on bus {latch_bus}",
        humantime::format_duration(length)
    );

    let open_timeout = config.latch.open_timeout;
    if !door_opens(&mut hw, door_at, open_timeout).await? {
        bail!(
            "{id}: door not seen open within {} of the pulse: check the latch, its wiring and \
             the door sensor",
            humantime::format_duration(open_timeout)
        );
    }
    println!(
        "{id}: door seen open {:.2}s after the pulse began; close it before starting the daemon",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// After a failed pulse: every output off, trying for a few seconds while a bus recovers.
async fn switch_off_with_retries(hw: &mut Hardware) -> bool {
    for attempt in 0..5 {
        if all_off(hw).await.is_ok() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500 * (attempt + 1))).await;
    }
    false
}

/// Every latch output of the buses off, before anything else touches them.
async fn all_off(hw: &mut Hardware) -> anyhow::Result<()> {
    for slot in &mut hw.buses {
        slot.driver
            .all_off()
            .await
            .with_context(|| format!("bus {}: cannot switch the latches off", slot.name))?;
    }
    Ok(())
}

/// Whether the door at `at` is read open within `open_timeout` from now.
async fn door_opens(
    hw: &mut Hardware,
    at: (usize, usize),
    open_timeout: Duration,
) -> anyhow::Result<bool> {
    let poll = hw.buses[at.0].poll.clamp(MIN_POLL, MAX_POLL);
    let deadline = Instant::now() + open_timeout;
    loop {
        if door_state(hw, at).await? == DoorState::Open {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(poll).await;
    }
}

/// One pulse; on Ctrl-C the pulse is abandoned and every latch of the bus driven off, as a
/// dropped pulse may leave its coil on.
async fn pulse(driver: &mut AnyBus, channel: usize, length: Duration) -> anyhow::Result<()> {
    let outcome = tokio::select! {
        result = driver.pulse(channel, length) => Some(result),
        _ = tokio::signal::ctrl_c() => None,
    };
    match outcome {
        Some(result) => Ok(result?),
        None => {
            let off = driver.all_off().await;
            match off {
                Ok(()) => bail!("interrupted; the latches are off"),
                Err(e) => bail!("interrupted, and the latches could not be switched off: {e}"),
            }
        }
    }
}

/// The state of the door on channel `at.1` of bus `at.0`.
async fn door_state(hw: &mut Hardware, at: (usize, usize)) -> anyhow::Result<DoorState> {
    let slot = &mut hw.buses[at.0];
    let doors = read_doors(&mut slot.driver, &slot.doors)
        .await
        .with_context(|| format!("bus {}: cannot read the doors", slot.name))?;
    doors
        .get(at.1)
        .map(|(_, state)| *state)
        .with_context(|| format!("bus {}: no door channel {}", slot.name, at.1))
}

/// Intent before action: the opening is in the audit log before the coil is energized.
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
    append().context("the pulse could not be recorded in the audit log, so it was not made")?;
    Ok(())
}

fn audit(db: &Db, id: &str) -> anyhow::Result<()> {
    let data = serde_json::json!({"compartment": id, "actor": ACTOR, "reason": REASON});
    store::append_event(&db.lock(), "maintenance.opened", SystemClock.now(), &data)
        .context("the latch was pulsed but the pulse could not be recorded in the database")?;
    Ok(())
}
