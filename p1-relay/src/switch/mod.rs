//! Switches: the small trait every kind implements, and the kinds: a GPIO pin ([`gpio`]), a
//! smart plug ([`plug`]), a shell command ([`command`]), none (dry run). Each is driven from
//! a thread of its own ([`worker`]), so that a slow plug or command never delays the
//! decisions for the others.

pub(crate) mod command;
pub(crate) mod gpio;
pub(crate) mod plug;
pub(crate) mod worker;

use std::fmt;
use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use self::command::{COMMAND_TIMEOUT, CommandSwitch};
use self::gpio::{GpioError, GpioSwitch};
use self::plug::{HttpSwitch, Plug};
use crate::config::SwitchConfig;

/// Why one switching failed (it is retried).
#[derive(Debug)]
pub(crate) enum SwitchError {
    Http {
        url: String,
        source: Box<ureq::Error>,
    },
    Spawn {
        command: String,
        source: io::Error,
    },
    Exit {
        command: String,
        status: ExitStatus,
    },
    Timeout {
        command: String,
    },
}

impl fmt::Display for SwitchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwitchError::Http { url, source } => write!(f, "GET {url}: {source}"),
            SwitchError::Spawn { command, source } => {
                write!(
                    f,
                    "{command}: {}",
                    p1_common::runtime::error::IoCause(source)
                )
            }
            SwitchError::Exit { command, status } => write!(f, "{command}: {status}"),
            SwitchError::Timeout { command } => {
                write!(
                    f,
                    "{command}: no answer in {} s, killed",
                    COMMAND_TIMEOUT.as_secs()
                )
            }
        }
    }
}

/// Something that switches a load.
pub(crate) trait Switch: Send {
    fn set(&mut self, on: bool) -> Result<(), SwitchError>;

    /// How often to send ON again while on (plugs with an auto-off timer).
    fn refresh_every(&self) -> Option<Duration> {
        None
    }

    /// Leave the load as it is when the process ends (`keep_on_exit`).
    fn keep_state_after_exit(&mut self) {}
}

/// Opens the switch a load's configuration names (`dry_run`: none is touched).
pub(crate) fn open(
    name: &str,
    config: &SwitchConfig,
    dry_run: bool,
) -> Result<Box<dyn Switch>, GpioError> {
    if dry_run {
        return Ok(Box::new(DryRun));
    }
    Ok(match config {
        SwitchConfig::Gpio { pin, active_low } => Box::new(GpioSwitch::open(*pin, *active_low)?),
        SwitchConfig::Shelly {
            url,
            id,
            generation,
            auto_off,
        } => Box::new(HttpSwitch::new(
            url,
            Plug::Shelly {
                id: *id,
                generation: *generation,
            },
            *auto_off,
        )),
        SwitchConfig::Tasmota {
            url,
            relay,
            auto_off,
        } => Box::new(HttpSwitch::new(
            url,
            Plug::Tasmota { relay: *relay },
            *auto_off,
        )),
        SwitchConfig::Command { on, off } => Box::new(CommandSwitch::new(name, on, off)),
        SwitchConfig::DryRun {} => Box::new(DryRun),
    })
}

#[derive(Debug)]
struct DryRun;

impl Switch for DryRun {
    fn set(&mut self, _on: bool) -> Result<(), SwitchError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn a_dry_run_opens_no_switch_whatever_the_configuration_says() {
        let config = Config::parse(
            "[[load]]\nname = \"a\"\npower_kw = 1.0\non_export_kw = 1.5\noff_import_kw = 0.1\n\
             [load.switch]\ntype = \"gpio\"\npin = 17\n",
        )
        .unwrap();
        let load = &config.loads[0];
        let mut switch = open(load.name.get_ref(), load.switch.get_ref(), true).unwrap();
        assert!(switch.set(true).is_ok());
        assert!(switch.refresh_every().is_none());
    }
}
