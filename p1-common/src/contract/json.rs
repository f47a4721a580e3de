//! Writing a reading's JSON by hand: its keys are known identifiers that need no escaping, and
//! its timestamps are ASCII, so only the free text goes through `serde_json`'s escaping. The
//! bytes are exactly those of the derived `Serialize` (a test compares them on every fixture);
//! this is only faster, on the path every telegram takes.

use std::cell::RefCell;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter as _};

use crate::contract::envelope::TelegramEnvelope;
use crate::contract::json_scan::plain_run;
use crate::contract::reading_values::{DemandPeak, MbusDevice, MbusKind, PowerFailure};
use crate::protocol::meter_time::MeterTime;
use crate::protocol::recent::Recent;

/// A value that writes its own JSON.
pub trait WriteJson {
    /// Appends its JSON to `out`.
    fn write_json(&self, out: &mut Vec<u8>);
}

/// Through `serde_json`: numbers (its float format, `null` when not finite) and escaped text.
fn serde_json_value(value: &(impl Serialize + ?Sized), out: &mut Vec<u8>) {
    // Writing these to a Vec cannot fail.
    let _ = serde_json::to_writer(out, value);
}

impl WriteJson for f64 {
    /// serde_json's float format (`null` when not finite). A reading writes many of the same
    /// values reading after reading (the history, thresholds, registers that have not moved):
    /// the last ones written are kept, per thread, by their bits.
    fn write_json(&self, out: &mut Vec<u8>) {
        thread_local! {
            static WRITTEN: RefCell<Recent<([u8; 32], u8), 128>> =
                const { RefCell::new(Recent::new(([0; 32], 0))) };
        }
        if !self.is_finite() {
            out.extend_from_slice(b"null");
            return;
        }
        let key = u128::from(self.to_bits()) | 1 << 127;
        let text = WRITTEN.with_borrow_mut(|written| {
            written.get(key, || {
                let mut text = [0; 32];
                let mut rest = &mut text[..];
                CompactFormatter.write_f64(&mut rest, *self)?;
                let len = 32 - rest.len();
                Ok::<_, std::io::Error>((text, len as u8))
            })
        });
        match text {
            Ok((text, len)) => out.extend_from_slice(&text[..usize::from(len)]),
            // Longer than any float's text: not seen, but not lost either.
            Err(_) => serde_json_value(self, out),
        }
    }
}

impl WriteJson for u32 {
    fn write_json(&self, out: &mut Vec<u8>) {
        serde_json_value(self, out);
    }
}

impl WriteJson for u64 {
    fn write_json(&self, out: &mut Vec<u8>) {
        serde_json_value(self, out);
    }
}

impl WriteJson for String {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_string(self, out);
    }
}

impl WriteJson for str {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_string(self, out);
    }
}

/// A JSON string, escaped byte for byte as serde_json escapes it, its plain runs copied
/// whole: a telegram's text is some 36 runs between its lines' `\r\n`.
pub fn write_string(text: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(text.len() + 2);
    out.push(b'"');
    let mut rest = text.as_bytes();
    loop {
        let run = plain_run(rest);
        out.extend_from_slice(&rest[..run]);
        let Some((&special, after)) = rest[run..].split_first() else {
            break;
        };
        match special {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            control => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(control >> 4)],
                HEX[usize::from(control & 0xF)],
            ]),
        }
        rest = after;
    }
    out.push(b'"');
}

impl WriteJson for MeterTime {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.write_quoted(out);
    }
}

/// A string that needs no escaping (a name of ours), quoted.
fn quoted(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

impl WriteJson for MbusKind {
    fn write_json(&self, out: &mut Vec<u8>) {
        quoted(out, self.name());
    }
}

/// A JSON array of `items`.
fn write_list<T: WriteJson>(items: &[T], out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item.write_json(out);
    }
    out.push(b']');
}

impl WriteJson for Vec<DemandPeak> {
    /// A meter sends the same history for a month: the last one written is kept, per
    /// thread, with its JSON.
    fn write_json(&self, out: &mut Vec<u8>) {
        thread_local! {
            static WRITTEN: RefCell<(Vec<DemandPeak>, Vec<u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
        }
        WRITTEN.with_borrow_mut(|(peaks, json)| {
            if json.is_empty() || peaks != self {
                peaks.clone_from(self);
                json.clear();
                write_list(self, json);
            }
            out.extend_from_slice(json);
        });
    }
}

impl WriteJson for Vec<PowerFailure> {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_list(self, out);
    }
}

