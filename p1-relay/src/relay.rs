//! The relay loop, as a stage: each reading through the controller, its decisions to the
//! switches and the stream (one event a switch, then the peak record), control requests
//! answered between readings, every load off when readings stop arriving, the
//! configuration reloaded on SIGHUP, and every load off at the end.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Local, Timelike as _};
use log::{error, info, warn};
use p1_common::Error;
use p1_common::contract::control::{ControlReply, ControlRequest, LoadStatus};
use p1_common::contract::envelope::TelegramEnvelope;
use p1_common::contract::events::{RelayEvent, SwitchState};
use p1_common::contract::price::PriceRecord;
use p1_common::contract::reading::Reading;
use p1_common::contract::record::Record;
use p1_common::contract::select::Selection;
use p1_common::protocol::meter_time::MeterTime;
use p1_common::runtime::stage::{Events, Handled, Out, Stage, Stdout};

use crate::actuators::{Actuators, OnDeath};
use crate::clock::StreamClock;
use crate::config::Config;
use crate::control::{ControlServer, Pending};
use crate::controller::{Controller, Decision};
use crate::input::{SAMPLE_KEYS, Time, sample};
use crate::prices::PriceFile;
use crate::state::SavedState;

/// How long the switches get to go off at exit.
const EXIT_GRACE: Duration = Duration::from_secs(10);

/// After this many envelopes and no reading, say that p1-parse is missing.
const ENVELOPES_BEFORE_A_HINT: u64 = 10;

/// What the relay's own threads post to its loop.
#[derive(Debug)]
pub(crate) enum Event {
    /// A control-socket request.
    Control(Pending),
    /// A load's switch worker died (a bug): every load goes off and the relay stops.
    SwitchDied(String),
}

/// The configuration file, read at start and on SIGHUP.
#[derive(Debug, Clone)]
pub(crate) struct ConfigFile {
    pub(crate) path: PathBuf,
}

impl ConfigFile {
    /// Reads and checks the file, saying its warnings.
    pub(crate) fn load(&self) -> Result<Config, Error> {
        let config = Config::load(&self.path)?;
        for warning in config.warnings() {
            warn!("{}: {warning}", self.path.display());
        }
        Ok(config)
    }
}

pub(crate) struct Relay {
    config_file: ConfigFile,
    controller: Controller,
    actuators: Actuators,
    /// When every switch was opened at start (`min_off` counts from it).
    started: Instant,
    /// When the last reading acted on arrived (the wall clock's side of staleness).
    last_arrival: Option<Instant>,
    /// Whether readings' times follow the stream's clock.
    clock: StreamClock,
    /// Whether the "start" events are out: they wait for the first reading, so that every
    /// event carries the readings' clock (a replay's events are not stamped with today).
    announced: bool,
    /// Telegram envelopes seen (passed through when p1-parse passes them on).
    envelopes: u64,
    /// The price file, looked at again before each reading.
    price_file: Option<PriceFile>,
    /// The price slot last written to the stream, and the UTC seconds it spans (a reading
    /// within them, with the file unchanged, needs no lookup).
    price_written: Option<(PriceRecord, std::ops::Range<i64>)>,
    /// Kept while the relay runs: the socket goes when it is dropped.
    _control: Option<ControlServer>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").finish_non_exhaustive()
    }
}

fn now() -> Time {
    Local::now().fixed_offset()
}

