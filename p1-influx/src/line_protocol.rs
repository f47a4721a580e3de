//! Records to `InfluxDB` line protocol.
//!
//! Readings become one point of measurement `p1` (tag `meter_id`) whose fields are every
//! numeric key, each of a type fixed for ever: counts and states (`tariff`, `breaker_state`,
//! power failures, voltage sags and swells) integer, every meter quantity float, since a
//! field whose type changes between points is rejected. M-Bus devices become points of
//! `p1_mbus` (tags `channel`, `kind`, `id`) at their own timestamp; relay events points of
//! `p1_relay` (tag `load`, field `on` 0/1, string `reason`). Timestamps are whole seconds.

use std::fmt::Write as _;

use chrono::DateTime;
use p1_common::contract::events::{PeakRecord, RelayEvent};
use p1_common::contract::field::{FieldTable, LineValue};
use p1_common::contract::price::PriceRecord;
use p1_common::contract::reading::{MbusDevice, Reading, ReadingKey};
use p1_common::contract::record::Record;
use p1_common::contract::select::Selection;
use p1_common::protocol::number::Decimal;

p1_common::named_enum! {
    /// Which timestamp a reading's point gets.
    pub enum TimeSource ("a time source") {
        /// The meter's `time`, else `received`, else now.
        Meter = "meter",
        /// When p1-read received the telegram, else now.
        Received = "received",
        /// When p1-influx read the record.
        Now = "now",
    }
}

/// The keys of a reading that become a point: every field with an `InfluxDB` type, the
/// timestamps and the meter id, and the M-Bus devices. The rest is skipped unparsed.
#[must_use]
pub fn reading_keys() -> Selection<Reading> {
    Selection::fields_where(|field| field.line_type.is_some(), true).and(ReadingKey::select(&[
        ReadingKey::received,
        ReadingKey::time,
        ReadingKey::meter_id,
    ]))
}

/// How records are turned into points.
#[derive(Debug, Clone)]
pub struct Schema {
    /// The measurement's name, already escaped.
    pub measurement: String,
    /// Extra tags on every point, already escaped: `,key=value...`.
    pub extra_tags: String,
    pub only_fields: Option<Vec<String>>,
    pub exclude_fields: Vec<String>,
    pub time_source: TimeSource,
}

impl Schema {
    pub fn new(
        measurement: &str,
        tags: &[(String, String)],
        only: Option<Vec<String>>,
        exclude: Vec<String>,
        time_source: TimeSource,
    ) -> Self {
        let mut extra_tags = String::new();
        let mut tags = tags.to_vec();
        tags.sort();
        for (k, v) in &tags {
            let _ = write!(extra_tags, ",{}={}", Escaped::tag(k), Escaped::tag(v));
        }
        Schema {
            measurement: Escaped::measurement(measurement).to_string(),
            extra_tags,
            only_fields: only,
            exclude_fields: exclude,
            time_source,
        }
    }

    fn wants(&self, key: &str) -> bool {
        self.only_fields
            .as_ref()
            .is_none_or(|only| only.iter().any(|k| k == key))
            && !self.exclude_fields.iter().any(|k| k == key)
    }

    /// Appends the lines for one record to `out`; returns how many, or why none.
    ///
    /// # Errors
    /// A record with nothing to write.
    pub fn record(
        &self,
        record: &Record<'_>,
        now_secs: i64,
        out: &mut String,
    ) -> Result<usize, NothingToWrite> {
        match record {
            Record::Reading(reading) => self.reading(reading.as_ref(), now_secs, out),
            Record::Relay(event) => Ok(self.relay(event, now_secs, out)),
            Record::Peak(peak) => Ok(self.peak(peak, now_secs, out)),
            Record::Price(price) => Ok(self.price(price, now_secs, out)),
            other => Err(NothingToWrite::Type(other.kind().to_string())),
        }
    }

