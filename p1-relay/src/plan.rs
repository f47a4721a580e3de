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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use p1_common::contract::price::PriceSlot;
    use proptest::prelude::*;

    fn config(rules: &str) -> Config {
        Config::parse(&format!(
            "[[load]]\nname = \"boiler\"\npower_kw = 2.0\non_export_kw = 2.2\noff_import_kw = 0.3\n{rules}\n[load.switch]\ntype = \"dry-run\"\n"
        ))
        .expect("a configuration")
    }

    /// A day's quarter-hour prices from local midnight (CET, a winter day).
    fn day(values: &[f64]) -> (Prices, Time) {
        let midnight = DateTime::parse_from_rfc3339("2026-12-08T00:00:00+01:00").expect("time");
        let slots = values
            .iter()
            .enumerate()
            .map(|(i, &value)| PriceSlot {
                start: midnight + chrono::Duration::minutes(15 * i as i64),
                end: midnight + chrono::Duration::minutes(15 * (i as i64 + 1)),
                value,
            })
            .collect();
        (Prices::new(slots), midnight)
    }

    /// The indices of the `n` cheapest of `values`, ties to the earlier.
    fn cheapest(values: &[f64], n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
        let mut picked = order[..n].to_vec();
        picked.sort_unstable();
        picked
    }

    fn on(plan: &[PlanLine]) -> Vec<usize> {
        (0..plan.len()).filter(|&i| plan[i].state.is_on()).collect()
    }

    proptest! {
        /// Issue 26: `cheapest` is on in exactly the N cheapest quarter hours of its window.
        #[test]
        fn cheapest_is_on_in_exactly_the_n_cheapest_of_its_window(
            values in proptest::collection::vec(-5_i32..30, 96),
            slots in 1_u32..=28,
        ) {
            let values: Vec<f64> = values.iter().map(|&v| f64::from(v) / 100.0).collect();
            let (prices, midnight) = day(&values);
            let rule = format!("cheapest = {{ slots = {slots}, within = \"00:00-07:00\" }}");
            let plan = plan(&config(&rule), &prices, midnight);
            prop_assert_eq!(on(&plan), cheapest(&values[..28], slots as usize));
        }

        /// Issue 26: with no sun (the plan counts none), a need of H hours is the ceil(4 H)
        /// cheapest quarter hours of the day.
        #[test]
        fn a_need_is_the_cheapest_quarter_hours_of_the_day(
            values in proptest::collection::vec(-5_i32..30, 96),
            quarters in 1_u32..=40,
        ) {
            let values: Vec<f64> = values.iter().map(|&v| f64::from(v) / 100.0).collect();
            let (prices, midnight) = day(&values);
            let hours = f64::from(quarters) / 4.0;
            let plan = plan(&config(&format!("need_hours = {hours}")), &prices, midnight);
            prop_assert_eq!(on(&plan), cheapest(&values, quarters as usize));
        }
    }
}
