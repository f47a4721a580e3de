//! The price rules: whether a load's rules on the price want it on in a quarter hour, and
//! why. Decided once a quarter hour (a quarter's price does not change within it), on the
//! meter's clock, so that the days of 92 and 100 quarter hours count as they are.

use chrono::{DateTime, Days, NaiveDateTime, Timelike as _};
use p1_common::protocol::meter_time::ClockZone;

use crate::config::{Load, Need, Window};
use crate::input::Time;
use crate::prices::{Prices, QUARTER_S, Quarter};

/// A need's rest short of this is met: a load switched on a little after its quarter began
/// is not given a whole quarter more for the seconds it missed.
const NEED_SLACK_S: f64 = 60.0;

/// The meter's clock at `t`: its offset, less an hour in summer (EU summer time).
pub(crate) fn zone_of(t: Time) -> ClockZone {
    let offset = t.offset().local_minus_utc();
    let (_, summer) = ClockZone::from_offset_secs(offset).local_time(t.naive_utc());
    ClockZone::from_offset_secs(offset - if summer { 3600 } else { 0 })
}

fn local(zone: ClockZone, q: Quarter) -> NaiveDateTime {
    let utc = DateTime::from_timestamp(q, 0)
        .unwrap_or_default()
        .naive_utc();
    zone.local_time(utc).0
}

/// The quarter hour a local time falls in.
fn at_local(zone: ClockZone, local: NaiveDateTime) -> Quarter {
    let utc = zone.utc_of_local(local).and_utc().timestamp();
    utc.div_euclid(QUARTER_S) * QUARTER_S
}

/// Minutes since local midnight.
fn minute_of_day(zone: ClockZone, q: Quarter) -> u32 {
    let here = local(zone, q);
    here.hour() * 60 + here.minute()
}

/// `minute` minutes after the local midnight that starts `day`.
fn on_day(zone: ClockZone, day: chrono::NaiveDate, minute: u32) -> Quarter {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    at_local(
        zone,
        midnight + chrono::Duration::minutes(i64::from(minute)),
    )
}

/// The occurrence of `window` that holds `q`: its start and end.
pub(crate) fn occurrence(
    window: Window,
    zone: ClockZone,
    q: Quarter,
) -> Option<(Quarter, Quarter)> {
    let minute = minute_of_day(zone, q);
    if !window.contains(minute) {
        return None;
    }
    let mut day = local(zone, q).date();
    if window.wraps() && minute < window.end_min {
        day = day.pred_opt()?;
    }
    let end_day = if window.wraps() {
        day.checked_add_days(Days::new(1))?
    } else {
        day
    };
    Some((
        on_day(zone, day, window.start_min),
        on_day(zone, end_day, window.end_min),
    ))
}

/// The first time after `q` the meter's clock shows `minute` (minutes since midnight).
fn next_at(zone: ClockZone, q: Quarter, minute: u32) -> Quarter {
    let day = local(zone, q).date();
    let today = on_day(zone, day, minute);
    if today > q {
        return today;
    }
    day.checked_add_days(Days::new(1))
        .map_or(today + 86_400, |next| on_day(zone, next, minute))
}

/// When a load's day ends: at the end of its window, midnight when it has none.
pub(crate) fn day_end(load: &Load, zone: ClockZone, q: Quarter) -> Quarter {
    next_at(zone, q, load.window.map_or(0, |w| w.end_min))
}

/// The quarter hours from `from` to `to`.
fn quarters(from: Quarter, to: Quarter) -> impl Iterator<Item = Quarter> {
    (from..to).step_by(QUARTER_S as usize)
}

/// The `n` cheapest of `candidates`: by price, ties to the earlier; a quarter with no price
/// only when the priced ones are too few, and then the latest first (what runs late leaves
/// the most time for the sun).
fn cheapest(prices: &Prices, candidates: impl Iterator<Item = Quarter>, n: usize) -> Vec<Quarter> {
    let mut all: Vec<(Quarter, Option<f64>)> =
        candidates.map(|q| (q, prices.of_quarter(q))).collect();
    all.sort_by(|a, b| match (a.1, b.1) {
        (Some(x), Some(y)) => x.total_cmp(&y).then(a.0.cmp(&b.0)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => b.0.cmp(&a.0),
    });
    all.truncate(n);
    all.into_iter().map(|(q, _)| q).collect()
}

/// What a load has run in its day so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Progress {
    /// When the day ends (see [`day_end`]); none before the first quarter.
    pub(crate) day_end: Option<Quarter>,
    /// Seconds on, for any reason.
    pub(crate) on_s: f64,
    /// Seconds on while no price rule wanted it (on the surplus).
    pub(crate) on_surplus_s: f64,
}