    /// A reading's point and its M-Bus devices' points.
    ///
    /// # Errors
    /// A reading without one numeric value.
    pub fn reading<R: FieldTable>(
        &self,
        reading: &R,
        now_secs: i64,
        out: &mut String,
    ) -> Result<usize, NothingToWrite> {
        let received = reading.received().and_then(rfc3339_secs);
        let meter = reading.time().and_then(|t| t.timestamp());
        let time = match self.time_source {
            TimeSource::Meter => meter.or(received).unwrap_or(now_secs),
            TimeSource::Received => received.unwrap_or(now_secs),
            TimeSource::Now => now_secs,
        };
        let meter_id = reading.meter_id().filter(|id| !id.is_empty());
        let start = out.len();
        out.push_str(&self.measurement);
        if let Some(id) = meter_id {
            out.push_str(",meter_id=");
            Escaped::tag(id).push_to(out);
        }
        out.push_str(&self.extra_tags);
        let mut fields = 0;
        for (key, value) in reading.line_values() {
            if !self.wants(key) {
                continue;
            }
            out.push(if fields == 0 { ' ' } else { ',' });
            // Keys are snake_case identifiers: nothing to escape.
            out.push_str(key);
            out.push('=');
            match value {
                LineValue::Float(v) => push_float(out, v),
                LineValue::Integer(i) => {
                    push_int(out, i);
                    out.push('i');
                }
            }
            fields += 1;
        }
        if fields == 0 {
            out.truncate(start);
            return Err(NothingToWrite::NoNumber);
        }
        push_time(out, time);
        let mut lines = 1;
        for device in reading.mbus() {
            lines += self.mbus(device, meter_id, out);
        }
        Ok(lines)
    }

    /// One `p1_mbus` point for a device with a value and a valid timestamp.
    fn mbus(&self, device: &MbusDevice, meter_id: Option<&str>, out: &mut String) -> usize {
        let (Some(value), Some(time)) = (
            device.value.filter(|v| v.is_finite()),
            device.time.and_then(|t| t.timestamp()),
        ) else {
            return 0;
        };
        out.push_str(&self.measurement);
        out.push_str("_mbus,channel=");
        push_int(out, i64::from(device.channel));
        if let Some(id) = device.id.as_deref().filter(|id| !id.is_empty()) {
            out.push_str(",id=");
            Escaped::tag(id).push_to(out);
        }
        out.push_str(",kind=");
        out.push_str(device.kind.name());
        if let Some(id) = meter_id {
            out.push_str(",meter_id=");
            Escaped::tag(id).push_to(out);
        }
        out.push_str(&self.extra_tags);
        out.push_str(" value=");
        push_float(out, value);
        if let Some(valve) = device.valve {
            out.push_str(",valve=");
            push_int(out, i64::from(valve));
            out.push('i');
        }
        push_time(out, time);
        1
    }

    /// A relay event's `p1_relay` point (with the price, a float, when a price rule switched).
    pub fn relay(&self, event: &RelayEvent, now_secs: i64, out: &mut String) -> usize {
        let time = event.time.timestamp().unwrap_or(now_secs);
        let _ = write!(
            out,
            "{}_relay,load={}{} on={}i,reason=\"{}\"",
            self.measurement,
            Escaped::tag(&event.load),
            self.extra_tags,
            u8::from(event.state.is_on()),
            Escaped::string(&event.reason)
        );
        if let Some(price) = event.price {
            out.push_str(",price=");
            push_float(out, price);
        }
        push_time(out, time);
        1
    }
}

impl Schema {
    /// One `p1_peak` point: the quarter so far (all fields float but `elapsed_s`).
    pub fn peak(&self, peak: &PeakRecord, now_secs: i64, out: &mut String) -> usize {
        let time = peak.time.timestamp().unwrap_or(now_secs);
        out.push_str(&self.measurement);
        out.push_str("_peak");
        out.push_str(&self.extra_tags);
        out.push_str(" elapsed_s=");
        push_int(out, i64::from(peak.elapsed_s));
        out.push_str("i,average_kw=");
        push_float(out, peak.average_kw);
        for (key, value) in [
            ("projected_kw", Some(peak.projected_kw)),
            ("month_peak_kw", peak.month_peak_kw),
            ("budget_kw", Some(peak.budget_kw)),
            ("headroom_kw", Some(peak.headroom_kw)),
            ("allowed_kw", Some(peak.allowed_kw)),
        ] {
            if let Some(value) = value {
                out.push(',');
                out.push_str(key);
                out.push('=');
                push_float(out, value);
            }
        }
        push_time(out, time);
        1
    }
}

impl Schema {
    /// One `p1_price` point at the slot's start: its price, EUR a kWh.
    pub fn price(&self, price: &PriceRecord, now_secs: i64, out: &mut String) -> usize {
        out.push_str(&self.measurement);
        out.push_str("_price");
        out.push_str(&self.extra_tags);
        out.push_str(" value=");
        push_float(out, price.value);
        push_time(out, price.start.timestamp().unwrap_or(now_secs));
        1
    }
}

/// Why a record gives no point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NothingToWrite {
    Type(String),
    NoNumber,
}

impl std::fmt::Display for NothingToWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NothingToWrite::Type(kind) => {
                write!(f, "a record of type '{kind}' has nothing to write")
            }
            NothingToWrite::NoNumber => f.write_str("a reading with no numeric value to write"),
        }
    }
}

