//! A relay on a Raspberry Pi GPIO pin, through `rppal`. Kept to this file behind [`Switch`]
//! so that another GPIO crate could replace it (rppal is no longer maintained upstream).

use rppal::gpio::{Gpio, OutputPin};

use crate::switch::Switch;

#[derive(Debug)]
pub struct GpioSwitch {
    pin: OutputPin,
    active_low: bool,
}

impl GpioSwitch {
    /// Claims `pin` (BCM numbering) as an output, off.
    pub fn open(pin: u8, active_low: bool) -> Result<Self, String> {
        let gpio = Gpio::new().map_err(|e| format!("GPIO is not available here ({e}): on a machine that is no Raspberry Pi, try the rules with --dry-run"))?;
        let mut pin = gpio
            .get(pin)
            .map_err(|e| format!("GPIO pin {pin}: {e}"))?
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
    fn set(&mut self, on: bool) -> Result<(), String> {
        if on != self.active_low {
            self.pin.set_high();
        } else {
            self.pin.set_low();
        }
        Ok(())
    }

    fn keep_state_after_exit(&mut self) {
        self.pin.set_reset_on_drop(false);
    }
}
