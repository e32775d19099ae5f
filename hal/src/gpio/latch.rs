//! A latch output: claimed already driven to its inactive level, and the guard that ends a pulse
//! whatever ends the future driving it.

use rppal::gpio::{self as rp, Gpio, OutputPin};

use super::{GpioError, LatchPin, Level};

/// A claimed latch pin.
#[derive(Debug)]
pub(super) struct LatchOutput {
    config: LatchPin,
    output: OutputPin,
}

impl LatchOutput {
    pub(super) fn claim(gpio: &Gpio, config: LatchPin) -> Result<Self, GpioError> {
        let pin = gpio.get(config.pin).map_err(GpioError::from_rppal)?;
        // `into_output_*` write the level before switching the mode: no glitch to active.
        let mut output = match config.level(false) {
            Level::Low => pin.into_output_low(),
            Level::High => pin.into_output_high(),
        };
        // Keep driving the inactive level after drop (module doc: a driven level beats a pull).
        output.set_reset_on_drop(false);
        Ok(Self { config, output })
    }

    pub(super) fn drive(&mut self, energized: bool) {
        let high = self.config.level(energized) == Level::High;
        self.output.write(rp::Level::from(high));
    }
}

/// Drives its latch inactive when dropped, so a pulse future cancelled mid-sleep (a `select!`
/// timeout, a shutdown) leaves no coil energized.
pub(super) struct Energized<'a>(pub(super) &'a mut LatchOutput);

impl Drop for Energized<'_> {
    fn drop(&mut self) {
        self.0.drive(false);
    }
}
