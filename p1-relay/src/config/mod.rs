//! The TOML configuration: global timing, the optional capacity-tariff limit, and the loads
//! with their thresholds and switches. The key names are a contract (see p1-relay(1) and p1(5)).

pub(crate) mod values;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use p1_common::runtime::address::{HTTP, ServerUrl};
use p1_common::runtime::error::{Context as _, Error, Fault, Kind};
use serde::Deserialize;
use toml::Spanned;

pub(crate) use self::values::Window;
use self::values::duration;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// No reading for this long: every load off.
    #[serde(default = "default_stale_after", deserialize_with = "duration")]
    pub(crate) stale_after: Duration,
    /// At most one automatic switch per settle period, across all loads.
    #[serde(default = "default_minute", deserialize_with = "duration")]
    pub(crate) settle: Duration,
    /// After start, nothing is switched on before this.
    #[serde(default = "default_minute", deserialize_with = "duration")]
    pub(crate) startup_grace: Duration,
    /// Where switch times are kept across restarts.
    #[serde(default)]
    pub(crate) state_file: Option<PathBuf>,
    /// The capacity tariff's limit, when peak shaving is wanted.
    #[serde(default)]
    pub(crate) peak: Option<Peak>,
    #[serde(default, rename = "load")]
    pub(crate) loads: Vec<Load>,
}

fn default_stale_after() -> Duration {
    Duration::from_secs(15)
}

fn default_minute() -> Duration {
    Duration::from_mins(1)
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Peak {
    /// Target for the quarter-hour average import; the month's peak when that is higher.
    #[serde(default = "default_limit")]
    pub(crate) limit_kw: f64,
    #[serde(default = "default_margin")]
    pub(crate) margin_kw: f64,
}

impl Default for Peak {
    fn default() -> Self {
        Peak {
            limit_kw: default_limit(),
            margin_kw: default_margin(),
        }
    }
}

fn default_limit() -> f64 {
    2.5
}

fn default_margin() -> f64 {
    0.2
}

/// A load's mode: the same names in the configuration and on the control socket.
pub(crate) use p1_common::contract::control::ControlMode as Mode;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Load {
    pub(crate) name: Spanned<String>,
    /// What it draws when on.
    pub(crate) power_kw: f64,
    /// 1 is switched on first and shed last.
    #[serde(default = "default_priority")]
    pub(crate) priority: u32,
    /// On once export is at least this, held for `on_delay`.
    pub(crate) on_export_kw: f64,
    /// Off once import is at least this, held for `off_delay`.
    pub(crate) off_import_kw: f64,
    #[serde(default = "default_minute", deserialize_with = "duration")]
    pub(crate) on_delay: Duration,
    #[serde(default = "default_off_delay", deserialize_with = "duration")]
    pub(crate) off_delay: Duration,
    #[serde(default, deserialize_with = "duration")]
    pub(crate) min_on: Duration,
    #[serde(default, deserialize_with = "duration")]
    pub(crate) min_off: Duration,
    #[serde(default)]
    pub(crate) max_starts_per_hour: Option<u32>,
    /// Local time; outside it the load is off.
    #[serde(default)]
    pub(crate) window: Option<Window>,
    #[serde(default = "default_mode")]
    pub(crate) mode: Mode,
    /// Shed before the quarter-hour average crosses the capacity limit.
    #[serde(default)]
    pub(crate) peak_shed: bool,
    /// Leave it as it is when p1-relay exits.
    #[serde(default)]
    pub(crate) keep_on_exit: bool,
    // The rules on the price (EUR a kWh, all in; `--prices FILE`): each can keep the load
    // on, as its surplus rule can.
    /// On while the price is at or below this.
    #[serde(default)]
    pub(crate) price_below: Option<f64>,
    /// On in the N cheapest quarter hours of each occurrence of a daily window.
    #[serde(default)]
    pub(crate) cheapest: Option<Cheapest>,
    /// What it must get a day (to the end of its window): what it ran on surplus counts
    /// first, the rest goes to the cheapest quarter hours left.
    #[serde(default)]
    pub(crate) need_kwh_per_day: Option<f64>,
    /// The same need, in hours on.
    #[serde(default)]
    pub(crate) need_hours: Option<f64>,
    /// Where a need's rest goes: the cheapest quarter hours (the only way so far).
    #[serde(default)]
    pub(crate) fallback: Option<Fallback>,
    /// At or below this price, any export switches it on (by priority), not only
    /// `on_export_kw`'s.
    #[serde(default)]
    pub(crate) absorb_export_below: Option<f64>,
    pub(crate) switch: Spanned<SwitchConfig>,
}

impl Load {
    /// Whether any of its rules reads the price.
    pub(crate) fn reads_prices(&self) -> bool {
        self.price_below.is_some()
            || self.cheapest.is_some()
            || self.need().is_some()
            || self.absorb_export_below.is_some()
    }

    /// The day's need, in kWh (`need_hours` at `power_kw`), and how it was given.
    pub(crate) fn need(&self) -> Option<Need> {
        match (self.need_kwh_per_day, self.need_hours) {
            (Some(kwh), _) => Some(Need::Kwh(kwh)),
            (None, Some(hours)) => Some(Need::Hours(hours)),
            (None, None) => None,
        }
    }
}

/// A day's need, as the configuration gives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Need {
    Kwh(f64),
    Hours(f64),
}

