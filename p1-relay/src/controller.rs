//! The decisions: which load goes on or off, when, and why. Pure logic on readings and their
//! own timestamps (so a capture replayed at any speed decides as it did live). Staleness is
//! decided here, on both clocks: a gap between readings' times, and (told by the caller, who
//! owns the wall clock) readings that stopped arriving. Switching is the caller's.
//!
//! Each load has a hysteresis band: on once export >= `on_export_kw` has held for `on_delay`,
//! off once import >= `off_import_kw` has held for `off_delay`; one contrary reading resets a
//! pending delay. Switching the load on takes its draw off the export, so `on_export_kw`
//! must exceed `power_kw - off_import_kw`, or its own draw switches it off again. Loads are
//! staged by priority, one automatic switch per `settle`, and shed last-on-first-off.
//!
//! A load's price rules (`rules`) can keep it on too: what they want is on as export is, and
//! holds off the import rule; the delays, `min_on`, `min_off`, the starts an hour, its window
//! and the capacity budget hold for them as for the surplus.

use std::collections::VecDeque;

use chrono::{Duration, Timelike};
use log::{debug, info, warn};
use p1_common::contract::events::PeakRecord;
use p1_common::protocol::meter_time::MeterTime;

use crate::config::{Config, Mode};
use crate::input::{Sample, Time};
use crate::peak::{self, QuarterHour};
use crate::prices::{Prices, Quarter, quarter_of};
use crate::rules::{self, Progress, Want};
use crate::state::{LoadRecord, SavedState};

/// A switch to make.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decision {
    pub(crate) load: usize,
    pub(crate) on: bool,
    pub(crate) time: Time,
    pub(crate) reason: String,
    /// The quarter's price, when a price rule switched it.
    pub(crate) price: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct LoadState {
    pub(crate) on: bool,
    pub(crate) last_on: Option<Time>,
    pub(crate) last_off: Option<Time>,
    /// Switch-ons in the last hour.
    pub(crate) starts: VecDeque<Time>,
    /// On when the state was saved (a crash): switched off at start, and off since. That
    /// switch-off is the last one `min_off` counts from (see [`Controller::on_sample`]).
    off_at_start: bool,
    on_since: Option<Time>,
    off_since: Option<Time>,
    /// The mode set through the control socket, until when (for ever: `None`).
    pub(crate) manual: Option<(Mode, Option<Time>)>,
    /// Why it was last switched.
    pub(crate) reason: String,
    /// What its price rules want in the running quarter hour.
    want: Option<Want>,
    /// What it has run in its day, for a need.
    progress: Progress,
}

#[derive(Debug)]
pub(crate) struct Controller {
    config: Config,
    pub(crate) loads: Vec<LoadState>,
    first_reading: Option<Time>,
    last_reading: Option<Time>,
    last_switch: Option<Time>,
    /// The start on the readings' clock, as the first reading placed it.
    start_estimate: Option<Time>,
    quarter: QuarterHour,
    /// Every load went off for stale data, and no reading has come since.
    stale: bool,
    /// The price file's slots.
    prices: Prices,
    /// The quarter hour the price rules were last decided for, and its price.
    priced: Option<Quarter>,
    quarter_price: Option<f64>,
    /// Whether "no price for now" was said (it is said again once prices came back).
    priceless_said: bool,
}

/// How much later than another a reading may be stamped, live (whole seconds, a pipe).
const STAMP_LAG_S: i64 = 5;

fn secs(d: Duration) -> i64 {
    d.num_seconds()
}

fn held(since: Option<Time>, now: Time, needed: std::time::Duration) -> Option<i64> {
    let since = since?;
    let held = secs(now - since);
    (held >= needed.as_secs() as i64).then_some(held)
}

fn passed(since: Option<Time>, now: Time, needed: std::time::Duration) -> bool {
    since.is_none_or(|t| secs(now - t) >= needed.as_secs() as i64)
}

impl Controller {
    /// Every load off; switch times restored from a saved state.
    pub(crate) fn new(config: Config, saved: Option<&SavedState>) -> Self {
        let loads = config
            .loads
            .iter()
            .map(|load| {
                let mut state = LoadState::default();
                if let Some(record) = saved.and_then(|s| s.loads.get(load.name.get_ref())) {
                    state.last_on = record.last_on;
                    state.last_off = record.last_off;
                    state.off_at_start = match (record.last_on, record.last_off) {
                        (Some(on), Some(off)) => on > off,
                        (Some(_), None) => true,
                        _ => false,
                    };
                    state.starts = record.starts.iter().copied().collect();
                }
                state
            })
            .collect();
        Controller {
            config,
            loads,
            first_reading: None,
            last_reading: None,
            last_switch: None,
            start_estimate: None,
            quarter: QuarterHour::default(),
            stale: false,
            prices: Prices::default(),
            priced: None,
            quarter_price: None,
            priceless_said: false,
        }
    }

    /// New prices (the file changed): the price rules decide the running quarter again.
    pub(crate) fn set_prices(&mut self, prices: Prices) {
        self.prices = prices;
        self.priced = None;
    }

