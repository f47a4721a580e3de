//! The latest of everything, as the stdin loop last saw it: what every endpoint answers from.
//! The loop only stores; answers are made by the HTTP workers, per request.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use p1_common::contract::reading::Reading;
use p1_common::contract::record::{PeakRecord, RelayEvent};

#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) reading: Option<Reading>,
    /// The reading's line as it came (p1's own JSON).
    pub(crate) reading_line: Option<String>,
    pub(crate) reading_at: Option<Instant>,
    /// The last CRC-valid telegram, exactly as received.
    pub(crate) telegram: Option<String>,
    pub(crate) telegram_at: Option<Instant>,
    pub(crate) telegrams: u64,
    /// Frames passed on by `p1-read --keep-invalid` with a failed CRC.
    pub(crate) crc_errors: u64,
    pub(crate) peak: Option<PeakRecord>,
    /// Each load's latest event, by name.
    pub(crate) loads: BTreeMap<String, RelayEvent>,
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
