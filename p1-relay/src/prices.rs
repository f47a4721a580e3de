//! The price file p1-relay reads (`--prices FILE`): its slots by time, the price of a quarter
//! hour, and the file watched for a new version (a cron job renames a new one over it).

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use log::{info, warn};
use p1_common::Error;
use p1_common::contract::price::{PriceRecord, PriceSlot, load_price_file, slot_at};
use p1_common::protocol::meter_time::MeterTime;

use crate::input::Time;

/// A quarter hour, by the UTC second it starts at: every European offset is a whole number
/// of quarter hours, so local quarters and UTC quarters are the same.
pub(crate) type Quarter = i64;

/// The seconds of a quarter hour.
pub(crate) const QUARTER_S: i64 = 900;

/// The quarter hour `t` is in.
pub(crate) fn quarter_of(t: Time) -> Quarter {
    t.timestamp().div_euclid(QUARTER_S) * QUARTER_S
}

/// The slots of a price file, in time order (of any length: an hourly price covers four
/// quarter hours).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Prices {
    slots: Vec<PriceSlot>,
}

impl Prices {
    pub(crate) fn new(slots: Vec<PriceSlot>) -> Self {
        Prices { slots }
    }

    /// The price of a quarter hour: that of the slot holding its start.
    pub(crate) fn of_quarter(&self, quarter: Quarter) -> Option<f64> {
        slot_at(&self.slots, quarter).map(|s| s.value)
    }

    /// The slot holding `t`, as the stream's record, on `t`'s clock (the meter's offset,
    /// whatever the file's).
    pub(crate) fn record_at(&self, t: Time) -> Option<PriceRecord> {
        slot_at(&self.slots, t.timestamp()).map(|s| PriceRecord {
            start: MeterTime::from_datetime(s.start.with_timezone(t.offset())),
            end: MeterTime::from_datetime(s.end.with_timezone(t.offset())),
            value: s.value,
        })
    }

    /// The last end of a slot, when there are any.
    fn last_end(&self) -> Option<DateTime<FixedOffset>> {
        self.slots.last().map(|s| s.end)
    }
}

/// Reads the price file at `path` (its bad lines said and skipped).
pub(crate) fn read(path: &Path) -> Result<Prices, Error> {
    Ok(Prices::new(load_price_file(path)?.slots))
}

/// What tells one version of the file from the next (a new file renamed over the old has
/// another inode; one rewritten in place another length or time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    inode: u64,
    length: u64,
    modified_ns: i128,
}

fn version(path: &Path) -> Option<Version> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Version {
        inode: meta.ino(),
        length: meta.len(),
        modified_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
    })
}

/// The price file, read again whenever it changes.
#[derive(Debug)]
pub(crate) struct PriceFile {
    path: PathBuf,
    seen: Option<Version>,
}

impl PriceFile {
    pub(crate) fn new(path: PathBuf) -> Self {
        PriceFile { path, seen: None }
    }

    /// The file's slots when it is new or changed since it was last read (one `stat` when it
    /// is not). A file that cannot be read is said once, and the prices held are kept.
    pub(crate) fn changed(&mut self) -> Option<Prices> {
        let now = version(&self.path);
        if now == self.seen {
            return None;
        }
        self.seen = now;
        if now.is_none() {
            warn!(
                "{}: no price file (yet): the price rules wait for it",
                self.path.display()
            );
            return None;
        }
        match read(&self.path) {
            Ok(prices) => {
                match prices.last_end() {
                    Some(end) => info!(
                        "{}: prices until {}",
                        self.path.display(),
                        MeterTime::from_datetime(end)
                    ),
                    None => warn!("{}: no price slot in the file", self.path.display()),
                }
                Some(prices)
            }
            Err(e) => {
                warn!("{e}: the prices held are kept");
                None
            }
        }
    }
}
