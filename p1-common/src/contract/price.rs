//! A price slot: what p1-prices writes to the price file, one a line (the keys of evcc's
//! tariff rates, so that their output feeds the file too), and what p1-relay writes to the
//! stream when a slot begins.

use serde::{Deserialize, Serialize};

use crate::protocol::meter_time::MeterTime;

crate::record_type! {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct PriceRecord ("price", "The price of a kWh over one slot of the day-ahead market, all in: a line of the price file (p1-prices), and in the stream once when the slot begins (p1-relay --prices).") {
        start: MeterTime => "the slot's start, RFC 3339 with its offset",
        end: MeterTime => "its end (the next slot's start)",
        value: f64 => "EUR a kWh, all in: (the market price + --add) x --multiply",
    }
}

/// A slot read from a price file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceSlot {
    /// When it starts, with the offset it was written with.
    pub start: chrono::DateTime<chrono::FixedOffset>,
    /// When it ends.
    pub end: chrono::DateTime<chrono::FixedOffset>,
    /// EUR a kWh.
    pub value: f64,
}

/// A line of a price file as it may be written: `"type"` may be left out, `price` stands
/// for `value`, and `time` for `start` (its end then the next slot's start).
#[derive(Debug, Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: Option<String>,
    start: Option<String>,
    time: Option<String>,
    end: Option<String>,
    value: Option<f64>,
    price: Option<f64>,
}

/// A price file read: its slots in time order (a slot given twice keeps the last), and the
/// lines that were no slot, by number, with why.
#[derive(Debug, Default)]
pub struct PriceFile {
    /// The slots, in time order.
    pub slots: Vec<PriceSlot>,
    /// The lines that were no slot: their number (from 1) and why.
    pub bad: Vec<(usize, String)>,
}

/// The slot of `slots` (in time order) that holds the instant `utc` (seconds since the
/// epoch).
pub fn slot_at(slots: &[PriceSlot], utc: i64) -> Option<&PriceSlot> {
    let after = slots.partition_point(|s| s.start.timestamp() <= utc);
    let slot = slots.get(after.checked_sub(1)?)?;
    (utc < slot.end.timestamp()).then_some(slot)
}

impl PriceFile {
    /// The slots that overlap the `hours` from `from`, as records (none when `from` is no
    /// time).
    pub fn ahead(&self, from: MeterTime, hours: i64) -> Vec<PriceRecord> {
        let Some(from) = from.timestamp() else {
            return Vec::new();
        };
        let until = from + hours * 3600;
        self.slots
            .iter()
            .filter(|s| s.end.timestamp() > from && s.start.timestamp() < until)
            .map(|s| PriceRecord {
                start: MeterTime::from_datetime(s.start),
                end: MeterTime::from_datetime(s.end),
                value: s.value,
            })
            .collect()
    }
}

/// Reads the price file at `path`, each bad line said (with the file and its number) and
/// skipped.
///
/// # Errors
/// A file that cannot be read, of kind `NoInput`.
pub fn load_price_file(path: &std::path::Path) -> Result<PriceFile, crate::Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        crate::Error::io(path.display().to_string(), e).of_kind(crate::Kind::NoInput)
    })?;
    let file = read_price_file(&text);
    for (line, why) in &file.bad {
        log::warn!("{}: line {line}: {why}; skipped", path.display());
    }
    Ok(file)
}

/// The slots of the next 24 hours from `price`'s start in the price file at `path` (what
/// p1-mqtt and p1-serve show beside the running slot); none, said, when it cannot be read.
pub fn next_day(path: &std::path::Path, price: &PriceRecord) -> Option<Vec<PriceRecord>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(read_price_file(&text).ahead(price.start, 24)),
        Err(e) => {
            log::warn!("--prices {}: {e}: no next 24 hours", path.display());
            None
        }
    }
}

/// Reads a price file's text. A slot with no end ends where the next one starts (the last
/// such one lasts as long as the slot before it, or an hour).
pub fn read_price_file(text: &str) -> PriceFile {
    let mut file = PriceFile::default();
    let mut open_ended = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match slot(line) {
            Ok((slot, has_end)) => {
                open_ended.retain(|start| *start != slot.start);
                if !has_end {
                    open_ended.push(slot.start);
                }
                file.slots.retain(|s| s.start != slot.start);
                file.slots.push(slot);
            }
            Err(why) => file.bad.push((i + 1, why)),
        }
    }
    file.slots.sort_by_key(|s| s.start);
    for i in 0..file.slots.len() {
        if open_ended.contains(&file.slots[i].start) {
            let end = match (
                file.slots.get(i + 1),
                i.checked_sub(1).map(|p| file.slots[p]),
            ) {
                (Some(next), _) => next.start,
                (None, Some(before)) => file.slots[i].start + (before.end - before.start),
                (None, None) => file.slots[i].start + chrono::Duration::hours(1),
            };
            file.slots[i].end = end;
        }
    }
    file
}

