//! Arbitrary bytes as the body of every route that reads JSON, through the real router of a
//! daemon on simulated hardware (`tests/oracles/bodies.rs`): no panic, no 5xx, only documented
//! statuses and error codes, every error the API's JSON.
//!
//! Input: byte 0 picks the route, byte 1 its path parameter (a real or an unknown compartment,
//! parcel or tracking id), bit 0 of byte 2 leaves out `Content-Type: application/json`; the
//! rest is the body. One daemon serves many inputs, so state builds up (parcels deposited,
//! compartments disabled) as it would in service; it is replaced every `FRESH_EVERY` inputs.

#![no_main]

#[path = "../../tests/oracles/bodies.rs"]
mod oracle;

use libfuzzer_sys::fuzz_target;
use oracle::{ROUTES, Rig};
use std::path::PathBuf;
use std::sync::Mutex;

const FRESH_EVERY: u32 = 5_000;

struct Fuzzing {
    rt: tokio::runtime::Runtime,
    rig: Option<Rig>,
    inputs: u32,
}

static STATE: Mutex<Option<Fuzzing>> = Mutex::new(None);

/// Where the daemons' state directories go: a tmpfs when there is one, for cheap fsyncs.
fn parent() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}

fuzz_target!(|data: &[u8]| {
    let [route, pick, flags, body @ ..] = data else {
        return;
    };
    let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    let fuzzing = state.get_or_insert_with(|| Fuzzing {
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
        rig: None,
        inputs: 0,
    });
    fuzzing.inputs += 1;
    if fuzzing.inputs.is_multiple_of(FRESH_EVERY)
        && let Some(old) = fuzzing.rig.take()
    {
        fuzzing.rt.block_on(old.stop());
    }
    let rt = &fuzzing.rt;
    let rig = fuzzing
        .rig
        .get_or_insert_with(|| rt.block_on(Rig::start(&parent())));
    let route = &ROUTES[usize::from(*route) % ROUTES.len()];
    let answer = rt.block_on(rig.send(route, *pick, body.to_vec(), flags & 1 == 0));
    rig.judge(route, &answer);
});