    pub(crate) fn prices(&self) -> &Prices {
        &self.prices
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// A new configuration (SIGHUP): loads keep their state by name; new ones start off.
    pub(crate) fn reload(&mut self, config: Config) {
        let mut old: Vec<(String, LoadState)> = self
            .config
            .loads
            .iter()
            .map(|l| l.name.get_ref().clone())
            .zip(std::mem::take(&mut self.loads))
            .collect();
        self.loads = config
            .loads
            .iter()
            .map(
                |load| match old.iter().position(|(name, _)| name == load.name.get_ref()) {
                    Some(i) => old.remove(i).1,
                    None => LoadState::default(),
                },
            )
            .collect();
        self.config = config;
        self.priced = None;
    }

    /// What to keep across restarts.
    pub(crate) fn saved_state(&self) -> SavedState {
        let mut saved = SavedState::default();
        for (load, state) in self.config.loads.iter().zip(&self.loads) {
            saved.loads.insert(
                load.name.get_ref().clone(),
                LoadRecord {
                    last_on: state.last_on,
                    last_off: state.last_off,
                    starts: state.starts.iter().copied().collect(),
                },
            );
        }
        saved
    }

    fn switch(
        &mut self,
        load: usize,
        on: bool,
        time: Time,
        reason: String,
        counts_for_settle: bool,
    ) -> Decision {
        self.switch_priced(load, on, time, reason, None, counts_for_settle)
    }

    fn switch_priced(
        &mut self,
        load: usize,
        on: bool,
        time: Time,
        reason: String,
        price: Option<f64>,
        counts_for_settle: bool,
    ) -> Decision {
        let state = &mut self.loads[load];
        let changed = state.on != on;
        state.on = on;
        state.off_at_start &= !changed;
        state.reason.clone_from(&reason);
        state.on_since = None;
        state.off_since = None;
        if changed && on {
            state.last_on = Some(time);
            state.starts.push_back(time);
        } else if changed {
            state.last_off = Some(time);
        }
        if counts_for_settle {
            self.last_switch = Some(time);
        }
        Decision {
            load,
            on,
            time,
            reason,
            price,
        }
    }

    /// The readings' clock went back by `jump`: every time kept moves back with it, so that
    /// `min_on`, `min_off`, `settle` and the hour of starts count what really elapsed,
    /// instead of holding loads until the clock catches up again.
    fn re_anchor(&mut self, jump: Duration) {
        let back = |t: &mut Option<Time>| *t = t.map(|t| t - jump);
        back(&mut self.last_switch);
        back(&mut self.first_reading);
        back(&mut self.start_estimate);
        self.quarter.reset();
        self.priced = None;
        for load in &mut self.loads {
            back(&mut load.last_on);
            back(&mut load.last_off);
            for start in &mut load.starts {
                *start -= jump;
            }
            load.on_since = None;
            load.off_since = None;
        }
    }

    /// The time of the last reading.
    pub(crate) fn last_reading(&self) -> Option<Time> {
        self.last_reading
    }

    /// Whether every load went off for stale data, and no reading has come since.
    pub(crate) fn is_stale(&self) -> bool {
        self.stale
    }

    /// The wall clock's side of staleness: no reading has arrived for `quiet_for`, and `now`
    /// is the readings' clock. Every load goes off once `stale_after` has passed.
    pub(crate) fn on_quiet(&mut self, quiet_for: std::time::Duration, now: Time) -> Vec<Decision> {
        if self.stale || self.last_reading.is_none() || quiet_for < self.config.stale_after {
            return Vec::new();
        }
        let why = format!("no reading for {} s", quiet_for.as_secs());
        warn!("{why}: every load off until readings come again");
        self.go_stale(now, &why)
    }

    /// Every load off: no reading for too long.
    fn go_stale(&mut self, time: Time, why: &str) -> Vec<Decision> {
        self.first_reading = None;
        self.stale = true;
        (0..self.loads.len())
            .map(|i| self.switch(i, false, time, format!("stale: {why}"), false))
            .collect()
    }

    /// At exit: every load off but those that keep their state.
    pub(crate) fn exit(&mut self, time: Time, why: &str) -> Vec<Decision> {
        let leaving: Vec<usize> = (0..self.loads.len())
            .filter(|&i| !self.config.loads[i].keep_on_exit)
            .collect();
        leaving
            .into_iter()
            .map(|i| self.switch(i, false, time, format!("exit: {why}"), false))
            .collect()
    }

    /// A load switched off at start has its last switch-off at the start, on the wall clock:
    /// on the readings' clock, each reading's time less the wall time since the start, the
    /// latest of these kept. A reading stamped earlier than the next (its time is whole
    /// seconds, it waited in a pipe) then cannot shorten `min_off` (issue 23: on again 3.25 s
    /// after it with `min_off = "4s"`).
    fn count_from_the_switch_off_at_start(&mut self, s: &Sample) {
        let since_start = Duration::from_std(s.since_start).unwrap_or(Duration::MAX);
        let Some(start) = s.time.checked_sub_signed(since_start) else {
            return;
        };
        // Live, the estimates differ by how late readings are stamped, a second or two; a
        // replay's clock runs ahead of the wall clock, and there its own clock counts.
        let first = *self.start_estimate.get_or_insert(start);
        if start - first > Duration::seconds(STAMP_LAG_S) {
            return;
        }
        for load in self.loads.iter_mut().filter(|l| l.off_at_start) {
            load.last_off = Some(load.last_off.map_or(start, |off| off.max(start)));
        }
    }

    /// The decisions a reading leads to.
    pub(crate) fn on_sample(&mut self, s: &Sample) -> Vec<Decision> {
        let t = s.time;
        let mut decisions = Vec::new();
        self.count_time_on(t);
        if let Some(previous) = self.last_reading {
            let gap = secs(t - previous);
            // A gap in the readings' clock is stale data, unless the wall clock said so already.
            if gap >= self.config.stale_after.as_secs() as i64 && !self.stale {
                let at = previous + Duration::seconds(self.config.stale_after.as_secs() as i64);
                decisions.extend(self.go_stale(at, &format!("no reading for {gap} s")));
            } else if gap < 0 {
                warn!(
                    "the readings' clock went back {} s: switch times move back with it, pending delays restart",
                    -gap
                );
                self.re_anchor(Duration::seconds(-gap));
            }
        }
        self.last_reading = Some(t);
        self.stale = false;
        self.count_from_the_switch_off_at_start(s);
        let first = *self.first_reading.get_or_insert(t);
        let in_grace = secs(t - first) < self.config.startup_grace.as_secs() as i64;
        self.quarter.track(s);
        self.decide_price_rules(t);
        let price = self.quarter_price;
        for (load, state) in self.config.loads.iter().zip(&mut self.loads) {
            let wanted = state.want.is_some();
            state.on_since = if s.export_kw >= load.on_export_kw
                || wanted
                || rules::absorbs(load, price, s.export_kw)
            {
                state.on_since.or(Some(t))
            } else {
                None
            };
            state.off_since = if s.import_kw >= load.off_import_kw && !wanted {
                state.off_since.or(Some(t))
            } else {
                None
            };
            while state
                .starts
                .front()
                .is_some_and(|&start| secs(t - start) >= 3600)
            {
                state.starts.pop_front();
            }
        }
        self.forced(t, in_grace, &mut decisions);
        let target = self.peak_target(s);
        if let Some(target) = target {
            self.shed_for_peak(s, target, &mut decisions);
        }
        if passed(self.last_switch, t, self.config.settle) {
            if let Some(d) = self.automatic_off(t, s) {
                decisions.push(d);
            } else if !in_grace && let Some(d) = self.automatic_on(t, s, target) {
                decisions.push(d);
            }
        }
        decisions
    }

    /// Adds the time since the last reading to the day of each load that was on (a gap of
    /// stale data is no time on).
    fn count_time_on(&mut self, t: Time) {
        let Some(previous) = self.last_reading else {
            return;
        };
        let seconds = (t - previous).as_seconds_f64();
        if !(seconds > 0.0 && seconds < self.config.stale_after.as_secs_f64()) {
            return;
        }
        for state in self.loads.iter_mut().filter(|l| l.on) {
            state.progress.add(seconds, state.want.is_some());
        }
    }

    /// What the price rules want in the quarter hour of `t`, decided once a quarter (and
    /// again when the prices or the configuration change).
    fn decide_price_rules(&mut self, t: Time) {
        let q = quarter_of(t);
        if self.priced == Some(q) {
            return;
        }
        self.priced = Some(q);
        let zone = rules::zone_of(t);
        let priced = self
            .config
            .loads
            .iter()
            .any(crate::config::Load::reads_prices);
        self.quarter_price = self.prices.of_quarter(q);
        let covered = self.quarter_price.is_some();
        if priced && !covered && !self.priceless_said {
            warn!(
                "no price for the quarter hour from {}: price_below, cheapest and \
                 absorb_export_below keep no load on; a need goes to the latest quarter hours \
                 before its end",
                MeterTime::from_datetime(t - Duration::seconds(t.timestamp() - q))
            );
        } else if priced && covered && self.priceless_said {
            info!("prices again from {}", MeterTime::from_datetime(t));
        }
        self.priceless_said = priced && !covered;
        for (load, state) in self.config.loads.iter().zip(&mut self.loads) {
            state.progress.roll(load, zone, q);
            state.want = rules::want(load, &self.prices, zone, q, &state.progress);
        }
    }

    /// A load's mode: the one set through the control socket while it lasts, else the
    /// configuration's.
    pub(crate) fn mode(&self, load: usize) -> Mode {
        self.loads[load]
            .manual
            .map_or(self.config.loads[load].mode, |(mode, _)| mode)
    }

    /// Sets a load's mode (`Auto`: back to the configuration's) from the next reading on,
    /// until `until`. Stale data still turns it off, whatever the mode.
    pub(crate) fn set_mode(&mut self, load: usize, mode: Mode, until: Option<Time>) {
        self.loads[load].manual = Some((mode, until)).filter(|_| mode != Mode::Auto);
    }

    /// Manual modes and windows.
    fn forced(&mut self, t: Time, in_grace: bool, decisions: &mut Vec<Decision>) {
        let minute = t.naive_local().num_seconds_from_midnight() / 60;
        for i in 0..self.loads.len() {
            if let Some((_, Some(until))) = self.loads[i].manual
                && t >= until
            {
                self.loads[i].manual = None;
            }
            let load = &self.config.loads[i];
            let manual = if self.loads[i].manual.is_some() {
                "manual mode"
            } else {
                "mode"
            };
            let want = match self.mode(i) {
                Mode::Off => Some((false, format!("{manual} off"))),
                Mode::On if in_grace => None,
                Mode::On => Some((true, format!("{manual} on"))),
                Mode::Auto => load
                    .window
                    .filter(|w| !w.contains(minute))
                    .map(|w| (false, format!("outside window {w}"))),
            };
            if let Some((on, reason)) = want
                && on != self.loads[i].on
            {
                decisions.push(self.switch(i, on, t, reason, true));
            }
        }
    }

    fn auto_loads(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.loads.len()).filter(|&i| self.mode(i) == Mode::Auto)
    }

