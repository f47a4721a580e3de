//! p1-relay: readings in (p1-parse's NDJSON), loads switched, one event per switch out.
//!
//! Fail-safe: every load is off at start, on stale data (no reading for `stale_after`, on the
//! readings' clock or the wall clock) and at exit; plugs get an auto-off timer.

mod config;
mod control;
mod controller;
mod gpio;
mod settings;
mod state;
mod switch;

use std::borrow::Cow;
use std::fmt;
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Local, Timelike as _};
use clap::Parser;
use log::{error, info, warn};
use p1_common::control::{ControlReply, ControlRequest, LoadStatus};
use p1_common::field::Selection;
use p1_common::input::{self, LineLog, spawn_stdin_lines};
use p1_common::meter_time::MeterTime;
use p1_common::output::RecordWriter;
use p1_common::reading::{Reading, ReadingKey};
use p1_common::record::{Record, RecordError, RelayEvent, SwitchState};
use p1_common::signals::Signals;
use p1_common::{Error, logger};

use crate::config::{Config, SwitchConfig};
use crate::control::{ControlServer, Pending};
use crate::controller::{Controller, Decision, Sample, Time};
use crate::gpio::GpioError;
pub use crate::settings::{AFTER_HELP, Cli};
use crate::settings::{Action, PROG, Settings};
use crate::state::SavedState;
use crate::switch::Actuator;

/// How long the switches get to go off at exit.
const EXIT_GRACE: Duration = Duration::from_secs(10);

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::init(PROG, logger::level(cli.quiet, cli.verbose));
    p1_common::exit_code(
        PROG,
        Action::from_cli(cli).and_then(|action| match action {
            Action::Relay(settings) => run(&settings),
            Action::Ctl { socket, request } => ctl(&socket, &request),
        }),
    )
}

/// `p1-relay ctl`: one request, its answer on stdout as one JSON line.
fn ctl(socket: &std::path::Path, request: &ControlRequest) -> Result<(), Error> {
    let reply = p1_common::control::ask(socket, request, Duration::from_secs(15)).map_err(|e| {
        let context = format!("control socket {}", socket.display());
        match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                Error::NoInput(format!(
                    "{context}: {} (is p1-relay running with --control?)",
                    p1_common::error::IoCause(&e)
                ))
            }
            _ => Error::io(context, e),
        }
    })?;
    let mut out = RecordWriter::stdout();
    let mut line = serde_json::to_string(&reply).unwrap_or_default();
    line.push('\n');
    out.write_raw(line.as_bytes())?;
    match reply.error {
        Some(why) if !reply.ok => Err(Error::Failure(why)),
        _ => Ok(()),
    }
}

fn now() -> Time {
    Local::now().fixed_offset()
}

/// What an input line is to the relay.
#[derive(Debug)]
enum Line {
    Reading(Sample),
    /// A telegram envelope, passed on by `p1-parse --passthrough`.
    Envelope,
    /// A record of another type (relay events, types to come).
    Other,
}

/// After this many envelopes and no reading, say that p1-parse is missing.
const ENVELOPES_BEFORE_A_HINT: u64 = 10;

/// Why an input line was not used.
#[derive(Debug)]
enum LineError {
    Record(RecordError),
    /// A reading without what the controller needs.
    Reading(&'static str),
}

impl From<RecordError> for LineError {
    fn from(e: RecordError) -> Self {
        LineError::Record(e)
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::Record(e) => e.fmt(f),
            LineError::Reading(why) => write!(f, "the reading {why}"),
        }
    }
}

/// A load whose switch cannot be opened.
#[derive(Debug)]
struct OpenError {
    load: String,
    source: GpioError,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "load '{}': {}", self.load, self.source)
    }
}

impl From<OpenError> for Error {
    fn from(e: OpenError) -> Self {
        Error::Failure(e.to_string())
    }
}

/// The keys of a reading that [`sample`] reads; the rest of a reading is skipped unparsed.
const SAMPLE_KEYS: Selection<Reading> = ReadingKey::select(&[
    ReadingKey::time,
    ReadingKey::received,
    ReadingKey::power_import_kw,
    ReadingKey::power_export_kw,
    ReadingKey::energy_import_t1_kwh,
    ReadingKey::energy_import_t2_kwh,
    ReadingKey::energy_import_t3_kwh,
    ReadingKey::energy_import_t4_kwh,
    ReadingKey::energy_import_t5_kwh,
    ReadingKey::energy_import_total_kwh,
    ReadingKey::demand_avg_kw,
    ReadingKey::demand_max_month_kw,
]);