/// `cheapest = { slots = 12, within = "00:00-07:00" }`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Cheapest {
    pub(crate) slots: u32,
    pub(crate) within: Window,
}

/// Where a need's rest is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Fallback {
    Cheapest,
}

fn default_priority() -> u32 {
    1
}

fn default_off_delay() -> Duration {
    Duration::from_mins(3)
}

fn default_mode() -> Mode {
    Mode::Auto
}

/// How a load is switched.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) enum SwitchConfig {
    /// A relay on a Raspberry Pi GPIO pin (BCM numbering).
    Gpio {
        pin: u8,
        #[serde(default)]
        active_low: bool,
    },
    /// A Shelly plug or relay: Gen1 `/relay/N`, Gen2+ `/rpc/Switch.Set`.
    Shelly {
        url: String,
        #[serde(default)]
        id: u8,
        #[serde(default = "default_generation")]
        generation: u8,
        /// The plug switches itself off this long after the last ON (re-sent meanwhile).
        #[serde(default = "default_auto_off", deserialize_with = "duration")]
        auto_off: Duration,
    },
    /// A Tasmota plug: `Power On`, with `PulseTime` as the auto-off.
    Tasmota {
        url: String,
        #[serde(default = "default_tasmota_relay")]
        relay: u8,
        #[serde(default = "default_auto_off", deserialize_with = "duration")]
        auto_off: Duration,
    },
    /// A shell command for on and one for off.
    Command { on: String, off: String },
    /// Decide and report, touch nothing (a struct variant, so that stray keys are refused).
    DryRun {},
}

fn default_generation() -> u8 {
    2
}

fn default_tasmota_relay() -> u8 {
    1
}

/// A plug's dead-man timer: if p1-relay dies with a load on, the plug switches itself off
/// within a minute (a 3 kW load left on for 3 minutes adds 0.6 kW to a quarter-hour
/// average, the capacity-tariff peak p1 is there to keep low). ON is re-sent every third.
fn default_auto_off() -> Duration {
    Duration::from_mins(1)
}

/// A configuration error: what, and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigError {
    pub(crate) line: Option<usize>,
    pub(crate) message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The line of `key` in the `[[load]]` table around `offset` (its name's): the table runs
/// from the `[[load]]` before it to the one after. The name's line if the key is not found.
fn key_line(text: &str, offset: usize, key: &str) -> usize {
    let start = text[..offset].rfind("[[load]]").unwrap_or(0);
    let end = text[offset..]
        .find("[[load]]")
        .map_or(text.len(), |e| offset + e);
    key_line_within(text, start..end, key).unwrap_or_else(|| line_of(text, offset))
}

/// The line of `key` in `table` (`""` for the keys before any table, `"[peak]"`).
fn table_key_line(text: &str, table: &str, key: &str) -> Option<usize> {
    let start = if table.is_empty() {
        0
    } else {
        text.find(table)?
    };
    let end = text[start + table.len()..]
        .find("\n[")
        .map_or(text.len(), |e| start + table.len() + e);
    key_line_within(text, start..end, key)
}

fn key_line_within(text: &str, range: std::ops::Range<usize>, key: &str) -> Option<usize> {
    let mut at = range.start;
    for line in text[range].split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return Some(line_of(text, at));
        }
        at += line.len();
    }
    None
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