fn slot(line: &str) -> Result<(PriceSlot, bool), String> {
    let raw: Line = serde_json::from_str(line).map_err(|e| format!("not a price slot: {e}"))?;
    if let Some(kind) = raw.kind.as_deref().filter(|k| *k != "price") {
        return Err(format!("a record of type \"{kind}\", not a price"));
    }
    let time = |key: &str, text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| format!("{key} \"{text}\" is no RFC 3339 time with its offset"))
    };
    let start = match (&raw.start, &raw.time) {
        (Some(text), _) => time("start", text)?,
        (None, Some(text)) => time("time", text)?,
        (None, None) => return Err("no start (or time)".into()),
    };
    let value = raw
        .value
        .or(raw.price)
        .filter(|v| v.is_finite())
        .ok_or("no value (or price) that is a number")?;
    let end = match &raw.end {
        Some(text) => Some(time("end", text)?),
        None => None,
    };
    if end.is_some_and(|end| end <= start) {
        return Err("its end is not after its start".into());
    }
    Ok((
        PriceSlot {
            start,
            end: end.unwrap_or(start),
            value,
        },
        end.is_some(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_slot_is_read_and_the_last_of_a_twice_given_slot_kept() {
        let file = read_price_file(concat!(
            r#"{"type":"price","start":"2026-12-07T14:00:00+01:00","end":"2026-12-07T14:15:00+01:00","value":0.0712}"#,
            "\n",
            r#"{"start":"2026-12-07T14:15:00+01:00","end":"2026-12-07T14:30:00+01:00","price":-0.012}"#,
            "\n",
            "not json\n",
            r#"{"time":"2026-12-07T13:00:00Z","price":0.2}"#,
            "\n",
            r#"{"time":"2026-12-07T14:30:00+01:00","price":0.3}"#,
            "\n",
            r#"{"start":"2026-12-07T14:00:00+01:00","end":"2026-12-07T14:15:00+01:00","value":0.08}"#,
            "\n",
            r#"{"type":"reading","start":"2026-12-07T14:00:00+01:00","value":1}"#,
            "\n",
        ));
        let shown: Vec<(String, String, f64)> = file
            .slots
            .iter()
            .map(|s| (s.start.to_rfc3339(), s.end.to_rfc3339(), s.value))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "2026-12-07T14:00:00+01:00".into(),
                    "2026-12-07T14:15:00+01:00".into(),
                    0.08
                ),
                (
                    "2026-12-07T14:15:00+01:00".into(),
                    "2026-12-07T14:30:00+01:00".into(),
                    -0.012
                ),
                (
                    "2026-12-07T14:30:00+01:00".into(),
                    "2026-12-07T14:45:00+01:00".into(),
                    0.3
                ),
            ]
        );
        // 13:00Z is 14:00+01:00: the same slot, given again (and then again).
        assert_eq!(file.bad.iter().map(|b| b.0).collect::<Vec<_>>(), [3, 7]);
    }

    proptest::proptest! {
        /// Issue 26: any order of slot lines, given twice or more, with or without their
        /// end, in any offset: the slots come out in time order, one a start, the last line
        /// given for a start kept, each ending after it starts.
        #[test]
        fn slots_come_out_in_order_the_last_of_each_kept(
            lines in proptest::collection::vec((0_i64..200, proptest::bool::ANY, -500_i32..500, proptest::bool::ANY), 1..60),
        ) {
            let base = 1_796_601_600; // 2026-12-07T00:00:00Z
            let mut text = String::new();
            let mut last = std::collections::BTreeMap::new();
            for &(quarter, hourly, cents, with_end) in &lines {
                let start = base + quarter * 900;
                let offset = chrono::FixedOffset::east_opt(if hourly { 3600 } else { 7200 }).unwrap();
                let at = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap().with_timezone(&offset).to_rfc3339();
                let value = f64::from(cents) / 1000.0;
                if with_end {
                    let end = start + if hourly { 3600 } else { 900 };
                    text += &format!("{{\"start\":\"{}\",\"end\":\"{}\",\"value\":{value}}}\n", at(start), at(end));
                } else {
                    text += &format!("{{\"time\":\"{}\",\"price\":{value}}}\n", at(start));
                }
                last.insert(start, value);
            }
            let file = read_price_file(&text);
            proptest::prop_assert!(file.bad.is_empty(), "{:?}", file.bad);
            let got: Vec<(i64, f64)> = file.slots.iter().map(|s| (s.start.timestamp(), s.value)).collect();
            let want: Vec<(i64, f64)> = last.into_iter().collect();
            proptest::prop_assert_eq!(got, want);
            proptest::prop_assert!(file.slots.iter().all(|s| s.end > s.start));
            for slot in &file.slots {
                let held = slot_at(&file.slots, slot.start.timestamp()).map(|s| s.start);
                proptest::prop_assert_eq!(held, Some(slot.start));
            }
        }
    }
}
