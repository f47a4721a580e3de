//! What p1-serve serves to live views (its web page, `p1-watch --url`): everything the
//! views show at once (`/p1/now`), and the last 24 hours a minute a point (`/p1/history`).

use serde::{Deserialize, Serialize};

use crate::contract::events::{PeakRecord, RelayEvent};
use crate::contract::price::PriceRecord;
use crate::contract::reading::Reading;

/// `/p1/now`: the latest reading, peak record and each load's latest event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Now {
    /// The latest reading, if any.
    #[serde(default)]
    pub reading: Option<Reading>,
    /// Seconds since it came (by the server's clock).
    #[serde(default)]
    pub age_s: Option<f64>,
    /// Past this age the server calls its data stale.
    pub stale_after_s: f64,
    /// The latest peak record, if p1-relay writes them.
    #[serde(default)]
    pub peak: Option<PeakRecord>,
    /// Each load's latest event, by name.
    #[serde(default)]
    pub loads: Vec<RelayEvent>,
    /// The price of the running slot, if p1-relay --prices writes them.
    #[serde(default)]
    pub price: Option<PriceRecord>,
}

/// `/p1/prices`: the running slot and those of the next 24 hours.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// The slot p1-relay last wrote, if any.
    pub current: Option<PriceRecord>,
    /// From the running slot on, 24 hours of the price file (p1-serve --prices), else the
    /// running slot alone.
    pub next_24h: Vec<PriceRecord>,
}

/// `/p1/history`: a point a minute, oldest first, at most a day of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The minutes, oldest first.
    pub minutes: Vec<Minute>,
}

/// One minute's averages.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Minute {
    /// The minute's start, seconds since the epoch (UTC).
    pub t: i64,
    /// The meter's UTC offset then, in seconds.
    pub offset_s: i32,
    /// Import less export power, averaged over the minute's readings.
    pub net_kw: f64,
    /// Import power alone (what the capacity tariff's quarter hours average).
    pub import_kw: f64,
}
