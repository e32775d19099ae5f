//! Hardware abstraction for lockerd: the capabilities a locker is built from, and their drivers.
//!
//! The traits follow embedded-hal's shape: small, fallible, one per capability, with errors that
//! map onto a [`ErrorKind`] generic code can act on. Nothing here knows about parcels, codes or
//! HTTP; the daemon's controller owns one driver per configured bus and is the only caller.
//!
//! Channels are numbered per bus, `0..n`, in the order the daemon registers them; a driver maps a
//! channel onto its own addressing (a Modbus coil, a GPIO pin, a simulated door), so no register
//! or pin number appears in the trait API.

pub mod door;
pub mod error;
pub mod frames;
pub mod gpio;
pub mod kerong;
pub mod latch;
pub mod lockboard;
pub mod modbus;
pub mod sim;

pub use door::{DoorSensor, DoorState};
pub use error::{Error, ErrorKind};
pub use latch::Latch;
