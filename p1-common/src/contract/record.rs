//! The records of the NDJSON stream, one JSON object a line, told apart by `"type"`:
//!
//! ```json
//! {"type":"telegram","received":"2020-05-12T13:54:10.012+02:00","source":"/dev/ttyUSB0","telegram":"/FLU5\\253769484_A\r\n...!3AD7\r\n"}
//! {"type":"reading","time":"2020-05-12T13:54:09+02:00","meter_id":"1SAG3101021605","power_import_kw":0.0,...}
//! {"type":"relay","time":"2024-06-12T10:31:00+02:00","load":"boiler","state":"on","reason":"export 3.04 kW >= 2.20 kW for 60 s"}
//! {"type":"peak","time":"2024-06-12T10:31:00+02:00","quarter_start":"2024-06-12T10:30:00+02:00","elapsed_s":60,"average_kw":1.2,"projected_kw":1.4,"month_peak_kw":3.1,"budget_kw":2.9,"headroom_kw":1.6,"allowed_kw":2.8}
//! {"type":"price","start":"2024-06-12T10:30:00+02:00","end":"2024-06-12T10:45:00+02:00","value":-0.012}
//! ```
//!
//! Every program writes [`Record`]s and reads them with [`Record::from_json`]; a record of a
//! type a program does not know (one from a newer stage) is [`Record::Other`], passed on or
//! ignored, never an error.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::contract::envelope::{TelegramEnvelope, TelegramText};
pub use crate::contract::events::{PeakRecord, RelayEvent, SwitchState};
pub use crate::contract::price::PriceRecord;
use crate::contract::reading::Reading;
use crate::contract::select::{Select as _, Selection};

/// One line of the stream.
#[allow(
    clippy::large_enum_variant,
    reason = "one record lives at a time; boxing the reading would allocate per telegram"
)]
#[derive(Debug, Clone, PartialEq)]
pub enum Record<'a> {
    /// A whole telegram as p1-read received it.
    Telegram(TelegramEnvelope<'a>),
    /// One telegram's values, from p1-parse.
    Reading(Cow<'a, Reading>),
    /// A load switched, from p1-relay.
    Relay(Cow<'a, RelayEvent>),
    /// The capacity-tariff quarter hour so far, from p1-relay, after each reading.
    Peak(Cow<'a, PeakRecord>),
    /// The price of the slot that began, from p1-relay with `--prices`.
    Price(Cow<'a, PriceRecord>),
    /// A record of another type, by its type name (not written back).
    Other(String),
}

/// Each record type writes its own `"type"` first (as a tagged struct: no wrapping layer).
impl Serialize for Record<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Record::Telegram(envelope) => envelope.serialize(serializer),
            Record::Reading(reading) => reading.serialize(serializer),
            Record::Relay(event) => event.serialize(serializer),
            Record::Peak(peak) => peak.serialize(serializer),
            Record::Price(price) => price.serialize(serializer),
            Record::Other(kind) => Err(serde::ser::Error::custom(format!(
                "a record of type '{kind}' is passed on as it came, not written anew"
            ))),
        }
    }
}

/// A line that is not a record.
#[derive(Debug)]
pub struct RecordError(serde_json::Error);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_syntax() || self.0.is_eof() {
            write!(f, "not JSON: {}", self.0)
        } else {
            write!(f, "not a p1 record: {}", self.0)
        }
    }
}

impl std::error::Error for RecordError {}

