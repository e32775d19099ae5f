//! Deposit assignment on a wall of 500 compartments (criterion).
//!
//! A deposit chooses its compartment inside its transaction: it reads every configured
//! compartment from SQLite (`store::list_compartments`, one indexed lookup each, in config
//! order) and hands them to the pure rule `domain::choose` (smallest free that fits, then
//! non-accessible, least used, id). Both halves are measured, on a wall where most compartments
//! are taken, as at a busy site:
//! - `assign/choose/500`: the rule alone over compartments already in memory;
//! - `assign/read_and_choose/500`: reading the 500 rows from a database file, then the rule.
//!
//! `cargo bench --bench assign`; `benches/run.sh` puts the medians in its table.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use lockerd::domain::{Compartment, CompartmentId, CompartmentState, ParcelId, Size, choose};
use lockerd::store::{self, Db};

const COMPARTMENTS: usize = 500;

/// 500 compartments of every size, four in five occupied, a few disabled, uses spread out.
fn wall() -> Vec<Compartment> {
    (0..COMPARTMENTS)
        .map(|n| {
            let size = Size::ALL[n % Size::ALL.len()];
            let mut c = Compartment::new(CompartmentId(format!("C{n:03}")), size, n % 10 == 0);
            c.uses = (n as u64 * 7919) % 97;
            if n % 5 != 0 {
                c.state = CompartmentState::Occupied;
                c.parcel = Some(ParcelId(format!("parcel-{n}")));
            } else if n % 25 == 0 {
                c.state = CompartmentState::Disabled;
            }
            c
        })
        .collect()
}

fn bench_choose(c: &mut Criterion) {
    let wall = wall();
    let mut group = c.benchmark_group("assign");
    group.bench_function("choose/500", |b| {
        b.iter(|| choose(black_box(&wall), black_box(Size::M), false).map(|c| c.id.clone()))
    });

    let dir = tempfile::tempdir().expect("temporary directory");
    let db = Db::open(&dir.path().join("lockerd.db")).expect("database");
    let order: Vec<CompartmentId> = wall.iter().map(|c| c.id.clone()).collect();
    {
        let conn = db.lock();
        let configured: Vec<_> = wall
            .iter()
            .map(|c| (c.id.clone(), c.size, c.accessible))
            .collect();
        store::sync_compartments(&conn, &configured).expect("compartments");
        for c in &wall {
            store::save_compartment(&conn, c).expect("compartment state");
        }
    }
    group.bench_function("read_and_choose/500", |b| {
        b.iter(|| {
            let conn = db.lock();
            let all = store::list_compartments(&conn, black_box(&order)).expect("read");
            choose(&all, black_box(Size::M), false).map(|c| c.id.clone())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_choose);
criterion_main!(benches);
