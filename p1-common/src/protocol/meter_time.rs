//! Meter timestamps (`YYMMDDhhmmssX`) to RFC 3339 with their UTC offset.
//!
//! The meter's clock shows local time. The offset follows the EU summer-time rule (summer time
//! from the last Sunday of March to the last Sunday of October, switching at 01:00 UTC) on a
//! base offset (+01:00 for Belgium and the Netherlands). The `S`/`W` letter decides only where
//! the rule cannot: in the hour that October repeats, and in the hour that March skips. Where the
//! letter contradicts the date (real meters send `200301000000S`), the rule wins.

use std::cell::RefCell;
use std::convert::Infallible;
use std::fmt;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDateTime, Timelike};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::protocol::number::PAIRS;
use crate::protocol::recent::Recent;
use crate::protocol::scan::pack16;

/// The meter's time zone: its standard (winter) offset from UTC; summer adds one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockZone {
    base_offset_secs: i32,
}

impl Default for ClockZone {
    /// Central European Time, as in Belgium and the Netherlands.
    fn default() -> Self {
        ClockZone {
            base_offset_secs: 3600,
        }
    }
}

/// A time zone that is not a UTC offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAnOffset(pub String);

impl fmt::Display for NotAnOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' is not a UTC offset like +01:00", self.0)
    }
}

impl std::error::Error for NotAnOffset {}

impl ClockZone {
    /// The zone of a meter whose winter time is `base_offset_secs` east of UTC, with the
    /// EU's summer time.
    pub const fn from_offset_secs(base_offset_secs: i32) -> Self {
        ClockZone { base_offset_secs }
    }

    /// Parses `+01:00`, `-03:30`, `+00:00` (or `Z`).
    pub fn parse(text: &str) -> Result<Self, NotAnOffset> {
        let bad = || NotAnOffset(text.to_string());
        if text == "Z" {
            return Ok(ClockZone {
                base_offset_secs: 0,
            });
        }
        let bytes = text.as_bytes();
        if bytes.len() != 6 || bytes[3] != b':' {
            return Err(bad());
        }
        let sign = match bytes[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return Err(bad()),
        };
        let hours: i32 = text[1..3].parse().map_err(|_| bad())?;
        let minutes: i32 = text[4..6].parse().map_err(|_| bad())?;
        if hours > 14 || minutes > 59 {
            return Err(bad());
        }
        Ok(ClockZone {
            base_offset_secs: sign * (hours * 3600 + minutes * 60),
        })
    }

    /// The offset in force at a local time (in seconds, as if it were UTC) in `year`, `letter`
    /// being the meter's `S`/`W` flag.
    fn offset_at_secs(self, local_secs: i64, year: i64, letter: Option<u8>) -> i32 {
        let winter = self.base_offset_secs;
        let summer = winter + 3600;
        // The switches are in March and October: the local year is the UTC year there.
        let (start, end) = summer_time_bounds(year);
        let winter_fits = !(start..end).contains(&(local_secs - i64::from(winter)));
        let summer_fits = (start..end).contains(&(local_secs - i64::from(summer)));
        match (winter_fits, summer_fits) {
            (true, false) => winter,
            (false, true) => summer,
            // The hour October repeats (both fit) or March skips (neither does).
            _ if letter == Some(b'S') => summer,
            _ if letter == Some(b'W') => winter,
            // No letter (DSMR 2.2/3): the first of the repeated hours, the later of the skipped.
            (true, true) => summer,
            (false, false) => winter,
        }
    }
}

impl ClockZone {
    /// The meter's clock at a UTC instant: local time, and whether it is summer time.
    pub fn local_time(self, utc: NaiveDateTime) -> (NaiveDateTime, bool) {
        let summer = is_summer_time(utc);
        let offset = self.base_offset_secs + if summer { 3600 } else { 0 };
        (utc + Duration::seconds(i64::from(offset)), summer)
    }