impl WriteJson for Vec<MbusDevice> {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_list(self, out);
    }
}

/// A record's `type`, written as it is.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct TypeName(pub &'static str);

impl WriteJson for TypeName {
    fn write_json(&self, out: &mut Vec<u8>) {
        quoted(out, self.0);
    }
}

/// `,"key":` (or `{"key":` for the first), made at compile time: one copy an entry.
#[doc(hidden)]
#[macro_export]
macro_rules! json_key {
    (first $key:expr) => {
        concat!("{\"", $key, "\":")
    };
    ($key:expr) => {
        concat!(",\"", $key, "\":")
    };
}

/// Writes a key made by [`json_key!`] and its value.
#[doc(hidden)]
pub fn entry(out: &mut Vec<u8>, key: &str, value: &(impl WriteJson + ?Sized)) {
    out.extend_from_slice(key.as_bytes());
    value.write_json(out);
}

/// As [`entry`], for a value that is left out when absent.
fn optional(out: &mut Vec<u8>, key: &str, value: Option<&(impl WriteJson + ?Sized)>) {
    if let Some(value) = value {
        entry(out, key, value);
    }
}

impl WriteJson for TelegramEnvelope<'_> {
    /// As the derived `Serialize` writes it, the telegram's escaping by [`write_string`].
    fn write_json(&self, out: &mut Vec<u8>) {
        entry(out, crate::json_key!(first "type"), &TypeName("telegram"));
        entry(out, crate::json_key!("received"), &*self.received);
        entry(out, crate::json_key!("source"), &*self.source);
        out.extend_from_slice(crate::json_key!("telegram").as_bytes());
        write_string(&self.telegram.text(), out);
        optional(out, crate::json_key!("invalid"), self.invalid.as_deref());
        optional(
            out,
            crate::json_key!("system_title"),
            self.system_title.as_deref(),
        );
        optional(
            out,
            crate::json_key!("frame_counter"),
            self.frame_counter.as_ref(),
        );
        out.push(b'}');
    }
}

impl WriteJson for DemandPeak {
    fn write_json(&self, out: &mut Vec<u8>) {
        entry(out, crate::json_key!(first "month"), &self.month);
        entry(out, crate::json_key!("time"), &self.time);
        entry(out, crate::json_key!("kw"), &self.kw);
        out.push(b'}');
    }
}

impl WriteJson for PowerFailure {
    fn write_json(&self, out: &mut Vec<u8>) {
        entry(out, crate::json_key!(first "end"), &self.end);
        entry(out, crate::json_key!("duration_s"), &self.duration_s);
        out.push(b'}');
    }
}

impl WriteJson for MbusDevice {
    fn write_json(&self, out: &mut Vec<u8>) {
        entry(
            out,
            crate::json_key!(first "channel"),
            &u32::from(self.channel),
        );
        optional(
            out,
            crate::json_key!("device_type"),
            self.device_type.as_ref(),
        );
        entry(out, crate::json_key!("kind"), &self.kind);
        optional(out, crate::json_key!("id"), self.id.as_ref());
        optional(out, crate::json_key!("ean"), self.ean.as_ref());
        optional(out, crate::json_key!("valve"), self.valve.as_ref());
        optional(out, crate::json_key!("time"), self.time.as_ref());
        optional(out, crate::json_key!("value"), self.value.as_ref());
        optional(out, crate::json_key!("unit"), self.unit.as_ref());
        out.push(b'}');
    }
}

