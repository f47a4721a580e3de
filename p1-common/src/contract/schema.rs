//! Every record type, documented from its declaration: its keys with their values and
//! meanings, for `man 5 p1` and the help texts. A record type is declared with
//! [`record_type!`](crate::record_type), which writes the struct and its [`Documented`]
//! table from one list of keys, so that a key cannot be added without its documentation.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::contract::envelope::{TelegramEnvelope, TelegramText};
use crate::contract::events::{PeakRecord, RelayEvent, SwitchState};
use crate::contract::field::wrap;
use crate::contract::price::PriceRecord;
use crate::contract::reading;
use crate::contract::report::{DayReport, MonthReport};
use crate::protocol::meter_time::MeterTime;

/// One key of a record type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Its name.
    pub name: &'static str,
    /// The kind of value: text, number, integer, timestamp, or the values it takes.
    pub value: &'static str,
    /// Whether it is left out when there is nothing to say.
    pub optional: bool,
    /// What it means.
    pub doc: &'static str,
}

/// A record type with its documentation.
pub trait Documented {
    /// Its `"type"`.
    const TYPE: &'static str;
    /// What it is, in one sentence.
    const ABOUT: &'static str;
    /// Every key but `type`, in the order they are written.
    const KEYS: &'static [Key];
}

/// What a key's value is, in the words of the schema.
pub trait KeyValue {
    /// The kind of value, as [`Key::value`] says it.
    const VALUE: &'static str;
    /// Whether the key is left out when there is nothing to say (an `Option`).
    const OPTIONAL: bool = false;
}

impl KeyValue for MeterTime {
    const VALUE: &'static str = "timestamp";
}

impl KeyValue for String {
    const VALUE: &'static str = "text";
}

impl KeyValue for Cow<'_, str> {
    const VALUE: &'static str = "text";
}

impl KeyValue for TelegramText<'_> {
    const VALUE: &'static str = "text";
}

impl KeyValue for f64 {
    const VALUE: &'static str = "number";
}

impl KeyValue for u32 {
    const VALUE: &'static str = "integer";
}

impl KeyValue for SwitchState {
    const VALUE: &'static str = "\"on\" or \"off\"";
}

impl<T: KeyValue> KeyValue for Option<T> {
    const VALUE: &'static str = T::VALUE;
    const OPTIONAL: bool = true;
}

/// Declares a record type: the struct, written with `"type":"<name>"` first, and its
/// [`Documented`] table. Each key is `name: Type => "what it is"`, after its serde
/// attributes; the text is the key's doc comment too.
#[macro_export]
macro_rules! record_type {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident $(<$lt:lifetime>)? ($kind:literal, $about:literal) {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty => $doc:literal, )+
        }
    ) => {
        #[doc = $about]
        $(#[$meta])*
        #[serde(tag = "type", rename = $kind)]
        $vis struct $name $(<$lt>)? {
            $(
                #[doc = $doc]
                $(#[$field_meta])*
                pub $field: $ty,
            )+
        }

        impl $(<$lt>)? $crate::contract::schema::Documented for $name $(<$lt>)? {
            const TYPE: &'static str = $kind;
            const ABOUT: &'static str = $about;
            const KEYS: &'static [$crate::contract::schema::Key] = &[$(
                $crate::contract::schema::Key {
                    name: stringify!($field),
                    value: <$ty as $crate::contract::schema::KeyValue>::VALUE,
                    optional: <$ty as $crate::contract::schema::KeyValue>::OPTIONAL,
                    doc: $doc,
                },
            )+];
        }
    };
}

/// A record type as `man 5 p1` documents it.
#[derive(Debug, Clone)]
pub struct RecordDoc {
    /// Its `"type"`.
    pub kind: &'static str,
    /// What it is.
    pub about: &'static str,
    /// Its keys, as a table (a reading's with the prose around it).
    pub keys: String,
}

impl RecordDoc {
    fn of<R: Documented>() -> Self {
        RecordDoc {
            kind: R::TYPE,
            about: R::ABOUT,
            keys: key_table::<R>(),
        }
    }
}

