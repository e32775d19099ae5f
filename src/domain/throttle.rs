//! Lockout after repeated failures: the keypad against code guessing, courier login against
//! TOTP guessing.
//!
//! After `max_failures` failures in a row the throttle locks for `first_lockout`; each further
//! lockout doubles, up to `max_lockout`. While locked every attempt is refused, right or wrong,
//! and does not count. The doubling is forgotten after a whole `max_lockout` without a lockout,
//! so the occasional typo of ordinary users does not escalate over months, but a guesser who
//! waits out each lockout keeps paying the maximum.

use super::Timestamp;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub max_failures: u32,
    pub first_lockout: Duration,
    pub max_lockout: Duration,
}

impl ThrottlePolicy {
    /// Length of the `n`th lockout in a row (`n >= 1`).
    pub fn lockout_length(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first_lockout
            .checked_mul(factor)
            .unwrap_or(self.max_lockout)
            .min(self.max_lockout)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Throttle {
    /// Failures since the last success or lockout.
    pub failures: u32,
    /// Lockouts in a row so far (sets the next one's length).
    pub lockouts: u32,
    pub locked_until: Option<Timestamp>,
}

impl Throttle {
    /// `Err(retry_after)` while locked.
    pub fn check(&self, now: Timestamp) -> Result<(), Duration> {
        match self.locked_until {
            Some(until) if now < until => Err(now.until(until)),
            _ => Ok(()),
        }
    }

    /// Count a failure; returns the new lockout's length if this failure started one.
    pub fn fail(&mut self, now: Timestamp, policy: &ThrottlePolicy) -> Option<Duration> {
        self.forget_old_lockouts(now, policy);
        self.failures += 1;
        if self.failures < policy.max_failures {
            return None;
        }
        self.failures = 0;
        self.lockouts = self.lockouts.saturating_add(1);
        let length = policy.lockout_length(self.lockouts);
        self.locked_until = Some(now.plus(length));
        Some(length)
    }

    /// A correct attempt clears the failure count (not the doubling).
    pub fn succeed(&mut self) {
        self.failures = 0;
    }

    /// An operator ends a lockout and forgets the history.
    pub fn unlock(&mut self) {
        *self = Throttle::default();
    }

    fn forget_old_lockouts(&mut self, now: Timestamp, policy: &ThrottlePolicy) {
        if let Some(until) = self.locked_until
            && now >= until.plus(policy.max_lockout)
        {
            self.lockouts = 0;
            self.locked_until = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        max_failures: 3,
        first_lockout: Duration::from_secs(60),
        max_lockout: Duration::from_secs(200),
    };

    fn fail_times(t: &mut Throttle, now: Timestamp, n: u32) -> Option<Duration> {
        (0..n).map(|_| t.fail(now, &POLICY)).last().flatten()
    }

    #[test]
    fn locks_after_max_failures_and_refuses_until_it_ends() {
        let mut t = Throttle::default();
        let now = Timestamp(1_000_000);
        assert_eq!(fail_times(&mut t, now, 2), None);
        assert_eq!(t.check(now), Ok(()));
        assert_eq!(t.fail(now, &POLICY), Some(Duration::from_secs(60)));
        assert_eq!(t.check(now), Err(Duration::from_secs(60)));
        assert_eq!(
            t.check(now.plus(Duration::from_secs(59))),
            Err(Duration::from_secs(1))
        );
        assert_eq!(t.check(now.plus(Duration::from_secs(60))), Ok(()));
    }

    #[test]
    fn each_lockout_doubles_up_to_the_cap() {
        let mut t = Throttle::default();
        let mut now = Timestamp(0);
        let mut lengths = vec![];
        for _ in 0..4 {
            let length = fail_times(&mut t, now, 3).expect("locked");
            lengths.push(length.as_secs());
            now = now.plus(length);
        }
        assert_eq!(lengths, [60, 120, 200, 200]);
    }

    #[test]
    fn success_resets_failures_but_not_doubling() {
        let mut t = Throttle::default();
        let now = Timestamp(0);
        fail_times(&mut t, now, 3);
        let later = now.plus(Duration::from_secs(60));
        t.fail(later, &POLICY);
        t.succeed();
        assert_eq!(fail_times(&mut t, later, 2), None);
        assert_eq!(t.fail(later, &POLICY), Some(Duration::from_secs(120)));
    }

    #[test]
    fn doubling_is_forgotten_after_a_quiet_max_lockout() {
        let mut t = Throttle::default();
        fail_times(&mut t, Timestamp(0), 3);
        let quiet = Timestamp(0).plus(Duration::from_secs(60 + 200));
        assert_eq!(fail_times(&mut t, quiet, 3), Some(Duration::from_secs(60)));
    }

    #[test]
    fn unlock_ends_the_lockout() {
        let mut t = Throttle::default();
        fail_times(&mut t, Timestamp(0), 3);
        t.unlock();
        assert_eq!(t.check(Timestamp(0)), Ok(()));
        assert_eq!(t, Throttle::default());
    }

    #[test]
    fn huge_lockout_counts_do_not_overflow() {
        assert_eq!(POLICY.lockout_length(40), Duration::from_secs(200));
        assert_eq!(POLICY.lockout_length(u32::MAX), Duration::from_secs(200));
    }
}
