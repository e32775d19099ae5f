//! The GPIO driver's errors: what rppal reports, in words an installer acts on (add the user to
//! the `gpio` group, a pin this Pi does not have), and their hal [`ErrorKind`].

use rppal::gpio as rp;

use crate::ErrorKind;

/// An error of the GPIO driver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GpioError {
    /// rppal could not identify a Raspberry Pi.
    #[error("gpio is unavailable: this machine is not a raspberry pi (unknown model)")]
    NotAPi,
    /// The GPIO device could not be opened for lack of permission.
    #[error("gpio is unavailable: permission denied on {path} (add the user to the `gpio` group)")]
    PermissionDenied { path: String },
    /// The GPIO device failed.
    #[error("gpio is unavailable: {0}")]
    Io(std::io::Error),
    /// A pin number this Pi does not have.
    #[error("gpio pin {pin} does not exist on this raspberry pi")]
    NoSuchPin { pin: u8 },
    /// A pin given twice to [`GpioBank::open`].
    #[error("gpio pin {pin} is configured more than once")]
    DuplicatePin { pin: u8 },
    /// A pin another part of lockerd holds (another bank).
    #[error("gpio pin {pin} is already in use by another gpio bank")]
    PinInUse { pin: u8 },
    /// A latch channel this bank does not have.
    #[error("latch channel {channel} does not exist: this gpio bank has {channels} latches")]
    NoSuchChannel { channel: usize, channels: usize },
    /// A door buffer whose length is not the number of doors.
    #[error("door buffer holds {len} states but this gpio bank has {doors} doors")]
    DoorBufferLength { len: usize, doors: usize },
}

impl GpioError {
    pub(super) fn from_rppal(error: rp::Error) -> Self {
        match error {
            rp::Error::UnknownModel => Self::NotAPi,
            rp::Error::PermissionDenied(path) => Self::PermissionDenied { path },
            rp::Error::PinNotAvailable(pin) => Self::NoSuchPin { pin },
            rp::Error::PinUsed(pin) => Self::PinInUse { pin },
            rp::Error::Io(error) => Self::Io(error),
            rp::Error::ThreadPanic => {
                Self::Io(std::io::Error::other("the gpio interrupt thread panicked"))
            }
        }
    }
}

impl crate::Error for GpioError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotAPi | Self::PermissionDenied { .. } => ErrorKind::Device,
            Self::NoSuchPin { .. }
            | Self::DuplicatePin { .. }
            | Self::PinInUse { .. }
            | Self::NoSuchChannel { .. }
            | Self::DoorBufferLength { .. } => ErrorKind::Channel,
            Self::Io(_) => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error as _;
    use ErrorKind::{Channel, Device, Other};
    use rp::Error as E;

    #[test]
    fn rppal_errors_map_to_kinds_and_plain_messages() {
        let denied = E::PermissionDenied("/dev/gpiomem".into());
        let io = E::Io(std::io::Error::other("boom"));
        let cases = [
            (E::UnknownModel, Device, "not a raspberry pi"),
            (denied, Device, "the `gpio` group"),
            (E::PinNotAvailable(40), Channel, "pin 40 does not exist"),
            (E::PinUsed(17), Channel, "pin 17 is already in use"),
            (io, Other, "gpio is unavailable: boom"),
        ];
        for (error, kind, text) in cases {
            let error = GpioError::from_rppal(error);
            assert_eq!(error.kind(), kind, "{error}");
            let message = error.to_string();
            assert!(message.starts_with("gpio"), "{message}");
            assert!(message.contains(text), "{message}");
        }
    }
}
