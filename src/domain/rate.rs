//! Ceilings on how often something may happen: a sliding window of the times it happened.
//!
//! Used against mass opening: one credential (an operator token, a courier) asking for door
//! after door, and every credential together. A window remembers at most `max` times, so its
//! memory is bounded whatever the caller does.

use super::Timestamp;
use std::collections::VecDeque;
use std::time::Duration;

/// At most `max` times in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub window: Duration,
}

/// The times within the last window, oldest first, and whether a refusal in the current run of
/// refusals was already reported.
#[derive(Debug, Clone, Default)]
pub struct RateWindow {
    times: VecDeque<Timestamp>,
    reported_until: Option<Timestamp>,
}

/// A refused attempt: how long until one is allowed again, and whether this is the first
/// refusal since the window last had room (the one worth an alert).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRefusal {
    pub retry_after: Duration,
    pub first: bool,
}

impl RateWindow {
    /// `Err` if another attempt at `now` would exceed `limit`; nothing is recorded then.
    pub fn check(&mut self, now: Timestamp, limit: RateLimit) -> Result<(), RateRefusal> {
        self.forget_before(now.minus(limit.window));
        if self.times.len() < limit.max as usize {
            return Ok(());
        }
        let oldest = self.times.front().copied().unwrap_or(now);
        let allowed_at = oldest.plus(limit.window);
        let first = self.reported_until.is_none_or(|t| now >= t);
        if first {
            self.reported_until = Some(allowed_at);
        }
        Err(RateRefusal {
            retry_after: now.until(allowed_at),
            first,
        })
    }

    /// Records an attempt at `now` (after `check` allowed it).
    pub fn record(&mut self, now: Timestamp, limit: RateLimit) {
        self.times.push_back(now);
        while self.times.len() > limit.max as usize {
            self.times.pop_front();
        }
    }

    /// Whether nothing in the window is remembered any more (the window may be dropped).
    pub fn is_idle(&mut self, now: Timestamp, limit: RateLimit) -> bool {
        self.forget_before(now.minus(limit.window));
        self.times.is_empty() && self.reported_until.is_none_or(|t| t <= now)
    }

    fn forget_before(&mut self, start: Timestamp) {
        while self.times.front().is_some_and(|t| *t <= start) {
            self.times.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit {
        max: 3,
        window: Duration::from_secs(60),
    };

    fn at(s: i64) -> Timestamp {
        Timestamp(s * 1000)
    }

    fn take(w: &mut RateWindow, now: Timestamp) -> Result<(), RateRefusal> {
        w.check(now, LIMIT)?;
        w.record(now, LIMIT);
        Ok(())
    }

    #[test]
    fn allows_max_in_a_window_then_refuses_until_the_oldest_leaves_it() {
        let mut w = RateWindow::default();
        for s in [0, 10, 20] {
            assert_eq!(take(&mut w, at(s)), Ok(()));
        }
        let refused = take(&mut w, at(30)).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(30));
        assert!(refused.first);
        let again = take(&mut w, at(40)).unwrap_err();
        assert_eq!(again.retry_after, Duration::from_secs(20));
        assert!(!again.first, "one alert per run of refusals");
        assert_eq!(
            take(&mut w, at(60)),
            Ok(()),
            "the attempt at 0 left the window"
        );
        assert!(take(&mut w, at(61)).is_err());
    }

    #[test]
    fn a_refusal_records_nothing_so_a_hammering_caller_is_not_locked_out_for_ever() {
        let mut w = RateWindow::default();
        for s in [0, 1, 2] {
            take(&mut w, at(s)).unwrap();
        }
        for s in 3..60 {
            assert!(take(&mut w, at(s)).is_err());
        }
        assert_eq!(take(&mut w, at(60)), Ok(()));
    }

    #[test]
    fn a_new_run_of_refusals_is_reported_again() {
        let mut w = RateWindow::default();
        for s in [0, 1, 2] {
            take(&mut w, at(s)).unwrap();
        }
        assert!(take(&mut w, at(3)).unwrap_err().first);
        for s in [100, 101, 102] {
            take(&mut w, at(s)).unwrap();
        }
        assert!(take(&mut w, at(103)).unwrap_err().first);
    }

    #[test]
    fn memory_is_bounded_by_max() {
        let mut w = RateWindow::default();
        for s in 0..1000 {
            let _ = take(&mut w, at(s));
        }
        assert!(w.times.len() <= LIMIT.max as usize);
    }

    #[test]
    fn idle_once_the_window_is_empty() {
        let mut w = RateWindow::default();
        take(&mut w, at(0)).unwrap();
        assert!(!w.is_idle(at(59), LIMIT));
        assert!(w.is_idle(at(60), LIMIT));
    }
}
