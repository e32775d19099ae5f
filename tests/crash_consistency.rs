//! Crash consistency: the real `lockerd` binary on a simulated locker, under a mixed load of
//! deposits (by couriers and by drivers without an account), door closings, confirms and
//! pickups from several clients at once, is killed with
//! SIGKILL at random moments (now and then again while it starts), restarted over the same
//! state directory each time, and held to its invariants after every restart and at the end,
//! through the API and by reading the SQLite file read-only: no parcel lost or duplicated, no
//! compartment holding two parcels, no code that opened twice, every door opening matched by
//! its audit entry and event, event `seq` gap-free, the audit chain intact, and
//! `PRAGMA integrity_check` clean. See `crash/check.rs` for each invariant's exact rule.
//!
//! `LOCKERD_CRASH_CYCLES` sets the number of kills (default 25, for CI on two cores; the full
//! run is 200) and `LOCKERD_CRASH_SEED` the seed of every random choice (kill delays, start-up
//! kills, the load's choices), printed at the start. A seed replays the same choices, though
//! where a kill lands still depends on timing.
//!
//! `the_checker_catches_each_kind_of_damage` proves the checks are not vacuous: each damages a
//! copy of a finished state directory in one way and must be reported.

mod common;
mod crash;

use crash::check::Invariant;
use crash::daemon::Daemon;
use crash::ledger::Ledger;
use crash::load::deliver;
use crash::run::{Run, file_violations};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::path::Path;
use std::time::Instant;

/// Clients at once (each a courier and the recipients of its parcels).
const WORKERS: usize = 4;
const DEFAULT_CYCLES: usize = 25;

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value}: not a number")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_sigkill_under_load() {
    let cycles = env_number("LOCKERD_CRASH_CYCLES").map_or(DEFAULT_CYCLES, |n| n as usize);
    let seed = env_number("LOCKERD_CRASH_SEED").unwrap_or_else(rand::random);
    eprintln!("crash consistency: {cycles} cycles, LOCKERD_CRASH_SEED={seed}");
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut run = Run::setup(WORKERS).await;
    run.start_load(seed);
    for cycle in 1..=cycles {
        run.crash_cycle(cycle, &mut rng).await;
        if cycle % 25 == 0 {
            eprintln!(
                "crash consistency: {cycle} kills, {:.1?}",
                started.elapsed()
            );
        }
    }
    run.drain().await;
    run.assert_sound("after the load settled", true).await;
    let status = run.daemon.stop().await;
    assert!(
        status.success(),
        "graceful stop: {status}\n{}",
        run.daemon.log_tail()
    );
    let ledger = run.shared.ledger.lock().await.clone();
    let found = file_violations(&run.daemon, &ledger, true).await;
    assert!(found.is_empty(), "after a graceful stop: {found:#?}");

    let s = &ledger.stats;
    eprintln!(
        "crash consistency: {cycles} kills (+{} during start-up) in {:.1?}, seed {seed}, all \
         invariants held.\n  load: {} deposits ({} by drivers without an account), {} confirms, \
         {} pickups, {} times no room; \
         {} answers lost to a kill.\n  restarts: {} deposits undone, {} deposits cancelled \
         (never seen open), {} pickup codes replaced, {} compartments enabled again; {} feed \
         events.",
        run.startup_kills,
        started.elapsed(),
        s.deposits,
        s.deliveries,
        s.confirms,
        s.pickups,
        s.no_room,
        s.lost_answers,
        s.deposits_undone,
        ledger.seen("parcel.cancelled"),
        ledger.seen("parcel.code_changed"),
        s.enabled,
        ledger.seen_events.len(),
    );
    // The load did its work, and kills did land in the middle of it.
    assert!(s.deposits > 0 && s.confirms > 0 && s.pickups > 0, "{s:?}");
    assert!(
        s.deliveries > 0,
        "no delivery without an account in the load: {s:?}"
    );
    if cycles >= 10 {
        assert!(s.lost_answers > 0, "no kill interrupted a request: {s:?}");
    }
}

/// One way of damaging a finished state directory, and what the checks must say about it.
struct Case {
    name: &'static str,
    damage: Damage,
    expect: &'static [Invariant],
}

