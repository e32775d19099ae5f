//! The compartments as the API shows them, built once per change and shared: every kiosk live
//! feed (`GET /api/v1/kiosk/events`) and every `GET /api/v1/compartments` read the same
//! snapshot instead of each reading the database under its one lock.
//!
//! A snapshot carries the locker's commit count and the availability of each compartment's
//! buses it was built with. A reader that finds either moved on builds a new one before
//! answering, one reader at a time (the others wait and take its result), so a client that has
//! just disabled a compartment reads it disabled. While any feed listens, one task builds the
//! snapshot after each commit and hands the feeds what they show (`KioskState`) through a watch
//! channel, sent only when it differs from the last: a commit that changed nothing a kiosk shows
//! wakes no feed.

use super::error::ApiError;
use super::views::{CompartmentList, CompartmentView, KioskState};
use crate::domain::{Compartment, CompartmentId};
use crate::locker::Locker;
use axum::body::Bytes;
use std::sync::{Arc, Mutex, Once};
use tokio::sync::watch;

/// What the kiosk feeds show, and its JSON, serialized once for every feed.
#[derive(Debug)]
pub(super) struct KioskFrame {
    pub state: KioskState,
    pub data: String,
}

/// One build of the compartments.
pub(super) struct Snapshot {
    /// The commit count read before the store was: every commit up to it is in here.
    commits: u64,
    ids: Vec<CompartmentId>,
    /// Whether each compartment (of `ids`) was available when built; a bus going down or up
    /// changes what the API shows before its event commits.
    available: Vec<bool>,
    /// What each occupancy sensor read when built: a change is a new snapshot too.
    occupied: Vec<Option<bool>>,
    /// The body of `GET /api/v1/compartments`.
    pub list: Bytes,
}

pub(super) struct LiveView {
    locker: Locker,
    current: Mutex<Option<Arc<Snapshot>>>,
    /// Held while a snapshot is built, so one change is read from the store once.
    building: tokio::sync::Mutex<()>,
    kiosk: watch::Sender<Option<Arc<KioskFrame>>>,
    follower: Once,
}

impl LiveView {
    pub fn new(locker: Locker) -> LiveView {
        LiveView {
            locker,
            current: Mutex::new(None),
            building: tokio::sync::Mutex::new(()),
            kiosk: watch::Sender::new(None),
            follower: Once::new(),
        }
    }

    /// The compartments as of now: the shared snapshot, built again first if a commit or a
    /// bus has moved since it was.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, ApiError> {
        if let Some(fresh) = self.fresh() {
            return Ok(fresh);
        }
        let _building = self.building.lock().await;
        // Another reader may have built it while this one waited.
        if let Some(fresh) = self.fresh() {
            return Ok(fresh);
        }
        let commits = self.locker.commits();
        let rows = self.locker.compartments().await?;
        let snapshot = Arc::new(self.build(commits, rows)?);
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// A feed of what the kiosk shows. The current state is marked unseen, so a new feed gets
    /// it at once.
    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<KioskFrame>>> {
        let mut feed = self.kiosk.subscribe();
        feed.mark_changed();
        feed
    }

    /// Starts, once, the task that builds the snapshot after each commit while a feed listens,
    /// until the server closes.
    pub fn follow(self: &Arc<Self>, closing: watch::Receiver<bool>) {
        self.follower.call_once(|| {
            tokio::spawn(self.clone().follow_commits(closing));
        });
    }

    async fn follow_commits(self: Arc<Self>, mut closing: watch::Receiver<bool>) {
        let mut commits = self.locker.changes();
        loop {
            commits.borrow_and_update();
            if self.kiosk.receiver_count() > 0
                && let Err(e) = self.snapshot().await
            {
                // Tried again at the next commit; the feeds keep what they have meanwhile.
                tracing::warn!(error = ?e, "cannot read the compartments for the live feeds");
            }
            tokio::select! {
                changed = commits.changed() => if changed.is_err() { return },
                _ = closing.wait_for(|c| *c) => return,
            }
        }
    }

    fn fresh(&self) -> Option<Arc<Snapshot>> {
        let current = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        let unmoved = current.commits == self.locker.commits()
            && (current.ids.iter().zip(&current.available))
                .all(|(id, was)| self.locker.available(id) == *was)
            && (current.ids.iter().zip(&current.occupied))
                .all(|(id, was)| self.locker.occupied(id) == *was);
        unmoved.then_some(current)
    }

    /// Builds a snapshot from the rows read after `commits` was, and hands the feeds the
    /// kiosk's view of it if that changed. Called with `building` held, so the feeds get
    /// states in commit order.
    fn build(&self, commits: u64, rows: Vec<Compartment>) -> Result<Snapshot, ApiError> {
        let ids: Vec<CompartmentId> = rows.iter().map(|c| c.id.clone()).collect();
        let available: Vec<bool> = ids.iter().map(|id| self.locker.available(id)).collect();
        let occupied: Vec<Option<bool>> = ids.iter().map(|id| self.locker.occupied(id)).collect();
        let compartments = rows
            .into_iter()
            .zip(available.iter().zip(&occupied))
            .map(|(c, (available, occupied))| {
                CompartmentView::new(c, *available).occupied(*occupied)
            })
            .collect();
        let list = CompartmentList { compartments };
        let body = serde_json::to_vec(&list).map_err(internal)?;
        self.publish(list.compartments.into_iter().collect())?;
        Ok(Snapshot {
            commits,
            ids,
            available,
            occupied,
            list: Bytes::from(body),
        })
    }

    fn publish(&self, state: KioskState) -> Result<(), ApiError> {
        let unchanged =
            |last: &Option<Arc<KioskFrame>>| last.as_ref().is_some_and(|f| f.state == state);
        if unchanged(&self.kiosk.borrow()) {
            return Ok(());
        }
        let data = serde_json::to_string(&state).map_err(internal)?;
        self.kiosk
            .send_replace(Some(Arc::new(KioskFrame { state, data })));
        Ok(())
    }
}

fn internal(e: serde_json::Error) -> ApiError {
    crate::locker::LockerError::Internal(format!("serializing the compartments: {e}")).into()
}
