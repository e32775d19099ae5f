//! `lockerd hw status`: does every bus answer, and is every door open or closed?
//!
//! A bus answers when its latch outputs can be driven off and its doors read once. Each bus is
//! opened and checked on its own, so one that is down (or cannot even be opened) is named
//! beside the ones that work. Where a compartment has an occupancy sensor (a Kerong lock's
//! infrared), its line says `occupied` or `empty` after the door, as read with the doors.

use super::{describe, open_buses, read_doors};
use crate::config::{BusConfig, Config};
use lockerd_hal::DoorState;
use std::collections::HashMap;

/// What one bus said.
struct BusReport {
    /// Why the bus does not answer; `None` when it does.
    failure: Option<String>,
    /// The compartments whose door is on this bus, in file order, with the door as read.
    doors: Vec<(String, Option<DoorState>)>,
    /// What the occupancy sensors on this bus read: `None` where the read failed.
    occupied: HashMap<String, Option<bool>>,
}

pub(super) async fn run(config: &Config) -> anyhow::Result<()> {
    let _claim = super::refuse_if_daemon_runs(config, "GET /healthz shows its buses").await?;
    let mut failed = Vec::new();
    for bus in &config.buses {
        let report = check(config, bus).await;
        match &report.failure {
            None => println!("bus {}: ok", describe(bus)),
            Some(why) => {
                println!("bus {}: not answering: {why}", describe(bus));
                failed.push(bus.name.as_str());
            }
        }
        let width = report
            .doors
            .iter()
            .map(|(id, _)| id.len())
            .max()
            .unwrap_or(0);
        for (id, state) in &report.doors {
            let line = format!("  {id:width$}  {}", door_word(*state));
            match report.occupied.get(id) {
                Some(occupied) => println!("{line}  {}", occupancy_word(*occupied)),
                None => println!("{line}"),
            }
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{} of {} buses did not answer: {}",
        failed.len(),
        config.buses.len(),
        failed.join(", ")
    )
}

async fn check(config: &Config, bus: &BusConfig) -> BusReport {
    let ids: Vec<String> = config
        .compartments
        .iter()
        .filter(|c| c.door.bus() == bus.name)
        .map(|c| c.id.clone())
        .collect();
    // A sensor of a compartment whose door is on another bus is not shown here.
    let sensed: Vec<&String> = config
        .compartments
        .iter()
        .filter(|c| c.occupancy.as_ref().is_some_and(|o| o.bus() == bus.name))
        .map(|c| &c.id)
        .collect();
    let report = |failure: Option<String>,
                  read: HashMap<String, DoorState>,
                  occupied: HashMap<String, bool>| BusReport {
        failure,
        doors: ids
            .iter()
            .map(|id| (id.clone(), read.get(id).copied()))
            .collect(),
        occupied: sensed
            .iter()
            .map(|&id| (id.clone(), occupied.get(id).copied()))
            .collect(),
    };
    let nothing = || (HashMap::new(), HashMap::new());
    let mut hw = match open_buses(config, &[&bus.name]) {
        Ok(hw) => hw,
        Err(e) => {
            let (read, occupied) = nothing();
            return report(Some(format!("cannot open it: {e:#}")), read, occupied);
        }
    };
    let Some(slot) = hw.buses.first_mut() else {
        let (read, occupied) = nothing();
        return report(Some("not built".to_owned()), read, occupied);
    };
    let mut errors = Vec::new();
    // First, whatever else happens: a coil left on by a crash must not stay on.
    if let Err(e) = slot.driver.all_off().await {
        errors.push(format!("switching the latches off: {e}"));
    }
    // Read even when the all-off failed: an installer learns more from which half works.
    let (read, occupied) = match read_doors(&mut slot.driver, &slot.doors).await {
        Ok(states) => {
            // The sensors are read with the doors (one status request a board).
            let mut sensors = vec![None; slot.driver.occupancy_count()];
            slot.driver.occupancy(&mut sensors);
            let occupied = slot
                .sensors
                .iter()
                .zip(sensors)
                .filter_map(|(c, s)| Some((c.0.clone(), s?)))
                .collect();
            (
                states.into_iter().map(|(c, s)| (c.0, s)).collect(),
                occupied,
            )
        }
        Err(e) => {
            errors.push(format!("reading the doors: {e}"));
            nothing()
        }
    };
    let failure = (!errors.is_empty()).then(|| errors.join("; "));
    report(failure, read, occupied)
}

fn occupancy_word(occupied: Option<bool>) -> &'static str {
    match occupied {
        Some(true) => "occupied",
        Some(false) => "empty",
        None => "occupancy unknown",
    }
}

fn door_word(state: Option<DoorState>) -> &'static str {
    match state {
        Some(DoorState::Open) => "open",
        Some(DoorState::Closed) => "closed",
        None => "unknown",
    }
}
