//! A database that has already served many parcels, for the pickup figure with history.
//!
//! Each past parcel is written the way the daemon leaves one: a collected parcel row (no live
//! code, no compartment), its three feed events (`parcel.opening`, `parcel.stored`,
//! `parcel.collected`, acknowledged by the cloud as it keeps up) and two entries in the audit
//! chain, through the daemon's own store functions in one transaction. The parcels are spread
//! over the last 25 days, inside every retention period, so nothing is pruned at start and the
//! daemon works on all of it.
//!
//! Writing a million parcels takes minutes, so each size is made once and kept under the
//! target directory (`bench-history/`), migrated to the current schema when it is older; a run
//! copies it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use lockerd::domain::{CourierId, Parcel, ParcelId, ParcelState, Size, Timestamp};
use lockerd::locker::{Clock, SystemClock};
use lockerd::store::{self, Db};
use serde_json::json;

const SPREAD: Duration = Duration::from_secs(25 * 24 * 3600);

/// A state directory whose database holds `parcels` past parcels, in `into`.
pub fn state_dir_with(parcels: usize, into: &Path) -> anyhow::Result<PathBuf> {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-history");
    std::fs::create_dir_all(&cache)?;
    let cached = cache.join(format!("history-{parcels}.db"));
    if !cached.exists() {
        eprintln!(
            "history: writing {parcels} past parcels (once; kept in {})",
            cache.display()
        );
        let partial = cached.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        seed(&partial, parcels).context("writing the history")?;
        std::fs::rename(&partial, &cached)?;
    }
    // A history written by an older schema is migrated as a locker's would be on upgrade.
    drop(Db::open(&cached).map_err(|e| anyhow::anyhow!("migrate {}: {e}", cached.display()))?);
    let state_dir = into.join(format!("state-{parcels}"));
    std::fs::create_dir_all(&state_dir)?;
    std::fs::copy(
        &cached,
        lockerd::state::StateDir::new(&state_dir).database(),
    )?;
    Ok(state_dir)
}

fn seed(path: &Path, parcels: usize) -> anyhow::Result<()> {
    let db = Db::open(path).map_err(|e| anyhow::anyhow!("open {}: {e}", path.display()))?;
    let mut conn = db.lock();
    let tx = conn.transaction()?;
    let start = SystemClock.now().minus(SPREAD);
    let step = SPREAD.as_millis() as i64 / parcels.max(1) as i64;
    let mut last_event = 0;
    for n in 0..parcels {
        let at = Timestamp(start.0 + n as i64 * step);
        let parcel = past_parcel(n, at);
        store::insert_parcel(&tx, &parcel)?;
        let compartment = format!("C{:03}", n % 200 + 1);
        let data = json!({
            "parcel_id": parcel.id,
            "tracking_id": parcel.tracking_id,
            "compartment": compartment,
            "size": "S",
        });
        for (kind, at) in [
            ("parcel.opening", at),
            ("parcel.stored", at.plus(Duration::from_secs(25))),
            ("parcel.collected", at.plus(Duration::from_secs(4 * 3600))),
        ] {
            last_event = store::append_event(&tx, kind, at, &data)?;
        }
        store::append_audit(&tx, at, "courier:history", "deposit.opening", &data)?;
        let opened = at.plus(Duration::from_secs(4 * 3600));
        store::append_audit(&tx, opened, "kiosk:history", "pickup.opened", &data)?;
        if n % 100_000 == 99_999 {
            eprintln!("history: {} of {parcels}", n + 1);
        }
    }
    // Acknowledged and delivered, as a locker that pulls or pushes leaves its history.
    store::ack_pull(&tx, last_event)?;
    store::advance_push(&tx, last_event)?;
    store::scrub_codes(&tx, last_event)?;
    tx.commit()?;
    Ok(())
}

fn past_parcel(n: usize, at: Timestamp) -> Parcel {
    Parcel {
        id: ParcelId(uuid::Uuid::new_v4().to_string()),
        tracking_id: format!("HIST-{n}"),
        size: Size::S,
        state: ParcelState::Collected,
        removal: None,
        compartment: None,
        courier: Some(CourierId("history-courier".into())),
        deposited_at: at,
        closed_at: Some(at.plus(Duration::from_secs(20))),
        stored_at: Some(at.plus(Duration::from_secs(25))),
        expires_at: Some(at.plus(Duration::from_secs(72 * 3600))),
        ended_at: Some(at.plus(Duration::from_secs(4 * 3600))),
        photo: false,
        delivered_by: Some(lockerd::domain::DeliveredBy::Courier(
            "history-courier".into(),
        )),
    }
}
