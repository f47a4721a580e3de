//! The values of the configuration that are more than a number: durations (`90s`, `5m`,
//! `1h30m`) and daily windows (`08:00-20:00`).

use std::fmt;
use std::time::Duration;

use p1_common::runtime::duration::{self, BadDuration};
use serde::{Deserialize, Deserializer};

/// A daily window in local time, `08:00-20:00`; it may wrap past midnight (`22:00-06:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) start_min: u32,
    pub(crate) end_min: u32,
}

impl Window {
    pub(crate) fn parse(text: &str) -> Result<Window, ValueError> {
        let bad = || ValueError::Window(text.to_string());
        let (start, end) = text.split_once('-').ok_or_else(bad)?;
        let minutes = |t: &str| -> Option<u32> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h <= 24 && m < 60 && h * 60 + m <= 1440).then(|| h * 60 + m)
        };
        Ok(Window {
            start_min: minutes(start).ok_or_else(bad)?,
            end_min: minutes(end).ok_or_else(bad)?,
        })
    }

    /// How many quarter hours it holds (a day's at most; 24 hours when it starts where it ends).
    pub(crate) fn quarters(self) -> u32 {
        let minutes = (self.end_min + 1440 - self.start_min) % 1440;
        if minutes == 0 { 96 } else { minutes / 15 }
    }

    /// Whether it runs past midnight.
    pub(crate) fn wraps(self) -> bool {
        self.start_min > self.end_min
    }

    /// Whether a local time of day (minutes since midnight) is inside.
    pub(crate) fn contains(self, minute_of_day: u32) -> bool {
        if self.start_min <= self.end_min {
            (self.start_min..self.end_min).contains(&minute_of_day)
        } else {
            minute_of_day >= self.start_min || minute_of_day < self.end_min
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, e) = (self.start_min, self.end_min);
        write!(f, "{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60)
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Window::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A value in the file that is not what its key takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ValueError {
    Duration(String),
    Window(String),
    /// A duration past any use, which would overflow the arithmetic on times.
    TooLong(String),
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::Duration(text) => {
                write!(f, "'{text}' is not a duration like 90s, 5m or 1h")
            }
            ValueError::Window(text) => write!(f, "'{text}' is not a window like 08:00-20:00"),
            ValueError::TooLong(text) => write!(
                f,
                "'{text}' is longer than p1-relay takes ({} days at most)",
                MAX_DURATION.as_secs() / 86_400
            ),
        }
    }
}

/// The longest duration any key takes.
pub(crate) const MAX_DURATION: Duration = duration::MAX;

/// `90s`, `5m`, `1h`, `1h30m`, `500ms`, or a number of seconds; at most [`MAX_DURATION`].
pub(crate) fn parse_duration(text: &str) -> Result<Duration, ValueError> {
    duration::parse(text).map_err(|e| match e {
        BadDuration::Form(text) => ValueError::Duration(text),
        BadDuration::TooLong(text) => ValueError::TooLong(text),
    })
}

pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Seconds(s) if s < 0 => Err(serde::de::Error::custom(format!(
            "{s} is not a duration: it must be 0 or more, like 90s, 5m or 1h"
        ))),
        Raw::Seconds(s) => parse_duration(&s.to_string()).map_err(serde::de::Error::custom),
        Raw::Text(t) => parse_duration(&t).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parsing is p1-common's (tested there); the file's errors keep their kinds.
    #[test]
    fn durations_in_the_file_are_the_command_lines() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_mins(90)));
        assert_eq!(parse_duration("5d"), Err(ValueError::Duration("5d".into())));
        assert_eq!(
            parse_duration("8785h"),
            Err(ValueError::TooLong("8785h".into()))
        );
        assert_eq!(parse_duration("8784h"), Ok(MAX_DURATION));
    }

    #[test]
    fn windows_including_past_midnight() {
        let day = Window::parse("08:00-20:00").unwrap();
        assert!(day.contains(8 * 60) && day.contains(19 * 60 + 59));
        assert!(!day.contains(20 * 60) && !day.contains(7 * 60 + 59));
        let night = Window::parse("22:00-06:00").unwrap();
        assert!(night.contains(23 * 60) && night.contains(5 * 60));
        assert!(!night.contains(12 * 60));
        assert!(Window::parse("8-20").is_err());
        // Issue 13: a huge hour is refused, not overflowed.
        assert!(Window::parse("4294967295:00-10:00").is_err());
        assert_eq!(day.to_string(), "08:00-20:00");
    }
}