    /// The UTC instant of a local time on this clock, by the same rule as the meter's
    /// timestamps (with no letter: the first of October's repeated hours).
    pub fn utc_of_local(self, local: NaiveDateTime) -> NaiveDateTime {
        let local_secs = local.and_utc().timestamp();
        let offset = self.offset_at_secs(local_secs, i64::from(local.year()), None);
        local - Duration::seconds(i64::from(offset))
    }

    /// The meter's `YYMMDDhhmmssX` text for a UTC instant.
    pub fn meter_text(self, utc: NaiveDateTime) -> String {
        let (local, summer) = self.local_time(utc);
        format!(
            "{}{}",
            local.format("%y%m%d%H%M%S"),
            if summer { 'S' } else { 'W' }
        )
    }
}

/// Whether EU summer time is in force at a UTC instant.
fn is_summer_time(utc: NaiveDateTime) -> bool {
    is_summer_secs(utc.and_utc().timestamp())
}

/// Whether EU summer time is in force at a Unix time: from 01:00 UTC on the last Sunday of
/// March to 01:00 UTC on the last Sunday of October. Integer arithmetic only: this runs for
/// every timestamp of every telegram.
fn is_summer_secs(utc: i64) -> bool {
    let (start, end) = summer_time_bounds(civil_year(utc.div_euclid(86_400)));
    (start..end).contains(&utc)
}

/// Start and end of summer time in `year`, Unix seconds: looked up for the years a meter
/// writes (20YY), since every timestamp of every telegram needs them.
fn summer_time_bounds(year: i64) -> (i64, i64) {
    /// The bounds of 2000 to 2099, worked out at compile time.
    const METER_YEARS: [(i64, i64); 100] = {
        let mut bounds = [(0, 0); 100];
        let mut i = 0;
        while i < 100 {
            bounds[i] = summer_time_bounds_of(2000 + i as i64);
            i += 1;
        }
        bounds
    };
    match usize::try_from(year - 2000) {
        Ok(i) if i < METER_YEARS.len() => METER_YEARS[i],
        _ => summer_time_bounds_of(year),
    }
}