/// The `unknown` map, through serde_json (rare, and its keys are the meter's).
#[doc(hidden)]
pub fn unknown(out: &mut Vec<u8>, unknown: &std::collections::BTreeMap<String, Vec<String>>) {
    out.extend_from_slice(b",\"unknown\":");
    serde_json_value(unknown, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::reading::Reading;
    use crate::contract::record::Record;

    fn both(reading: &Reading) -> (String, String) {
        let mut fast = Vec::new();
        reading.write_json(&mut fast);
        let derived = serde_json::to_string(&Record::Reading(std::borrow::Cow::Borrowed(reading)));
        (String::from_utf8(fast).unwrap(), derived.unwrap())
    }

    #[test]
    fn the_hand_written_json_is_the_derived_json_on_every_golden_reading() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/golden");
        let mut compared = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "ndjson") {
                continue;
            }
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let Ok(Record::Reading(reading)) = Record::from_json(line) else {
                    continue;
                };
                let (fast, derived) = both(&reading);
                assert_eq!(fast, derived, "{}", path.display());
                assert_eq!(fast, line, "{}", path.display());
                compared += 1;
            }
        }
        assert!(compared >= 15, "only {compared} readings");
    }

    /// The values written last are kept per thread: whatever comes after whatever, each
    /// reading is still written as the derived JSON has it.
    #[test]
    fn what_is_kept_from_the_last_reading_never_changes_the_next() {
        let peak = |kw: f64, month: &str| DemandPeak {
            month: MeterTime::parse_rfc3339(month).unwrap(),
            time: MeterTime::UNSET,
            kw,
        };
        let histories = [
            vec![],
            vec![peak(1.5, "2024-05-01T00:00:00+02:00")],
            vec![peak(1.5, "2024-05-01T00:00:00+02:00")],
            vec![],
            vec![
                peak(1.5, "2024-05-01T00:00:00+02:00"),
                peak(2.25, "2024-06-01T00:00:00+02:00"),
            ],
            vec![peak(-0.0, "2024-06-01T00:00:00+01:00")],
        ];
        for (i, history) in histories.iter().chain(histories.iter().rev()).enumerate() {
            let reading = Reading {
                demand_max_history: Some(history.clone()),
                power_import_kw: Some([0.0, -0.0, 1.5, f64::NAN][i % 4]),
                time: Some(
                    peak(
                        0.0,
                        ["2024-05-01T00:00:00+02:00", "2024-05-01T00:00:00+01:00"][i % 2],
                    )
                    .month,
                ),
                ..Reading::default()
            };
            let (fast, derived) = both(&reading);
            assert_eq!(fast, derived, "reading {i}");
        }
    }

    proptest::proptest! {
        /// Any text is escaped as serde_json escapes it.
        #[test]
        fn strings_are_escaped_as_serde_json_escapes_them(text in "(.|[\\x00-\\x1f\"\\\\\\x7f\r\n])*") {
            let mut out = Vec::new();
            write_string(&text, &mut out);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&text).unwrap());
        }
    }

    #[test]
    fn envelopes_are_written_as_the_derived_json() {
        let telegram = "/FLU5\\253769484_A\r\n\r\n0-0:96.13.0(\"q\"\t\u{1}\u{7f}é€)\r\n!1234\r\n";
        for (invalid, title, counter) in [
            (None, None, None),
            (Some("CRC mismatch: telegram says 1234"), None, None),
            (None, Some("4D4D4D0000BC614E"), Some(1002)),
        ] {
            let envelope = TelegramEnvelope {
                received: "2020-05-12T13:54:10.012+02:00".into(),
                source: "tcp://[::1]:2001 \"dongle\"".into(),
                telegram: telegram.into(),
                invalid: invalid.map(Into::into),
                system_title: title.map(Into::into),
                frame_counter: counter,
            };
            let mut fast = Vec::new();
            envelope.write_json(&mut fast);
            let derived = serde_json::to_string(&Record::Telegram(envelope)).unwrap();
            assert_eq!(String::from_utf8(fast).unwrap(), derived);
        }
    }

    #[test]
    fn text_that_needs_escaping_absent_times_and_unknown_objects() {
        let line = r#"{"type":"reading","header":"FLU5\\253769484_A","meter_id":"a \"quoted\" \u0001 ü","time":null,"power_import_kw":1e-7,"demand_max_history":[{"month":null,"time":"2024-05-31T02:15:00+02:00","kw":4.0}],"power_failure_log":[],"mbus":[{"channel":2,"kind":"water","time":null}],"unknown":{"0-0:96.99.0":["x\ty"]}}"#;
        let Ok(Record::Reading(reading)) = Record::from_json(line) else {
            panic!("a reading");
        };
        let (fast, derived) = both(&reading);
        assert_eq!(fast, derived);
        assert!(
            fast.contains(r#""meter_id":"a \"quoted\" \u0001 ü""#),
            "{fast}"
        );
        assert!(
            fast.contains(r#""time":null"#)
                && fast.contains(r#""unknown":{"0-0:96.99.0":["x\ty"]}"#)
        );
    }
}
