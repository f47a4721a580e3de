//! The market's day in Brussels time (CET, CEST in summer, as the day-ahead auction counts
//! it): which day is tomorrow, its bounds in UTC, and a UTC instant on Brussels' clock.

use chrono::{DateTime, Days, FixedOffset, NaiveDate, Utc};
use p1_common::protocol::meter_time::ClockZone;

/// Brussels' clock: CET with EU summer time.
const BRUSSELS: ClockZone = ClockZone::from_offset_secs(3600);

/// A UTC instant as Brussels' clock shows it.
pub(crate) fn brussels(utc: DateTime<Utc>) -> DateTime<FixedOffset> {
    let (_, summer) = BRUSSELS.local_time(utc.naive_utc());
    let offset = FixedOffset::east_opt(if summer { 7200 } else { 3600 }).expect("a valid offset");
    utc.with_timezone(&offset)
}

/// Tomorrow in Brussels, at `now`.
pub(crate) fn tomorrow(now: DateTime<Utc>) -> NaiveDate {
    let today = brussels(now).date_naive();
    today.checked_add_days(Days::new(1)).unwrap_or(today)
}

/// `day`'s start and end (the next day's start) in UTC: 23 hours in March's change, 25 in
/// October's.
pub(crate) fn bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |d: NaiveDate| {
        BRUSSELS
            .utc_of_local(d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .and_utc()
    };
    (start(day), start(day.succ_opt().unwrap_or(day)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_across_the_clock_changes() {
        let day = |text: &str| text.parse::<NaiveDate>().unwrap();
        let hours = |d| {
            let (start, end) = bounds(day(d));
            (start.to_rfc3339(), (end - start).num_hours())
        };
        assert_eq!(
            hours("2026-12-07"),
            ("2026-12-06T23:00:00+00:00".into(), 24)
        );
        assert_eq!(
            hours("2026-03-29"),
            ("2026-03-28T23:00:00+00:00".into(), 23)
        );
        assert_eq!(
            hours("2026-10-25"),
            ("2026-10-24T22:00:00+00:00".into(), 25)
        );
        let late = "2026-12-07T23:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            tomorrow(late).to_string(),
            "2026-12-09",
            "00:30 on the 8th in Brussels"
        );
        assert_eq!(brussels(late).to_rfc3339(), "2026-12-08T00:30:00+01:00");
    }
}
