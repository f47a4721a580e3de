//! Reading a whole object into a field: one value of several, the month's peak (a time and
//! a value in either order), the 13-month peak history and the power-failure log. An object
//! that is another profile under a known code is told apart here (`Ok(None)`).

use crate::contract::reading_values::{DemandPeak, PowerFailure, Spare};
use crate::protocol::meter_time::{ClockZone, MeterTime};
use crate::protocol::number::{parse_unsigned, split_unit};
use crate::protocol::obis::{Object, Values};
use crate::protocol::values::{Measure, Quantity, Unit, ValueDecode, timestamp};

/// How a field reads its object: which of its values, read how.
pub trait Decode {
    /// What the field holds.
    type Value;
    /// What the field measures.
    fn measure(&self) -> Measure {
        Measure::Other
    }
    /// Whether the object, by its unit, is this field's (one code may carry several fields,
    /// told apart by the unit: the limiter in kW or in A).
    fn accepts(&self, _object: &Object<'_>) -> bool {
        true
    }
    /// The value; `Ok(None)` for another profile under the same code (kept under `unknown`
    /// without a warning).
    ///
    /// # Errors
    /// What is wrong with a line that is this field's but cannot be read.
    fn decode(
        &self,
        object: &Object<'_>,
        zone: ClockZone,
        spare: &mut Spare,
    ) -> Result<Option<Self::Value>, &'static str>;
}

/// A part of the month's peak `1-0:1.6.0`, a time and a value in kW in either order: e-MUCS
/// sends the time first, Walloon ORES/RESA meters the value.
#[derive(Debug, Clone, Copy)]
pub struct MonthPeak<V> {
    /// The time (else the value).
    pub time_part: bool,
    /// The part's reader.
    pub value: V,
}

impl<V: ValueDecode> Decode for MonthPeak<V> {
    type Value = V::Value;
    fn measure(&self) -> Measure {
        self.value.measure()
    }
    fn decode(
        &self,
        object: &Object<'_>,
        zone: ClockZone,
        spare: &mut Spare,
    ) -> Result<Option<V::Value>, &'static str> {
        let [first, second] = exactly::<2>(object)?;
        let time_first = MeterTime::looks_like(first);
        let raw = if self.time_part == time_first {
            first
        } else {
            second
        };
        self.value.value_in(raw, zone, spare).map(Some)
    }
}

/// Value `index` of an object with exactly `count` values.
#[derive(Debug, Clone, Copy)]
pub struct Nth<V> {
    /// Which value, from 0.
    pub index: usize,
    /// How many values the object has.
    pub count: usize,
    /// The value's reader.
    pub value: V,
}

/// The one value of a single-valued object.
pub const fn one<V>(value: V) -> Nth<V> {
    Nth {
        index: 0,
        count: 1,
        value,
    }
}

/// Value `index` of `count`.
pub const fn nth<V>(index: usize, count: usize, value: V) -> Nth<V> {
    Nth {
        index,
        count,
        value,
    }
}

impl<V: ValueDecode> Decode for Nth<V> {
    type Value = V::Value;
    fn measure(&self) -> Measure {
        self.value.measure()
    }
    fn accepts(&self, object: &Object<'_>) -> bool {
        match object.values().nth(self.index) {
            Some(Ok(value)) => self.value.accepts(value),
            _ => true,
        }
    }
    fn decode(
        &self,
        object: &Object<'_>,
        zone: ClockZone,
        spare: &mut Spare,
    ) -> Result<Option<V::Value>, &'static str> {
        if self.count == 1
            && let Some(raw) = object.only_value()
        {
            return self.value.value_in(raw, zone, spare).map(Some);
        }
        let mut values = object.values();
        let mut wanted = None;
        for i in 0..self.count {
            let value = values
                .next()
                .ok_or("too few values")?
                .map_err(|_| "malformed value list")?;
            if i == self.index {
                wanted = Some(value);
            }
        }
        if values.next().is_some() {
            return Err("too many values");
        }
        let raw = wanted.ok_or("too few values")?;
        self.value.value_in(raw, zone, spare).map(Some)
    }
}

/// Not read from any object (set from the envelope or the header line).
#[derive(Debug, Clone, Copy)]
pub struct NotDecoded;

impl Decode for NotDecoded {
    type Value = String;
    fn decode(
        &self,
        _: &Object<'_>,
        _: ClockZone,
        _: &mut Spare,
    ) -> Result<Option<String>, &'static str> {
        Ok(None)
    }
}

/// `0-0:98.1.0`: `(N)(1-0:1.6.0)(1-0:1.6.0)` then N times `(month)(time)(value*kW)`; another
/// profile under the same code (Hungarian meters send monthly registers there) is not this.
#[derive(Debug, Clone, Copy)]
pub struct DemandHistory;

impl Decode for DemandHistory {
    type Value = Vec<DemandPeak>;
    fn decode(
        &self,
        object: &Object<'_>,
        zone: ClockZone,
        spare: &mut Spare,
    ) -> Result<Option<Vec<DemandPeak>>, &'static str> {
        // A meter sends the same history for a month: read once, copied after.
        let mut peaks = spare.peaks();
        if spare.history.recall(object.raw_values, &mut peaks) {
            return Ok(Some(peaks));
        }
        let peaks = DemandHistory::read(object, zone, peaks)?;
        if let Some(peaks) = &peaks {
            spare.history.remember(object.raw_values, peaks);
        }
        Ok(peaks)
    }
}

