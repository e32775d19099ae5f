//! The latch capability: energize one solenoid output for a bounded time.

use std::future::Future;
use std::time::Duration;

/// A bus of latch outputs, numbered `0..n`.
///
/// Solenoid latches are rated for intermittent duty: an output must never be left energized.
/// `pulse` therefore returns only once the output is off again (or the board has been told to
/// switch it off by itself), and `all_off` exists so the daemon can make every output safe at
/// start, before anything else touches the bus. Callers bound `duration`; drivers may refuse a
/// duration they cannot honour but must never energize an output for longer than asked.
pub trait Latch {
    /// The driver's error type.
    type Error: crate::Error;

    /// The number of latch outputs on this bus.
    fn latch_count(&self) -> usize;

    /// Drive every latch output of this bus off.
    fn all_off(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Energize output `channel` for `duration`, then switch it off.
    fn pulse(
        &mut self,
        channel: usize,
        duration: Duration,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}