impl Relay {
    /// Every load's switch opened (off), the saved switch times restored, the control
    /// socket served.
    pub(crate) fn start(
        config_file: ConfigFile,
        config: Config,
        dry_run: bool,
        control: Option<&std::path::Path>,
        prices: Option<PathBuf>,
        events: &Events<Event>,
    ) -> Result<Relay, Error> {
        let control = match control {
            Some(path) => {
                let events = events.clone();
                let requests = move |pending| events.send(Event::Control(pending));
                Some(ControlServer::start(path, requests)?)
            }
            None => None,
        };
        let saved = config.state_file.as_deref().and_then(|path| {
            SavedState::load(path).unwrap_or_else(|e| {
                warn!("{e}; starting without saved switch times");
                None
            })
        });
        let deaths = events.clone();
        let on_death: OnDeath = Arc::new(move |load: &str| {
            deaths.send(Event::SwitchDied(load.to_string()));
        });
        let actuators = Actuators::open(&config, dry_run, on_death)?;
        let mut controller = Controller::new(config, saved.as_ref());
        let mut price_file = prices.map(PriceFile::new);
        if let Some(prices) = price_file.as_mut().and_then(PriceFile::changed) {
            controller.set_prices(prices);
        }
        Ok(Relay {
            actuators,
            started: Instant::now(),
            controller,
            config_file,
            last_arrival: None,
            clock: StreamClock::default(),
            announced: false,
            envelopes: 0,
            price_file,
            price_written: None,
            _control: control,
        })
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
            Err(why) => ControlReply::error(why.to_string()),
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

    fn apply(&mut self, decisions: &[Decision], out: &mut impl EventSink) -> Result<(), Error> {
        for d in decisions {
            self.actuators.set(d.load, d.on);
            let load = self.load_name(d.load);
            info!(
                "{} {load}: {} ({})",
                d.time.format("%Y-%m-%d %H:%M:%S"),
                if d.on { "on" } else { "off" },
                d.reason
            );
            emit(out, d.time, &load, d.on, &d.reason, d.price)?;
        }
        if !decisions.is_empty() {
            self.save_state();
        }
        Ok(())
    }

    /// An "off" event for every load (at start).
    fn announce_all(&mut self, time: Time, out: &mut impl EventSink) -> Result<(), Error> {
        self.announced = true;
        for load in 0..self.controller.loads.len() {
            let name = self.load_name(load);
            emit(out, time, &name, false, "start", None)?;
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
    pub(crate) fn shut_down(&mut self, why: &str, out: &mut Stdout) {
        if !self.announced {
            let _ = self.announce_all(self.readings_clock(), out);
        }
        let decisions = self.controller.exit(self.readings_clock(), why);
        for d in &decisions {
            let load = self.load_name(d.load);
            info!(
                "{} {load}: off ({})",
                d.time.format("%Y-%m-%d %H:%M:%S"),
                d.reason
            );
            let _ = emit(out, d.time, &load, false, &d.reason, None);
        }
        self.save_state();
        self.actuators
            .finish(self.controller.config(), Instant::now() + EXIT_GRACE);
        info!("stopped: {why}");
    }

    /// The price file read again when it changed, and the price slot of `time` written
    /// once, when it begins (or its price changed).
    fn follow_prices(&mut self, time: Time, out: &mut Out<'_>) -> Handled {
        let Some(file) = &mut self.price_file else {
            return Ok(());
        };
        let changed = file
            .changed()
            .map(|prices| self.controller.set_prices(prices));
        let now = time.timestamp();
        let within_written = self
            .price_written
            .as_ref()
            .is_some_and(|(_, span)| span.contains(&now));
        if changed.is_none() && within_written {
            return Ok(());
        }
        let Some(slot) = self.controller.prices().record_at(time) else {
            return Ok(());
        };
        if self
            .price_written
            .as_ref()
            .is_none_or(|(written, _)| *written != slot)
        {
            out.write(&Record::Price(Cow::Borrowed(&slot)))?;
            let span = slot.start.timestamp().unwrap_or(now)..slot.end.timestamp().unwrap_or(now);
            self.price_written = Some((slot, span));
        }
        Ok(())
    }

    /// SIGHUP: a new configuration, keeping the switch times of loads by name. A bad file or
    /// a switch that cannot be opened keeps the running configuration.
    fn reload(&mut self) {
        let reloaded = self.config_file.load().and_then(|config| {
            let deadline = Instant::now() + EXIT_GRACE;
            self.actuators
                .reload(self.controller.config(), &config, deadline)?;
            Ok(config)
        });
        let config = match reloaded {
            Ok(config) => config,
            Err(e) => {
                error!("SIGHUP: configuration not reloaded: {e}");
                return;
            }
        };
        self.controller.reload(config);
        for (i, state) in self.controller.loads.iter().enumerate() {
            self.actuators.set(i, state.on);
        }
        info!("SIGHUP: configuration reloaded");
    }
}

/// Where relay events go: the stage's output, or stdout at the end.
trait EventSink {
    fn write(&mut self, record: &Record<'_>) -> Result<(), Error>;
}

impl EventSink for Out<'_> {
    fn write(&mut self, record: &Record<'_>) -> Result<(), Error> {
        Out::write(self, record)
    }
}

impl EventSink for Stdout {
    fn write(&mut self, record: &Record<'_>) -> Result<(), Error> {
        Stdout::write(self, record)
    }
}

fn emit(
    out: &mut impl EventSink,
    time: Time,
    load: &str,
    on: bool,
    reason: &str,
    price: Option<f64>,
) -> Result<(), Error> {
    let event = RelayEvent {
        time: MeterTime::from_datetime(time),
        load: load.to_string(),
        state: SwitchState::from_on(on),
        reason: reason.to_string(),
        price,
    };
    out.write(&Record::Relay(Cow::Owned(event)))
}

impl Stage for Relay {
    type Event = Event;

    fn reading_keys(&self) -> Option<Selection<Reading>> {
        Some(SAMPLE_KEYS)
    }

    fn on_reading(&mut self, reading: Reading, out: &mut Out<'_>) -> Handled {
        let arrived = Instant::now();
        let sample = match sample(&reading, arrived.duration_since(self.started)) {
            Ok(sample) => sample,
            Err(why) => {
                out.bad_line(format_args!("{why}: ignored"));
                return Ok(());
            }
        };
        if !self.clock.accepts(sample.time, arrived) {
            return Ok(());
        }
        if !self.announced {
            self.announce_all(sample.time, out)?;
        }
        self.follow_prices(sample.time, out)?;
        let decisions = self.controller.on_sample(&sample);
        self.apply(&decisions, out)?;
        if let Some(peak) = self.controller.peak(&sample) {
            out.write(&Record::Peak(Cow::Owned(peak)))?;
        }
        self.last_arrival = Some(arrived);
        Ok(())
    }

    fn on_telegram(&mut self, _: TelegramEnvelope<'_>, _: &mut Out<'_>) -> Handled {
        self.envelopes += 1;
        if self.envelopes == ENVELOPES_BEFORE_A_HINT && !self.announced {
            warn!("telegram envelopes but no readings: put p1-parse before p1-relay");
        }
        Ok(())
    }

    fn on_event(&mut self, event: Event, _: &mut Out<'_>) -> Handled {
        match event {
            Event::Control(pending) => {
                self.answer(pending);
                Ok(())
            }
            Event::SwitchDied(load) => Err(Error::failure(format!(
                "load '{load}': its switch failed (a bug, please report it): every load off"
            ))),
        }
    }

    /// When readings have stopped arriving for `stale_after`, on the wall clock.
    fn next_tick(&self) -> Option<Instant> {
        let stale_after = self.controller.config().stale_after;
        self.last_arrival
            .filter(|_| !self.controller.is_stale())
            .map(|at| at + stale_after)
    }

    fn on_tick(&mut self, out: &mut Out<'_>) -> Handled {
        let quiet_for = self.last_arrival.map_or(Duration::ZERO, |at| at.elapsed());
        let decisions = self.controller.on_quiet(quiet_for, self.readings_clock());
        self.apply(&decisions, out)
    }

    fn on_hangup(&mut self, _: &mut Out<'_>) -> Handled {
        self.reload();
        Ok(())
    }
}