/// What the controller takes from a reading.
fn sample(reading: &Reading) -> Result<Sample, LineError> {
    let time = reading
        .time
        .and_then(|t| t.datetime())
        .or_else(|| {
            reading
                .received
                .as_deref()
                .and_then(|r| DateTime::parse_from_rfc3339(r).ok())
        })
        .ok_or(LineError::Reading("has no time nor received"))?;
    let (Some(import_kw), Some(export_kw)) = (reading.power_import_kw, reading.power_export_kw)
    else {
        return Err(LineError::Reading(
            "lacks power_import_kw or power_export_kw",
        ));
    };
    // A meter's powers are magnitudes: a negative import is no export, and NaN is nothing.
    if !(import_kw.is_finite() && export_kw.is_finite() && import_kw >= 0.0 && export_kw >= 0.0) {
        return Err(LineError::Reading(
            "has a negative or non-finite power: not acted on",
        ));
    }
    // The tariff registers summed (Walloon meters have up to five), else the total.
    let energy = match (reading.energy_import_t1_kwh, reading.energy_import_t2_kwh) {
        (Some(t1), Some(t2)) => Some(
            t1 + t2
                + [
                    reading.energy_import_t3_kwh,
                    reading.energy_import_t4_kwh,
                    reading.energy_import_t5_kwh,
                ]
                .into_iter()
                .flatten()
                .sum::<f64>(),
        ),
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

/// What an input line holds for the relay.
fn parse_line(text: &str) -> Result<Line, LineError> {
    match Record::from_json_selecting(text, SAMPLE_KEYS)? {
        Record::Reading(reading) => sample(&reading).map(Line::Reading),
        Record::Telegram(_) => Ok(Line::Envelope),
        Record::Relay(_) | Record::Peak(_) | Record::Other(_) => Ok(Line::Other),
    }
}

fn load_config(settings: &Settings) -> Result<Config, Error> {
    let config = Config::load(&settings.config)?;
    for warning in config.warnings() {
        warn!("{}: {warning}", settings.config.display());
    }
    Ok(config)
}

fn run(settings: &Settings) -> Result<(), Error> {
    let config = load_config(settings)?;
    if settings.check_only {
        info!(
            "{}: {} loads, configuration is valid",
            settings.config.display(),
            config.loads.len()
        );
        return Ok(());
    }
    let signals = Signals::install()?;
    let control = settings
        .control
        .as_deref()
        .map(ControlServer::start)
        .transpose()?;
    let saved = config.state_file.as_deref().and_then(|path| {
        SavedState::load(path).unwrap_or_else(|e| {
            warn!("{e}; starting without saved switch times");
            None
        })
    });
    let mut relay = Relay {
        actuators: open_actuators(&config, settings.dry_run)?,
        controller: Controller::new(config, saved.as_ref()),
        last_arrival: None,
        out: RecordWriter::stdout(),
        settings: settings.clone(),
        lines: LineLog::default(),
        announced: false,
        envelopes: 0,
        control,
    };
    // A panic (a bug) must not leave a load on: it ends the loop, and the loads go off.
    let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| relay.serve(&signals)));
    let result = served.unwrap_or_else(|_| {
        Err(Error::Failure(
            "internal error (a bug, please report it): every load switched off".into(),
        ))
    });
    let why = match &result {
        Ok(stop) => stop.describe().to_string(),
        Err(e) => e.to_string(),
    };
    relay.shut_down(&why);
    result.map(|_| ())
}

fn open_actuator(name: &str, switch: &SwitchConfig, dry_run: bool) -> Result<Actuator, OpenError> {
    let switch = switch::open(name, switch, dry_run).map_err(|source| OpenError {
        load: name.to_string(),
        source,
    })?;
    Ok(Actuator::spawn(name.to_string(), switch))
}

fn open_actuators(config: &Config, dry_run: bool) -> Result<Vec<Actuator>, OpenError> {
    config
        .loads
        .iter()
        .map(|load| {
            let actuator = open_actuator(load.name.get_ref(), load.switch.get_ref(), dry_run)?;
            actuator.set(false);
            Ok(actuator)
        })
        .collect()
}

