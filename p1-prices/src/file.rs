//! The price file: the old file's slots that have not ended, and the new day's (a new slot
//! in the place of an old one with the same start), in time order, written to a new file
//! that is then renamed over the old, so that p1-relay never reads half a file.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};
use p1_common::Error;
use p1_common::contract::price::{PriceRecord, read_price_file};
use p1_common::protocol::meter_time::MeterTime;

use crate::day::brussels;

/// A slot as it is written: UTC bounds and the all-in price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Priced {
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
    pub(crate) value: f64,
}

/// The slots of the file at `path` that end after `now` (none when there is no file).
pub(crate) fn still_to_come(path: &Path, now: DateTime<Utc>) -> Vec<Priced> {
    let Ok(text) = fs::read_to_string(path) else {
        return Vec::new();
    };
    read_price_file(&text)
        .slots
        .into_iter()
        .filter(|s| s.end.with_timezone(&Utc) > now)
        .map(|s| Priced {
            start: s.start.with_timezone(&Utc),
            end: s.end.with_timezone(&Utc),
            value: s.value,
        })
        .collect()
}

/// `old` with `new` in place, in time order.
pub(crate) fn merge(old: Vec<Priced>, new: &[Priced]) -> Vec<Priced> {
    let mut all: Vec<Priced> = old
        .into_iter()
        .filter(|o| !new.iter().any(|n| n.start == o.start))
        .chain(new.iter().copied())
        .collect();
    all.sort_by_key(|p| p.start);
    all
}

/// Writes `slots` to `path` at once: a new file beside it, renamed over it.
pub(crate) fn write(path: &Path, slots: &[Priced]) -> Result<(), Error> {
    let mut text = String::with_capacity(slots.len() * 100);
    for s in slots {
        let record = PriceRecord {
            start: MeterTime::from_datetime(brussels(s.start)),
            end: MeterTime::from_datetime(brussels(s.end)),
            value: (s.value * 1e6).round() / 1e6,
        };
        let line = serde_json::to_string(&record)
            .map_err(|e| Error::failure(format!("cannot write a price: {e}")))?;
        text.push_str(&line);
        text.push('\n');
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".new");
    let new = path.with_file_name(name);
    let written = fs::File::create(&new).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    written.and_then(|()| fs::rename(&new, path)).map_err(|e| {
        let _ = fs::remove_file(&new);
        Error::io(format!("--out {}", path.display()), e)
    })
}
