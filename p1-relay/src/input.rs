//! What the relay takes from the stream: of each reading, its time and powers, the import
//! registers and the meter's demand figures (the rest of the line is skipped unparsed).

use chrono::{DateTime, FixedOffset};
use p1_common::contract::reading::{Reading, ReadingKey};
use p1_common::contract::select::Selection;

/// A time on the readings' clock.
pub(crate) type Time = DateTime<FixedOffset>;

/// What a reading tells the controller.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub(crate) time: Time,
    pub(crate) import_kw: f64,
    pub(crate) export_kw: f64,
    /// Import register total (tariffs summed), kWh.
    pub(crate) energy_import_kwh: Option<f64>,
    /// The meter's `1-0:1.4.0`.
    pub(crate) demand_avg_kw: Option<f64>,
    /// The meter's `1-0:1.6.0`.
    pub(crate) demand_max_month_kw: Option<f64>,
    /// How long after p1-relay started the reading came (wall clock).
    pub(crate) since_start: std::time::Duration,
}

/// The keys of a reading that [`sample`] reads.
pub(crate) const SAMPLE_KEYS: Selection<Reading> = ReadingKey::select(&[
    ReadingKey::time,
    ReadingKey::received,
    ReadingKey::power_import_kw,
    ReadingKey::power_export_kw,
    ReadingKey::demand_avg_kw,
    ReadingKey::demand_max_month_kw,
])
.and(Reading::IMPORT_KEYS);

/// Why a reading is not acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unusable {
    NoTime,
    NoPower,
    BadPower,
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unusable::NoTime => "the reading has no time nor received",
            Unusable::NoPower => "the reading lacks power_import_kw or power_export_kw",
            Unusable::BadPower => "the reading has a negative or non-finite power: not acted on",
        })
    }
}

/// What the controller takes from a reading that came `since_start` after p1-relay started.
pub(crate) fn sample(
    reading: &Reading,
    since_start: std::time::Duration,
) -> Result<Sample, Unusable> {
    let time = reading
        .time
        .and_then(|t| t.datetime())
        .or_else(|| {
            reading
                .received
                .as_deref()
                .and_then(|r| DateTime::parse_from_rfc3339(r).ok())
        })
        .ok_or(Unusable::NoTime)?;
    let (Some(import_kw), Some(export_kw)) = (reading.power_import_kw, reading.power_export_kw)
    else {
        return Err(Unusable::NoPower);
    };
    // A meter's powers are magnitudes: a negative import is no export, and NaN is nothing.
    if !(import_kw.is_finite() && export_kw.is_finite() && import_kw >= 0.0 && export_kw >= 0.0) {
        return Err(Unusable::BadPower);
    }
    Ok(Sample {
        time,
        import_kw,
        export_kw,
        energy_import_kwh: reading.import_kwh(),
        demand_avg_kw: reading.demand_avg_kw,
        demand_max_month_kw: reading.demand_max_month_kw,
        since_start,
    })
}

/// A line's sample, as the relay reads it at its start: `None` for a line that is no reading.
pub(crate) fn sample_of_line(line: &str) -> Option<Result<Sample, Unusable>> {
    use p1_common::contract::record::Record;
    match Record::from_json_selecting(line, SAMPLE_KEYS) {
        Ok(Record::Reading(reading)) => Some(sample(&reading, std::time::Duration::ZERO)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_lines_and_the_rest() {
        let reading = |line| match sample_of_line(line) {
            Some(Ok(sample)) => sample,
            other => panic!("{other:?}"),
        };
        let s = reading(
            r#"{"type":"reading","time":"2024-06-01T12:00:00+02:00","power_import_kw":0.0,"power_export_kw":2.5,"energy_import_t1_kwh":1.0,"energy_import_t2_kwh":2.0}"#,
        );
        assert_eq!(s.export_kw, 2.5);
        assert_eq!(s.energy_import_kwh, Some(3.0));
        // Issue 12: a Walloon meter's tariffs 3 to 5 count for the quarter hour too.
        let walloon = reading(
            r#"{"type":"reading","time":"2024-06-01T12:00:00+02:00","power_import_kw":0.0,"power_export_kw":0.0,"energy_import_t1_kwh":1.0,"energy_import_t2_kwh":2.0,"energy_import_t3_kwh":4.0,"energy_import_t5_kwh":8.0}"#,
        );
        assert_eq!(walloon.energy_import_kwh, Some(15.0));
        assert_eq!(s.time.to_rfc3339(), "2024-06-01T12:00:00+02:00");
        let s = reading(
            r#"{"type":"reading","time":null,"received":"2024-06-01T12:00:01.5+02:00","power_import_kw":1.0,"power_export_kw":0.0}"#,
        );
        assert_eq!(s.time.to_rfc3339(), "2024-06-01T12:00:01.500+02:00");
        assert!(
            sample_of_line(
                r#"{"type":"relay","time":"2024-06-01T12:00:00+02:00","load":"x","state":"on","reason":"r"}"#
            )
            .is_none()
        );
        assert_eq!(
            sample_of_line(r#"{"type":"reading","time":"2024-06-01T12:00:00+02:00"}"#)
                .map(|s| s.unwrap_err().to_string()),
            Some("the reading lacks power_import_kw or power_export_kw".to_string())
        );
        assert_eq!(
            sample_of_line(
                r#"{"type":"reading","time":"2024-06-01T12:00:00+02:00","power_import_kw":-1.0,"power_export_kw":0.0}"#
            ),
            Some(Err(Unusable::BadPower))
        );
    }
}
