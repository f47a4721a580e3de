//! `--plan`: what the price rules would do over the next 24 hours, a load and a quarter
//! hour a line, without switching anything. The sun is not forecast: no surplus is counted,
//! so a need is planned whole, and the capacity budget (which holds a switch-on back on the
//! day) is not applied.

use p1_common::Error;
use p1_common::contract::events::SwitchState;
use p1_common::protocol::meter_time::MeterTime;
use p1_common::runtime::output::RecordWriter;
use serde::Serialize;

use crate::config::{Config, Load, Mode};
use crate::input::Time;
use crate::prices::{Prices, QUARTER_S, quarter_of};
use crate::rules::{self, Progress};
use crate::settings::PlanFormat;

/// The quarter hours a plan covers.
const QUARTERS: i64 = 96;

/// One quarter hour of one load (the `--json` keys).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PlanLine {
    pub(crate) load: String,
    pub(crate) start: MeterTime,
    pub(crate) price: Option<f64>,
    pub(crate) state: SwitchState,
    pub(crate) why: String,
}

/// The plan for every load, from the quarter hour of `from` on.
pub(crate) fn plan(config: &Config, prices: &Prices, from: Time) -> Vec<PlanLine> {
    config
        .loads
        .iter()
        .flat_map(|load| plan_load(load, prices, from))
        .collect()
}

fn plan_load(load: &Load, prices: &Prices, from: Time) -> Vec<PlanLine> {
    let zone = rules::zone_of(from);
    let first = quarter_of(from);
    let mut progress = Progress::default();
    (0..QUARTERS)
        .map(|i| {
            let q = first + i * QUARTER_S;
            progress.roll(load, zone, q);
            let (on, why) = match load.mode {
                Mode::Off => (false, "mode off".to_string()),
                Mode::On => (true, "mode on".to_string()),
                Mode::Auto if let Some(window) = rules::outside_window(load, zone, q) => {
                    (false, format!("outside window {window}"))
                }
                Mode::Auto => match rules::want(load, prices, zone, q, &progress) {
                    Some(want) => (true, want.reason),
                    None => (false, "no price rule wants it".to_string()),
                },
            };
            if on {
                progress.add(QUARTER_S as f64, true);
            }
            PlanLine {
                load: load.name.get_ref().clone(),
                start: MeterTime::from_datetime(rules::time_of(zone, q)),
                price: prices.of_quarter(q),
                state: SwitchState::from_on(on),
                why,
            }
        })
        .collect()
}

/// Prints the plan on stdout.
pub(crate) fn print(lines: &[PlanLine], format: PlanFormat) -> Result<(), Error> {
    let mut out = RecordWriter::stdout();
    out.hold();
    let width = lines.iter().map(|l| l.load.len()).max().unwrap_or(0);
    for line in lines {
        let text = match format {
            PlanFormat::Json => serde_json::to_string(line)
                .map_err(|e| Error::failure(format!("cannot write the plan: {e}")))?,
            PlanFormat::Text => format!(
                "{:width$}  {}  {:>8}  {:3}  {}",
                line.load,
                line.start,
                line.price.map_or("-".to_string(), |p| format!("{p:.4}")),
                if line.state.is_on() { "on" } else { "off" },
                line.why
            ),
        };
        out.write_raw_line(text.as_bytes())?;
    }
    out.release()
}
