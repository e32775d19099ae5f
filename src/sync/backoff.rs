//! How long to wait before the next attempt after a failure: exponential with jitter.
//!
//! The n-th consecutive failure waits a random time in `[c/2, c]` where `c = min * 2^n` capped
//! at `max`, and never less than `min`. Doubling spares a cloud that is down; the jitter keeps a
//! fleet of lockers that lost the cloud together from all retrying in the same second when it
//! comes back.

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max: max.max(min),
            failures: 0,
        }
    }

    /// After a success: the next failure waits about `min` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// The wait after one more failure.
    pub fn next(&mut self, rng: &mut impl Rng) -> Duration {
        let ceiling = self
            .min
            .checked_mul(2u32.saturating_pow(self.failures))
            .map_or(self.max, |c| c.min(self.max));
        self.failures = self.failures.saturating_add(1);
        rng.random_range(ceiling / 2..=ceiling).max(self.min)
    }
}
