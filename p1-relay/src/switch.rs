//! Switches: the small trait every kind implements, the kinds that are not GPIO, and the
//! worker thread that drives each one, so that a slow plug or command never delays the
//! decisions for the others.

use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{debug, info, warn};

use crate::config::SwitchConfig;
use crate::gpio::GpioSwitch;

/// Something that switches a load.
pub trait Switch: Send {
    fn set(&mut self, on: bool) -> Result<(), String>;

    /// How often to send ON again while on (plugs with an auto-off timer).
    fn refresh_every(&self) -> Option<Duration> {
        None
    }

    /// Leave the load as it is when the process ends (`keep_on_exit`).
    fn keep_state_after_exit(&mut self) {}
}

/// Opens the switch a load's configuration names (`dry_run`: none is touched).
pub fn open(name: &str, config: &SwitchConfig, dry_run: bool) -> Result<Box<dyn Switch>, String> {
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
        SwitchConfig::Command { on, off } => Box::new(CommandSwitch {
            load: name.to_string(),
            on: on.clone(),
            off: off.clone(),
        }),
        SwitchConfig::DryRun => Box::new(DryRun),
    })
}

#[derive(Debug)]
struct DryRun;

impl Switch for DryRun {
    fn set(&mut self, _on: bool) -> Result<(), String> {
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Plug {
    Shelly { id: u8, generation: u8 },
    Tasmota { relay: u8 },
}

/// A smart plug over HTTP. ON carries an auto-off timer and is re-sent while on, so the plug
/// switches itself off if p1-relay (or the Pi) dies.
struct HttpSwitch {
    base: String,
    plug: Plug,
    auto_off: Duration,
    agent: ureq::Agent,
}

impl HttpSwitch {
    fn new(url: &str, plug: Plug, auto_off: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        HttpSwitch {
            base: url.trim_end_matches('/').to_string(),
            plug,
            auto_off: auto_off.max(Duration::from_secs(2)),
            agent,
        }
    }

    fn url(&self, on: bool) -> String {
        let secs = self.auto_off.as_secs();
        match (self.plug, on) {
            (Plug::Shelly { id, generation: 1 }, true) => {
                format!("{}/relay/{id}?turn=on&timer={secs}", self.base)
            }
            (Plug::Shelly { id, generation: 1 }, false) => {
                format!("{}/relay/{id}?turn=off", self.base)
            }
            (Plug::Shelly { id, .. }, true) => format!(
                "{}/rpc/Switch.Set?id={id}&on=true&toggle_after={secs}",
                self.base
            ),
            (Plug::Shelly { id, .. }, false) => {
                format!("{}/rpc/Switch.Set?id={id}&on=false", self.base)
            }
            (Plug::Tasmota { relay }, true) => {
                // PulseTime: 1-111 are tenths of a second, 112 and up are seconds + 100.
                let pulse = if secs <= 11 { secs * 10 } else { secs + 100 };
                format!(
                    "{}/cm?cmnd=Backlog%20PulseTime{relay}%20{pulse}%3BPower{relay}%20On",
                    self.base
                )
            }
            (Plug::Tasmota { relay }, false) => format!("{}/cm?cmnd=Power{relay}%20Off", self.base),
        }
    }
}

impl Switch for HttpSwitch {
    fn set(&mut self, on: bool) -> Result<(), String> {
        let url = self.url(on);
        match self.agent.get(&url).call() {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("GET {url}: {e}")),
        }
    }

    fn refresh_every(&self) -> Option<Duration> {
        Some(self.auto_off / 3)
    }
}

/// A shell command for on and one for off; `P1_LOAD` and `P1_STATE` are set for it.
#[derive(Debug)]
struct CommandSwitch {
    load: String,
    on: String,
    off: String,
}

impl Switch for CommandSwitch {
    fn set(&mut self, on: bool) -> Result<(), String> {
        let command = if on { &self.on } else { &self.off };
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("P1_LOAD", &self.load)
            .env("P1_STATE", if on { "on" } else { "off" })
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("{command}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(format!("{command}: {status}")),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("{command}: no answer in 30 s, killed"));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("{command}: {e}")),
            }
        }
    }
}

enum Order {
    Set(bool),
    /// Apply what is pending, then end (leaving the load as it is if `keep`).
    Finish {
        keep: bool,
    },
}