const fn summer_time_bounds_of(year: i64) -> (i64, i64) {
    (
        last_sunday(year, 3) * 86_400 + 3600,
        last_sunday(year, 10) * 86_400 + 3600,
    )
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The year of a day number (inverse of [`days_from_civil`] for the year only).
fn civil_year(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

/// Day number of the last Sunday of a 31-day month.
const fn last_sunday(year: i64, month: i64) -> i64 {
    let last = days_from_civil(year, month, 31);
    // 1970-01-01 was a Thursday: (days + 4) mod 7 is 0 on Sundays.
    last - (last + 4).rem_euclid(7)
}

/// A timestamp as a reading carries it: the meter's local date and time with the UTC offset in
/// force, or unset where the meter sent a placeholder (its clock unset: `632525252525W`,
/// `000101010000W`, `700101010000W`, or an impossible date). Written as RFC 3339
/// (`2020-05-12T14:55:52+02:00`) or `null`. Kept as fields, not as a chrono value: a telegram
/// carries dozens of timestamps and the output is the meter's own digits plus the offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterTime(Option<Stamp>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    offset_minutes: i16,
}

impl Stamp {
    /// `"YYYY-MM-DDThh:mm:ss+hh:mm"` with its quotes. A reading writes the same timestamps
    /// reading after reading: the last ones written are kept, per thread, by their fields.
    fn quoted(&self) -> [u8; 27] {
        thread_local! {
            static WRITTEN: RefCell<Recent<[u8; 27], 64>> = const { RefCell::new(Recent::new([0; 27])) };
        }
        let key = u128::from(self.year)
            | u128::from(self.month) << 16
            | u128::from(self.day) << 24
            | u128::from(self.hour) << 32
            | u128::from(self.minute) << 40
            | u128::from(self.second) << 48
            | u128::from(self.offset_minutes as u16) << 56
            | 1 << 127;
        let quoted = WRITTEN.with_borrow_mut(|written| {
            written.get(key, || -> Result<_, Infallible> {
                let mut quoted = [b'"'; 27];
                quoted[1..26].copy_from_slice(&MeterTime::rfc3339(self));
                Ok(quoted)
            })
        });
        let Ok(quoted) = quoted;
        quoted
    }
}

/// A timestamp that is not 12 digits with an optional `S` or `W`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadTimestamp;

/// Dates meters write for "not set": 2063-25-25 (DSMR's all-`FF` date read as digits), and
/// 2000-01-01 and 1970-01-01 at any hour (a clock or an M-Bus slot never set).
const PLACEHOLDER_DATES: [&[u8; 6]; 3] = [b"632525", b"000101", b"700101"];

/// A meter timestamp's digits and its summer/winter letter, upper case, if it has one.
fn split_letter(text: &[u8]) -> (&[u8], Option<u8>) {
    match text.split_last() {
        Some((&last @ (b'S' | b'W' | b's' | b'w'), rest)) => {
            (rest, Some(last.to_ascii_uppercase()))
        }
        _ => (text, None),
    }
}

impl MeterTime {
    /// The timestamp of a placeholder: `null`.
    pub const UNSET: MeterTime = MeterTime(None);

    /// Whether it is a real time, not a placeholder.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// Whether a value has the shape of a meter timestamp: 12 digits or more (the unset DLMS
    /// form has 17), then `S`, `W` or nothing. Cheaper than parsing it, and no unit (a bare
    /// `W` is one) passes for it.
    pub fn looks_like(text: &[u8]) -> bool {
        let (digits, _) = split_letter(text);
        digits.len() >= 12 && digits.iter().all(u8::is_ascii_digit)
    }

    /// Reads `YYMMDDhhmmss` with an optional `S`/`W`.
    ///
    /// A telegram carries the same timestamps telegram after telegram (the months of the
    /// peak history, the peaks, the gas reading's hour): the last ones read are kept, per
    /// thread, and found again by their text.
    pub fn parse(text: &[u8], zone: ClockZone) -> Result<MeterTime, BadTimestamp> {
        thread_local! {
            static READ: RefCell<Recent<MeterTime, 256>> = const { RefCell::new(Recent::new(MeterTime::UNSET)) };
        }
        // The text (13 bytes at most) and the zone's offset in minutes, side by side.
        let key = pack16(text)
            .filter(|_| text.len() <= 13)
            .map(|text| text | u128::from((zone.base_offset_secs / 60) as u16) << 104 | 1 << 127);
        match key {
            Some(key) => {
                READ.with_borrow_mut(|read| read.get(key, || MeterTime::parse_uncached(text, zone)))
            }
            None => MeterTime::parse_uncached(text, zone),
        }
    }

    fn parse_uncached(text: &[u8], zone: ClockZone) -> Result<MeterTime, BadTimestamp> {
        let (digits, letter) = split_letter(text);
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(BadTimestamp);
        }
        // The DLMS "not specified" date-time written byte by byte in decimal, as the
        // Landis+Gyr E360 does in its peak history: `35255255255255255S`.
        if digits.len() > 12 && digits.windows(3).any(|w| w == b"255") {
            return Ok(MeterTime::UNSET);
        }
        let Ok(digits) = <&[u8; 12]>::try_from(digits) else {
            return Err(BadTimestamp);
        };
        if PLACEHOLDER_DATES.iter().any(|date| digits[..6] == **date) {
            return Ok(MeterTime::UNSET);
        }
        let pair = |i: usize| (digits[i] - b'0') * 10 + (digits[i + 1] - b'0');
        let (year, month, day) = (2000 + u16::from(pair(0)), pair(2), pair(4));
        let (hour, minute, second) = (pair(6), pair(8), pair(10));
        if !is_calendar_time(year, month, day, hour, minute, second) {
            return Ok(MeterTime::UNSET);
        }
        let local_secs = days_from_civil(i64::from(year), i64::from(month), i64::from(day))
            * 86_400
            + i64::from(hour) * 3600
            + i64::from(minute) * 60
            + i64::from(second);
        let offset = zone.offset_at_secs(local_secs, i64::from(year), letter);
        let offset_minutes = (offset / 60) as i16;
        Ok(MeterTime::at(
            (year, month, day),
            (hour, minute, second),
            offset_minutes,
        ))
    }

    /// A set time from its checked fields.
    fn at(date: (u16, u8, u8), time: (u8, u8, u8), offset_minutes: i16) -> MeterTime {
        let ((year, month, day), (hour, minute, second)) = (date, time);
        MeterTime(Some(Stamp {
            year,
            month,
            day,
            hour,
            minute,
            second,
            offset_minutes,
        }))
    }

    /// Reads `YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm)`, the form every p1 program writes,
    /// without chrono's general parser (a reading carries dozens of timestamps); `None` for
    /// anything else, which chrono then reads. A fraction of a second is dropped.
    pub fn parse_rfc3339(text: &str) -> Option<MeterTime> {
        let b = text.as_bytes();
        let Some(
            &[
                y0,
                y1,
                y2,
                y3,
                b'-',
                m0,
                m1,
                b'-',
                d0,
                d1,
                t,
                h0,
                h1,
                b':',
                i0,
                i1,
                b':',
                s0,
                s1,
            ],
        ) = b.get(..19)
        else {
            return None;
        };
        if !matches!(t, b'T' | b't' | b' ') {
            return None;
        }
        // Two ASCII digits to their value, or None: no loop, no table.
        let two = |hi: u8, lo: u8| -> Option<u8> {
            let (hi, lo) = (hi.wrapping_sub(b'0'), lo.wrapping_sub(b'0'));
            (hi < 10 && lo < 10).then(|| hi * 10 + lo)
        };
        let year = u16::from(two(y0, y1)?) * 100 + u16::from(two(y2, y3)?);
        let (month, day) = (two(m0, m1)?, two(d0, d1)?);
        let (hour, minute, second) = (two(h0, h1)?, two(i0, i1)?, two(s0, s1)?);
        let mut rest = &b[19..];
        if let [b'.', fraction @ ..] = rest {
            let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
            rest = &fraction[digits..];
        }
        let offset_minutes = match *rest {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let [h1, h2, m1, m2] = [h1, h2, m1, m2].map(|c| c.wrapping_sub(b'0'));
                if h1 > 9 || h2 > 9 || m1 > 9 || m2 > 9 {
                    return None;
                }
                let minutes = i16::from(h1 * 10 + h2) * 60 + i16::from(m1 * 10 + m2);
                if sign == b'-' { -minutes } else { minutes }
            }
            _ => return None,
        };
        let valid = is_calendar_time(year, month, day, hour, minute, second)
            && offset_minutes.abs() < 24 * 60;
        valid.then(|| MeterTime::at((year, month, day), (hour, minute, second), offset_minutes))
    }

    /// From a chrono time (its local fields and offset are kept).
    pub fn from_datetime(time: DateTime<FixedOffset>) -> MeterTime {
        let local = time.naive_local();
        let Ok(year) = u16::try_from(local.year()) else {
            return MeterTime::UNSET;
        };
        MeterTime(Some(Stamp {
            year,
            month: local.month() as u8,
            day: local.day() as u8,
            hour: local.hour() as u8,
            minute: local.minute() as u8,
            second: local.second() as u8,
            offset_minutes: (time.offset().local_minus_utc() / 60) as i16,
        }))
    }

    /// Seconds since the Unix epoch, UTC.
    pub fn timestamp(&self) -> Option<i64> {
        self.0.map(|s| {
            days_from_civil(i64::from(s.year), i64::from(s.month), i64::from(s.day)) * 86_400
                + i64::from(s.hour) * 3600
                + i64::from(s.minute) * 60
                + i64::from(s.second)
                - i64::from(s.offset_minutes) * 60
        })
    }

    /// As a chrono time with its offset.
    pub fn datetime(&self) -> Option<DateTime<FixedOffset>> {
        let offset = FixedOffset::east_opt(i32::from(self.0?.offset_minutes) * 60)?;
        Some(DateTime::from_timestamp(self.timestamp()?, 0)?.with_timezone(&offset))
    }

    /// `YYYY-MM-DDThh:mm:ss+hh:mm`, as text.
    fn format<'b>(s: &Stamp, buf: &'b mut [u8; 25]) -> &'b str {
        *buf = MeterTime::rfc3339(s);
        // Digits and punctuation only: always valid.
        std::str::from_utf8(&buf[..]).unwrap_or("")
    }

    /// `YYYY-MM-DDThh:mm:ss+hh:mm`, as bytes.
    fn rfc3339(s: &Stamp) -> [u8; 25] {
        let pair = |v: u8| PAIRS[usize::from(v % 100)];
        let offset = s.offset_minutes.unsigned_abs();
        let [c0, c1] = pair((s.year / 100 % 100) as u8);
        let [y0, y1] = pair((s.year % 100) as u8);
        let [m0, m1] = pair(s.month);
        let [d0, d1] = pair(s.day);
        let [h0, h1] = pair(s.hour);
        let [i0, i1] = pair(s.minute);
        let [s0, s1] = pair(s.second);
        let [oh0, oh1] = pair((offset / 60 % 100) as u8);
        let [om0, om1] = pair((offset % 60) as u8);
        let sign = if s.offset_minutes < 0 { b'-' } else { b'+' };
        [
            c0, c1, y0, y1, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', i0, i1, b':', s0, s1,
            sign, oh0, oh1, b':', om0, om1,
        ]
    }
}