impl std::error::Error for ConfigError {}

impl Fault for ConfigError {
    fn kind(&self) -> Kind {
        Kind::Config
    }
}

/// DSMR 4 meters, Luxembourg's Smarty and Austrian meters send a telegram every 10 s.
const SLOW_METER_PERIOD: Duration = Duration::from_secs(10);

/// Below this, a meter sending a telegram a second would make every load go off between two.
const MIN_STALE_AFTER: Duration = Duration::from_secs(2);

/// A plug's auto-off below this leaves no time to send ON again (every third of it).
const MIN_AUTO_OFF: Duration = Duration::from_secs(3);

/// The highest BCM pin number of a Raspberry Pi's header.
const MAX_GPIO_PIN: u8 = 27;

impl Load {
    /// The switch's address and numbers, each in its range.
    fn check_switch(&self, text: &str) -> Result<(), ConfigError> {
        let name = self.name.get_ref();
        let error = |key: &str, message: String| ConfigError {
            line: Some(key_line(text, self.name.span().start, key)),
            message: format!("load '{name}': switch.{key} {message}"),
        };
        match self.switch.get_ref() {
            SwitchConfig::Gpio { pin, .. } if *pin > MAX_GPIO_PIN => Err(error(
                "pin",
                format!("{pin}: a Raspberry Pi's BCM pins are 0 to {MAX_GPIO_PIN}"),
            )),
            SwitchConfig::Shelly { url, auto_off, .. }
            | SwitchConfig::Tasmota { url, auto_off, .. } => {
                ServerUrl::parse(url, HTTP).map_err(|e| error("url", e.to_string()))?;
                if *auto_off < MIN_AUTO_OFF {
                    return Err(error(
                        "auto_off",
                        format!(
                            "must be at least {} s (ON is sent again every third of it)",
                            MIN_AUTO_OFF.as_secs()
                        ),
                    ));
                }
                match self.switch.get_ref() {
                    SwitchConfig::Shelly { generation, .. } if !(1..=4).contains(generation) => {
                        Err(error(
                            "generation",
                            format!("{generation}: Shelly's are 1 to 4"),
                        ))
                    }
                    SwitchConfig::Tasmota { relay: 0, .. } => {
                        Err(error("relay", "0: Tasmota's relays count from 1".into()))
                    }
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}

impl Load {
    /// The price rules' numbers, each in its range.
    fn check_price_rules(&self, text: &str) -> Result<(), ConfigError> {
        let name = self.name.get_ref();
        let error = |key: &str, message: String| ConfigError {
            line: Some(key_line(text, self.name.span().start, key)),
            message: format!("load '{name}': {key} {message}"),
        };
        let rules = self;
        for (key, value) in [
            ("price_below", rules.price_below),
            ("absorb_export_below", rules.absorb_export_below),
        ] {
            if value.is_some_and(|v| !v.is_finite()) {
                return Err(error(key, "must be a price in EUR a kWh".into()));
            }
        }
        if let Some(cheapest) = rules.cheapest {
            let most = cheapest.within.quarters();
            if cheapest.slots == 0 || cheapest.slots > most {
                return Err(error(
                    "cheapest",
                    format!(
                        "slots = {} must be 1 to {most}, the quarter hours in {}",
                        cheapest.slots, cheapest.within
                    ),
                ));
            }
        }
        if rules.need_kwh_per_day.is_some() && rules.need_hours.is_some() {
            return Err(error(
                "need_hours",
                "and need_kwh_per_day say the same: give one".into(),
            ));
        }
        match rules.need() {
            Some(Need::Kwh(kwh)) if !(kwh.is_finite() && kwh > 0.0 && self.power_kw > 0.0) => {
                Err(error(
                    "need_kwh_per_day",
                    "must be a number of kWh above 0, and power_kw above 0".into(),
                ))
            }
            Some(Need::Hours(hours)) if !(hours.is_finite() && hours > 0.0 && hours <= 24.0) => {
                Err(error("need_hours", "must be above 0 and at most 24".into()))
            }
            None if rules.fallback.is_some() => Err(error(
                "fallback",
                "is where a need goes: give need_kwh_per_day or need_hours".into(),
            )),
            _ => Ok(()),
        }
    }
}

impl Config {
    /// Reads and checks a configuration file.
    pub(crate) fn load(path: &Path) -> Result<Config, Error> {
        let named = || path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::from(e).of_kind(Kind::Config))
            .with_context(named)?;
        Config::parse(&text).with_context(named)
    }

    pub(crate) fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError {
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().trim().to_string(),
        })?;
        config.check(text)?;
        Ok(config)
    }

    fn check(&self, text: &str) -> Result<(), ConfigError> {
        if self.loads.is_empty() {
            return Err(ConfigError {
                line: None,
                message: "no [[load]]: nothing to switch".into(),
            });
        }
        self.check_globals(text)?;
        let mut names = HashMap::new();
        let mut pins = HashMap::new();
        for load in &self.loads {
            let at = |span: std::ops::Range<usize>| Some(line_of(text, span.start));
            if let Some(first) = names.insert(load.name.get_ref().clone(), load.name.span()) {
                return Err(ConfigError {
                    line: at(load.name.span()),
                    message: format!(
                        "load name '{}' is used twice (first on line {})",
                        load.name.get_ref(),
                        line_of(text, first.start)
                    ),
                });
            }
            if let SwitchConfig::Gpio { pin, .. } = load.switch.get_ref()
                && let Some(first) = pins.insert(*pin, load.switch.span())
            {
                return Err(ConfigError {
                    line: at(load.switch.span()),
                    message: format!(
                        "switch.pin {pin} is used twice (first on line {})",
                        line_of(text, first.start)
                    ),
                });
            }
            load.check_switch(text)?;
            load.check_price_rules(text)?;
            if load.max_starts_per_hour == Some(0) {
                return Err(ConfigError {
                    line: Some(key_line(
                        text,
                        load.name.span().start,
                        "max_starts_per_hour",
                    )),
                    message: format!(
                        "load '{}': max_starts_per_hour must be 1 or more (0 never switches it on)",
                        load.name.get_ref()
                    ),
                });
            }
            for (key, value) in [
                ("power_kw", load.power_kw),
                ("on_export_kw", load.on_export_kw),
                ("off_import_kw", load.off_import_kw),
            ] {
                if !(value.is_finite() && value >= 0.0) {
                    return Err(ConfigError {
                        line: Some(key_line(text, load.name.span().start, key)),
                        message: format!(
                            "load '{}': {key} must be a number of kW, 0 or more",
                            load.name.get_ref()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// The numbers outside the loads, each in its range.
    fn check_globals(&self, text: &str) -> Result<(), ConfigError> {
        let error = |table: &str, key: &str, message: String| ConfigError {
            line: table_key_line(text, table, key),
            message,
        };
        if self.stale_after < MIN_STALE_AFTER {
            return Err(error(
                "",
                "stale_after",
                format!(
                    "stale_after must be at least {} s: the fastest meters send a telegram a second, \
                     so a shorter one switches every load off between two of them",
                    MIN_STALE_AFTER.as_secs()
                ),
            ));
        }
        if let Some(peak) = self.peak {
            if !(peak.limit_kw.is_finite() && peak.limit_kw > 0.0) {
                return Err(error(
                    "[peak]",
                    "limit_kw",
                    format!(
                        "peak.limit_kw ({}) must be a number of kW above 0",
                        peak.limit_kw
                    ),
                ));
            }
            if !(peak.margin_kw.is_finite()
                && peak.margin_kw >= 0.0
                && peak.margin_kw < peak.limit_kw)
            {
                return Err(error(
                    "[peak]",
                    "margin_kw",
                    format!(
                        "peak.margin_kw ({}) must be 0 or more and below limit_kw ({}): the budget \
                         (limit less margin) would never be above 0",
                        peak.margin_kw, peak.limit_kw
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Settings that work but will make a load switch on and off again and again.
    pub(crate) fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.stale_after <= SLOW_METER_PERIOD {
            warnings.push(format!(
                "stale_after ({} s) is not longer than the 10 s between two telegrams of a \
                 DSMR 4 meter or an encrypted one (Luxembourg, Austria): with one, every load \
                 would go off between telegrams; 30s suits them all",
                self.stale_after.as_secs()
            ));
        }
        for load in &self.loads {
            // Switching on at export E leaves export E - power; switching off at import I leaves
            // export power - I. With on_export + off_import <= power one switch causes the next.
            if load.on_export_kw + load.off_import_kw <= load.power_kw {
                warnings.push(format!(
                    "load '{}' will oscillate: on_export_kw ({}) + off_import_kw ({}) should be more than power_kw ({}), \
                     so that its own draw does not switch it off again",
                    load.name.get_ref(),
                    load.on_export_kw,
                    load.off_import_kw,
                    load.power_kw
                ));
            }
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
stale_after = "15s"

[[load]]
name = "boiler"
power_kw = 2.0
on_export_kw = 2.2
off_import_kw = 0.1
window = "08:00-20:00"
[load.switch]
type = "gpio"
pin = 17
active_low = true
"#;

    /// Issue 13 (11): a bad number names its own line, not the name's.
    #[test]
    fn a_bad_power_names_its_own_line_regression_13() {
        let text = "[[load]]\nname = \"a\"\non_export_kw = 2.0\npower_kw = -1.0\noff_import_kw = 0.1\n[load.switch]\ntype = \"dry-run\"\n";
        let e = Config::parse(text).unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("power_kw must be a number of kW"), "{e}");
    }

    /// Issue 13 (11): stray keys in a dry-run switch, and negative durations, are named.
    #[test]
    fn a_dry_run_switch_takes_no_keys_and_a_duration_is_not_negative_regression_13() {
        let load =
            "[[load]]\nname = \"a\"\npower_kw = 1.0\non_export_kw = 2.0\noff_import_kw = 0.1\n";
        let e = Config::parse(&format!(
            "{load}[load.switch]\ntype = \"dry-run\"\npin = 17\n"
        ))
        .unwrap_err();
        assert!(e.message.contains("unknown field `pin`"), "{e}");
        let e = Config::parse(&format!(
            "stale_after = -5\n{load}[load.switch]\ntype = \"dry-run\"\n"
        ))
        .unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(
            e.message
                .contains("-5 is not a duration: it must be 0 or more"),
            "{e}"
        );
        let c = Config::parse(&format!(
            "{load}[load.switch]\ntype = \"shelly\"\nurl = \"http://plug\"\n"
        ))
        .unwrap();
        let SwitchConfig::Shelly { auto_off, .. } = c.loads[0].switch.get_ref() else {
            panic!("a shelly switch");
        };
        assert_eq!(
            *auto_off,
            Duration::from_mins(1),
            "the dead-man timer is a minute"
        );
    }

    #[test]
    fn a_good_config_with_defaults() {
        let c = Config::parse(GOOD).unwrap();
        assert_eq!(c.settle, Duration::from_mins(1));
        assert_eq!(c.loads[0].off_delay, Duration::from_mins(3));
        assert_eq!(
            c.loads[0].switch.get_ref(),
            &SwitchConfig::Gpio {
                pin: 17,
                active_low: true
            }
        );
        assert!(c.warnings().is_empty());
    }

    #[test]
    fn errors_name_the_key_and_the_line() {
        let e = Config::parse(&GOOD.replace("stale_after", "stale_afte")).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("unknown field `stale_afte`"), "{e}");
        let e = Config::parse(&GOOD.replace("\"15s\"", "\"15 s\"")).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("not a duration"), "{e}");
        let twice = format!(
            "{GOOD}{}",
            GOOD.replace("stale_after = \"15s\"", "")
                .replace("boiler", "pump")
        );
        let e = Config::parse(&twice).unwrap_err();
        assert!(
            e.message
                .contains("switch.pin 17 is used twice (first on line 10)"),
            "{e}"
        );
        let e = Config::parse(&GOOD.replace(
            "type = \"gpio\"\npin = 17\nactive_low = true\n",
            "type = \"shelly\"\n",
        ))
        .unwrap_err();
        assert!(e.message.contains("missing field `url`"), "{e}");
    }

    /// Issue 16: an encrypted meter sends every 10 s; a shorter stale_after would switch
    /// every load off between its telegrams.
    #[test]
    fn a_stale_after_within_an_encrypted_meters_period_is_warned_about_regression_16() {
        let c =
            Config::parse(&GOOD.replace("stale_after = \"15s\"", "stale_after = \"10s\"")).unwrap();
        let warnings = c.warnings();
        assert!(
            warnings.iter().any(|w| w.contains("stale_after (10 s)")),
            "{warnings:?}"
        );
        let c =
            Config::parse(&GOOD.replace("stale_after = \"15s\"", "stale_after = \"30s\"")).unwrap();
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    }

    #[test]
    fn a_load_whose_own_draw_undoes_the_switch_is_warned_about() {
        let c = Config::parse(&GOOD.replace("on_export_kw = 2.2", "on_export_kw = 1.5")).unwrap();
        assert_eq!(c.warnings().len(), 1);
        assert!(c.warnings()[0].contains("load 'boiler' will oscillate"));
    }

    /// Issue 23 (4, 5): a plug's address without a scheme, a negative limit, a margin that
    /// leaves no budget and a zero stale_after passed `--check` and could never work. Each is
    /// refused, naming its line and what it takes.
    #[test]
    fn what_cannot_work_does_not_pass_the_check_regression_23() {
        let load =
            "[[load]]\nname = \"a\"\npower_kw = 1.0\non_export_kw = 2.0\noff_import_kw = 0.1\n";
        let refused = |globals: &str, switch: &str| {
            Config::parse(&format!("{globals}\n{load}[load.switch]\n{switch}\n"))
                .expect_err("refused")
        };
        let dry = "type = \"dry-run\"";
        let e = refused("", "type = \"shelly\"\nurl = \"192.168.1.50\"");
        assert_eq!(e.line, Some(9), "{e}");
        assert_eq!(
            e.message,
            "load 'a': switch.url \"192.168.1.50\": no scheme; expected http://HOST[:PORT] or https://HOST[:PORT]"
        );
        let e = refused("", "type = \"tasmota\"\nurl = \"http://plug:http\"");
        assert!(e.message.contains("a bad port"), "{e}");
        let e = refused("[peak]\nlimit_kw = -2.5", dry);
        assert_eq!(e.line, Some(2), "{e}");
        assert!(
            e.message
                .starts_with("peak.limit_kw (-2.5) must be a number of kW above 0"),
            "{e}"
        );
        for margin in ["2.5", "3", "-0.1"] {
            let e = refused(
                &format!("[peak]\nlimit_kw = 2.5\nmargin_kw = {margin}"),
                dry,
            );
            assert_eq!(e.line, Some(3), "{e}");
            assert!(
                e.message
                    .contains("must be 0 or more and below limit_kw (2.5)"),
                "{e}"
            );
        }
        for stale in ["0s", "1s", "1500ms"] {
            let e = refused(&format!("stale_after = \"{stale}\""), dry);
            assert_eq!(e.line, Some(1), "{e}");
            assert!(
                e.message.starts_with("stale_after must be at least 2 s"),
                "{e}"
            );
        }
        let e = refused(
            "",
            "type = \"shelly\"\nurl = \"http://plug\"\nauto_off = \"0s\"",
        );
        assert!(
            e.message.contains("switch.auto_off must be at least 3 s"),
            "{e}"
        );
        let e = refused("", "type = \"gpio\"\npin = 40");
        assert!(e.message.contains("BCM pins are 0 to 27"), "{e}");
        let e = Config::parse(&format!(
            "{load}max_starts_per_hour = 0\n[load.switch]\n{dry}\n"
        ))
        .expect_err("refused");
        assert_eq!(e.line, Some(6), "{e}");
        // What works passes: a plug by name, a margin below the limit, 2 s.
        let c = Config::parse(&format!(
            "stale_after = \"2s\"\n[peak]\nlimit_kw = 2.5\nmargin_kw = 2.4\n{load}[load.switch]\ntype = \"shelly\"\nurl = \"http://plug.lan:8080\"\n"
        ))
        .expect("valid");
        assert_eq!(c.stale_after, Duration::from_secs(2));
    }
}
