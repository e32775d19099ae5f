//! The status read both board protocols share: one request to one board, its answer parsed,
//! and a scan that reads every board of a range and keeps those that answer.

use std::ops::RangeInclusive;

use super::link::{Answer, Link};
use super::{BoardError, FrameCheck, hex};
use crate::ErrorKind;

/// How a protocol reads one board's status: the operation's name in error messages (`read`,
/// `query all`), the request sent to a board, the frame check and the parse of the reply.
pub(crate) struct StatusRead<T> {
    pub what: &'static str,
    pub request: fn(u8) -> [u8; 5],
    pub check: FrameCheck,
    pub parse: fn(u8, &[u8]) -> Option<T>,
}

impl<T> StatusRead<T> {
    /// Reads `board`'s status. Silence is a `Timeout` error, a reply that is not `board`'s
    /// status a `Protocol` error.
    pub async fn read(&self, link: &mut Link, board: u8) -> Result<T, BoardError> {
        let op = format!("board {board}: {}", self.what);
        match link
            .exchange(&op, &(self.request)(board), self.check, None)
            .await?
        {
            Answer::Silence => Err(BoardError::new(
                ErrorKind::Timeout,
                format!("{op}: no answer within {:?}", link.timeout()),
            )),
            Answer::Frame(frame) => (self.parse)(board, &frame).ok_or_else(|| {
                let message = format!(
                    "{op}: bad reply: {} (not board {board}'s status)",
                    hex(&frame)
                );
                BoardError::new(ErrorKind::Protocol, message)
            }),
        }
    }

    /// The boards of `boards` within `valid` that answer a read, with what they read. A silent
    /// or garbled board is absent; an error means the link itself could not be opened.
    pub async fn scan(
        &self,
        link: &mut Link,
        boards: RangeInclusive<u8>,
        valid: RangeInclusive<u8>,
    ) -> Result<Vec<T>, BoardError> {
        let mut present = Vec::new();
        for board in boards.filter(|b| valid.contains(b)) {
            match self.read(link, board).await {
                Ok(status) => present.push(status),
                Err(e)
                    if matches!(
                        crate::Error::kind(&e),
                        ErrorKind::Timeout | ErrorKind::Protocol
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(present)
    }
}