impl<'a> Record<'a> {
    /// The type names of the records the stream knows, in the order a record flows through
    /// the pipeline.
    pub const KINDS: [&'static str; 5] = ["telegram", "reading", "relay", "peak", "price"];

    /// Reads one line. `"type"` is looked for first, where every p1 program writes it; a line
    /// with it elsewhere (edited by a user's `jq`) is read a second time.
    ///
    /// # Errors
    /// A line that is not JSON, has no `"type"`, or whose fields do not fit its type.
    pub fn from_json(line: &'a str) -> Result<Record<'a>, RecordError> {
        if let Some(reading) = Self::reading_scanned(line, Selection::from_bits(u128::MAX)) {
            return Ok(Record::Reading(Cow::Owned(reading)));
        }
        if let Some(envelope) = Self::envelope_scanned(line) {
            return Ok(Record::Telegram(envelope));
        }
        Self::read(
            serde_json::Deserializer::from_str(line),
            line.as_bytes(),
            None,
        )
    }

    /// [`Record::from_json`] for a consumer that reads only some keys of a reading: the
    /// others are skipped unparsed and left unset (unless `"type"` is not the first key: such
    /// a line is read whole).
    ///
    /// # Errors
    /// As [`Record::from_json`]; a skipped key is not checked against its type.
    pub fn from_json_selecting(
        line: &'a str,
        wanted: Selection<Reading>,
    ) -> Result<Record<'a>, RecordError> {
        if let Some(reading) = Self::reading_scanned(line, wanted) {
            return Ok(Record::Reading(Cow::Owned(reading)));
        }
        Self::read(
            serde_json::Deserializer::from_str(line),
            line.as_bytes(),
            Some(wanted),
        )
    }

    /// An envelope as p1-read writes it (`{"type":"telegram",` first, no escapes but in the
    /// telegram), read by the scanner, the telegram's text left escaped; `None` for anything
    /// else, which the deserializer reads.
    fn envelope_scanned(line: &'a str) -> Option<TelegramEnvelope<'a>> {
        use crate::contract::json_scan::{Scanner, plain_text};
        let rest = line.strip_prefix(r#"{"type":"telegram""#)?;
        if !matches!(
            rest.trim_ascii_start().as_bytes().first(),
            Some(b',' | b'}')
        ) {
            return None;
        }
        let mut scanner = Scanner::new(line);
        scanner.expect(b'{')?;
        let mut envelope = TelegramEnvelope {
            received: Cow::Borrowed(""),
            source: Cow::Borrowed(""),
            telegram: TelegramText::from(""),
            invalid: None,
            system_title: None,
            frame_counter: None,
        };
        let (mut seen, mut first) = (0u8, true);
        while let Some(key) = scanner.key_of_member(first)? {
            first = false;
            let value = scanner.value_text()?;
            let bit = match key {
                b"type" => 1,
                b"received" => 2,
                b"source" => 4,
                b"telegram" => 8,
                b"invalid" => 16,
                b"system_title" => 32,
                b"frame_counter" => 64,
                // A key of a newer stage, or one written with escapes: the deserializer's.
                _ => return None,
            };
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            let text = || plain_text(value).map(Cow::Borrowed);
            match bit {
                2 => envelope.received = text()?,
                4 => envelope.source = text()?,
                8 => {
                    let body = value.strip_prefix('"')?.strip_suffix('"')?;
                    envelope.telegram = TelegramText::escaped(body);
                }
                16 => envelope.invalid = Some(text()?),
                32 => envelope.system_title = Some(text()?),
                64 => envelope.frame_counter = Some(value.parse().ok()?),
                _ => {}
            }
        }
        // The type (first, as its prefix says) and the three keys every envelope has.
        (seen & 15 == 15 && scanner.at_end()).then_some(envelope)
    }

    /// A reading as every p1 program writes it (`{"type":"reading",` first), its `wanted` keys
    /// read and the rest skipped by a scanner; `None` for anything else, which the
    /// deserializer reads (it is the slow path, not another meaning).
    fn reading_scanned(line: &str, wanted: Selection<Reading>) -> Option<Reading> {
        let rest = line.strip_prefix(r#"{"type":"reading""#)?;
        if !matches!(
            rest.trim_ascii_start().as_bytes().first(),
            Some(b',' | b'}')
        ) {
            return None;
        }
        Reading::read_selected(line, wanted)
    }

    /// [`Record::from_json`] on bytes, their UTF-8 checked as they are read.
    ///
    /// # Errors
    /// As [`Record::from_json`], and bytes that are not UTF-8.
    pub fn from_slice(line: &'a [u8]) -> Result<Record<'a>, RecordError> {
        Self::read(serde_json::Deserializer::from_slice(line), line, None)
    }

    fn read<R: serde_json::de::Read<'a>>(
        mut json: serde_json::Deserializer<R>,
        line: &'a [u8],
        wanted: Option<Selection<Reading>>,
    ) -> Result<Record<'a>, RecordError> {
        let type_first = Cell::new(true);
        match (RecordSeed {
            type_first: &type_first,
            wanted,
        })
        .deserialize(&mut json)
        {
            Ok(record) => json.end().map(|()| record).map_err(RecordError),
            Err(_) if !type_first.get() => Self::type_anywhere(line),
            Err(e) => Err(RecordError(e)),
        }
    }

    /// The slow path: the type first, then the whole line as that type.
    fn type_anywhere(line: &'a [u8]) -> Result<Record<'a>, RecordError> {
        #[derive(Deserialize)]
        struct Tag<'t> {
            #[serde(rename = "type", borrow)]
            kind: Option<Cow<'t, str>>,
        }
        let tag: Tag<'_> = serde_json::from_slice(line).map_err(RecordError)?;
        let Some(kind) = tag.kind else {
            return Err(RecordError(de::Error::custom("a record without \"type\"")));
        };
        let record = match kind.as_ref() {
            "telegram" => Record::Telegram(serde_json::from_slice(line).map_err(RecordError)?),
            "reading" => Record::Reading(Cow::Owned(
                serde_json::from_slice(line).map_err(RecordError)?,
            )),
            "relay" => Record::Relay(Cow::Owned(
                serde_json::from_slice(line).map_err(RecordError)?,
            )),
            "peak" => Record::Peak(Cow::Owned(
                serde_json::from_slice(line).map_err(RecordError)?,
            )),
            "price" => Record::Price(Cow::Owned(
                serde_json::from_slice(line).map_err(RecordError)?,
            )),
            other => Record::Other(other.to_string()),
        };
        Ok(record)
    }

    /// Whether a line is one JSON value and nothing more, checked without reading it.
    pub fn is_json(line: &str) -> bool {
        let mut scanner = crate::contract::json_scan::Scanner::new(line);
        scanner.value_text().is_some() && scanner.at_end()
    }

    /// The record, owning what it borrowed from its line.
    #[must_use]
    pub fn into_owned(self) -> Record<'static> {
        match self {
            Record::Telegram(envelope) => Record::Telegram(envelope.into_owned()),
            Record::Reading(reading) => Record::Reading(Cow::Owned(reading.into_owned())),
            Record::Relay(event) => Record::Relay(Cow::Owned(event.into_owned())),
            Record::Peak(peak) => Record::Peak(Cow::Owned(peak.into_owned())),
            Record::Price(price) => Record::Price(Cow::Owned(price.into_owned())),
            Record::Other(kind) => Record::Other(kind),
        }
    }

    /// The record's type name.
    pub fn kind(&self) -> &str {
        match self {
            Record::Telegram(_) => "telegram",
            Record::Reading(_) => "reading",
            Record::Relay(_) => "relay",
            Record::Peak(_) => "peak",
            Record::Price(_) => "price",
            Record::Other(kind) => kind,
        }
    }
}

/// Reads a record whose first key is `"type"`, straight into its type's struct (no
/// buffering); notes in `type_first` when the first key is another.
struct RecordSeed<'c> {
    type_first: &'c Cell<bool>,
    /// The keys of a reading to read; all when `None`.
    wanted: Option<Selection<Reading>>,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Record<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = Record<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with \"type\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let key = map.next_key_seed(Word::Type)?;
        if key != Some(Word::Type) {
            self.type_first.set(key.is_none());
            return Err(de::Error::custom("a record without \"type\""));
        }
        Ok(match map.next_value_seed(Word::Type)? {
            Word::Telegram => Record::Telegram(TelegramEnvelope::deserialize(
                MapAccessDeserializer::new(map),
            )?),
            Word::Reading => Record::Reading(Cow::Owned(match self.wanted {
                Some(wanted) => Reading::deserialize_selected(map, wanted)?,
                None => Reading::deserialize(MapAccessDeserializer::new(map))?,
            })),
            Word::Relay => Record::Relay(Cow::Owned(RelayEvent::deserialize(
                MapAccessDeserializer::new(map),
            )?)),
            Word::Peak => Record::Peak(Cow::Owned(PeakRecord::deserialize(
                MapAccessDeserializer::new(map),
            )?)),
            Word::Price => Record::Price(Cow::Owned(PriceRecord::deserialize(
                MapAccessDeserializer::new(map),
            )?)),
            Word::Other(other) => {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Record::Other(other)
            }
            Word::Type => {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Record::Other("type".to_string())
            }
        })
    }
}