/// Every record type of the stream, in the order a record flows through the pipeline.
pub fn records() -> Vec<RecordDoc> {
    vec![
        RecordDoc::of::<TelegramEnvelope<'_>>(),
        RecordDoc {
            kind: "reading",
            about: "One telegram's values (p1-parse, one a valid telegram).",
            keys: reading::schema(),
        },
        RecordDoc::of::<RelayEvent>(),
        RecordDoc::of::<PeakRecord>(),
        RecordDoc::of::<PriceRecord>(),
    ]
}

/// The records p1-report writes (`--format json`): the end of a stream, not part of it.
pub fn report_records() -> Vec<RecordDoc> {
    vec![RecordDoc::of::<DayReport>(), RecordDoc::of::<MonthReport>()]
}

/// The key table of a record type, as `man 5 p1` and the help texts print it.
pub fn key_table<R: Documented>() -> String {
    let width = R::KEYS
        .iter()
        .map(|k| k.name.len())
        .max()
        .unwrap_or(0)
        .max(4)
        + 2;
    let value_width = R::KEYS.iter().map(|k| k.value.len()).max().unwrap_or(0) + 2;
    let mut text = format!(
        "  {:<width$}{:<value_width$}\n",
        "type",
        format!("\"{}\"", R::TYPE)
    );
    for key in R::KEYS {
        let doc = if key.optional {
            format!("{} (absent when none)", key.doc)
        } else {
            key.doc.to_string()
        };
        let mut first = true;
        for line in wrap(
            &doc,
            78usize.saturating_sub(2 + width + value_width).max(30),
        ) {
            if first {
                let _ = writeln!(
                    text,
                    "  {:<width$}{:<value_width$}{line}",
                    key.name, key.value
                );
                first = false;
            } else {
                let _ = writeln!(text, "  {:<width$}{:<value_width$}{line}", "", "");
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::record::Record;

    /// Every type the stream knows is documented, once.
    #[test]
    fn every_record_type_is_documented() {
        let kinds: Vec<&str> = records().iter().map(|r| r.kind).collect();
        assert_eq!(kinds, Record::KINDS);
        assert!(
            records()
                .iter()
                .all(|r| !r.keys.is_empty() && r.about.ends_with('.'))
        );
    }

    /// Every key a record is written with is documented, and nothing else is.
    fn documented_keys_are_the_written_keys<R: Documented + serde::Serialize>(example: &R) {
        let json = serde_json::to_value(example).expect("serialises");
        let written: Vec<&str> = json
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "type")
            .collect();
        let mut documented: Vec<&str> = R::KEYS.iter().map(|k| k.name).collect();
        documented.sort_unstable();
        let mut written = written;
        written.sort_unstable();
        assert_eq!(written, documented, "{}", R::TYPE);
        assert_eq!(json["type"], R::TYPE);
    }

    #[test]
    fn every_written_key_is_documented() {
        let time = MeterTime::parse_rfc3339("2024-06-12T10:31:00+02:00").expect("a time");
        documented_keys_are_the_written_keys(&TelegramEnvelope {
            received: "2024-06-12T10:31:00.100+02:00".into(),
            source: "sim".into(),
            telegram: "/X\r\n!".into(),
            invalid: Some("truncated".into()),
            system_title: Some("5341470000000001".into()),
            frame_counter: Some(1),
        });
        documented_keys_are_the_written_keys(&RelayEvent {
            time,
            load: "boiler".into(),
            state: SwitchState::On,
            reason: "manual mode on".into(),
            price: Some(-0.012),
        });
        documented_keys_are_the_written_keys(&PeakRecord {
            time,
            quarter_start: time,
            elapsed_s: 60,
            average_kw: 1.2,
            projected_kw: 1.4,
            month_peak_kw: Some(3.1),
            budget_kw: 2.9,
            headroom_kw: 1.6,
            allowed_kw: 2.8,
        });
    }

    #[test]
    fn key_tables_align_and_say_what_may_be_absent() {
        let table = key_table::<RelayEvent>();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0].trim_end(), "  type    \"relay\"");
        assert!(lines[1].starts_with("  time    timestamp"), "{table}");
        let column = lines[1].find("when, on").expect("the doc");
        assert!(
            lines.iter().skip(1).all(|l| l.len() > column),
            "every row has a doc: {table}"
        );
        assert!(key_table::<PeakRecord>().contains("(absent when none)"));
    }
}
