//! A relay on a Raspberry Pi GPIO pin, through `rppal`. Kept to this file behind [`Switch`]
//! so that another GPIO crate could replace it (rppal is no longer maintained upstream).

use std::fmt;

use rppal::gpio::{Gpio, OutputPin};

use crate::switch::{Switch, SwitchError};

#[derive(Debug)]
pub(crate) struct GpioSwitch {
    pin: OutputPin,
    active_low: bool,
}

/// Why a pin cannot be had.
#[derive(Debug)]
pub(crate) enum GpioError {
    Unavailable(rppal::gpio::Error),
    Pin { pin: u8, source: rppal::gpio::Error },
}

impl fmt::Display for GpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpioError::Unavailable(e) => write!(
                f,
                "GPIO is not available here ({e}): on a machine that is no Raspberry Pi, try the rules with --dry-run"
            ),
            GpioError::Pin { pin, source } => write!(f, "GPIO pin {pin}: {source}"),
        }
    }
}

impl GpioSwitch {
    /// Claims `pin` (BCM numbering) as an output, off.
    pub(crate) fn open(pin: u8, active_low: bool) -> Result<Self, GpioError> {
        let gpio = Gpio::new().map_err(GpioError::Unavailable)?;
        let mut pin = gpio
            .get(pin)
            .map_err(|source| GpioError::Pin { pin, source })?
            .into_output();
        // rppal has no active-low flag: the inversion is ours.
        if active_low {
            pin.set_high();
        } else {
            pin.set_low();
        }
        Ok(GpioSwitch { pin, active_low })
    }
}

impl Switch for GpioSwitch {
    fn set(&mut self, on: bool) -> Result<(), SwitchError> {
        if on == self.active_low {
            self.pin.set_low();
        } else {
            self.pin.set_high();
        }
        Ok(())
    }

    fn keep_state_after_exit(&mut self) {
        self.pin.set_reset_on_drop(false);
    }
}
