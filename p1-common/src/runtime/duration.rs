//! Durations as users type them, on a command line as in a configuration file: `90s`, `5m`,
//! `1h30m`, `250ms`, or a bare number of seconds.

use std::fmt;
use std::time::Duration;

/// The longest duration taken: a year is more than any delay or timer needs, and keeps sums
/// of times far from overflowing.
pub const MAX: Duration = Duration::from_hours(8784);

/// Text that is no duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadDuration {
    /// Not of the form `90s`, `5m`, `1h30m`, `250ms` or a number of seconds.
    Form(String),
    /// Longer than [`MAX`].
    TooLong(String),
}

impl fmt::Display for BadDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadDuration::Form(text) => {
                write!(
                    f,
                    "'{text}' is not a duration like 90s, 5m, 1h or a number of seconds"
                )
            }
            BadDuration::TooLong(text) => write!(
                f,
                "'{text}' is longer than any duration taken ({} days at most)",
                MAX.as_secs() / 86_400
            ),
        }
    }
}

impl std::error::Error for BadDuration {}

/// `90s`, `5m`, `1h`, `1h30m`, `500ms`, or a number of seconds; at most [`MAX`].
pub fn parse(text: &str) -> Result<Duration, BadDuration> {
    let text = text.trim();
    let total = sum(text)?;
    if total > MAX {
        return Err(BadDuration::TooLong(text.to_string()));
    }
    Ok(total)
}

/// [`parse`] for clap's `value_parser`.
pub fn arg(text: &str) -> Result<Duration, BadDuration> {
    parse(text)
}

fn sum(text: &str) -> Result<Duration, BadDuration> {
    let bad = || BadDuration::Form(text.to_string());
    let too_long = || BadDuration::TooLong(text.to_string());
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    if text.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let value: u64 = rest[..digits].parse().map_err(|_| too_long())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Some(Duration::from_millis(value)),
            "s" => Some(Duration::from_secs(value)),
            "m" | "min" => value.checked_mul(60).map(Duration::from_secs),
            "h" => value.checked_mul(3600).map(Duration::from_secs),
            _ => return Err(bad()),
        };
        total = unit
            .and_then(|unit| total.checked_add(unit))
            .ok_or_else(too_long)?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("5m"), Ok(Duration::from_mins(5)));
        assert_eq!(parse("1h"), Ok(Duration::from_hours(1)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_mins(90)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("45"), Ok(Duration::from_secs(45)));
        for bad in ["", "s", "5 minutes", "-5s", "5d", "m5"] {
            assert_eq!(parse(bad), Err(BadDuration::Form(bad.into())));
        }
        // Issue 13: durations that wrapped or overflowed the sums of times.
        for long in [
            "9999999999999999h",
            "5124095576030432h",
            "8785h",
            "99999999999999999999s",
        ] {
            assert!(parse(long).is_err(), "{long} was taken");
        }
    }
}
