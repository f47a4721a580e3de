//! A shell command for on and one for off, each with a time limit.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Switch, SwitchError};

/// How long a switch command may take.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// A shell command for on and one for off; `P1_LOAD` and `P1_STATE` are set for it.
#[derive(Debug)]
pub(crate) struct CommandSwitch {
    load: String,
    on: String,
    off: String,
}

impl CommandSwitch {
    pub(crate) fn new(load: &str, on: &str, off: &str) -> Self {
        CommandSwitch {
            load: load.to_string(),
            on: on.to_string(),
            off: off.to_string(),
        }
    }
}

impl Switch for CommandSwitch {
    fn set(&mut self, on: bool) -> Result<(), SwitchError> {
        let command = if on { &self.on } else { &self.off };
        let spawn_failed = |source| SwitchError::Spawn {
            command: command.clone(),
            source,
        };
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("P1_LOAD", &self.load)
            .env("P1_STATE", if on { "on" } else { "off" })
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(spawn_failed)?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            match child.try_wait().map_err(spawn_failed)? {
                Some(status) if status.success() => return Ok(()),
                Some(status) => {
                    return Err(SwitchError::Exit {
                        command: command.clone(),
                        status,
                    });
                }
                None if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(SwitchError::Timeout {
                        command: command.clone(),
                    });
                }
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}
