//! The cloud's side of the locker: where the feed stands, retention of acknowledged events,
//! and pre-advised parcels (reservations).

use super::core::Inner;
use super::{FeedStatus, Locker, Result};
use crate::store;

impl Inner {
    pub fn feed_status(&self) -> Result<FeedStatus> {
        self.read(|c| {
            Ok(FeedStatus {
                last_seq: store::last_seq(c)?,
                acked_seq: store::acked_seq(c)?,
                oldest_unacked_at: store::oldest_unacked_at(c)?,
            })
        })
    }
}

impl Locker {
    /// Where the cloud is in the event feed, for health and metrics.
    pub async fn feed_status(&self) -> Result<FeedStatus> {
        self.blocking(|inner| inner.feed_status()).await
    }
}
