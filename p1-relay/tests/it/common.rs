//! Scenario harness: scripted reading streams (timestamps and integrated import register
//! included), the real p1-relay binary, and `command` switches that record what they did.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Duration, FixedOffset};
use p1_common::contract::events::RelayEvent;
use p1_common::contract::reading::Reading;
use p1_common::contract::record::Record;
use p1_common::protocol::meter_time::MeterTime;
pub use p1_testkit::{Finished, TempDir};

/// No settling and no startup grace: the rules act from the first reading.
pub const QUICK: &str = "settle = \"0s\"\nstartup_grace = \"0s\"";

/// A switch that switches nothing.
pub const DRY_RUN: &str = "type = \"dry-run\"";

/// One reading a second, as p1-parse writes them.
pub struct Stream {
    pub time: DateTime<FixedOffset>,
    energy_kwh: f64,
    pub lines: Vec<String>,
    pub month_peak_kw: Option<f64>,
}

impl Stream {
    pub fn starting(at: &str) -> Self {
        Stream {
            time: DateTime::parse_from_rfc3339(at).expect("time"),
            energy_kwh: 1000.0,
            lines: Vec::new(),
            month_peak_kw: None,
        }
    }

    /// `seconds` readings with this import and export.
    pub fn hold(&mut self, seconds: u32, import_kw: f64, export_kw: f64) -> &mut Self {
        for _ in 0..seconds {
            self.energy_kwh += import_kw / 3600.0;
            let reading = Reading {
                time: Some(MeterTime::from_datetime(self.time)),
                power_import_kw: Some(import_kw),
                power_export_kw: Some(export_kw),
                energy_import_t1_kwh: Some((self.energy_kwh * 1000.0).floor() / 1000.0),
                energy_import_t2_kwh: Some(0.0),
                demand_max_month_kw: self.month_peak_kw,
                ..Reading::default()
            };
            let record = Record::Reading(Cow::Owned(reading));
            self.lines
                .push(serde_json::to_string(&record).expect("a reading serialises"));
            self.time += Duration::seconds(1);
        }
        self
    }

    /// Time passes with no reading.
    pub fn gap(&mut self, seconds: i64) -> &mut Self {
        self.time += Duration::seconds(seconds);
        self
    }

    pub fn text(&self) -> String {
        self.lines.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// A config whose loads are `command` switches appending "NAME on|off" to `switched`.
pub fn config(dir: &TempDir, globals: &str, loads: &[&str]) -> PathBuf {
    let log = dir.path("switched");
    let mut text = format!("{globals}\n");
    for load in loads {
        text.push_str(&format!(
            "[[load]]\n{load}\n[load.switch]\ntype = \"command\"\non = \"echo $P1_LOAD on >> {0}\"\noff = \"echo $P1_LOAD off >> {0}\"\n",
            log.display()
        ));
    }
    let path = dir.path("relay.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// A config of one load with this switch, after `globals`.
pub fn one_load_config(dir: &TempDir, globals: &str, load: &str, switch: &str) -> PathBuf {
    let path = dir.path("relay.toml");
    let text = format!("{globals}\n[[load]]\n{load}\n[load.switch]\n{switch}\n");
    std::fs::write(&path, text).expect("write config");
    path
}

/// What the command switches really did.
pub fn switched(dir: &TempDir) -> Vec<String> {
    std::fs::read_to_string(dir.path("switched"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn p1_relay(args: &[&str], stdin: &str) -> Finished {
    p1_testkit::run(
        Command::new(env!("CARGO_BIN_EXE_p1-relay")).args(args),
        stdin.as_bytes(),
    )
}

pub fn run(config: &Path, stream: &Stream) -> Finished {
    p1_relay(
        &["--config", config.to_str().expect("path")],
        &stream.text(),
    )
}

/// The relay events of a run.
pub fn events(output: &Finished) -> Vec<RelayEvent> {
    output.relay_events()
}

/// The events the rules caused (not start and exit), as "HH:MM:SS load state".
pub fn switches(output: &Finished) -> Vec<String> {
    events(output)
        .into_iter()
        .filter(|e| e.reason != "start" && !e.reason.starts_with("exit"))
        .map(|e| {
            let state = if e.state.is_on() { "on" } else { "off" };
            format!("{} {} {state}", &e.time.to_string()[11..19], e.load)
        })
        .collect()
}
