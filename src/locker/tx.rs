//! The service's transaction and the work that must follow its commit.
//!
//! Every state change runs in one SQLite transaction (`Inner::tx`). Some of what it causes must
//! happen only once the change is durable, and never if it rolled back: waking the followers of
//! the event feed, the live views and the streams of a removed token, asking the camera for a
//! photo, deleting a file, replying to a request that waits on the hardware, handing the next
//! opening to the controller. A [`Tx`] carries those follow-ups beside the transaction; the
//! helpers that must run inside one (publishing an event, auditing, storing a parcel) take
//! `&Tx`, so the compiler says where they may be called. `Inner::tx` runs the follow-ups after
//! a successful commit, in the order they were asked for, and drops them otherwise.

use super::Result;
use super::core::Ticket;
use crate::domain::{CompartmentId, ParcelId, Timestamp};
use rusqlite::{Connection, Transaction};
use std::cell::RefCell;
use std::ops::Deref;
use std::path::PathBuf;

/// One transaction of the service, and what it asked for after its commit.
pub struct Tx<'c> {
    tx: Transaction<'c>,
    after: RefCell<AfterCommit>,
}

/// What a committed transaction leaves to do.
#[derive(Default)]
pub struct AfterCommit {
    /// Events were appended: the push task and other followers of the feed wake.
    pub appended: bool,
    /// A token was removed: the live streams opened with one check it again.
    pub token_removed: bool,
    /// Parcels stored that want a proof-of-delivery photo.
    pub photos: Vec<ParcelId>,
    /// Files no row refers to any more (old photos).
    pub delete_files: Vec<PathBuf>,
    /// Secrets were scrubbed or rewritten: they still sit in the WAL's older frames until a
    /// checkpoint (retried by the periodic check if one cannot be made now).
    pub secrets_in_wal: bool,
    /// When housekeeping pruned the feed, so the next prune waits its period.
    pub pruned_at: Option<Timestamp>,
    /// Requests waiting on an opening, and their outcome.
    pub replies: Vec<(Ticket, Result<CompartmentId>)>,
    /// Openings to hand to the controller.
    pub openings: Vec<(CompartmentId, Ticket)>,
}

impl<'c> Tx<'c> {
    pub fn new(tx: Transaction<'c>) -> Self {
        Tx {
            tx,
            after: RefCell::default(),
        }
    }

    /// Asks for something to happen once this transaction has committed.
    pub fn after_commit(&self, f: impl FnOnce(&mut AfterCommit)) {
        f(&mut self.after.borrow_mut());
    }

    /// Commits; the follow-ups are returned only if the commit succeeded.
    pub fn commit(self) -> rusqlite::Result<AfterCommit> {
        self.tx.commit()?;
        Ok(self.after.into_inner())
    }
}

/// A `Tx` reads and writes like the connection it holds, so the store's functions take it.
impl Deref for Tx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.tx
    }
}