/// Drives one switch from its own thread: applies the latest wanted state, retries failures
/// with backoff, and re-sends ON where the switch wants it.
pub struct Actuator {
    orders: Sender<Order>,
    worker: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Actuator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Actuator")
    }
}

impl Actuator {
    pub fn spawn(load: String, switch: Box<dyn Switch>) -> Actuator {
        let (orders, inbox) = mpsc::channel();
        let worker = std::thread::spawn(move || drive(load, switch, inbox));
        Actuator {
            orders,
            worker: Some(worker),
        }
    }

    pub fn set(&self, on: bool) {
        let _ = self.orders.send(Order::Set(on));
    }

    /// Asks the worker to apply what is pending and end; waits for it until `deadline`.
    pub fn finish(mut self, keep: bool, deadline: Instant) {
        let _ = self.orders.send(Order::Finish { keep });
        if let Some(worker) = self.worker.take() {
            while !worker.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if worker.is_finished() {
                let _ = worker.join();
            }
        }
    }
}

fn drive(load: String, mut switch: Box<dyn Switch>, inbox: Receiver<Order>) {
    let mut wanted: Option<bool> = None;
    let mut applied: Option<bool> = None;
    let mut last_sent = Instant::now();
    let mut retry = Duration::from_secs(1);
    let mut next_try = Instant::now();
    let mut last_warning: Option<Instant> = None;
    let mut finishing = false;
    loop {
        let due_refresh = applied == Some(true)
            && switch
                .refresh_every()
                .is_some_and(|every| last_sent.elapsed() >= every);
        if wanted.is_some() && (wanted != applied || due_refresh) && Instant::now() >= next_try {
            let on = wanted.unwrap_or(false);
            match switch.set(on) {
                Ok(()) => {
                    if last_warning.take().is_some() {
                        info!("{load}: switch works again");
                    }
                    debug!("{load}: switched {}", if on { "on" } else { "off" });
                    applied = Some(on);
                    last_sent = Instant::now();
                    retry = Duration::from_secs(1);
                }
                Err(e) => {
                    if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                        warn!(
                            "{load}: switching {} failed: {e}; retrying",
                            if on { "on" } else { "off" }
                        );
                        last_warning = Some(Instant::now());
                    }
                    next_try = Instant::now() + retry;
                    retry = (retry * 2).min(Duration::from_secs(30));
                    if finishing {
                        return;
                    }
                }
            }
        }
        if finishing {
            return;
        }
        let wait = match switch.refresh_every() {
            Some(every) if applied == Some(true) => every.saturating_sub(last_sent.elapsed()),
            _ => Duration::from_millis(500),
        }
        .min(
            next_try
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(50)),
        )
        .max(Duration::from_millis(1));
        match inbox.recv_timeout(wait) {
            Ok(Order::Set(on)) => {
                wanted = Some(on);
                next_try = Instant::now();
            }
            Ok(Order::Finish { keep }) => {
                if keep {
                    switch.keep_state_after_exit();
                    return;
                }
                finishing = true;
                next_try = Instant::now();
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plug(plug: Plug, secs: u64) -> HttpSwitch {
        HttpSwitch::new("http://plug/", plug, Duration::from_secs(secs))
    }

    #[test]
    fn plug_urls() {
        let s = plug(
            Plug::Shelly {
                id: 0,
                generation: 1,
            },
            180,
        );
        assert_eq!(s.url(true), "http://plug/relay/0?turn=on&timer=180");
        assert_eq!(s.url(false), "http://plug/relay/0?turn=off");
        let s = plug(
            Plug::Shelly {
                id: 1,
                generation: 2,
            },
            180,
        );
        assert_eq!(
            s.url(true),
            "http://plug/rpc/Switch.Set?id=1&on=true&toggle_after=180"
        );
        assert_eq!(s.url(false), "http://plug/rpc/Switch.Set?id=1&on=false");
        let s = plug(Plug::Tasmota { relay: 1 }, 180);
        assert_eq!(
            s.url(true),
            "http://plug/cm?cmnd=Backlog%20PulseTime1%20280%3BPower1%20On"
        );
        assert_eq!(s.url(false), "http://plug/cm?cmnd=Power1%20Off");
        let s = plug(Plug::Tasmota { relay: 2 }, 10);
        assert_eq!(
            s.url(true),
            "http://plug/cm?cmnd=Backlog%20PulseTime2%20100%3BPower2%20On"
        );
    }
}
