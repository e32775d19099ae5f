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
