//! Caps on the endless answers (the kiosk's live feed): at most `api.max_streams` open at once,
//! and `api.max_streams_per_token` of them with one token. Each open stream holds a [`Slot`],
//! given back when the stream ends or its client goes away; one more is refused with
//! `429 rate_limited` and a `Retry-After`.

use super::error::ApiError;
use crate::config::ApiConfig;
use crate::locker::LockerError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// When a refused client may try again: streams end when their clients leave, which nothing
/// here can predict; the kiosk page waits this long anyway before it asks again.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

pub(super) struct Slots {
    max: u32,
    per_token: u32,
    /// Open streams in all, and per holder (`role:name` of the token).
    open: Mutex<(u32, HashMap<String, u32>)>,
}

/// A place taken by one open stream.
pub(super) struct Slot {
    slots: Arc<Slots>,
    holder: String,
}

impl Slots {
    pub fn new(api: &ApiConfig) -> Arc<Slots> {
        Arc::new(Slots {
            max: api.max_streams,
            per_token: api.max_streams_per_token,
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// A place for one more stream of `holder`, if both caps allow it.
    pub fn take(self: &Arc<Self>, holder: &str) -> Result<Slot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let (total, per_holder) = &mut *open;
        let mine = per_holder.get(holder).copied().unwrap_or(0);
        if mine >= self.per_token || *total >= self.max {
            let limited = LockerError::RateLimited {
                retry_after: RETRY_AFTER,
            };
            return Err(limited.into());
        }
        *total += 1;
        per_holder.insert(holder.to_owned(), mine + 1);
        Ok(Slot {
            slots: self.clone(),
            holder: holder.to_owned(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        let (total, per_holder) = &mut *open;
        *total -= 1;
        if let Some(n) = per_holder.get_mut(&self.holder) {
            *n -= 1;
            if *n == 0 {
                per_holder.remove(&self.holder);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_given_back_frees_its_place_in_both_caps() {
        let api = ApiConfig {
            max_streams: 3,
            max_streams_per_token: 2,
            ..ApiConfig::default()
        };
        let slots = Slots::new(&api);
        let a1 = slots.take("kiosk:a").unwrap();
        let _a2 = slots.take("kiosk:a").unwrap();
        assert!(slots.take("kiosk:a").is_err(), "per token");
        let _b1 = slots.take("operator:b").unwrap();
        assert!(slots.take("operator:c").is_err(), "in total");
        drop(a1);
        let _c1 = slots.take("operator:c").unwrap();
        assert!(slots.take("kiosk:a").is_err(), "in total again");
    }
}
