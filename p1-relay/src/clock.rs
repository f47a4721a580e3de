//! Whether a reading's time follows the stream's clock. A reading whose time jumps far from
//! where the stream's clock should be (by the wall clock since the last reading) is not
//! evidence: a meter whose clock was set, or a corrupt time, would otherwise switch loads on
//! a clock of its own. The new clock is believed once it has held for a while.

use std::time::{Duration, Instant};

use chrono::Timelike;
use log::{info, warn};
use p1_common::protocol::meter_time::MeterTime;

use crate::input::Time;

/// How far a reading's time may be from the stream's clock (the last reading's time plus
/// the wall time since it came): a capture replayed at full speed or a pipe that lagged
/// stays well within it.
const TOLERANCE: Duration = Duration::from_mins(1);

/// How long, on its own time, a new clock must hold (its readings in step with each other)
/// before its readings are acted on.
const CONFIRM: Duration = Duration::from_secs(30);

/// The stream's clock: the last reading acted on, and a new clock being watched.
#[derive(Debug, Default)]
pub(crate) struct StreamClock {
    last: Option<(Time, Instant)>,
    new_clock: Option<NewClock>,
}

#[derive(Debug)]
struct NewClock {
    since: Time,
    last: (Time, Instant),
}

/// A time as the records show it, to the second.
fn shown(time: Time) -> MeterTime {
    MeterTime::from_datetime(time.with_nanosecond(0).unwrap_or(time))
}

/// In step with `(time, arrived)`: the time moved as the wall clock did, within [`TOLERANCE`].
fn in_step(last: (Time, Instant), time: Time, arrived: Instant) -> bool {
    let wall = arrived.saturating_duration_since(last.1).as_secs_f64();
    let readings = (time - last.0).as_seconds_f64();
    (readings - wall).abs() <= TOLERANCE.as_secs_f64()
}

impl StreamClock {
    /// Whether a reading stamped `time` that `arrived` now may be acted on.
    pub(crate) fn accepts(&mut self, time: Time, arrived: Instant) -> bool {
        let Some(last) = self.last else {
            self.last = Some((time, arrived));
            return true;
        };
        if in_step(last, time, arrived) {
            if self.new_clock.take().is_some() {
                info!("readings back on the stream's clock ({})", shown(time));
            }
            self.last = Some((time, arrived));
            return true;
        }
        match &mut self.new_clock {
            Some(new) if in_step(new.last, time, arrived) => {
                new.last = (time, arrived);
                if (time - new.since).to_std().unwrap_or_default() < CONFIRM {
                    return false;
                }
                info!(
                    "the readings' clock held from {} to {}: acted on again",
                    shown(new.since),
                    shown(time)
                );
                self.new_clock = None;
                self.last = Some((time, arrived));
                true
            }
            _ => {
                let expected = last.0
                    + chrono::Duration::from_std(arrived.saturating_duration_since(last.1))
                        .unwrap_or_default();
                warn!(
                    "a reading at {}, {} s off the stream's clock ({}): not acted on until its clock holds for {} s",
                    shown(time),
                    (time - expected).num_seconds(),
                    shown(expected),
                    CONFIRM.as_secs()
                );
                self.new_clock = Some(NewClock {
                    since: time,
                    last: (time, arrived),
                });
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Time {
        chrono::DateTime::parse_from_rfc3339("2024-06-01T12:00:00+02:00").expect("time")
            + chrono::Duration::seconds(s)
    }

    /// Readings a second apart on `times`, arriving a second apart on the wall clock: which
    /// are acted on.
    fn accepted(times: &[i64]) -> Vec<bool> {
        let mut clock = StreamClock::default();
        let start = Instant::now();
        times
            .iter()
            .enumerate()
            .map(|(i, &t)| clock.accepts(at(t), start + Duration::from_secs(i as u64)))
            .collect()
    }

    /// Issue 23 (2): three readings a year ahead among readings on time are not acted on,
    /// nor are the ones on time after them taken for a jump.
    #[test]
    fn three_readings_a_year_ahead_are_not_evidence_regression_23() {
        let year = 365 * 86_400;
        assert_eq!(
            accepted(&[0, 1, 2, year + 3, year + 4, year + 5, 6, 7]),
            [true, true, true, false, false, false, true, true]
        );
    }

    /// A clock set for good (a meter corrected an hour back) is believed once it has held
    /// for 30 s of readings, and then every reading is acted on.
    #[test]
    fn a_clock_that_holds_is_believed_after_30_s() {
        let times: Vec<i64> = (0..5).chain((5..45).map(|t| t - 3600)).collect();
        let got = accepted(&times);
        let first_believed = got.iter().skip(5).position(|&a| a).expect("believed") + 5;
        assert_eq!(times[first_believed] - times[5], 30);
        assert!(got[first_believed..].iter().all(|&a| a));
    }

    /// Replayed at full speed (no wall time between readings) or with a real gap on both
    /// clocks, every reading is in step.
    #[test]
    fn a_replay_and_a_real_outage_are_in_step() {
        let mut clock = StreamClock::default();
        let start = Instant::now();
        assert!((0..100).all(|t| clock.accepts(at(t), start)));
        let later = start + Duration::from_mins(10);
        assert!(clock.accepts(at(700), later));
    }
}