/// A whole number in decimal.
fn push_int(out: &mut String, value: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        out.push('-');
    }
    // Digits only.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// ` <seconds>` and the line end.
fn push_time(out: &mut String, secs: i64) {
    out.push(' ');
    push_int(out, secs);
    out.push('\n');
}

/// A float as Rust writes it (the shortest text that reads back the same, never an exponent),
/// straight from its digits where it is a short decimal, as a meter's readings are.
fn push_float(out: &mut String, v: f64) {
    match Decimal::of(v) {
        Some(decimal) => out.push_str(decimal.text().as_str()),
        None => {
            let _ = write!(out, "{v}");
        }
    }
}

fn rfc3339_secs(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp())
}

/// Text escaped where the line protocol needs it, written straight into the line: a
/// backslash before each character special there, and control characters (which would end
/// the line) as spaces.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a> {
    text: &'a str,
    specials: &'static [char],
}

impl<'a> Escaped<'a> {
    /// A measurement: comma and space.
    pub fn measurement(text: &'a str) -> Self {
        Escaped {
            text,
            specials: &[',', ' '],
        }
    }

    /// Tag keys, tag values and field keys: comma, equals sign and space.
    pub fn tag(text: &'a str) -> Self {
        Escaped {
            text,
            specials: &[',', '=', ' '],
        }
    }

    /// String field values: double quote and backslash.
    pub fn string(text: &'a str) -> Self {
        Escaped {
            text,
            specials: &['"', '\\'],
        }
    }
}

