//! [`BoardError`]: a failed exchange with a lock-control board, as an [`ErrorKind`] and a
//! message naming the board and what was asked.

use crate::ErrorKind;

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BoardError {
    kind: ErrorKind,
    message: String,
}

impl BoardError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// A `what` channel (`latch`) the bus does not have: it has `count`.
    pub(crate) fn no_channel(what: &str, channel: usize, count: usize) -> Self {
        Self::new(
            ErrorKind::Channel,
            format!("{what} channel {channel} does not exist: the bus has {count}"),
        )
    }

    /// An I/O failure on the link: the device or connection is gone, or never came up.
    pub(crate) fn io(op: &str, err: &std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::TimedOut => ErrorKind::Timeout,
            std::io::ErrorKind::InvalidInput => ErrorKind::Other,
            _ => ErrorKind::Disconnected,
        };
        Self::new(kind, format!("{op}: {err}"))
    }
}

impl crate::Error for BoardError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}