    fn automatic_off(&mut self, t: Time, s: &Sample) -> Option<Decision> {
        let (i, held) = self
            .auto_loads()
            .filter(|&i| {
                self.loads[i].on && passed(self.loads[i].last_on, t, self.config.loads[i].min_on)
            })
            .filter_map(|i| {
                held(self.loads[i].off_since, t, self.config.loads[i].off_delay).map(|h| (i, h))
            })
            .max_by_key(|&(i, _)| self.loads[i].last_on)?;
        let reason = format!(
            "import {:.2} kW >= {:.2} kW for {held} s",
            s.import_kw, self.config.loads[i].off_import_kw
        );
        Some(self.switch(i, false, t, reason, true))
    }

    fn automatic_on(&mut self, t: Time, s: &Sample, target: Option<f64>) -> Option<Decision> {
        let minute = t.naive_local().num_seconds_from_midnight() / 60;
        let candidates: Vec<(usize, i64)> = self
            .auto_loads()
            .filter(|&i| {
                let (load, state) = (&self.config.loads[i], &self.loads[i]);
                !state.on
                    && load.window.is_none_or(|w| w.contains(minute))
                    && passed(state.last_off, t, load.min_off)
                    && load
                        .max_starts_per_hour
                        .is_none_or(|max| state.starts.len() < max as usize)
            })
            .filter_map(|i| {
                held(self.loads[i].on_since, t, self.config.loads[i].on_delay).map(|h| (i, h))
            })
            .collect();
        let &(i, held) = candidates
            .iter()
            .min_by_key(|&&(i, _)| (self.config.loads[i].priority, i))?;
        let load = &self.config.loads[i];
        let rate = (s.import_kw - s.export_kw + load.power_kw).max(0.0);
        if let (Some(target), Some(projected)) = (target, self.quarter.projected(s, rate))
            && projected > target
        {
            debug!(
                "{}: held back: the quarter would average {projected:.2} kW > {target:.2} kW",
                load.name.get_ref()
            );
            return None;
        }
        let (reason, price) = match &self.loads[i].want {
            Some(want) => (want.reason.clone(), want.price),
            None if s.export_kw >= load.on_export_kw => (
                format!(
                    "export {:.2} kW >= {:.2} kW for {held} s",
                    s.export_kw, load.on_export_kw
                ),
                None,
            ),
            None => {
                let price = self.quarter_price;
                (
                    format!(
                        "price {:.3} <= {:.3} EUR/kWh: export {:.2} kW absorbed",
                        price.unwrap_or_default(),
                        load.absorb_export_below.unwrap_or_default(),
                        s.export_kw
                    ),
                    price,
                )
            }
        };
        Some(self.switch_priced(i, true, t, reason, price, true))
    }

    /// The quarter-hour average to stay under: the higher of the limit and the month's peak so
    /// far (a quarter below that peak costs nothing more), less the margin.
    fn peak_target(&self, s: &Sample) -> Option<f64> {
        self.config.peak.map(|peak| peak::budget(peak, s))
    }

    /// The running quarter for other controllers, after `s` (none without import registers).
    /// Without a `[peak]` section the budget is that of the default limit and margin.
    pub(crate) fn peak(&self, s: &Sample) -> Option<PeakRecord> {
        let budget = peak::budget(self.config.peak.unwrap_or_default(), s);
        self.quarter.record(s, budget)
    }

