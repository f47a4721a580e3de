//! p1-relay: readings in (p1-parse's NDJSON), loads switched, one event per switch out.
//!
//! Fail-safe: every load is off at start, on stale data (no reading for `stale_after`, on the
//! readings' clock or the wall clock) and at exit; plugs get an auto-off timer.

pub mod config;
pub mod controller;
pub mod gpio;
pub mod state;
pub mod switch;

use std::borrow::Cow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use chrono::{DateTime, Local};
use clap::Parser;
use log::{error, info, warn};
use p1_common::input::{Line, spawn_stdin_lines};
use p1_common::meter_time::MeterTime;
use p1_common::output::RecordWriter;
use p1_common::reading::Reading;
use p1_common::record::{Record, RelayEvent, SwitchState};
use p1_common::signals::Signals;
use p1_common::{Error, logger};

use crate::config::{Config, SwitchConfig};
use crate::controller::{Controller, Decision, Sample, Time};
use crate::state::SavedState;
use crate::switch::Actuator;

const PROG: &str = "p1-relay";

/// How long the switches get to go off at exit.
const EXIT_GRACE: Duration = Duration::from_secs(10);

/// Switch loads on the sun's surplus, shed them on import and before a capacity-tariff peak.
///
/// Reads p1-parse's readings on stdin and switches the loads of the configuration (GPIO
/// relays, Shelly and Tasmota plugs, shell commands). Writes one event a switch on stdout:
///
///   {"type":"relay","time":"...","load":"boiler","state":"on","reason":"export 2.41 kW >= 2.20 kW for 60 s"}
///
/// Every load is off at start, when readings stop for `stale_after` (whatever its mode), and
/// at exit (SIGTERM, SIGINT, end of input) unless it has `keep_on_exit`. SIGHUP reloads the
/// configuration, keeping switch times.
#[derive(Debug, Parser)]
#[command(name = PROG, version, after_long_help = AFTER_HELP)]
pub struct Cli {
    /// The TOML configuration of the loads.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,

    /// Decide and report, switch nothing (any switch type).
    #[arg(long)]
    pub dry_run: bool,

    /// Forward the input lines to stdout too, before the events they cause.
    #[arg(long)]
    pub passthrough: bool,

    /// Check the configuration, print its warnings, and exit.
    #[arg(long)]
    pub check: bool,

    /// Errors only.
    #[arg(short, long)]
    pub quiet: bool,

    /// More detail on stderr.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The long help after the options; also part of p1(5).
pub const AFTER_HELP: &str = "\
CONFIGURATION
  stale_after = \"15s\"     no reading for this long: every load off
  settle = \"60s\"          at most one automatic switch per settle period
  startup_grace = \"60s\"   after start (and after stale data) nothing goes on before this
  state_file = \"/var/lib/p1-relay/state.json\"   switch times survive a restart

  [peak]                  the capacity tariff (Flanders)
  limit_kw = 2.5          target for the quarter-hour average; the month's peak when higher
  margin_kw = 0.2

  [[load]]
  name = \"boiler\"
  power_kw = 2.0          what it draws when on
  priority = 1            1 is switched on first and shed last
  on_export_kw = 2.2      on once export >= this, held for on_delay
  off_import_kw = 0.1     off once import >= this, held for off_delay
  on_delay = \"60s\"        off_delay = \"180s\"     min_on = \"5m\"     min_off = \"5m\"
  max_starts_per_hour = 6
  window = \"08:00-20:00\"  local time; outside it the load is off
  mode = \"auto\"           auto, on or off (never on when data is stale)
  peak_shed = true        shed before the quarter-hour average crosses the limit
  keep_on_exit = false
  [load.switch]
  type = \"gpio\"           gpio (pin, active_low), shelly (url, id, generation, auto_off),
  pin = 17                tasmota (url, relay, auto_off), command (on, off), dry-run
  active_low = true

