//! Meter timestamps (`YYMMDDhhmmssX`) to RFC 3339 with their UTC offset.
//!
//! The meter's clock shows local time. The offset follows the EU summer-time rule (summer time
//! from the last Sunday of March to the last Sunday of October, switching at 01:00 UTC) on a
//! base offset (+01:00 for Belgium and the Netherlands). The `S`/`W` letter decides only where
//! the rule cannot: in the hour that October repeats, and in the hour that March skips. Where the
//! letter contradicts the date (real meters send `200301000000S`), the rule wins.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, Timelike};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

impl ClockZone {
    pub fn from_offset_secs(base_offset_secs: i32) -> Self {
        ClockZone { base_offset_secs }
    }

    /// Parses `+01:00`, `-03:30`, `+00:00` (or `Z`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("'{text}' is not a UTC offset like +01:00");
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

    /// The offset in force at a local time shown by the meter, `letter` being its `S`/`W` flag.
    fn offset_at(self, local: NaiveDateTime, letter: Option<u8>) -> i32 {
        let winter = self.base_offset_secs;
        let summer = winter + 3600;
        let utc_if_winter = local - Duration::seconds(i64::from(winter));
        let utc_if_summer = local - Duration::seconds(i64::from(summer));
        let winter_fits = !is_summer_time(utc_if_winter);
        let summer_fits = is_summer_time(utc_if_summer);
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
    let year = utc.year();
    let start = last_sunday(year, 3).and_hms_opt(1, 0, 0);
    let end = last_sunday(year, 10).and_hms_opt(1, 0, 0);
    match (start, end) {
        (Some(start), Some(end)) => start <= utc && utc < end,
        _ => false,
    }
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let last = NaiveDate::from_ymd_opt(year, month, 31).unwrap_or(NaiveDate::MIN);
    let back = last.weekday().num_days_from_sunday();
    last - Duration::days(i64::from(back))
}

/// A timestamp as a reading carries it: `None` where the meter sent a placeholder (its clock
/// unset: `632525252525W`, `000101010000W`, `700101010000W`, or an impossible date); written as
/// RFC 3339 with the offset (`2020-05-12T14:55:52+02:00`) or `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterTime(pub Option<DateTime<FixedOffset>>);

/// A timestamp that is not 12 digits with an optional `S` or `W`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadTimestamp;

const PLACEHOLDERS: [&[u8]; 3] = [b"632525252525", b"000101010000", b"700101010000"];

impl MeterTime {
    /// Reads `YYMMDDhhmmss` with an optional `S`/`W`.
    pub fn parse(text: &[u8], zone: ClockZone) -> Result<MeterTime, BadTimestamp> {
        let (digits, letter) = match text.len() {
            12 => (text, None),
            13 if matches!(text[12], b'S' | b'W' | b's' | b'w') => {
                (&text[..12], Some(text[12].to_ascii_uppercase()))
            }
            _ => return Err(BadTimestamp),
        };
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(BadTimestamp);
        }
        if PLACEHOLDERS.contains(&digits) {
            return Ok(MeterTime(None));
        }
        let pair = |i: usize| u32::from(digits[i] - b'0') * 10 + u32::from(digits[i + 1] - b'0');
        let local = NaiveDate::from_ymd_opt(2000 + pair(0) as i32, pair(2), pair(4))
            .and_then(|d| d.and_hms_opt(pair(6), pair(8), pair(10)));
        let Some(local) = local else {
            return Ok(MeterTime(None));
        };
        let offset = zone.offset_at(local, letter);
        let time = FixedOffset::east_opt(offset).and_then(|o| local.and_local_timezone(o).single());
        Ok(MeterTime(time))
    }

    /// Writes `YYYY-MM-DDThh:mm:ss+hh:mm` into `buf`, returning the text.
    fn format<'b>(time: &DateTime<FixedOffset>, buf: &'b mut [u8; 32]) -> &'b str {
        fn two(buf: &mut [u8], at: usize, v: u32) {
            buf[at] = b'0' + (v / 10 % 10) as u8;
            buf[at + 1] = b'0' + (v % 10) as u8;
        }
        let year = time.year();
        if !(0..=9999).contains(&year) {
            return "";
        }
        let year = year as u32;
        two(buf, 0, year / 100);
        two(buf, 2, year % 100);
        buf[4] = b'-';
        two(buf, 5, time.month());
        buf[7] = b'-';
        two(buf, 8, time.day());
        buf[10] = b'T';
        two(buf, 11, time.hour());
        buf[13] = b':';
        two(buf, 14, time.minute());
        buf[16] = b':';
        two(buf, 17, time.second());
        let offset = time.offset().local_minus_utc();
        buf[19] = if offset < 0 { b'-' } else { b'+' };
        let offset = offset.unsigned_abs() / 60;
        two(buf, 20, offset / 60);
        buf[22] = b':';
        two(buf, 23, offset % 60);
        std::str::from_utf8(&buf[..25]).unwrap_or("")
    }
}

impl fmt::Display for MeterTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(time) => f.write_str(MeterTime::format(time, &mut [0; 32])),
            None => f.write_str("null"),
        }
    }
}

impl Serialize for MeterTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(time) => serializer.serialize_str(MeterTime::format(time, &mut [0; 32])),
            None => serializer.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for MeterTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text: Option<std::borrow::Cow<'de, str>> = Option::deserialize(deserializer)?;
        match text {
            None => Ok(MeterTime(None)),
            Some(text) => DateTime::parse_from_rfc3339(&text)
                .map(|t| MeterTime(Some(t)))
                .map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> String {
        MeterTime::parse(text.as_bytes(), ClockZone::default())
            .unwrap()
            .to_string()
    }

    #[test]
    fn summer_and_winter_follow_the_date() {
        assert_eq!(at("200512145552S"), "2020-05-12T14:55:52+02:00");
        assert_eq!(at("231102121548W"), "2023-11-02T12:15:48+01:00");
        assert_eq!(at("161107190000"), "2016-11-07T19:00:00+01:00");
    }

    #[test]
    fn the_rule_wins_over_a_wrong_letter() {
        assert_eq!(at("200301000000S"), "2020-03-01T00:00:00+01:00");
        assert_eq!(at("200701000000W"), "2020-07-01T00:00:00+02:00");
    }

    #[test]
    fn the_letter_decides_the_repeated_october_hour() {
        // 2023-10-29: clocks go back at 03:00 CEST to 02:00 CET.
        assert_eq!(at("231029023000S"), "2023-10-29T02:30:00+02:00");
        assert_eq!(at("231029023000W"), "2023-10-29T02:30:00+01:00");
        assert_eq!(at("231029013000W"), "2023-10-29T01:30:00+02:00");
        assert_eq!(at("231029030000S"), "2023-10-29T03:00:00+01:00");
    }

    #[test]
    fn the_letter_decides_the_skipped_march_hour() {
        // 2024-03-31: clocks go forward at 02:00 CET to 03:00 CEST.
        assert_eq!(at("240331023000S"), "2024-03-31T02:30:00+02:00");
        assert_eq!(at("240331023000W"), "2024-03-31T02:30:00+01:00");
        assert_eq!(at("240331015959S"), "2024-03-31T01:59:59+01:00");
        assert_eq!(at("240331030000W"), "2024-03-31T03:00:00+02:00");
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
            let back = MeterTime::parse(text.as_bytes(), zone).unwrap().0.unwrap();
            assert_eq!(back.naive_utc(), utc, "{text}");
            utc += Duration::minutes(1);
        }
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
