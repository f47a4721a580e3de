//! Switches: the small trait every kind implements, the kinds that are not GPIO, and the
//! worker thread that drives each one, so that a slow plug or command never delays the
//! decisions for the others.

use std::fmt;
use std::io;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{debug, info, warn};

use crate::config::SwitchConfig;
use crate::gpio::{GpioError, GpioSwitch};

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
                write!(f, "{command}: {}", p1_common::error::IoCause(source))
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

/// How long a switch command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

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
        SwitchConfig::Command { on, off } => Box::new(CommandSwitch {
            load: name.to_string(),
            on: on.clone(),
            off: off.clone(),
        }),
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
    fn set(&mut self, on: bool) -> Result<(), SwitchError> {
        let url = self.url(on);
        match self.agent.get(&url).call() {
            Ok(_) => Ok(()),
            Err(source) => Err(SwitchError::Http {
                url,
                source: Box::new(source),
            }),
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

enum Order {
    Set(bool),
    /// Apply what is pending, then end (leaving the load as it is if `keep`).
    Finish {
        keep: bool,
    },
}

/// Drives one switch from its own thread: applies the latest wanted state, retries failures
/// with backoff, and re-sends ON where the switch wants it.
pub(crate) struct Actuator {
    orders: Sender<Order>,
    worker: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Actuator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Actuator")
    }
}

impl Actuator {
    pub(crate) fn spawn(load: String, switch: Box<dyn Switch>) -> Actuator {
        let (orders, inbox) = mpsc::channel();
        let worker = std::thread::spawn(move || Driver::new(load, switch).run(&inbox));
        Actuator {
            orders,
            worker: Some(worker),
        }
    }

    pub(crate) fn set(&self, on: bool) {
        let _ = self.orders.send(Order::Set(on));
    }

    /// Whether its worker has ended on its own (a panic in a switch): the load is no longer
    /// driven, which is a fault.
    pub(crate) fn died(&self) -> bool {
        self.worker.as_ref().is_some_and(JoinHandle::is_finished)
    }

    /// Asks the worker to apply what is pending and end; waits for it until `deadline`.
    pub(crate) fn finish(mut self, keep: bool, deadline: Instant) {
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

/// A worker's state: what is wanted, what the switch last took, and when to try again.
struct Driver {
    load: String,
    switch: Box<dyn Switch>,
    wanted: Option<bool>,
    applied: Option<bool>,
    last_sent: Instant,
    retry_after: Duration,
    next_try: Instant,
    /// When a failure was last reported (at most one warning a minute).
    last_warning: Option<Instant>,
}

/// The first pause after a failure; it doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(30);

impl Driver {
    fn new(load: String, switch: Box<dyn Switch>) -> Self {
        Driver {
            load,
            switch,
            wanted: None,
            applied: None,
            last_sent: Instant::now(),
            retry_after: FIRST_RETRY,
            next_try: Instant::now(),
            last_warning: None,
        }
    }

    fn run(mut self, inbox: &Receiver<Order>) {
        loop {
            self.apply_if_due();
            match inbox.recv_timeout(self.wait()) {
                Ok(Order::Set(on)) => {
                    self.wanted = Some(on);
                    self.next_try = Instant::now();
                }
                Ok(Order::Finish { keep: true }) => {
                    self.switch.keep_state_after_exit();
                    return;
                }
                Ok(Order::Finish { keep: false }) => {
                    // One last try, whatever the backoff says.
                    self.next_try = Instant::now();
                    self.apply_if_due();
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn refresh_due(&self) -> bool {
        self.applied == Some(true)
            && self
                .switch
                .refresh_every()
                .is_some_and(|every| self.last_sent.elapsed() >= every)
    }

    fn apply_if_due(&mut self) {
        let Some(on) = self.wanted else {
            return;
        };
        if (Some(on) == self.applied && !self.refresh_due()) || Instant::now() < self.next_try {
            return;
        }
        match self.switch.set(on) {
            Ok(()) => {
                if self.last_warning.take().is_some() {
                    info!("{}: switch works again", self.load);
                }
                debug!("{}: switched {}", self.load, on_off(on));
                self.applied = Some(on);
                self.last_sent = Instant::now();
                self.retry_after = FIRST_RETRY;
            }
            Err(e) => {
                if self
                    .last_warning
                    .is_none_or(|t| t.elapsed() >= Duration::from_mins(1))
                {
                    warn!(
                        "{}: switching {} failed: {e}; retrying",
                        self.load,
                        on_off(on)
                    );
                    self.last_warning = Some(Instant::now());
                }
                self.next_try = Instant::now() + self.retry_after;
                self.retry_after = (self.retry_after * 2).min(MAX_RETRY);
            }
        }
    }

    /// How long to wait for an order: until a refresh or a retry is due.
    fn wait(&self) -> Duration {
        let idle = match self.switch.refresh_every() {
            Some(every) if self.applied == Some(true) => {
                every.saturating_sub(self.last_sent.elapsed())
            }
            _ => Duration::from_millis(500),
        };
        if self.wanted.is_some() && self.wanted != self.applied {
            let retry = self
                .next_try
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(50));
            return idle.min(retry);
        }
        idle.max(Duration::from_millis(1))
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A switch whose driver code fails in a way nobody planned for.
    struct Broken;

    impl Switch for Broken {
        fn set(&mut self, _on: bool) -> Result<(), SwitchError> {
            panic!("a bug in a switch");
        }
    }

    /// Issue 13 (10): a switch thread that dies is noticed.
    #[test]
    fn a_dead_switch_thread_is_noticed_regression_13() {
        let working = Actuator::spawn("ok".into(), Box::new(DryRun));
        let broken = Actuator::spawn("broken".into(), Box::new(Broken));
        working.set(true);
        broken.set(true);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !broken.died() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(broken.died());
        assert!(!working.died());
        working.finish(false, Instant::now() + Duration::from_secs(5));
    }

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
