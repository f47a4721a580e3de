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

use std::collections::VecDeque;

use chrono::{Duration, Timelike};
use log::{debug, warn};
use p1_common::contract::events::PeakRecord;

use crate::config::{Config, Mode};
use crate::input::{Sample, Time};
use crate::peak::{self, QuarterHour};
use crate::state::{LoadRecord, SavedState};

/// A switch to make.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decision {
    pub(crate) load: usize,
    pub(crate) on: bool,
    pub(crate) time: Time,
    pub(crate) reason: String,
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
        }
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
        for (load, state) in self.config.loads.iter().zip(&mut self.loads) {
            state.on_since = if s.export_kw >= load.on_export_kw {
                state.on_since.or(Some(t))
            } else {
                None
            };
            state.off_since = if s.import_kw >= load.off_import_kw {
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
        let reason = format!(
            "export {:.2} kW >= {:.2} kW for {held} s",
            s.export_kw, load.on_export_kw
        );
        Some(self.switch(i, true, t, reason, true))
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
            .filter(|&i| self.loads[i].on && self.config.loads[i].peak_shed)
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
        let Some(Ok(sample)) = std::str::from_utf8(line)
            .ok()
            .and_then(crate::input::sample_of_line)
        else {
            continue;
        };
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

    /// A configuration: the global keys, then one `[[load]]` for each entry, which adds its
    /// own keys to a 2 kW load that goes on at 2.2 kW export and off at 0.3 kW import, each
    /// held for 10 s.
    fn config(globals: &str, loads: &[(&str, &str)]) -> Config {
        let mut text = format!("{globals}\n");
        for (name, keys) in loads {
            text += &format!(
                "[[load]]\nname = \"{name}\"\npower_kw = 2.0\non_export_kw = 2.2\n\
                 off_import_kw = 0.3\n{keys}\n"
            );
            for delay in ["on_delay", "off_delay"] {
                if !keys.contains(delay) {
                    text += &format!("{delay} = \"10s\"\n");
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
}