  Durations: 90s, 5m, 1h, 1h30m. The thresholds form a hysteresis band: when the load goes
  on, its own draw comes off the export, so on_export_kw + off_import_kw must be more than
  power_kw or the load switches itself off again (p1-relay warns at start).

PEAK SHAVING
  Quarter hours start at :00, :15, :30 and :45 local time. From the import registers'
  increase since the quarter began, p1-relay projects the quarter's average if the present
  import goes on to its end; above the limit (the higher of limit_kw and the month's peak
  demand_max_month_kw, less margin_kw) it sheds peak_shed loads last-on-first-off without
  waiting for off_delay (min_on still holds), and holds back switch-ons that would cross it.
  The meter's own 1-0:1.4.0 (demand_avg_kw) is compared with the registers and p1-relay says
  once which it is: the average over the elapsed part of the quarter, or the energy so far
  times four. Either way the registers decide.

EXIT STATUS
  0   end of input, SIGTERM or SIGINT (every load off)
  1   runtime failure (e.g. GPIO not available: try --dry-run)
  2   usage error
  78  configuration error (the message names the key and the line)
";

/// What the controller takes from a reading.
fn sample(reading: &Reading) -> Result<Sample, &'static str> {
    let time = reading
        .time
        .and_then(|t| t.datetime())
        .or_else(|| {
            reading
                .received
                .as_deref()
                .and_then(|r| DateTime::parse_from_rfc3339(r).ok())
        })
        .ok_or("has no time nor received")?;
    let (Some(import_kw), Some(export_kw)) = (reading.power_import_kw, reading.power_export_kw)
    else {
        return Err("lacks power_import_kw or power_export_kw");
    };
    let energy = match (reading.energy_import_t1_kwh, reading.energy_import_t2_kwh) {
        (Some(t1), Some(t2)) => Some(t1 + t2),
        _ => reading.energy_import_total_kwh,
    };
    Ok(Sample {
        time,
        import_kw,
        export_kw,
        energy_import_kwh: energy,
        demand_avg_kw: reading.demand_avg_kw,
        demand_max_month_kw: reading.demand_max_month_kw,
    })
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::init(PROG, logger::level(cli.quiet, cli.verbose));
    p1_common::exit_code(PROG, run(&cli))
}

fn now() -> Time {
    Local::now().fixed_offset()
}

fn load_config(cli: &Cli) -> Result<Config, Error> {
    let config = Config::load(&cli.config).map_err(Error::Config)?;
    for warning in config.warnings() {
        warn!("{}: {warning}", cli.config.display());
    }
    Ok(config)
}

pub fn run(cli: &Cli) -> Result<(), Error> {
    let config = load_config(cli)?;
    if cli.check {
        info!(
            "{}: {} loads, configuration is valid",
            cli.config.display(),
            config.loads.len()
        );
        return Ok(());
    }
    let signals = Signals::install()?;
    let saved = match &config.state_file {
        Some(path) => SavedState::load(path).unwrap_or_else(|e| {
            warn!("{e}; starting without saved switch times");
            None
        }),
        None => None,
    };
    let mut relay = Relay {
        actuators: open_actuators(&config, cli.dry_run)?,
        controller: Controller::new(config, saved.as_ref()),
        last_reading: None,
        out: RecordWriter::stdout(),
        dry_run: cli.dry_run,
    };
    relay.announce_all("start")?;
    let result = relay.serve(cli, &signals);
    let why = match &result {
        Ok(why) => why.clone(),
        Err(e) => e.to_string(),
    };
    relay.shut_down(&why);
    result.map(|_| ())
}

fn open_actuators(config: &Config, dry_run: bool) -> Result<Vec<Actuator>, Error> {
    config
        .loads
        .iter()
        .map(|load| {
            let name = load.name.get_ref();
            let switch = switch::open(name, load.switch.get_ref(), dry_run)
                .map_err(|e| Error::Failure(format!("load '{name}': {e}")))?;
            let actuator = Actuator::spawn(name.clone(), switch);
            actuator.set(false);
            Ok(actuator)
        })
        .collect()
}

struct Relay {
    controller: Controller,
    actuators: Vec<Actuator>,
    /// When the last reading arrived, and its own time.
    last_reading: Option<(Instant, Time)>,
    out: RecordWriter<std::io::StdoutLock<'static>>,
    dry_run: bool,
}

