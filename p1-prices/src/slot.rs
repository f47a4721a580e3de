//! A price slot as the sources give it: UTC bounds and the market's price.

use chrono::{DateTime, Utc};

/// One slot of a day's prices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Slot {
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
    /// EUR a kWh, before `--add` and `--multiply`.
    pub(crate) eur_kwh: f64,
}

/// What a source answered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    /// The day's slots.
    Prices(Vec<Slot>),
    /// The day's prices are not published yet, as the source says.
    NotYet(String),
}
