//! Errors of hardware drivers, reduced to a kind the controller can act on.

/// What went wrong, in terms the controller can act on.
///
/// `Timeout`, `Disconnected` and `Protocol` mean the bus itself is unhealthy (its compartments
/// become unavailable and the bus is reopened); `Device` means the bus works but a device
/// refused a request; `Channel` means a channel number the driver does not have (a wiring or
/// configuration mistake, never retried).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No answer within the bus timeout.
    Timeout,
    /// The device or connection is gone (serial port unplugged, TCP peer closed).
    Disconnected,
    /// An answer arrived but could not be understood (bad CRC, wrong length, wrong function).
    Protocol,
    /// The device answered with a refusal (a Modbus exception, a GPIO permission error).
    Device,
    /// The channel number is not one this driver has.
    Channel,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Whether this error means the whole bus is down rather than one request failing.
    pub fn is_bus_failure(self) -> bool {
        matches!(self, Self::Timeout | Self::Disconnected | Self::Protocol)
    }
}

/// A driver error: any error type that can say which [`ErrorKind`] it is.
pub trait Error: std::error::Error + Send + Sync + 'static {
    /// The kind of this error.
    fn kind(&self) -> ErrorKind;
}