/// Why the relay loop stopped without an error.
#[derive(Debug, Clone, Copy)]
enum Stop {
    EndOfInput,
    Requested,
}

impl Stop {
    fn describe(self) -> &'static str {
        match self {
            Stop::EndOfInput => "end of input",
            Stop::Requested => "stop requested",
        }
    }
}

struct Relay {
    controller: Controller,
    actuators: Vec<Actuator>,
    /// When the last reading arrived (the wall clock's side of staleness).
    last_arrival: Option<Instant>,
    out: RecordWriter<std::io::StdoutLock<'static>>,
    settings: Settings,
    lines: LineLog,
    /// Whether the "start" events are out: they wait for the first reading, so that every
    /// event carries the readings' clock (a replay's events are not stamped with today).
    announced: bool,
    /// Telegram envelopes seen (passed through when p1-parse passes them on).
    envelopes: u64,
    control: Option<ControlServer>,
}

impl Relay {
    /// Runs until the input ends or a stop is requested.
    fn serve(&mut self, signals: &Signals) -> Result<Stop, Error> {
        let lines = spawn_stdin_lines(1 << 20, 64);
        loop {
            if signals.stop_requested() {
                return Ok(Stop::Requested);
            }
            if signals.take_hangup() {
                self.reload();
            }
            if let Some(stop) = self.next_line(&lines)? {
                return Ok(stop);
            }
            while let Some(pending) = self.control.as_ref().and_then(ControlServer::next) {
                self.answer(pending);
            }
            if let Some(dead) = self.actuators.iter().position(Actuator::died) {
                return Err(Error::Failure(format!(
                    "load '{}': its switch failed (a bug, please report it): every load off",
                    self.load_name(dead)
                )));
            }
            let quiet_for = self.last_arrival.map_or(Duration::ZERO, |at| at.elapsed());
            let decisions = self.controller.on_quiet(quiet_for, self.readings_clock());
            self.apply(&decisions)?;
        }
    }