impl Relay {
    /// Runs until the input ends or a stop is requested; returns why it stopped.
    fn serve(&mut self, cli: &Cli, signals: &Signals) -> Result<String, Error> {
        let lines = spawn_stdin_lines(1 << 20, 64);
        let mut line_number = 0u64;
        let mut bad_lines = 0u64;
        let mut stale = false;
        loop {
            if signals.stop_requested() {
                return Ok("stop requested".into());
            }
            if signals.take_hangup() {
                self.reload(cli);
            }
            match lines.recv_timeout(Duration::from_millis(200)) {
                Ok(Line::Text(text)) => {
                    line_number += 1;
                    if cli.passthrough {
                        self.out.write_raw(text.as_bytes())?;
                    }
                    match parse_line(&text) {
                        Ok(Some(sample)) => {
                            let decisions = self.controller.on_sample(&sample);
                            self.apply(&decisions)?;
                            self.last_reading = Some((Instant::now(), sample.time));
                            stale = false;
                        }
                        Ok(None) => {}
                        Err(why) => {
                            bad_lines += 1;
                            if bad_lines <= 10 || bad_lines.is_power_of_two() {
                                warn!(
                                    "stdin: line {line_number}: {why}: ignored ({bad_lines} so far)"
                                );
                            }
                        }
                    }
                }
                Ok(Line::End) | Err(RecvTimeoutError::Disconnected) => {
                    return Ok("end of input".into());
                }
                Ok(Line::Failed(e)) => return Err(Error::io("stdin", e)),
                Err(RecvTimeoutError::Timeout) => {}
            }
            let stale_after = self.controller.config().stale_after;
            let quiet_for = self
                .last_reading
                .map_or(Duration::ZERO, |(at, _)| at.elapsed());
            if !stale && self.last_reading.is_some() && quiet_for >= stale_after {
                stale = true;
                let time = self.readings_clock();
                warn!(
                    "no reading for {} s: every load off until readings come again",
                    quiet_for.as_secs()
                );
                let decisions = self
                    .controller
                    .stale(time, &format!("no reading for {} s", quiet_for.as_secs()));
                self.apply(&decisions)?;
            }
        }
    }

    /// Now, on the readings' clock: the last reading's time plus the wall time since it came
    /// (the wall clock before any reading). State-file times stay in one time base.
    fn readings_clock(&self) -> Time {
        match self.last_reading {
            Some((at, time)) => time + chrono::Duration::from_std(at.elapsed()).unwrap_or_default(),
            None => now(),
        }
    }

    fn apply(&mut self, decisions: &[Decision]) -> Result<(), Error> {
        for d in decisions {
            self.actuators[d.load].set(d.on);
            let load = self.controller.config().loads[d.load]
                .name
                .get_ref()
                .clone();
            info!("{load}: {} ({})", if d.on { "on" } else { "off" }, d.reason);
            self.emit(d.time, &load, d.on, &d.reason)?;
        }
        if !decisions.is_empty() {
            self.save_state();
        }
        Ok(())
    }

    fn emit(&mut self, time: Time, load: &str, on: bool, reason: &str) -> Result<(), Error> {
        let event = RelayEvent {
            time: MeterTime::from_datetime(time),
            load: load.to_string(),
            state: SwitchState::from_on(on),
            reason: reason.to_string(),
        };
        self.out.write(&Record::Relay(Cow::Owned(event)))
    }

    /// An "off" event for every load (at start).
    fn announce_all(&mut self, reason: &str) -> Result<(), Error> {
        let time = now();
        let names: Vec<String> = self
            .controller
            .config()
            .loads
            .iter()
            .map(|l| l.name.get_ref().clone())
            .collect();
        for name in names {
            self.emit(time, &name, false, reason)?;
        }
        Ok(())
    }

    fn save_state(&self) {
        if let Some(path) = &self.controller.config().state_file
            && let Err(e) = self.controller.saved_state().save(path)
        {
            warn!("cannot save the state: {e}");
        }
    }

    /// Every load off (but those kept), state saved, switches given time to act.
    fn shut_down(&mut self, why: &str) {
        let decisions = self.controller.exit(self.readings_clock(), why);
        for d in &decisions {
            let load = self.controller.config().loads[d.load]
                .name
                .get_ref()
                .clone();
            let _ = self.emit(d.time, &load, false, &d.reason);
        }
        self.save_state();
        let deadline = Instant::now() + EXIT_GRACE;
        let keep: Vec<bool> = self
            .controller
            .config()
            .loads
            .iter()
            .map(|l| l.keep_on_exit)
            .collect();
        for (actuator, keep) in std::mem::take(&mut self.actuators).into_iter().zip(keep) {
            if !keep {
                actuator.set(false);
            }
            actuator.finish(keep, deadline);
        }
        info!("stopped: {why}");
    }