/// A date that exists and a time of day (no leap second).
fn is_calendar_time(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> bool {
    (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

impl fmt::Display for MeterTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(stamp) => f.write_str(MeterTime::format(stamp, &mut [0; 25])),
            None => f.write_str("null"),
        }
    }
}

impl MeterTime {
    /// The JSON of [`Serialize`]: the quoted timestamp, or `null`.
    pub(crate) fn write_quoted(&self, out: &mut Vec<u8>) {
        match &self.0 {
            Some(stamp) => out.extend_from_slice(&stamp.quoted()),
            None => out.extend_from_slice(b"null"),
        }
    }
}

impl Serialize for MeterTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(stamp) => serializer.serialize_str(MeterTime::format(stamp, &mut [0; 25])),
            None => serializer.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for MeterTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(MeterTimeVisitor)
    }
}

/// Reads the text where it lies (no allocation): a reading carries dozens of timestamps.
struct MeterTimeVisitor;

impl<'de> serde::de::Visitor<'de> for MeterTimeVisitor {
    type Value = MeterTime;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<MeterTime, E> {
        Ok(MeterTime::UNSET)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<MeterTime, E> {
        Ok(MeterTime::UNSET)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<MeterTime, D::Error> {
        deserializer.deserialize_str(self)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<MeterTime, E> {
        match MeterTime::parse_rfc3339(text) {
            Some(time) => Ok(time),
            None => DateTime::parse_from_rfc3339(text)
                .map(MeterTime::from_datetime)
                .map_err(E::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the record fuzz target (issue 13): a digit pair that is not digits overflowed
    /// while its value was computed (a panic in debug builds), before it was found wrong.
    #[test]
    fn a_timestamp_with_signs_for_digits_is_refused_without_a_panic_regression_13() {
        assert_eq!(MeterTime::parse_rfc3339("2020-05-12T-3:54:09+02:00"), None);
        assert_eq!(
            MeterTime::parse_rfc3339("2020-05-12T\u{ff}3:54:09+02:00"),
            None
        );
    }
    use chrono::NaiveDate;

    fn at(text: &str) -> String {
        MeterTime::parse(text.as_bytes(), ClockZone::default())
            .unwrap()
            .to_string()
    }

    /// Each meter text reads as its RFC 3339 time.
    #[track_caller]
    fn reads_as(cases: &[(&str, &str)]) {
        for &(text, time) in cases {
            assert_eq!(at(text), time, "{text}");
        }
    }

    #[test]
    fn rfc3339_read_fast_as_chrono_reads_it() {
        for text in [
            "2020-05-12T14:55:52+02:00",
            "2024-06-01T12:00:01.500+02:00",
            "2023-11-02T12:15:48Z",
            "1999-12-31T23:59:59-05:30",
            "2024-02-29T00:00:00+01:00",
        ] {
            let slow = MeterTime::from_datetime(DateTime::parse_from_rfc3339(text).unwrap());
            assert_eq!(MeterTime::parse_rfc3339(text), Some(slow), "{text}");
        }
        for text in [
            "2023-02-29T00:00:00+01:00",
            "2024-06-01T24:00:00Z",
            "2024-06-01",
            "2024-06-01T12:00:00+0200",
        ] {
            assert_eq!(MeterTime::parse_rfc3339(text), None, "{text}");
        }
    }

    #[test]
    fn summer_and_winter_follow_the_date() {
        reads_as(&[
            ("200512145552S", "2020-05-12T14:55:52+02:00"),
            ("231102121548W", "2023-11-02T12:15:48+01:00"),
            ("161107190000", "2016-11-07T19:00:00+01:00"),
        ]);
    }

    #[test]
    fn the_table_of_meter_years_gives_the_computed_bounds_and_known_dates() {
        for year in 1990..2110 {
            assert_eq!(
                summer_time_bounds(year),
                summer_time_bounds_of(year),
                "{year}"
            );
        }
        // 2024: from 31 March 01:00 UTC to 27 October 01:00 UTC.
        let utc = |text: &str| {
            chrono::DateTime::parse_from_rfc3339(text)
                .unwrap()
                .timestamp()
        };
        assert_eq!(
            summer_time_bounds(2024),
            (utc("2024-03-31T01:00:00Z"), utc("2024-10-27T01:00:00Z"))
        );
        assert_eq!(
            summer_time_bounds(2099),
            (utc("2099-03-29T01:00:00Z"), utc("2099-10-25T01:00:00Z"))
        );
    }

    #[test]
    fn the_rule_wins_over_a_wrong_letter() {
        reads_as(&[
            ("200301000000S", "2020-03-01T00:00:00+01:00"),
            ("200701000000W", "2020-07-01T00:00:00+02:00"),
        ]);
    }

    #[test]
    fn the_letter_decides_the_repeated_october_hour() {
        // 2023-10-29: clocks go back at 03:00 CEST to 02:00 CET.
        reads_as(&[
            ("231029023000S", "2023-10-29T02:30:00+02:00"),
            ("231029023000W", "2023-10-29T02:30:00+01:00"),
            ("231029013000W", "2023-10-29T01:30:00+02:00"),
            ("231029030000S", "2023-10-29T03:00:00+01:00"),
        ]);
    }

    #[test]
    fn the_letter_decides_the_skipped_march_hour() {
        // 2024-03-31: clocks go forward at 02:00 CET to 03:00 CEST.
        reads_as(&[
            ("240331023000S", "2024-03-31T02:30:00+02:00"),
            ("240331023000W", "2024-03-31T02:30:00+01:00"),
            ("240331015959S", "2024-03-31T01:59:59+01:00"),
            ("240331030000W", "2024-03-31T03:00:00+02:00"),
        ]);
    }

    #[test]
    fn another_base_offset_for_ireland() {
        let zone = ClockZone::parse("+00:00").unwrap();
        let t = |s: &str| MeterTime::parse(s.as_bytes(), zone).unwrap().to_string();
        assert_eq!(t("230202132747S"), "2023-02-02T13:27:47+00:00");
        assert_eq!(t("230702132747S"), "2023-07-02T13:27:47+01:00");
    }

    #[test]
    fn placeholders_and_impossible_dates_are_null() {
        for text in [
            "632525252525W",
            "000101010000W",
            "700101010000W",
            "632525252525S",
            "231302000000W",
        ] {
            assert_eq!(
                MeterTime::parse(text.as_bytes(), ClockZone::default()),
                Ok(MeterTime(None)),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_timestamps_are_errors() {
        for text in [
            "",
            "2005121455",
            "200512145552X",
            "20051214555aS",
            "200512145552SS",
        ] {
            assert_eq!(
                MeterTime::parse(text.as_bytes(), ClockZone::default()),
                Err(BadTimestamp),
                "{text}"
            );
        }
    }

    #[test]
    fn meter_text_round_trips_through_the_rule() {
        let zone = ClockZone::default();
        let mut utc = NaiveDate::from_ymd_opt(2023, 10, 28)
            .and_then(|d| d.and_hms_opt(22, 0, 0))
            .unwrap();
        for _ in 0..(6 * 60) {
            let text = zone.meter_text(utc);
            let back = MeterTime::parse(text.as_bytes(), zone).unwrap();
            assert_eq!(back.timestamp(), Some(utc.and_utc().timestamp()), "{text}");
            utc += Duration::minutes(1);
        }
    }

    #[test]
    fn utc_of_local_inverts_local_time() {
        for zone in [ClockZone::default(), ClockZone::from_offset_secs(0)] {
            for (y, m, d, h) in [
                (2024, 1, 1, 0),
                (2024, 7, 1, 0),
                (2023, 11, 1, 0),
                (2024, 3, 31, 3),
                (2023, 10, 29, 1),
            ] {
                let local = NaiveDate::from_ymd_opt(y, m, d)
                    .and_then(|d| d.and_hms_opt(h, 0, 0))
                    .unwrap();
                assert_eq!(
                    zone.local_time(zone.utc_of_local(local)).0,
                    local,
                    "{local}"
                );
            }
        }
        // Belgium: 1 July 00:00 is 30 June 22:00 UTC.
        let local = NaiveDate::from_ymd_opt(2024, 7, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap();
        assert_eq!(
            ClockZone::default().utc_of_local(local).to_string(),
            "2024-06-30 22:00:00"
        );
    }

    #[test]
    fn integer_calendar_agrees_with_chrono() {
        for days in (-800_000..800_000).step_by(97) {
            let date = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + Duration::days(days);
            assert_eq!(civil_year(days), i64::from(date.year()), "{date}");
            assert_eq!(
                days_from_civil(
                    i64::from(date.year()),
                    i64::from(date.month()),
                    i64::from(date.day())
                ),
                days
            );
        }
        // Last Sundays: 2024-03-31 and 2024-10-27, 2023-03-26 and 2023-10-29.
        let day = |y, m, d| days_from_civil(y, m, d);
        assert_eq!(last_sunday(2024, 3), day(2024, 3, 31));
        assert_eq!(last_sunday(2024, 10), day(2024, 10, 27));
        assert_eq!(last_sunday(2023, 3), day(2023, 3, 26));
        assert_eq!(last_sunday(2023, 10), day(2023, 10, 29));
    }

    #[test]
    fn zone_offsets_parse() {
        assert_eq!(
            ClockZone::parse("+01:00"),
            Ok(ClockZone::from_offset_secs(3600))
        );
        assert_eq!(
            ClockZone::parse("-03:30"),
            Ok(ClockZone::from_offset_secs(-12600))
        );
        assert!(ClockZone::parse("1").is_err());
        assert!(ClockZone::parse("+1:00").is_err());
    }

    #[test]
    fn serde_round_trip() {
        let t = MeterTime::parse(b"200512145552S", ClockZone::default()).unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2020-05-12T14:55:52+02:00\"");
        assert_eq!(serde_json::from_str::<MeterTime>(&json).unwrap(), t);
        assert_eq!(
            serde_json::from_str::<MeterTime>("null").unwrap(),
            MeterTime(None)
        );
    }
}