    /// Takes one input line if one comes soon; `Some` when the input is over.
    fn next_line(&mut self, lines: &Receiver<input::Line>) -> Result<Option<Stop>, Error> {
        match lines.recv_timeout(Duration::from_millis(200)) {
            Ok(input::Line::Text(text)) => {
                self.on_line(&text)?;
                Ok(None)
            }
            Ok(input::Line::TooLong(bytes)) => {
                self.lines.too_long(bytes);
                Ok(None)
            }
            Ok(input::Line::End) | Err(RecvTimeoutError::Disconnected) => {
                Ok(Some(Stop::EndOfInput))
            }
            Ok(input::Line::Failed(e)) => Err(Error::io("stdin", e)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
        }
    }

    fn on_line(&mut self, text: &str) -> Result<(), Error> {
        self.lines.next();
        if self.settings.passthrough {
            self.out.write_raw(text.as_bytes())?;
        }
        match parse_line(text) {
            Ok(Line::Reading(sample)) => {
                if !self.announced {
                    self.announce_all(sample.time, "start")?;
                }
                let decisions = self.controller.on_sample(&sample);
                self.apply(&decisions)?;
                if let Some(peak) = self.controller.peak(&sample) {
                    self.out.write(&Record::Peak(Cow::Owned(peak)))?;
                }
                self.last_arrival = Some(Instant::now());
            }
            Ok(Line::Envelope) => {
                self.envelopes += 1;
                if self.envelopes == ENVELOPES_BEFORE_A_HINT && !self.announced {
                    warn!("telegram envelopes but no readings: put p1-parse before p1-relay");
                }
            }
            Ok(Line::Other) => {}
            Err(why) => self.lines.bad(&format!("{why}: ignored")),
        }
        Ok(())
    }

    /// Now, on the readings' clock: the last reading's time plus the wall time since it came
    /// (the wall clock before any reading). State-file times stay in one time base.
    fn readings_clock(&self) -> Time {
        match (self.controller.last_reading(), self.last_arrival) {
            (Some(time), Some(at)) => {
                time + chrono::Duration::from_std(at.elapsed()).unwrap_or_default()
            }
            _ => now(),
        }
    }

    /// A control-socket request.
    fn answer(&mut self, pending: Pending) {
        let reply = match &pending.request {
            Err(why) => ControlReply::error(why.clone()),
            Ok(ControlRequest::Status) => ControlReply::loads(self.statuses()),
            Ok(ControlRequest::Set { load, mode, for_s }) => {
                let names = &self.controller.config().loads;
                match names.iter().position(|l| l.name.get_ref() == load) {
                    None => ControlReply::error(format!("no load '{load}'")),
                    Some(i) => {
                        let until = for_s.and_then(|s| {
                            let now = self.readings_clock().with_nanosecond(0)?;
                            now.checked_add_signed(chrono::Duration::try_seconds(
                                i64::try_from(s).ok()?,
                            )?)
                        });
                        self.controller.set_mode(i, *mode, until);
                        info!(
                            "{load}: mode {} {} (control socket), from the next reading",
                            mode.name(),
                            until.map_or("until changed".to_string(), |u| format!(
                                "until {}",
                                MeterTime::from_datetime(u)
                            ))
                        );
                        ControlReply::loads(self.statuses())
                    }
                }
            }
        };
        pending.answer(reply);
    }

    fn statuses(&self) -> Vec<LoadStatus> {
        (0..self.controller.loads.len())
            .map(|i| {
                let state = &self.controller.loads[i];
                LoadStatus {
                    load: self.load_name(i),
                    on: state.on,
                    mode: self.controller.mode(i),
                    manual: state.manual.is_some(),
                    until: state
                        .manual
                        .and_then(|(_, until)| until)
                        .map(|u| MeterTime::from_datetime(u).to_string()),
                    reason: state.reason.clone(),
                }
            })
            .collect()
    }

    fn load_name(&self, load: usize) -> String {
        self.controller.config().loads[load].name.get_ref().clone()
    }

    fn apply(&mut self, decisions: &[Decision]) -> Result<(), Error> {
        for d in decisions {
            self.actuators[d.load].set(d.on);
            let load = self.load_name(d.load);
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
    fn announce_all(&mut self, time: Time, reason: &str) -> Result<(), Error> {
        self.announced = true;
        for load in 0..self.actuators.len() {
            let name = self.load_name(load);
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
        if !self.announced {
            let _ = self.announce_all(self.readings_clock(), "start");
        }
        let decisions = self.controller.exit(self.readings_clock(), why);
        for d in &decisions {
            let load = self.load_name(d.load);
            let _ = self.emit(d.time, &load, false, &d.reason);
        }
        self.save_state();
        let deadline = Instant::now() + EXIT_GRACE;
        let loads = &self.controller.config().loads;
        for (actuator, load) in std::mem::take(&mut self.actuators).into_iter().zip(loads) {
            if !load.keep_on_exit {
                actuator.set(false);
            }
            actuator.finish(load.keep_on_exit, deadline);
        }
        info!("stopped: {why}");
    }

    /// SIGHUP: a new configuration, keeping the switch times of loads by name. A bad file or
    /// a switch that cannot be opened keeps the running configuration.
    fn reload(&mut self) {
        let reloaded = load_config(&self.settings).and_then(|config| {
            let actuators = self.actuators_for(&config)?;
            Ok((config, actuators))
        });
        let (config, actuators) = match reloaded {
            Ok(new) => new,
            Err(e) => {
                error!("SIGHUP: configuration not reloaded: {e}");
                return;
            }
        };
        self.controller.reload(config);
        for (actuator, state) in actuators.iter().zip(&self.controller.loads) {
            actuator.set(state.on);
        }
        self.actuators = actuators;
        info!("SIGHUP: configuration reloaded");
    }

    /// The actuators of a new configuration: those whose load and switch are unchanged are
    /// kept, the others opened; the ones no longer wanted are switched off and ended.
    fn actuators_for(&mut self, config: &Config) -> Result<Vec<Actuator>, OpenError> {
        let old_loads = &self.controller.config().loads;
        let kept: Vec<Option<usize>> = config
            .loads
            .iter()
            .map(|load| {
                old_loads.iter().position(|old| {
                    old.name.get_ref() == load.name.get_ref()
                        && old.switch.get_ref() == load.switch.get_ref()
                })
            })
            .collect();
        // Open the new switches first: if one fails, nothing has changed.
        let mut opened = Vec::new();
        for (load, kept) in config.loads.iter().zip(&kept) {
            if kept.is_none() {
                let (name, switch) = (load.name.get_ref(), load.switch.get_ref());
                opened.push(open_actuator(name, switch, self.settings.dry_run)?);
            }
        }
        let mut old: Vec<Option<Actuator>> = std::mem::take(&mut self.actuators)
            .into_iter()
            .map(Some)
            .collect();
        let mut opened = opened.into_iter();
        let actuators = kept
            .iter()
            .filter_map(|kept| match kept {
                Some(i) => old[*i].take(),
                None => opened.next(),
            })
            .collect();
        let deadline = Instant::now() + EXIT_GRACE;
        for gone in old.into_iter().flatten() {
            gone.set(false);
            gone.finish(false, deadline);
        }
        Ok(actuators)
    }
}

/// For the fuzz target: a configuration, then input lines, through the configuration
/// checks, the line reader and the controller, as the binary drives them (without switches).
/// `data` is the configuration's TOML, a NUL byte, and the input.
#[doc(hidden)]
pub fn fuzz_configuration_and_input(data: &[u8]) {
    let (config, input) = data
        .iter()
        .position(|&b| b == 0)
        .map_or((data, &[][..]), |nul| (&data[..nul], &data[nul + 1..]));
    let Ok(Ok(config)) = std::str::from_utf8(config).map(Config::parse) else {
        return;
    };
    let _ = config.warnings();
    let mut controller = Controller::new(config.clone(), None);
    for (i, line) in input.split(|&b| b == b'\n').enumerate() {
        let Ok(Line::Reading(sample)) =
            std::str::from_utf8(line).map_or(Ok(Line::Other), parse_line)
        else {
            continue;
        };
        let _ = controller.on_sample(&sample);
        if i % 3 == 2 {
            let quiet = Duration::from_secs(line.len() as u64 * 7);
            let _ = controller.on_quiet(quiet, sample.time);
        }
        if i % 5 == 4 {
            controller.reload(config.clone());
            controller = Controller::new(config.clone(), Some(&controller.saved_state()));
        }
    }
    let _ = controller.exit(now(), "end of input");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_lines_and_the_rest() {
        let reading = |line| match parse_line(line) {
            Ok(Line::Reading(sample)) => sample,
            other => panic!("{other:?}"),
        };
        let s = reading(
            r#"{"type":"reading","time":"2024-06-01T12:00:00+02:00","power_import_kw":0.0,"power_export_kw":2.5,"energy_import_t1_kwh":1.0,"energy_import_t2_kwh":2.0}"#,
        );
        assert_eq!(s.export_kw, 2.5);
        assert_eq!(s.energy_import_kwh, Some(3.0));
        // Issue 12: a Walloon meter's tariffs 3 to 5 count for the quarter hour too.
        let walloon = reading(
            r#"{"type":"reading","time":"2024-06-01T12:00:00+02:00","power_import_kw":0.0,"power_export_kw":0.0,"energy_import_t1_kwh":1.0,"energy_import_t2_kwh":2.0,"energy_import_t3_kwh":4.0,"energy_import_t5_kwh":8.0}"#,
        );
        assert_eq!(walloon.energy_import_kwh, Some(15.0));
        assert_eq!(s.time.to_rfc3339(), "2024-06-01T12:00:00+02:00");
        let s = reading(
            r#"{"type":"reading","time":null,"received":"2024-06-01T12:00:01.5+02:00","power_import_kw":1.0,"power_export_kw":0.0}"#,
        );
        assert_eq!(s.time.to_rfc3339(), "2024-06-01T12:00:01.500+02:00");
        assert!(matches!(
            parse_line(
                r#"{"type":"relay","time":"2024-06-01T12:00:00+02:00","load":"x","state":"on","reason":"r"}"#
            ),
            Ok(Line::Other)
        ));
        assert!(matches!(
            parse_line(r#"{"type":"forecast","solar_kw":1.0}"#),
            Ok(Line::Other)
        ));
        assert!(
            parse_line("{nope")
                .unwrap_err()
                .to_string()
                .starts_with("not JSON")
        );
        assert_eq!(
            parse_line(r#"{"type":"reading","time":"2024-06-01T12:00:00+02:00"}"#)
                .unwrap_err()
                .to_string(),
            "the reading lacks power_import_kw or power_export_kw"
        );
        assert!(matches!(
            parse_line(
                r#"{"type":"telegram","received":"2024-06-01T12:00:00Z","source":"sim","telegram":"/X"}"#
            ),
            Ok(Line::Envelope)
        ));
    }
}