/// The key `type` and the type names, told apart without allocating (the seed's value is
/// ignored: any `Word` seeds the same visitor).
#[derive(Debug, PartialEq, Eq)]
enum Word {
    Type,
    Telegram,
    Reading,
    Relay,
    Peak,
    Price,
    Other(String),
}

impl<'de> DeserializeSeed<'de> for Word {
    type Value = Word;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Word, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Word {
    type Value = Word;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Word, E> {
        Ok(match text {
            "type" => Word::Type,
            "telegram" => Word::Telegram,
            "reading" => Word::Reading,
            "relay" => Word::Relay,
            "peak" => Word::Peak,
            "price" => Word::Price,
            other => Word::Other(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `import_kwh` and `export_kwh` read is what their key selections keep: a
    /// consumer reading only those keys gets the same sums.
    #[test]
    fn the_register_keys_are_those_the_sums_read() {
        let line = r#"{"type":"reading","energy_import_t1_kwh":1.5,"energy_import_t2_kwh":2.0,"energy_import_t3_kwh":0.25,"energy_import_total_kwh":9.0,"energy_export_t1_kwh":0.5,"energy_export_t2_kwh":0.75,"energy_export_t5_kwh":1.0,"power_import_kw":3.0}"#;
        let keys = Reading::IMPORT_KEYS.and(Reading::EXPORT_KEYS);
        let Ok(Record::Reading(some)) = Record::from_json_selecting(line, keys) else {
            panic!("a reading");
        };
        assert_eq!(
            (some.import_kwh(), some.export_kwh()),
            (Some(3.75), Some(2.25))
        );
        assert_eq!(some.power_import_kw, None, "only the registers read");
    }
    use crate::contract::reading::ReadingKey;

    const LINE: &str = r#"{"type":"reading","time":"2024-06-01T12:00:00+02:00","power_import_kw":0.5,"power_export_kw":0.0,"meter_id":"X1","demand_max_history":[{"month":"2024-05-01T00:00:00+02:00","time":null,"kw":1.0}],"mbus":[{"channel":1,"kind":"gas","value":1.5}]}"#;

    fn reading(record: Record<'_>) -> Reading {
        match record {
            Record::Reading(reading) => reading.into_owned(),
            other => panic!("a {} record", other.kind()),
        }
    }

    #[test]
    fn a_selection_reads_its_keys_and_skips_the_rest() {
        let keys = ReadingKey::select(&[ReadingKey::time, ReadingKey::power_import_kw]);
        let some = reading(Record::from_json_selecting(LINE, keys).unwrap());
        let all = reading(Record::from_json(LINE).unwrap());
        assert_eq!(some.time, all.time);
        assert_eq!(some.power_import_kw, Some(0.5));
        assert_eq!(
            (some.power_export_kw, some.meter_id.as_deref()),
            (None, None)
        );
        assert!(some.demand_max_history.is_none() && some.mbus.is_empty());
        assert_eq!(all.mbus.len(), 1);
        let with_mbus = Selection::fields_where(|_| false, true);
        assert_eq!(
            reading(Record::from_json_selecting(LINE, with_mbus).unwrap()).mbus,
            all.mbus
        );
    }

    #[test]
    fn a_skipped_key_is_not_checked_but_a_wanted_one_is() {
        let line = r#"{"type":"reading","power_import_kw":0.5,"meter_id":17}"#;
        let keys = ReadingKey::select(&[ReadingKey::power_import_kw]);
        assert_eq!(
            reading(Record::from_json_selecting(line, keys).unwrap()).power_import_kw,
            Some(0.5)
        );
        let keys = ReadingKey::select(&[ReadingKey::meter_id]);
        assert!(Record::from_json_selecting(line, keys).is_err());
        // Not JSON at all is an error whatever is selected.
        assert!(Record::from_json_selecting(r#"{"type":"reading","x":[}"#, keys).is_err());
    }

    #[test]
    fn other_records_are_unchanged_by_a_selection() {
        let line = r#"{"type":"relay","time":"2024-06-01T12:00:00+02:00","load":"boiler","state":"on","reason":"r"}"#;
        let keys = ReadingKey::select(&[]);
        let Record::Relay(event) = Record::from_json_selecting(line, keys).unwrap() else {
            panic!("a relay record");
        };
        assert_eq!(
            (event.load.as_str(), event.state),
            ("boiler", SwitchState::On)
        );
    }

    /// What only the deserializer reads.
    fn deserialized(line: &str, wanted: Option<Selection<Reading>>) -> String {
        let record = Record::read(
            serde_json::Deserializer::from_str(line),
            line.as_bytes(),
            wanted,
        );
        format!("{record:?}")
    }

    /// The lines of the golden readings, as p1-parse writes them.
    fn golden_lines() -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/golden");
        let mut lines = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            lines.extend(
                text.lines()
                    .filter(|l| l.starts_with(r#"{"type":"reading""#))
                    .map(str::to_string),
            );
        }
        lines
    }

    fn selections() -> [Option<Selection<Reading>>; 4] {
        [
            None,
            Some(ReadingKey::select(&[])),
            Some(ReadingKey::select(&[
                ReadingKey::time,
                ReadingKey::power_import_kw,
                ReadingKey::meter_id,
            ])),
            Some(Selection::fields_where(|f| f.line_type.is_some(), true)),
        ]
    }

    fn read(line: &str, wanted: Option<Selection<Reading>>) -> String {
        format!(
            "{:?}",
            match wanted {
                Some(wanted) => Record::from_json_selecting(line, wanted),
                None => Record::from_json(line),
            }
        )
    }

    /// Issue 22: the scanned path reads every golden reading as the deserializer does.
    #[test]
    fn scanned_readings_are_the_deserialized_ones() {
        let lines = golden_lines();
        assert!(lines.len() >= 15);
        for line in &lines {
            for wanted in selections() {
                assert_eq!(read(line, wanted), deserialized(line, wanted), "{line}");
            }
        }
    }

    /// `line` with one byte changed (`edit` 0), added (1) or taken out (2) at `at`.
    fn edited(line: &str, at: usize, byte: u8, edit: u8) -> String {
        let mut line = line.as_bytes().to_vec();
        let at = at % (line.len() + 1);
        match edit {
            0 if at < line.len() => line[at] = byte,
            1 => line.insert(at, byte),
            _ if at < line.len() => {
                line.remove(at);
            }
            _ => {}
        }
        String::from_utf8(line).expect("ASCII edits of UTF-8")
    }

    proptest::proptest! {
        /// Any change to a reading's line (a byte replaced, put in or taken out), read with any
        /// selection: the same record or the same error as the deserializer alone gives.
        #[test]
        fn a_changed_line_reads_as_the_deserializer_reads_it(
            which in 0usize..64, at in 0usize..2000, byte in proptest::sample::select(br#" {}[]:,"\0123456789.-+eEtrufalsn_ax"#.to_vec()), edit in 0u8..3, selection in 0usize..4,
        ) {
            let lines = golden_lines();
            let line = edited(&lines[which % lines.len()], at, byte, edit);
            let wanted = selections()[selection];
            proptest::prop_assert_eq!(read(&line, wanted), deserialized(&line, wanted), "{}", line);
        }
    }

    /// Envelope lines as p1-read writes them: plain, passed on invalid, decrypted.
    fn envelope_lines() -> Vec<String> {
        let telegram = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/telegrams/fluvius_v171.txt"
        ))
        .unwrap();
        let envelope = |invalid: Option<&str>, title: Option<&str>, counter: Option<u32>| {
            serde_json::to_string(&Record::Telegram(TelegramEnvelope {
                received: "2020-05-12T13:54:10.012+02:00".into(),
                source: "/dev/ttyUSB0".into(),
                telegram: telegram.as_str().into(),
                invalid: invalid.map(Cow::Borrowed),
                system_title: title.map(Cow::Borrowed),
                frame_counter: counter,
            }))
            .unwrap()
        };
        vec![
            envelope(None, None, None),
            envelope(Some("CRC mismatch"), None, None),
            envelope(None, Some("53414733"), Some(1002)),
        ]
    }

    /// Issue 22: the scanned path reads envelopes as the deserializer does.
    #[test]
    fn scanned_envelopes_are_the_deserialized_ones() {
        for line in envelope_lines() {
            assert_eq!(read(&line, None), deserialized(&line, None), "{line}");
            let Ok(Record::Telegram(envelope)) = Record::from_json(&line) else {
                panic!("an envelope");
            };
            assert!(
                envelope
                    .telegram
                    .text()
                    .starts_with("/FLU5\\253769484_A\r\n")
            );
        }
    }

    proptest::proptest! {
        /// Any change to an envelope's line: the same record or the same error as the
        /// deserializer alone gives.
        #[test]
        fn a_changed_envelope_reads_as_the_deserializer_reads_it(
            which in 0usize..3, at in 0usize..1600, byte in proptest::sample::select(br#" {}[]:,"\0123456789.-+etrfalsn_xu"#.to_vec()), edit in 0u8..3,
        ) {
            let line = edited(&envelope_lines()[which], at, byte, edit);
            proptest::prop_assert_eq!(read(&line, None), deserialized(&line, None), "{}", line);
        }
    }

    #[test]
    fn escaped_keys_and_keys_twice_are_read_as_the_deserializer_reads_them() {
        for line in [
            r#"{"type":"reading","power\u005fimport_kw":1.5}"#,
            r#"{"type":"reading","power_import_kw":1.5,"power_import_kw":2.5}"#,
            r#"{"type":"reading","power_import_kw":-0,"tariff":7}"#,
            r#"{"type":"reading","power_import_kw":1e400}"#,
            r#"{"type":"reading","tariff":4294967296}"#,
            r#"{"type":"reading" , "time":null,"meter_id":"a\"b"}"#,
        ] {
            for wanted in selections() {
                assert_eq!(read(line, wanted), deserialized(line, wanted), "{line}");
            }
        }
    }
}