    fn shed_for_peak(&mut self, s: &Sample, target: f64, decisions: &mut Vec<Decision>) {
        let mut rate = s.import_kw;
        let Some(mut projected) = self.quarter.projected(s, rate) else {
            return;
        };
        if projected <= target {
            return;
        }
        let mut candidates: Vec<usize> = self
            .auto_loads()
            .filter(|&i| {
                // What a price rule keeps on is shed too: no cheap slot lifts the quarter.
                self.loads[i].on && (self.config.loads[i].peak_shed || self.loads[i].want.is_some())
            })
            .filter(|&i| passed(self.loads[i].last_on, s.time, self.config.loads[i].min_on))
            .collect();
        candidates.sort_by_key(|&i| std::cmp::Reverse(self.loads[i].last_on));
        for i in candidates {
            if projected <= target {
                break;
            }
            let reason =
                format!("peak: the quarter hour heads for {projected:.2} kW > {target:.2} kW");
            decisions.push(self.switch(i, false, s.time, reason, true));
            rate = (rate - self.config.loads[i].power_kw).max(0.0);
            projected = self.quarter.projected(s, rate).unwrap_or(projected);
        }
    }
}

/// For the fuzz target: a configuration, then input lines, through the configuration
/// checks, the line reader and the controller, as the binary drives them (without switches),
/// with the price slots among the lines as the price file (and its plan from the first
/// reading). `data` is the configuration's TOML, a NUL byte, and the input.
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
    // The price slots among the lines are the price file (the other lines its bad lines).
    let prices = Prices::new(
        p1_common::contract::price::read_price_file(&String::from_utf8_lossy(input)).slots,
    );
    controller.set_prices(prices.clone());
    let mut planned = false;
    for (i, line) in input.split(|&b| b == b'\n').enumerate() {
        let Some(Ok(sample)) = std::str::from_utf8(line)
            .ok()
            .and_then(crate::input::sample_of_line)
        else {
            continue;
        };
        if !planned {
            planned = true;
            let _ = crate::plan::plan(&config, &prices, sample.time);
        }
        let _ = controller.on_sample(&sample);
        if i % 3 == 2 {
            let quiet = std::time::Duration::from_secs(line.len() as u64 * 7);
            let _ = controller.on_quiet(quiet, sample.time);
        }
        if i % 5 == 4 {
            controller.reload(config.clone());
            controller = Controller::new(config.clone(), Some(&controller.saved_state()));
        }
    }
    let _ = controller.exit(chrono::Local::now().fixed_offset(), "end of input");
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use p1_common::protocol::meter_time::MeterTime;

    /// The readings' clock of every case starts at this local time (a quarter-hour start).
    const START: &str = "2024-06-01T12:00:00+02:00";

    fn at(t: i64) -> Time {
        DateTime::parse_from_rfc3339(START).unwrap() + Duration::seconds(t)
    }

    /// A configuration: the global keys, then one `[[load]]` for each entry: its own keys,
    /// and those it does not give of a 2 kW load that goes on at 2.2 kW export and off at
    /// 0.3 kW import, each held for 10 s.
    fn config(globals: &str, loads: &[(&str, &str)]) -> Config {
        let mut text = format!("{globals}\n");
        for (name, keys) in loads {
            text += &format!("[[load]]\nname = \"{name}\"\n{keys}\n");
            for (key, value) in [
                ("power_kw", "2.0"),
                ("on_export_kw", "2.2"),
                ("off_import_kw", "0.3"),
                ("on_delay", "\"10s\""),
                ("off_delay", "\"10s\""),
            ] {
                if !keys.contains(&format!("{key} =")) {
                    text += &format!("{key} = {value}\n");
                }
            }
            text.push_str("[load.switch]\ntype = \"dry-run\"\n");
        }
        Config::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    /// Import and export from `from` to `to` (inclusive), one reading a second.
    fn readings(from: i64, to: i64, import_kw: f64, export_kw: f64) -> Vec<Sample> {
        (from..=to)
            .map(|t| Sample {
                time: at(t),
                import_kw,
                export_kw,
                energy_import_kwh: None,
                demand_avg_kw: None,
                demand_max_month_kw: None,
                since_start: std::time::Duration::from_secs(t.max(0).unsigned_abs()),
            })
            .collect()
    }

    /// (second, load, on, reason) for each decision the samples lead to.
    fn decide(controller: &mut Controller, samples: &[Sample]) -> Vec<(i64, String, bool, String)> {
        let mut out = Vec::new();
        for sample in samples {
            for d in controller.on_sample(sample) {
                let name = controller.config().loads[d.load].name.get_ref().clone();
                out.push((secs(d.time - at(0)), name, d.on, d.reason));
            }
        }
        out
    }

    const FAST: &str = "settle = \"0s\"\nstartup_grace = \"0s\"";

    #[test]
    #[allow(clippy::too_many_lines, reason = "one table of cases")]
    fn samples_in_decisions_out() {
        struct Case {
            name: &'static str,
            globals: &'static str,
            loads: &'static [(&'static str, &'static str)],
            samples: Vec<Sample>,
            want: &'static [(i64, &'static str, bool, &'static str)],
        }
        let cases = [
            Case {
                name: "on once export has held for on_delay",
                globals: FAST,
                loads: &[("a", "")],
                samples: readings(0, 12, 0.0, 2.5),
                want: &[(10, "a", true, "export 2.50 kW >= 2.20 kW for 10 s")],
            },
            Case {
                name: "one contrary reading restarts the delay",
                globals: FAST,
                loads: &[("a", "")],
                samples: [
                    readings(0, 5, 0.0, 2.5),
                    readings(6, 6, 0.0, 1.0),
                    readings(7, 20, 0.0, 2.5),
                ]
                .concat(),
                want: &[(17, "a", true, "export 2.50 kW >= 2.20 kW for 10 s")],
            },
            Case {
                name: "off once import has held for off_delay, not before min_on",
                globals: FAST,
                loads: &[("a", "min_on = \"30s\"")],
                samples: [readings(0, 10, 0.0, 2.5), readings(11, 45, 1.0, 0.0)].concat(),
                want: &[
                    (10, "a", true, "export 2.50 kW >= 2.20 kW for 10 s"),
                    (40, "a", false, "import 1.00 kW >= 0.30 kW for 29 s"),
                ],
            },
            Case {
                name: "nothing goes on in the startup grace",
                globals: "settle = \"0s\"\nstartup_grace = \"30s\"",
                loads: &[("a", "")],
                samples: readings(0, 35, 0.0, 2.5),
                want: &[(30, "a", true, "export 2.50 kW >= 2.20 kW for 30 s")],
            },
            Case {
                name: "priority first, then one switch per settle",
                globals: "settle = \"30s\"\nstartup_grace = \"0s\"",
                loads: &[("a", "priority = 2"), ("b", "priority = 1")],
                samples: readings(0, 45, 0.0, 5.0),
                want: &[
                    (10, "b", true, "export 5.00 kW >= 2.20 kW for 10 s"),
                    (40, "a", true, "export 5.00 kW >= 2.20 kW for 40 s"),
                ],
            },
            Case {
                name: "a gap in the readings' times is stale data",
                globals: "settle = \"0s\"\nstartup_grace = \"0s\"\nstale_after = \"15s\"",
                loads: &[("a", "")],
                samples: [readings(0, 10, 0.0, 2.5), readings(40, 41, 0.0, 2.5)].concat(),
                want: &[
                    (10, "a", true, "export 2.50 kW >= 2.20 kW for 10 s"),
                    (25, "a", false, "stale: no reading for 30 s"),
                ],
            },
            Case {
                name: "outside its window a load stays off",
                globals: FAST,
                loads: &[("a", "window = \"13:00-14:00\"")],
                samples: readings(0, 20, 0.0, 2.5),
                want: &[],
            },
            Case {
                name: "mode on and mode off override the readings",
                globals: FAST,
                loads: &[("a", "mode = \"on\""), ("b", "mode = \"off\"")],
                samples: readings(0, 20, 0.0, 2.5),
                want: &[(0, "a", true, "mode on")],
            },
            Case {
                name: "max_starts_per_hour holds a third start back",
                globals: FAST,
                loads: &[(
                    "a",
                    "on_delay = \"1s\"\noff_delay = \"1s\"\nmax_starts_per_hour = 2",
                )],
                samples: [
                    readings(0, 1, 0.0, 2.5),
                    readings(2, 3, 1.0, 0.0),
                    readings(4, 5, 0.0, 2.5),
                    readings(6, 7, 1.0, 0.0),
                    readings(8, 20, 0.0, 2.5),
                ]
                .concat(),
                want: &[
                    (1, "a", true, "export 2.50 kW >= 2.20 kW for 1 s"),
                    (3, "a", false, "import 1.00 kW >= 0.30 kW for 1 s"),
                    (5, "a", true, "export 2.50 kW >= 2.20 kW for 1 s"),
                    (7, "a", false, "import 1.00 kW >= 0.30 kW for 1 s"),
                ],
            },
        ];
        for case in cases {
            let mut controller = Controller::new(config(case.globals, case.loads), None);
            let got = decide(&mut controller, &case.samples);
            let want: Vec<(i64, String, bool, String)> = case
                .want
                .iter()
                .map(|&(t, load, on, reason)| (t, load.into(), on, reason.into()))
                .collect();
            assert_eq!(got, want, "{}", case.name);
        }
    }

    #[test]
    fn a_load_is_shed_before_the_quarter_hour_crosses_the_limit() {
        let globals = format!("{FAST}\n[peak]\nlimit_kw = 2.5\nmargin_kw = 0.2");
        let mut controller = Controller::new(
            config(&globals, &[("a", "on_delay = \"1s\"\npeak_shed = true")]),
            None,
        );
        let mut samples = [readings(0, 1, 0.0, 3.0), readings(2, 2, 10.0, 0.0)].concat();
        for s in &mut samples {
            s.energy_import_kwh = Some(100.0);
        }
        assert_eq!(
            decide(&mut controller, &samples),
            [
                (
                    1,
                    "a".into(),
                    true,
                    "export 3.00 kW >= 2.20 kW for 1 s".into()
                ),
                (
                    2,
                    "a".into(),
                    false,
                    "peak: the quarter hour heads for 9.98 kW > 2.30 kW".into()
                ),
            ]
        );
    }

    /// Issue 14: the quarter so far for other controllers. 2 kW for five minutes of a
    /// quarter, the month's peak at 3 kW: the budget is 3.0 - 0.2, and the rest of the quarter
    /// may take (2.8 / 4 - 1/6 kWh) / (10 min) = 3.2 kW, 1.2 kW more than now.
    #[test]
    fn the_peak_record_says_the_quarters_average_budget_and_headroom() {
        let globals = format!("{FAST}\n[peak]\nlimit_kw = 2.5\nmargin_kw = 0.2");
        let mut controller = Controller::new(config(&globals, &[("a", "")]), None);
        let mut samples = readings(0, 300, 2.0, 0.0);
        for (t, s) in samples.iter_mut().enumerate() {
            s.energy_import_kwh = Some(100.0 + 2.0 * t as f64 / 3600.0);
            s.demand_max_month_kw = Some(3.0);
        }
        let mut last = None;
        for s in &samples {
            controller.on_sample(s);
            last = controller.peak(s);
        }
        let peak = last.expect("a peak record");
        assert_eq!(peak.quarter_start, MeterTime::from_datetime(at(0)));
        assert_eq!(peak.elapsed_s, 300);
        assert_eq!(
            (
                peak.average_kw,
                peak.projected_kw,
                peak.budget_kw,
                peak.headroom_kw
            ),
            (2.0, 2.0, 2.8, 1.2)
        );
        assert_eq!(peak.month_peak_kw, Some(3.0));
        // Without import registers there is no quarter to speak of.
        let bare = &readings(301, 301, 2.0, 0.0)[0];
        controller.on_sample(bare);
        assert!(controller.peak(bare).is_none());
    }

    /// Issue 13 (9): after the readings' clock goes back a minute, a load goes off when
    /// `min_on` has really passed, not when the clock has caught up again.
    #[test]
    fn a_clock_that_goes_back_moves_the_switch_times_with_it_regression_13() {
        let mut controller = Controller::new(config(FAST, &[("a", "min_on = \"30s\"")]), None);
        let samples = [
            readings(0, 10, 0.0, 2.5),
            readings(11, 19, 1.0, 0.0),
            // 19 s, then -40: the clock went back 59 s.
            readings(-40, 0, 1.0, 0.0),
        ]
        .concat();
        assert_eq!(
            decide(&mut controller, &samples),
            [
                (
                    10,
                    "a".into(),
                    true,
                    "export 2.50 kW >= 2.20 kW for 10 s".into()
                ),
                (
                    -19,
                    "a".into(),
                    false,
                    "import 1.00 kW >= 0.30 kW for 21 s".into()
                ),
            ]
        );
    }

    /// Issue 13 (9): one reading a year ahead is stale data (every load off), and switching
    /// goes on once the readings are back (it froze until the clock caught up).
    #[test]
    fn a_reading_a_year_ahead_does_not_freeze_switching_regression_13() {
        let mut controller = Controller::new(config(FAST, &[("a", "")]), None);
        let year = 366 * 86_400;
        let samples = [
            readings(0, 10, 0.0, 2.5),
            readings(year + 11, year + 11, 0.0, 2.5),
            readings(12, 40, 1.0, 0.0),
            readings(41, 52, 0.0, 2.5),
        ]
        .concat();
        let got = decide(&mut controller, &samples);
        let reasons: Vec<(bool, &str)> = got.iter().map(|d| (d.2, d.3.as_str())).collect();
        assert_eq!(
            reasons,
            [
                (true, "export 2.50 kW >= 2.20 kW for 10 s"),
                (false, "stale: no reading for 31622401 s"),
                (true, "export 2.50 kW >= 2.20 kW for 10 s"),
            ],
            "{got:?}"
        );
        assert_eq!(got[2].0, 51, "on again 10 s after export came back");
    }

    /// Issue 13 (8): restarted after a crash with a load on, the load went off at start and on
    /// again at the first reading; `min_off` now holds from that start.
    #[test]
    fn a_restart_after_a_crash_with_a_load_on_honours_min_off_regression_13() {
        let config = config(FAST, &[("a", "min_off = \"5m\"\non_delay = \"1s\"")]);
        let mut saved = SavedState::default();
        saved.loads.insert(
            "a".into(),
            LoadRecord {
                last_on: Some(at(-30)),
                last_off: Some(at(-3600)),
                starts: vec![at(-30)],
            },
        );
        let mut controller = Controller::new(config, Some(&saved));
        assert_eq!(
            decide(&mut controller, &readings(0, 301, 0.0, 5.0)),
            [(
                300,
                "a".into(),
                true,
                "export 5.00 kW >= 2.20 kW for 300 s".into()
            )]
        );
    }

    /// Issue 23 (1): a replay after a crash (no wall time between readings) counts `min_off`
    /// on its own clock, from its first readings, instead of holding the load off for ever.
    #[test]
    fn a_replay_after_a_crash_counts_min_off_on_its_own_clock_regression_23() {
        let config = config(FAST, &[("a", "min_off = \"5m\"\non_delay = \"1s\"")]);
        let mut saved = SavedState::default();
        saved.loads.insert(
            "a".into(),
            LoadRecord {
                last_on: Some(at(-30)),
                last_off: Some(at(-3600)),
                starts: vec![at(-30)],
            },
        );
        let mut controller = Controller::new(config, Some(&saved));
        let mut replay = readings(0, 400, 0.0, 5.0);
        for sample in &mut replay {
            sample.since_start = std::time::Duration::ZERO;
        }
        let on = decide(&mut controller, &replay);
        assert_eq!(on.len(), 1, "{on:?}");
        assert!((300..=305).contains(&on[0].0), "{on:?}");
    }

    #[test]
    fn readings_that_stop_arriving_switch_every_load_off_once() {
        let mut controller = Controller::new(config(FAST, &[("a", ""), ("b", "")]), None);
        let quiet = std::time::Duration::from_secs;
        assert!(
            controller.on_quiet(quiet(60), at(60)).is_empty(),
            "no reading yet"
        );
        assert_eq!(decide(&mut controller, &readings(0, 11, 0.0, 5.0)).len(), 2);
        assert!(controller.on_quiet(quiet(14), at(25)).is_empty());
        let off = controller.on_quiet(quiet(15), at(26));
        assert_eq!(
            off.iter()
                .map(|d| (d.load, d.on, d.reason.as_str()))
                .collect::<Vec<_>>(),
            [
                (0, false, "stale: no reading for 15 s"),
                (1, false, "stale: no reading for 15 s")
            ]
        );
        assert!(
            controller.on_quiet(quiet(20), at(30)).is_empty(),
            "only once"
        );
        assert!(controller.loads.iter().all(|l| !l.on));
    }

    /// Issue 26: the price rules on scripted days.
    mod price_rules {
        use super::*;
        use crate::prices::Prices;
        use p1_common::contract::price::PriceSlot;
        use p1_common::protocol::meter_time::ClockZone;

        /// Slots of `minutes` from `start`, one a value.
        fn prices(start: &str, minutes: i64, values: &[f64]) -> Prices {
            let start = DateTime::parse_from_rfc3339(start).unwrap();
            Prices::new(
                (0..values.len())
                    .map(|i| PriceSlot {
                        start: start + Duration::minutes(minutes * i as i64),
                        end: start + Duration::minutes(minutes * (i as i64 + 1)),
                        value: values[i],
                    })
                    .collect(),
            )
        }

        /// Readings every `step` seconds from `from` to `to` (RFC 3339) on the meter's clock
        /// (Brussels, with its summer time), import and export by the time, and the import
        /// registers counting.
        fn day(from: &str, to: &str, step: i64, power: impl Fn(Time) -> (f64, f64)) -> Vec<Sample> {
            let (from, to) = (
                DateTime::parse_from_rfc3339(from).unwrap().timestamp(),
                DateTime::parse_from_rfc3339(to).unwrap().timestamp(),
            );
            let mut energy = 1000.0;
            (from..=to)
                .step_by(step as usize)
                .map(|utc| {
                    let time = crate::rules::time_of(ClockZone::default(), utc);
                    let (import_kw, export_kw) = power(time);
                    energy += import_kw * step as f64 / 3600.0;
                    Sample {
                        time,
                        import_kw,
                        export_kw,
                        energy_import_kwh: Some(energy),
                        demand_avg_kw: None,
                        demand_max_month_kw: None,
                        since_start: std::time::Duration::from_secs((utc - from).unsigned_abs()),
                    }
                })
                .collect()
        }

        /// (time, load, on, reason, price) of each decision.
        fn run(
            controller: &mut Controller,
            samples: &[Sample],
        ) -> Vec<(String, String, bool, String, Option<f64>)> {
            let mut out = Vec::new();
            for sample in samples {
                for d in controller.on_sample(sample) {
                    let name = controller.config().loads[d.load].name.get_ref().clone();
                    out.push((d.time.to_rfc3339(), name, d.on, d.reason, d.price));
                }
            }
            out
        }

        /// Loads that react at once: no delays, no settling.
        fn priced(globals: &str, loads: &[(&str, &str)], prices: Prices) -> Controller {
            let loads: Vec<(&str, String)> = loads
                .iter()
                .map(|(name, keys)| {
                    (
                        *name,
                        format!("on_delay = \"0s\"\noff_delay = \"0s\"\n{keys}"),
                    )
                })
                .collect();
            let loads: Vec<(&str, &str)> = loads.iter().map(|(n, k)| (*n, k.as_str())).collect();
            let mut controller =
                Controller::new(config(&format!("{FAST}\n{globals}"), &loads), None);
            controller.set_prices(prices);
            controller
        }

        /// The on intervals of one load: (on, off) times.
        fn runs(
            decisions: &[(String, String, bool, String, Option<f64>)],
            load: &str,
        ) -> Vec<(String, String)> {
            let mut runs = Vec::new();
            let mut on = None;
            for (time, name, is_on, _, _) in decisions.iter().filter(|d| d.1 == load) {
                let _ = name;
                match (is_on, on.take()) {
                    (true, None) => on = Some(time.clone()),
                    (false, Some(start)) => runs.push((start, time.clone())),
                    (true, Some(start)) => on = Some(start),
                    (false, None) => {}
                }
            }
            runs.extend(on.map(|start| (start, "still on".to_string())));
            runs
        }

        #[test]
        fn a_negative_midday_switches_price_below_and_absorbing_loads_on_regression_26() {
            // 11:00 to 14:00 by the quarter: 0.10, but -0.012 from 12:00 to 13:00.
            let values: Vec<f64> = (0..12)
                .map(|i| if (4..8).contains(&i) { -0.012 } else { 0.10 })
                .collect();
            let mut controller = priced(
                "",
                &[
                    ("boiler", "price_below = 0.0\non_export_kw = 9.0"),
                    (
                        "car",
                        "absorb_export_below = 0.0\non_export_kw = 5.0\npower_kw = 0.5",
                    ),
                    ("pool", "on_export_kw = 5.0"),
                ],
                prices("2026-06-10T11:00:00+02:00", 15, &values),
            );
            let samples = day(
                "2026-06-10T11:30:00+02:00",
                "2026-06-10T13:10:00+02:00",
                1,
                |_| (0.0, 0.8),
            );
            let got = run(&mut controller, &samples);
            assert_eq!(
                got[..2],
                [
                    (
                        "2026-06-10T12:00:00+02:00".into(),
                        "boiler".into(),
                        true,
                        "price -0.012 <= 0.000 EUR/kWh".into(),
                        Some(-0.012)
                    ),
                    (
                        "2026-06-10T12:00:01+02:00".into(),
                        "car".into(),
                        true,
                        "price -0.012 <= 0.000 EUR/kWh: export 0.80 kW absorbed".into(),
                        Some(-0.012)
                    ),
                ],
                "{got:#?}"
            );
            // At 13:00 the price is 0.10 again, but these readings show no import (they do not
            // follow the loads), and only import switches a load off.
            assert_eq!(
                got[2..]
                    .iter()
                    .map(|d| (d.0.as_str(), d.1.as_str(), d.2))
                    .collect::<Vec<_>>(),
                [] as [(&str, &str, bool); 0],
                "the readings show no import: nothing turns them off, {got:#?}"
            );
            assert!(runs(&got, "pool").is_empty());
        }

        /// A night's 28 quarter hours with known prices, two of them tied at the edge of the
        /// twelve cheapest: the load is on in exactly those twelve, the earlier of the tie.
        #[test]
        fn a_night_switches_the_cheapest_load_in_exactly_its_cheapest_slots_regression_26() {
            let values: [f64; 28] = [
                0.20, 0.05, 0.18, 0.07, 0.07, 0.30, 0.02, 0.11, 0.11, 0.09, 0.25, 0.04, 0.12, 0.12,
                0.15, 0.01, 0.22, 0.08, 0.13, 0.19, 0.06, 0.10, 0.16, 0.03, 0.14, 0.17, 0.21, 0.12,
            ];
            let mut order: Vec<usize> = (0..28).collect();
            order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
            assert_eq!(values[order[11]], values[order[12]], "a tie at the edge");
            let mut chosen: Vec<usize> = order[..12].to_vec();
            chosen.sort_unstable();
            let mut controller = priced(
                "",
                &[(
                    "boiler",
                    "cheapest = { slots = 12, within = \"00:00-07:00\" }\non_export_kw = 9.0",
                )],
                prices("2026-12-08T00:00:00+01:00", 15, &values),
            );
            let samples = day(
                "2026-12-07T23:50:00+01:00",
                "2026-12-08T07:10:00+01:00",
                10,
                |_| (2.0, 0.0),
            );
            let got = run(&mut controller, &samples);
            let quarter = |i: usize| {
                (DateTime::parse_from_rfc3339("2026-12-08T00:00:00+01:00").unwrap()
                    + Duration::minutes(15 * i as i64))
                .to_rfc3339()
            };
            // Adjacent chosen quarters make one run.
            let mut want: Vec<(String, String)> = Vec::new();
            for &i in &chosen {
                match want.last_mut() {
                    Some(last) if last.1 == quarter(i) => last.1 = quarter(i + 1),
                    _ => want.push((quarter(i), quarter(i + 1))),
                }
            }
            assert_eq!(runs(&got, "boiler"), want, "{got:#?}");
            assert!(
                got.iter()
                    .filter(|d| d.2)
                    .all(|d| d.3 == "cheapest 12 of 28 slots in 00:00-07:00")
            );
        }

        /// A need of 3 kWh (1.5 h at 2 kW): 45 minutes of surplus at 11:00 leave 45 minutes,
        /// the three cheapest quarter hours of the evening (of six at 0.05, the earliest);
        /// without the sun, all six.
        #[test]
        fn a_day_of_surplus_leaves_only_the_rest_of_a_need_to_the_cheapest_slots_regression_26() {
            // 0.30 all day; from 20:00 the evening's quarter hours 0.20, 0.19, ... down, but
            // 0.05 at 21:00, 21:15, 22:30, 23:00, 23:15 and 23:45.
            let values: Vec<f64> = (0..96)
                .map(|i| match i {
                    84 | 85 | 90 | 92 | 93 | 95 => 0.05,
                    80.. => 0.20 - f64::from(i - 80) / 1000.0,
                    _ => 0.30,
                })
                .collect();
            let file = prices("2026-06-10T00:00:00+02:00", 15, &values);
            let load = [("boiler", "need_kwh_per_day = 3.0\nfallback = \"cheapest\"")];
            let sunny = |t: Time| {
                let sun = (11 * 60..11 * 60 + 45).contains(&(t.hour() * 60 + t.minute()));
                if sun { (0.0, 3.0) } else { (2.5, 0.0) }
            };
            let samples = day(
                "2026-06-10T00:00:00+02:00",
                "2026-06-10T23:59:50+02:00",
                10,
                sunny,
            );
            let mut controller = priced("", &load, file.clone());
            let got = run(&mut controller, &samples);
            assert_eq!(
                runs(&got, "boiler"),
                [
                    (
                        "2026-06-10T11:00:00+02:00".into(),
                        "2026-06-10T11:45:00+02:00".into()
                    ),
                    (
                        "2026-06-10T21:00:00+02:00".into(),
                        "2026-06-10T21:30:00+02:00".into()
                    ),
                    (
                        "2026-06-10T22:30:00+02:00".into(),
                        "2026-06-10T22:45:00+02:00".into()
                    ),
                ],
                "{got:#?}"
            );
            let evening = got
                .iter()
                .find(|d| d.2 && d.0.starts_with("2026-06-10T21"))
                .unwrap();
            assert_eq!(
                evening.3,
                "need 3.0 kWh: 1.5 kWh from surplus, rest in the cheapest slots"
            );
            assert_eq!(evening.4, Some(0.05));
            let cloudy = day(
                "2026-06-10T00:00:00+02:00",
                "2026-06-10T23:59:50+02:00",
                10,
                |_| (2.5, 0.0),
            );
            let mut controller = priced("", &load, file);
            let got = run(&mut controller, &cloudy);
            assert_eq!(
                runs(&got, "boiler"),
                [
                    (
                        "2026-06-10T21:00:00+02:00".into(),
                        "2026-06-10T21:30:00+02:00".into()
                    ),
                    (
                        "2026-06-10T22:30:00+02:00".into(),
                        "2026-06-10T22:45:00+02:00".into()
                    ),
                    (
                        "2026-06-10T23:00:00+02:00".into(),
                        "2026-06-10T23:30:00+02:00".into()
                    ),
                    ("2026-06-10T23:45:00+02:00".into(), "still on".into()),
                ],
                "{got:#?}"
            );
        }

        /// With a [peak] budget of 2.3 kW and the house drawing 1 kW, a 2 kW load at a
        /// negative price (not `peak_shed`) goes on only as far as every quarter hour's average
        /// stays within the budget: its own draw is on the meter once it is on.
        #[test]
        fn a_cheap_slot_never_lifts_the_quarter_over_the_capacity_budget_regression_26() {
            let file = prices("2026-12-07T12:00:00+01:00", 60, &[-0.05, -0.05]);
            let load = [("boiler", "price_below = 0.0\non_export_kw = 9.0")];
            let mut controller = priced("[peak]\nlimit_kw = 2.5\nmargin_kw = 0.2", &load, file);
            let start = DateTime::parse_from_rfc3339("2026-12-07T12:00:00+01:00").unwrap();
            let (mut energy, mut on, mut on_s) = (1000.0, false, 0);
            let mut quarters = vec![0.0; 8];
            for t in 0..7200 {
                let import_kw = if on { 3.0 } else { 1.0 };
                energy += import_kw / 3600.0;
                quarters[t / 900] += import_kw / 900.0;
                on_s += usize::from(on);
                let sample = Sample {
                    time: start + Duration::seconds(t as i64),
                    import_kw,
                    export_kw: 0.0,
                    energy_import_kwh: Some(energy),
                    demand_avg_kw: None,
                    demand_max_month_kw: None,
                    since_start: std::time::Duration::from_secs(t as u64),
                };
                for d in controller.on_sample(&sample) {
                    on = d.on;
                }
            }
            assert!(
                quarters.iter().all(|&avg| avg <= 2.3 + 0.01),
                "{quarters:?}"
            );
            assert!(
                quarters.iter().all(|&avg| avg > 2.2),
                "as much as the budget allows: {quarters:?}"
            );
            assert!(on_s > 7200 / 2, "{on_s} s on");
        }

        /// The same prices in 60-minute slots and in 15-minute slots: the same decisions.
        #[test]
        fn hourly_and_quarter_hourly_files_decide_alike_regression_26() {
            let hourly: Vec<f64> = [0.21, 0.18, 0.12, 0.09, 0.09, 0.14, 0.2, 0.25].to_vec();
            let quarterly: Vec<f64> = hourly.iter().flat_map(|&v| [v; 4]).collect();
            let load = [
                (
                    "night",
                    "cheapest = { slots = 8, within = \"00:00-07:00\" }\non_export_kw = 9.0",
                ),
                ("cheap", "price_below = 0.1\non_export_kw = 9.0"),
            ];
            let samples = day(
                "2026-12-08T00:00:00+01:00",
                "2026-12-08T08:00:00+01:00",
                10,
                |_| (2.0, 0.0),
            );
            let decide = |file| run(&mut priced("", &load, file), &samples);
            let by_hour = decide(prices("2026-12-08T00:00:00+01:00", 60, &hourly));
            let by_quarter = decide(prices("2026-12-08T00:00:00+01:00", 15, &quarterly));
            assert_eq!(by_hour, by_quarter);
            // Both want 03:00 to 05:00 (0.09): one switch a reading, by priority, and the
            // last on goes off first.
            assert_eq!(
                runs(&by_hour, "night"),
                [(
                    "2026-12-08T03:00:00+01:00".into(),
                    "2026-12-08T05:00:10+01:00".into()
                )]
            );
            assert_eq!(
                runs(&by_hour, "cheap"),
                [(
                    "2026-12-08T03:00:10+01:00".into(),
                    "2026-12-08T05:00:00+01:00".into()
                )]
            );
        }

        /// The days the clock changes have 92 and 100 quarter hours; the cheapest hour of
        /// October's is the second 02:00 (+01:00).
        #[test]
        fn the_days_the_clock_changes_count_their_quarter_hours_regression_26() {
            let all_day = [(
                "boiler",
                "cheapest = { slots = 4, within = \"00:00-24:00\" }\non_export_kw = 9.0",
            )];
            for (start, end, quarters, cheap) in [
                (
                    "2026-03-29T00:00:00+01:00",
                    "2026-03-30T00:00:00+02:00",
                    92,
                    8,
                ),
                (
                    "2026-10-25T00:00:00+02:00",
                    "2026-10-26T00:00:00+01:00",
                    100,
                    12,
                ),
            ] {
                let values: Vec<f64> = (0..quarters)
                    .map(|i| {
                        if (cheap..cheap + 4).contains(&i) {
                            0.01
                        } else {
                            0.2
                        }
                    })
                    .collect();
                let mut controller = priced("", &all_day, prices(start, 15, &values));
                let got = run(&mut controller, &day(start, end, 10, |_| (2.0, 0.0)));
                let from = DateTime::parse_from_rfc3339(start).unwrap()
                    + Duration::minutes(15 * i64::from(cheap));
                let on = crate::rules::time_of(ClockZone::default(), from.timestamp());
                let off = crate::rules::time_of(ClockZone::default(), from.timestamp() + 3600);
                assert_eq!(
                    runs(&got, "boiler"),
                    [(on.to_rfc3339(), off.to_rfc3339())],
                    "{start}"
                );
                assert_eq!(
                    got[0].3,
                    format!("cheapest 4 of {quarters} slots in 00:00-24:00")
                );
            }
        }

        #[test]
        fn with_no_price_for_now_the_price_rules_keep_nothing_on_regression_26() {
            let file = prices("2026-12-07T10:00:00+01:00", 60, &[-0.05]);
            let load = [("boiler", "price_below = 0.0\non_export_kw = 9.0")];
            let mut controller = priced("", &load, file);
            let got = run(
                &mut controller,
                &day(
                    "2026-12-07T12:00:00+01:00",
                    "2026-12-07T12:30:00+01:00",
                    1,
                    |_| (1.0, 0.0),
                ),
            );
            assert!(got.is_empty(), "{got:#?}");
        }
    }
}