enum Damage {
    Sql(String),
    Ledger(fn(&mut Ledger, &Fixture)),
    /// Zeroes the root page of this index in the file.
    ZeroIndexPage(&'static str),
}

/// A finished state directory: parcels `collected` and `collected2` picked up (the second
/// after a SIGKILL and restart), `stored` and `other` stored; and the ledger of its clients.
struct Fixture {
    run: Run,
    ledger: Ledger,
    collected: String,
    stored: String,
    other: String,
}

async fn fixture() -> Fixture {
    let mut run = Run::setup(1).await;
    let (sh, session) = (run.shared.clone(), run.sessions[0].clone());
    let collected = deliver(&run.api, &sh, &session, "F-1", true).await;
    let stored = deliver(&run.api, &sh, &session, "F-2", false).await;
    let other = deliver(&run.api, &sh, &session, "F-3", false).await;
    run.daemon.kill().await;
    run.daemon.spawn();
    run.api = run.daemon.ready().await;
    deliver(&run.api, &sh, &session, "F-4", true).await;
    let sync = sh.tokens.sync.clone();
    sh.ledger
        .lock()
        .await
        .read_feed(&run.api, &sync)
        .await
        .expect("feed");
    // The undamaged state passes: no false alarm.
    run.assert_sound("the fixture", true).await;
    assert!(run.daemon.stop().await.success());
    let ledger = sh.ledger.lock().await.clone();
    Fixture {
        run,
        ledger,
        collected,
        stored,
        other,
    }
}

fn cases(f: &Fixture) -> Vec<Case> {
    let (collected, stored, other) = (&f.collected, &f.stored, &f.other);
    use Invariant::*;
    let sql = |s: String| Damage::Sql(s);
    vec![
        Case { name: "nothing", damage: sql(String::new()), expect: &[] },
        Case { name: "an audit entry deleted", damage: sql("DELETE FROM audit WHERE seq = 4".into()), expect: &[AuditChain, AuditSeq] },
        Case { name: "an audit entry edited", damage: sql("UPDATE audit SET detail = '{}' WHERE seq = 2".into()), expect: &[AuditChain] },
        Case {
            name: "a parcel duplicated",
            damage: sql(format!(
                "DROP INDEX parcels_live_tracking;
                 INSERT INTO parcels (id, tracking_id, size, state, compartment, courier, deposited_at)
                 SELECT 'dup', tracking_id, size, state, compartment, courier, deposited_at
                 FROM parcels WHERE id = '{stored}'"
            )),
            expect: &[ParcelDuplicated, CompartmentShared],
        },
        Case { name: "a seq gap", damage: sql("DELETE FROM events WHERE seq = 3".into()), expect: &[EventSeq, SeenEventChanged] },
        Case { name: "the last event lost", damage: sql("DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)".into()), expect: &[EventSeq, SeenEventChanged] },
        Case { name: "a read event rewritten", damage: sql("UPDATE events SET id = 'forged' WHERE seq = 2".into()), expect: &[SeenEventChanged] },
        Case { name: "a stored parcel deleted", damage: sql(format!("DELETE FROM parcels WHERE id = '{stored}'")), expect: &[ParcelLost, CompartmentMismatch] },
        Case { name: "a stored parcel cancelled", damage: sql(format!("UPDATE parcels SET state = 'cancelled' WHERE id = '{stored}'")), expect: &[ParcelLost] },
        Case { name: "collected, never picked up", damage: sql(format!("UPDATE parcels SET state = 'collected' WHERE id = '{other}'")), expect: &[CollectedWithoutPickup] },
        Case {
            name: "two parcels in one compartment",
            damage: sql(format!("UPDATE parcels SET compartment = (SELECT compartment FROM parcels WHERE id = '{other}') WHERE id = '{stored}'")),
            expect: &[CompartmentShared, CompartmentMismatch],
        },
        Case { name: "a compartment forgets its parcel", damage: sql(format!("UPDATE compartments SET parcel_id = NULL WHERE parcel_id = '{stored}'")), expect: &[CompartmentMismatch] },
        Case {
            name: "a second deposit opening",
            damage: sql(format!("INSERT INTO door_log (compartment, at, open, cause, parcel_id) SELECT compartment, at, 1, 'deposit', parcel_id FROM door_log WHERE open = 1 AND parcel_id = '{stored}'")),
            expect: &[DoorWithoutAudit, DoorWithoutEvent],
        },
        Case { name: "a pickup without its event", damage: sql("UPDATE events SET type = 'parcel.gone' WHERE type = 'parcel.collected'".into()), expect: &[DoorWithoutEvent] },
        Case {
            name: "a second pickup opening",
            damage: sql(format!("INSERT INTO door_log (compartment, at, open, cause, parcel_id) SELECT compartment, at, 1, 'pickup', parcel_id FROM door_log WHERE open = 1 AND cause = 'pickup' AND parcel_id = '{collected}'")),
            expect: &[CodeOpenedTwice, DoorWithoutAudit],
        },
        Case { name: "a forced door", damage: sql("INSERT INTO door_log (compartment, at, open, cause) VALUES ('A1', 0, 1, 'forced')".into()), expect: &[DoorForced] },
        Case {
            name: "a code answered 200 twice",
            damage: Damage::Ledger(|l, f| *l.opened.entry((f.collected.clone(), "x".into())).or_default() += 2),
            expect: &[CodeOpenedTwice],
        },
        Case { name: "a client's complaint", damage: Damage::Ledger(|l, _| l.complaints.push("x".into())), expect: &[Complaint] },
        Case { name: "an opening left pending", damage: sql("INSERT INTO intents (compartment, purpose, created_at) VALUES ('D2', 'maintenance', 0)".into()), expect: &[Unsettled] },
        Case { name: "a door left open", damage: sql("UPDATE compartments SET door = 'open' WHERE id = 'D2'".into()), expect: &[Unsettled] },
        Case { name: "a damaged index page", damage: Damage::ZeroIndexPage("parcels_by_state"), expect: &[Integrity] },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checker_catches_each_kind_of_damage() {
    let f = fixture().await;
    let mut missed = vec![];
    for case in cases(&f) {
        let dir = tempfile::tempdir().expect("tempdir");
        let copy = Daemon::new(dir.path());
        copy_state(f.run.daemon.state_dir(), copy.state_dir());
        let mut ledger = f.ledger.clone();
        match &case.damage {
            Damage::Sql(sql) => {
                let conn = rusqlite::Connection::open(copy.db_path()).expect("open the copy");
                conn.execute_batch(sql).expect(case.name);
            }
            Damage::Ledger(change) => change(&mut ledger, &f),
            Damage::ZeroIndexPage(index) => zero_root_page(&copy.db_path(), index),
        }
        let found = file_violations(&copy, &ledger, true).await;
        let kinds: Vec<Invariant> = found.iter().map(|v| v.invariant).collect();
        let fired = case.expect.iter().all(|want| kinds.contains(want));
        if !fired || (case.expect.is_empty() && !found.is_empty()) {
            missed.push(format!(
                "{}: expected {:?}, found {found:#?}",
                case.name, case.expect
            ));
        }
    }
    assert!(
        missed.is_empty(),
        "checks that did not fire:\n{}",
        missed.join("\n")
    );
}

/// Copies the files of a stopped daemon's state directory.
fn copy_state(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read state dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

/// Overwrites the root page of `index` with zeros, as a torn write on a bad card might.
fn zero_root_page(db: &Path, index: &str) {
    use std::io::{Seek, SeekFrom, Write};
    let (root, page_size): (u64, u64) = {
        let conn = rusqlite::Connection::open(db).expect("open");
        let sql = "SELECT rootpage FROM sqlite_master WHERE name = ?1";
        let root = conn.query_row(sql, [index], |r| r.get(0)).expect("index");
        let size = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .expect("page size");
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .expect("checkpoint");
        (root, size)
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(db)
        .expect("open file");
    file.seek(SeekFrom::Start((root - 1) * page_size))
        .expect("seek");
    file.write_all(&vec![0; page_size as usize]).expect("write");
}
