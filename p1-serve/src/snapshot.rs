//! The latest of everything, as the stdin loop last saw it: what every endpoint answers from.
//! The loop only stores; answers are made by the HTTP workers, per request.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use p1_common::contract::live::Prices;
use p1_common::contract::reading::Reading;
use p1_common::contract::record::{PeakRecord, Record, RelayEvent};

use crate::history::Recorder;

#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// The latest reading's line as it came (p1's own JSON), read only when asked for: most
    /// readings are never.
    pub(crate) reading_line: Option<String>,
    pub(crate) reading_at: Option<Instant>,
    /// The last CRC-valid telegram, exactly as received.
    pub(crate) telegram: Option<String>,
    pub(crate) telegram_at: Option<Instant>,
    pub(crate) telegrams: u64,
    /// Frames passed on by `p1-read --keep-invalid` with a failed CRC.
    pub(crate) crc_errors: u64,
    /// The latest peak record's line as it came, read only when asked for.
    pub(crate) peak_line: Option<String>,
    /// Each load's latest event, by name.
    pub(crate) loads: BTreeMap<String, RelayEvent>,
    /// The last day's power, a minute a point.
    pub(crate) history: Recorder,
    /// The running price slot and the next day's.
    pub(crate) prices: Prices,
}

impl Snapshot {
    /// The latest reading, read from its line.
    pub(crate) fn reading(&self) -> Option<Reading> {
        match Record::from_json(self.reading_line.as_deref()?) {
            Ok(Record::Reading(reading)) => Some(reading.into_owned()),
            _ => None,
        }
    }

    /// The latest peak record, read from its line.
    pub(crate) fn peak(&self) -> Option<PeakRecord> {
        match Record::from_json(self.peak_line.as_deref()?) {
            Ok(Record::Peak(peak)) => Some(peak.into_owned()),
            _ => None,
        }
    }

    /// Keeps `line` as the latest reading's (in the room of the one before).
    pub(crate) fn keep_reading_line(&mut self, line: &str) {
        keep(&mut self.reading_line, line);
    }

    /// Keeps `line` as the latest peak record's.
    pub(crate) fn keep_peak_line(&mut self, line: &str) {
        keep(&mut self.peak_line, line);
    }
}

/// `line` in `slot`, in the room of the one before.
fn keep(slot: &mut Option<String>, line: &str) {
    let kept = slot.get_or_insert_with(String::new);
    kept.clear();
    kept.push_str(line);
}

impl Snapshot {
    /// Seconds since the latest reading, if any.
    pub(crate) fn reading_age(&self) -> Option<Duration> {
        self.reading_at.map(|at| at.elapsed())
    }
}

pub(crate) type Shared = Arc<RwLock<Snapshot>>;

/// Reads the snapshot, whatever became of a thread that held it.
pub(crate) fn read(shared: &Shared) -> std::sync::RwLockReadGuard<'_, Snapshot> {
    shared
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn write(shared: &Shared) -> std::sync::RwLockWriteGuard<'_, Snapshot> {
    shared
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