    /// SIGHUP: a new configuration, keeping the switch times of loads by name.
    fn reload(&mut self, cli: &Cli) {
        let config = match load_config(cli) {
            Ok(config) => config,
            Err(e) => {
                error!("SIGHUP: configuration not reloaded: {e}");
                return;
            }
        };
        let old_switches: Vec<(String, SwitchConfig)> = self
            .controller
            .config()
            .loads
            .iter()
            .map(|l| (l.name.get_ref().clone(), l.switch.get_ref().clone()))
            .collect();
        let mut old_actuators: Vec<Option<Actuator>> = std::mem::take(&mut self.actuators)
            .into_iter()
            .map(Some)
            .collect();
        let mut actuators = Vec::new();
        for load in &config.loads {
            let reuse = old_switches
                .iter()
                .position(|(name, switch)| {
                    name == load.name.get_ref() && switch == load.switch.get_ref()
                })
                .and_then(|i| old_actuators[i].take());
            let actuator = match reuse {
                Some(actuator) => actuator,
                None => {
                    match switch::open(load.name.get_ref(), load.switch.get_ref(), self.dry_run) {
                        Ok(switch) => Actuator::spawn(load.name.get_ref().clone(), switch),
                        Err(e) => {
                            error!(
                                "SIGHUP: configuration not reloaded: load '{}': {e}",
                                load.name.get_ref()
                            );
                            self.actuators = old_actuators.into_iter().flatten().collect();
                            return;
                        }
                    }
                }
            };
            actuators.push(actuator);
        }
        let deadline = Instant::now() + EXIT_GRACE;
        for old in old_actuators.into_iter().flatten() {
            old.set(false);
            old.finish(false, deadline);
        }
        self.controller.reload(config);
        for (actuator, state) in actuators.iter().zip(&self.controller.loads) {
            actuator.set(state.on);
        }
        self.actuators = actuators;
        info!("SIGHUP: configuration reloaded");
    }
}

/// A sample from a reading line; `None` for records that are not readings (relay events).
fn parse_line(text: &str) -> Result<Option<Sample>, String> {
    match Record::from_json(text).map_err(|e| e.to_string())? {
        Record::Reading(reading) => sample(&reading)
            .map(Some)
            .map_err(|why| format!("the reading {why}")),
        Record::Telegram(_) => Err("a telegram envelope: put p1-parse before p1-relay".into()),
        Record::Relay(_) | Record::Other(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_lines_and_the_rest() {
        let s = parse_line(r#"{"type":"reading","time":"2024-06-01T12:00:00+02:00","power_import_kw":0.0,"power_export_kw":2.5,"energy_import_t1_kwh":1.0,"energy_import_t2_kwh":2.0}"#)
            .unwrap()
            .unwrap();
        assert_eq!(s.export_kw, 2.5);
        assert_eq!(s.energy_import_kwh, Some(3.0));
        assert_eq!(s.time.to_rfc3339(), "2024-06-01T12:00:00+02:00");
        let s = parse_line(r#"{"type":"reading","time":null,"received":"2024-06-01T12:00:01.5+02:00","power_import_kw":1.0,"power_export_kw":0.0}"#)
            .unwrap()
            .unwrap();
        assert_eq!(s.time.to_rfc3339(), "2024-06-01T12:00:01.500+02:00");
        assert_eq!(
            parse_line(
                r#"{"type":"relay","time":"2024-06-01T12:00:00+02:00","load":"x","state":"on","reason":"r"}"#
            ),
            Ok(None)
        );
        assert_eq!(parse_line(r#"{"type":"peak","headroom_kw":1.0}"#), Ok(None));
        assert!(parse_line("{nope").unwrap_err().starts_with("not JSON"));
        assert_eq!(
            parse_line(r#"{"type":"reading","time":"2024-06-01T12:00:00+02:00"}"#),
            Err("the reading lacks power_import_kw or power_export_kw".into())
        );
    }
}