impl Escaped<'_> {
    /// Appends the escaped text (the text itself where nothing needs escaping).
    pub fn push_to(self, out: &mut String) {
        if self.is_plain() {
            out.push_str(self.text);
        } else {
            let _ = write!(out, "{self}");
        }
    }

    fn is_plain(&self) -> bool {
        self.text
            .chars()
            .all(|c| !c.is_control() && !self.specials.contains(&c))
    }
}

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_plain() {
            return f.write_str(self.text);
        }
        for c in self.text.chars() {
            let c = if c.is_control() { ' ' } else { c };
            if self.specials.contains(&c) {
                f.write_char('\\')?;
            }
            f.write_char(c)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::new("p1", &[], None, Vec::new(), TimeSource::Meter)
    }

    fn record(json: &str) -> Record<'_> {
        Record::from_json(json).unwrap()
    }

    fn lines(json: &str) -> String {
        let mut out = String::new();
        schema()
            .record(&record(json), 1_700_000_000, &mut out)
            .unwrap();
        out
    }

    #[test]
    fn a_reading_with_fixed_types_and_its_mbus_device() {
        let lp = lines(
            r#"{
            "type": "reading", "meter_id": "1SAG 31,0", "time": "2020-05-12T13:54:09+02:00",
            "tariff": 1, "energy_import_t1_kwh": 0.034, "voltage_l1_v": 230.0, "power_failures": 13,
            "message": "", "demand_max_month_time": "2020-05-09T13:45:58+02:00",
            "mbus": [
                {"channel": 1, "device_type": 3, "kind": "gas", "id": "7FLO", "valve": 1, "time": "2020-05-12T13:45:58+02:00", "value": 112.384, "unit": "m3"},
                {"channel": 2, "kind": "gas", "id": "", "time": null, "value": 0.0}
            ]
        }"#,
        );
        assert_eq!(
            lp,
            "p1,meter_id=1SAG\\ 31\\,0 energy_import_t1_kwh=0.034,power_failures=13i,tariff=1i,voltage_l1_v=230 1589284449\n\
             p1_mbus,channel=1,id=7FLO,kind=gas,meter_id=1SAG\\ 31\\,0 value=112.384,valve=1i 1589283958\n"
        );
    }

    #[test]
    fn floats_are_written_as_rust_writes_them() {
        let mut values = vec![
            0.034,
            230.0,
            3989.26,
            -2.5,
            1e-7,
            1.5e-5,
            999.9,
            123_456_789.123,
            0.1 + 0.2,
            1e20,
            5e-324,
            f64::MAX,
            112.384,
            0.000_001,
            -0.0,
            0.0,
            1.0 / 3.0,
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values.push((state % 10_000_000_000) as f64 / 10f64.powi((state >> 60) as i32));
            values.push(f64::from_bits(state));
        }
        for v in values.into_iter().filter(|v| v.is_finite()) {
            let mut out = String::new();
            push_float(&mut out, v);
            assert_eq!(out, format!("{v}"), "{v:e}");
        }
    }

    #[test]
    fn relay_events_and_escaping() {
        let lp = lines(
            r#"{"type": "relay", "time": "2024-06-12T12:01:00+02:00", "load": "boiler 1", "state": "on", "reason": "export \"2.41\" kW\\x"}"#,
        );
        assert_eq!(
            lp,
            "p1_relay,load=boiler\\ 1 on=1i,reason=\"export \\\"2.41\\\" kW\\\\x\" 1718186460\n"
        );
        // Issue 26: a price rule's event carries its price.
        let lp = lines(
            r#"{"type":"relay","time":"2024-06-12T12:01:00+02:00","load":"boiler","state":"on","reason":"price -0.012 <= 0.000 EUR/kWh","price":-0.012}"#,
        );
        assert_eq!(
            lp,
            "p1_relay,load=boiler on=1i,reason=\"price -0.012 <= 0.000 EUR/kWh\",price=-0.012 1718186460\n"
        );
    }

    #[test]
    fn each_place_escapes_its_own_characters_and_control_characters_become_spaces() {
        let text = "a,b=c d\"e\\f\tg\nh";
        assert_eq!(
            Escaped::measurement(text).to_string(),
            "a\\,b=c\\ d\"e\\f\\ g\\ h"
        );
        assert_eq!(
            Escaped::tag(text).to_string(),
            "a\\,b\\=c\\ d\"e\\f\\ g\\ h"
        );
        assert_eq!(Escaped::string(text).to_string(), "a,b=c d\\\"e\\\\f g h");
        assert_eq!(Escaped::tag("plain-é").to_string(), "plain-é");
        let schema = Schema::new("my p1", &[], None, Vec::new(), TimeSource::Meter);
        assert_eq!(schema.measurement, "my\\ p1");
    }

    /// Issue 14: the peak record, with a fixed type per field.
    #[test]
    fn peak_records() {
        let lp = lines(
            r#"{"type":"peak","time":"2024-06-12T12:01:00+02:00","quarter_start":"2024-06-12T12:00:00+02:00","elapsed_s":60,"average_kw":1.2,"projected_kw":1.4,"budget_kw":2.3,"headroom_kw":-0.25,"allowed_kw":1.15}"#,
        );
        assert_eq!(
            lp,
            "p1_peak elapsed_s=60i,average_kw=1.2,projected_kw=1.4,budget_kw=2.3,headroom_kw=-0.25,allowed_kw=1.15 1718186460\n"
        );
    }

    /// Issue 26: a price slot at its start, its value a float even when whole.
    #[test]
    fn price_records_regression_26() {
        let lp = lines(
            r#"{"type":"price","start":"2026-12-07T14:00:00+01:00","end":"2026-12-07T14:15:00+01:00","value":-0.012}"#,
        );
        assert_eq!(lp, "p1_price value=-0.012 1796648400\n");
        let lp = lines(
            r#"{"type":"price","start":"2026-12-07T14:15:00+01:00","end":"2026-12-07T14:30:00+01:00","value":0}"#,
        );
        assert_eq!(lp, "p1_price value=0 1796649300\n");
    }

    #[test]
    fn time_sources_tags_and_field_selection() {
        let record = record(
            r#"{"type": "reading", "time": null, "received": "2024-06-12T12:00:00.900+02:00", "power_import_kw": 1.5, "tariff": 2}"#,
        );
        let mut out = String::new();
        schema().record(&record, 5, &mut out).unwrap();
        assert_eq!(out, "p1 power_import_kw=1.5,tariff=2i 1718186400\n");
        let tags = [("site".to_string(), "home=1".to_string())];
        let s = Schema::new("my p1", &tags, None, vec!["tariff".into()], TimeSource::Now);
        out.clear();
        s.record(&record, 5, &mut out).unwrap();
        assert_eq!(out, "my\\ p1,site=home\\=1 power_import_kw=1.5 5\n");
        let s = Schema::new(
            "p1",
            &[],
            Some(vec!["tariff".into()]),
            Vec::new(),
            TimeSource::Meter,
        );
        out.clear();
        s.record(&record, 5, &mut out).unwrap();
        assert_eq!(out, "p1 tariff=2i 1718186400\n");
    }

    #[test]
    fn records_with_nothing_to_write() {
        let mut out = String::new();
        assert!(
            schema()
                .record(
                    &record(r#"{"type": "reading", "header": "X"}"#),
                    0,
                    &mut out
                )
                .is_err()
        );
        assert!(
            schema()
                .record(&record(r#"{"type": "telegram", "received": "x", "source": "sim", "telegram": "/X"}"#), 0, &mut out)
                .is_err()
        );
        assert!(Record::from_json("[1, 2]").is_err());
        assert!(out.is_empty());
    }
}
