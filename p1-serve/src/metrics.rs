//! `/metrics`: the Prometheus text exposition. The reading's keys become metrics named by
//! Prometheus conventions (base units, `_total` on counters), derived from what each key's
//! declaration measures and documented with its own description; then the pipeline's health.

use std::fmt::Write as _;

use p1_common::contract::field::{FieldTable, LineValue};
use p1_common::contract::reading::{MbusKind, Reading};
use p1_common::protocol::values::{Measure, Unit};

use crate::snapshot::Snapshot;

/// A key's metric, from what its declaration says it measures: its name after `p1_`,
/// whether it is a counter, and the factor to base units.
fn metric_of(key: &str, measure: Measure) -> (String, bool, f64) {
    let Measure::Quantity(unit) = measure else {
        return match measure {
            Measure::Count => (format!("{key}_total"), true, 1.0),
            _ => (key.to_string(), false, 1.0),
        };
    };
    let stem = key.strip_suffix(unit.key_suffix()).unwrap_or(key);
    let (base, counter, factor) = match unit {
        Unit::KWh => ("joules_total", true, 3.6e6),
        Unit::KVarh => ("var_hours_total", true, 1000.0),
        Unit::KW => ("watts", false, 1000.0),
        Unit::KVar => ("vars", false, 1000.0),
        Unit::KVA => ("volt_amperes", false, 1000.0),
        Unit::Volt => ("volts", false, 1.0),
        Unit::Ampere => ("amperes", false, 1.0),
        Unit::Hertz => ("hertz", false, 1.0),
        Unit::Ratio => ("ratio", false, 1.0),
    };
    (format!("{stem}_{base}"), counter, factor)
}

/// A label value, escaped as the exposition format wants.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Out {
    text: String,
}

impl Out {
    fn family(&mut self, name: &str, counter: bool, help: &str) {
        let kind = if counter { "counter" } else { "gauge" };
        let _ = writeln!(self.text, "# HELP p1_{name} {help}");
        let _ = writeln!(self.text, "# TYPE p1_{name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: f64) {
        let _ = writeln!(self.text, "p1_{name}{{{labels}}} {value}");
    }

    fn one(&mut self, name: &str, counter: bool, help: &str, labels: &str, value: f64) {
        self.family(name, counter, help);
        self.sample(name, labels, value);
    }
}

/// The whole exposition of a snapshot.
pub(crate) fn render(snapshot: &Snapshot) -> String {
    let mut out = Out {
        text: String::with_capacity(8 * 1024),
    };
    if let Some(reading) = &snapshot.reading() {
        reading_metrics(&mut out, reading);
    }
    let health = &mut out;
    health.one(
        "telegrams_received_total",
        true,
        "CRC-valid telegrams seen on stdin",
        "",
        snapshot.telegrams as f64,
    );
    health.one(
        "crc_errors_total",
        true,
        "telegrams whose CRC failed (passed on by p1-read --keep-invalid)",
        "",
        snapshot.crc_errors as f64,
    );
    if let Some(at) = snapshot.telegram_at {
        health.one(
            "last_telegram_age_seconds",
            false,
            "seconds since the last CRC-valid telegram",
            "",
            at.elapsed().as_secs_f64(),
        );
    }
    if let Some(age) = snapshot.reading_age() {
        health.one(
            "last_reading_age_seconds",
            false,
            "seconds since the last reading",
            "",
            age.as_secs_f64(),
        );
    }
    if !snapshot.loads.is_empty() {
        let on = snapshot.loads.values().filter(|e| e.state.is_on()).count();
        health.one("loads_on", false, "loads switched on now", "", on as f64);
        health.family("load_on", false, "1 when the load is on");
        for (name, event) in &snapshot.loads {
            let labels = format!("load=\"{}\"", label(name));
            health.sample("load_on", &labels, f64::from(u8::from(event.state.is_on())));
        }
    }
    if let Some(price) = &snapshot.prices.current {
        health.one(
            "price_euros_per_kwh",
            false,
            "the price of a kWh in the running slot, all in",
            "",
            price.value,
        );
    }
    if let Some(peak) = &snapshot.peak() {
        for (name, help, kw) in [
            (
                "peak_headroom_watts",
                "more power that may be drawn this quarter hour",
                peak.headroom_kw,
            ),
            (
                "peak_projected_watts",
                "the quarter hour's projected average import",
                peak.projected_kw,
            ),
            (
                "peak_budget_watts",
                "the quarter-hour average to stay under",
                peak.budget_kw,
            ),
        ] {
            health.one(name, false, help, "", kw * 1000.0);
        }
    }
    out.text
}

fn reading_metrics(out: &mut Out, reading: &Reading) {
    let meter = format!(
        "meter=\"{}\"",
        label(reading.meter_id.as_deref().unwrap_or(""))
    );
    for field in Reading::fields() {
        let Some(value) = (field.line_value)(reading) else {
            continue;
        };
        let (key, doc) = (field.name, field.doc);
        let (name, counter, factor) = metric_of(key, (field.measure)());
        let value = match value {
            LineValue::Float(v) => v * factor,
            LineValue::Integer(i) => i as f64 * factor,
        };
        out.one(&name, counter, &format!("{doc} ({key})"), &meter, value);
    }
    let mut families: Vec<(&str, bool, &str)> = Vec::new();
    for device in &reading.mbus {
        let Some(value) = device.value else { continue };
        let unit = device.unit.as_deref().unwrap_or("");
        let (name, factor, help) = if unit.eq_ignore_ascii_case("m3") {
            (
                "mbus_cubic_meters_total",
                1.0,
                "an M-Bus meter's volume register",
            )
        } else if unit.eq_ignore_ascii_case("GJ") {
            ("mbus_joules_total", 1e9, "an M-Bus meter's energy register")
        } else {
            (
                "mbus_value",
                1.0,
                "an M-Bus meter's register in another unit",
            )
        };
        if !families.iter().any(|(n, _, _)| *n == name) {
            out.family(name, name.ends_with("_total"), help);
            families.push((name, true, help));
        }
        let kind = match device.kind {
            MbusKind::Gas => "gas",
            MbusKind::Heat => "heat",
            MbusKind::Water => "water",
            MbusKind::Other => "other",
        };
        out.sample(
            name,
            &format!("{meter},channel=\"{}\",kind=\"{kind}\"", device.channel),
            value * factor,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_metrics_in_base_units() {
        let metric = |key: &str| {
            let field = Reading::fields().iter().find(|f| f.name == key);
            metric_of(key, (field.expect("a key").measure)())
        };
        for (key, name, counter, scale) in [
            (
                "energy_import_t1_kwh",
                "energy_import_t1_joules_total",
                true,
                3.6e6,
            ),
            ("power_import_kw", "power_import_watts", false, 1000.0),
            ("voltage_sags_l1", "voltage_sags_l1_total", true, 1.0),
            ("power_factor_l1", "power_factor_l1_ratio", false, 1.0),
            ("tariff", "tariff", false, 1.0),
        ] {
            assert_eq!(metric(key), (name.to_string(), counter, scale), "{key}");
        }
        assert_eq!(label("a\"b\\c"), "a\\\"b\\\\c");
    }
}