impl DemandHistory {
    /// The history, into `peaks`.
    fn read(
        object: &Object<'_>,
        zone: ClockZone,
        mut peaks: Vec<DemandPeak>,
    ) -> Result<Option<Vec<DemandPeak>>, &'static str> {
        let mut values = object.values();
        let Some(count) = values.next().and_then(Result::ok).and_then(parse_unsigned) else {
            return Ok(None);
        };
        if count == 0 {
            return Ok(Some(peaks));
        }
        for _ in 0..2 {
            match values.next() {
                Some(Ok(b"1-0:1.6.0")) => {}
                _ => return Ok(None),
            }
        }
        // Timestamps are 13 bytes, `YYMMDDhhmmssX`, nearly always.
        let stamp = |values: &mut Values<'_>| match values.next_of_len(13) {
            Some(stamp) => timestamp(stamp, zone),
            None => timestamp(next_entry(values)?, zone),
        };
        for _ in 0..count {
            let month = stamp(&mut values)?;
            let time = stamp(&mut values)?;
            let kw = Quantity(Unit::KW).value(next_entry(&mut values)?, zone)?;
            peaks.push(DemandPeak { month, time, kw });
        }
        match values.next() {
            None => Ok(Some(peaks)),
            Some(_) => Err("more entries than announced"),
        }
    }
}

/// `1-0:99.97.0`: `(N)(0-0:96.7.19)` then N times `(end)(duration*s)`.
#[derive(Debug, Clone, Copy)]
pub struct FailureLog;

/// The duration a meter writes in an unused entry of its power-failure log.
const UNUSED_DURATION_S: u64 = 2_147_483_647;

impl Decode for FailureLog {
    type Value = Vec<PowerFailure>;
    fn decode(
        &self,
        object: &Object<'_>,
        zone: ClockZone,
        spare: &mut Spare,
    ) -> Result<Option<Vec<PowerFailure>>, &'static str> {
        // The log changes with a power failure: read once, copied after.
        let mut log = spare.failures();
        if spare.failure_log.recall(object.raw_values, &mut log) {
            return Ok(Some(log));
        }
        let log = FailureLog::read(object, zone, log)?;
        if let Some(log) = &log {
            spare.failure_log.remember(object.raw_values, log);
        }
        Ok(log)
    }
}

impl FailureLog {
    /// The log, into `log`.
    fn read(
        object: &Object<'_>,
        zone: ClockZone,
        mut log: Vec<PowerFailure>,
    ) -> Result<Option<Vec<PowerFailure>>, &'static str> {
        let mut values = object.values();
        let count = values
            .next()
            .ok_or("empty")?
            .map_err(|_| "malformed value list")?;
        // `1-0:99.97.0()` (Iskra AM550): an empty log.
        if count.is_empty() {
            return Ok(Some(log));
        }
        let count = parse_unsigned(count).ok_or("the entry count is not a number")?;
        if count == 0 {
            return Ok(Some(log));
        }
        let mut next = || next_entry(&mut values);
        next()?; // the object logged, 0-0:96.7.19
        for _ in 0..count {
            let end = timestamp(next()?, zone)?;
            let (number, unit) = split_unit(next()?);
            if unit.is_some_and(|u| !u.eq_ignore_ascii_case(b"s")) {
                return Err("unexpected unit");
            }
            let duration_s = parse_unsigned(number).ok_or("not a whole number of seconds")?;
            // The "unused" duration 2^31 - 1, or an unset end with no duration: a slot never
            // used. An unset end with a duration (Landis+Gyr E360, Kaifa: the meter did not
            // know the time when power came back) is a failure that happened: kept, its end
            // `null`.
            let unused = duration_s == UNUSED_DURATION_S || (!end.is_set() && duration_s == 0);
            if !unused {
                log.push(PowerFailure { end, duration_s });
            }
        }
        match values.next() {
            None => Ok(Some(log)),
            Some(_) => Err("more entries than announced"),
        }
    }
}

/// The one value of a single-valued object.
pub(crate) fn single<'a>(object: &Object<'a>) -> Result<&'a [u8], &'static str> {
    let [value] = exactly::<1>(object)?;
    Ok(value)
}

/// Exactly `N` values.
pub(crate) fn exactly<'a, const N: usize>(
    object: &Object<'a>,
) -> Result<[&'a [u8]; N], &'static str> {
    let mut out = [&[][..]; N];
    let mut values = object.values();
    for slot in &mut out {
        *slot = values
            .next()
            .ok_or("too few values")?
            .map_err(|_| "malformed value list")?;
    }
    match values.next() {
        None => Ok(out),
        Some(_) => Err("too many values"),
    }
}

/// The next value of a list whose length was announced.
fn next_entry<'a>(values: &mut Values<'a>) -> Result<&'a [u8], &'static str> {
    values
        .next()
        .ok_or("fewer entries than announced")?
        .map_err(|_| "malformed value list")
}
