//! What the lock-control board drivers (`kerong`, `lockboard`) share: a byte link to a bus of
//! boards, on a serial line or a TCP bridge, and the errors on it.
//!
//! These boards speak short binary frames with a checksum, not Modbus. A [`Link`] sends one
//! request at a time, under a per-request timeout, and ends a reply by its own checksum and the
//! line going quiet after it, never by an assumed length (some replies vary in length by model).
//! After any failure it drops the connection and opens it afresh on the next request, so a late
//! answer is never read as the answer to the next request.
//!
//! `emulator` (feature `emulator`) serves emulated boards of either protocol on a pty or a TCP
//! socket for tests and benchmarks. It depends on tokio and tokio-serial only.

#[cfg(feature = "emulator")]
pub mod emulator;
mod error;
pub(crate) mod link;
mod status;

pub use error::BoardError;
pub use link::{Link, Transport};
pub(crate) use status::StatusRead;

/// The checksum rule of a protocol: whether `frame` (checksum last) is whole and valid.
pub type FrameCheck = fn(&[u8]) -> bool;

/// Frames as error messages show them: `02 11 31 03 47`.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}