impl Progress {
    /// A new day when `q` is past the end of the running one.
    pub(crate) fn roll(&mut self, load: &Load, zone: ClockZone, q: Quarter) {
        if self.day_end.is_none_or(|end| q >= end) {
            *self = Progress {
                day_end: Some(day_end(load, zone, q)),
                ..Progress::default()
            };
        }
    }

    /// `seconds` more on; on the surplus unless a price rule `wanted` it.
    pub(crate) fn add(&mut self, seconds: f64, wanted: bool) {
        self.on_s += seconds;
        if !wanted {
            self.on_surplus_s += seconds;
        }
    }
}

/// Why the price rules want a load on in a quarter hour.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Want {
    pub(crate) reason: String,
    /// The quarter's price, when known.
    pub(crate) price: Option<f64>,
}

/// Whether `load`'s price rules want it on in quarter `q`, with its day's `progress`.
pub(crate) fn want(
    load: &Load,
    prices: &Prices,
    zone: ClockZone,
    q: Quarter,
    progress: &Progress,
) -> Option<Want> {
    let price = prices.of_quarter(q);
    let wanted = |reason: String| Some(Want { reason, price });
    if let (Some(limit), Some(p)) = (load.price_below, price)
        && p <= limit
    {
        return wanted(format!("price {p:.3} <= {limit:.3} EUR/kWh"));
    }
    if let Some(rule) = load.cheapest
        && let Some((from, to)) = occurrence(rule.within, zone, q)
        && quarters(from, to).all(|q| prices.of_quarter(q).is_some())
        && cheapest(prices, quarters(from, to), rule.slots as usize).contains(&q)
    {
        let all = quarters(from, to).count();
        return wanted(format!(
            "cheapest {} of {all} slots in {}",
            rule.slots, rule.within
        ));
    }
    let need = load.need()?;
    let needed_s = match need {
        Need::Kwh(kwh) if load.power_kw > 0.0 => kwh / load.power_kw * 3600.0,
        Need::Kwh(_) => 0.0,
        Need::Hours(hours) => hours * 3600.0,
    };
    let rest_s = needed_s - progress.on_s - NEED_SLACK_S;
    if rest_s <= 0.0 {
        return None;
    }
    let end = progress.day_end.unwrap_or_else(|| day_end(load, zone, q));
    let open = quarters(q, end).filter(|&x| {
        load.window
            .is_none_or(|w| w.contains(minute_of_day(zone, x)))
    });
    let n = (rest_s / QUARTER_S as f64).ceil() as usize;
    if !cheapest(prices, open, n).contains(&q) {
        return None;
    }
    let surplus_h = progress.on_surplus_s / 3600.0;
    wanted(match need {
        Need::Kwh(kwh) => format!(
            "need {kwh:.1} kWh: {:.1} kWh from surplus, rest in the cheapest slots",
            surplus_h * load.power_kw
        ),
        Need::Hours(hours) => {
            format!("need {hours:.1} h: {surplus_h:.1} h from surplus, rest in the cheapest slots")
        }
    })
}

/// Whether `load` absorbs the export at `price` (any export, not only `on_export_kw`'s).
pub(crate) fn absorbs(load: &Load, price: Option<f64>, export_kw: f64) -> bool {
    export_kw > 0.0
        && load
            .absorb_export_below
            .zip(price)
            .is_some_and(|(limit, p)| p <= limit)
}

/// Quarter `q` on the meter's clock, with its offset.
pub(crate) fn time_of(zone: ClockZone, q: Quarter) -> Time {
    let utc = DateTime::from_timestamp(q, 0).unwrap_or_default();
    let offset = (local(zone, q) - utc.naive_utc()).num_seconds();
    let offset = chrono::FixedOffset::east_opt(i32::try_from(offset).unwrap_or(0))
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("UTC"));
    utc.with_timezone(&offset)
}

/// `load`'s window, when quarter `q` is outside it.
pub(crate) fn outside_window(load: &Load, zone: ClockZone, q: Quarter) -> Option<Window> {
    load.window.filter(|w| !w.contains(minute_of_day(zone, q)))
}
