//! The capacity tariff's quarter hour (Flanders): fixed quarters at :00, :15, :30 and :45
//! local time, tracked from the import registers; the budget a quarter must stay under; the
//! projection of the quarter's average; and the peak record other controllers read.

use chrono::{Duration, Timelike as _};
use log::{debug, info, warn};
use p1_common::contract::events::PeakRecord;
use p1_common::protocol::meter_time::MeterTime;

use crate::config::Peak;
use crate::input::{Sample, Time};

fn secs(d: Duration) -> i64 {
    d.num_seconds()
}

/// The running quarter hour, as the import registers tell it.
#[derive(Debug, Default)]
pub(crate) struct QuarterHour {
    quarter: Option<Quarter>,
    demand_check: DemandCheck,
}

impl QuarterHour {
    /// Follows the registers of `s` into its quarter (none without import registers).
    pub(crate) fn track(&mut self, s: &Sample) {
        let Some(energy) = s.energy_import_kwh else {
            self.quarter = None;
            return;
        };
        let local = s.time.naive_local();
        let into = i64::from(local.minute() % 15) * 60 + i64::from(local.second());
        let start = s.time - Duration::seconds(into);
        if self.quarter.as_ref().is_none_or(|q| q.start != start) {
            // The first reading of a quarter: the part before it is estimated at its import.
            let before = s.import_kw * into as f64 / 3600.0;
            self.quarter = Some(Quarter {
                start,
                anchor_kwh: energy - before,
            });
        }
        if let (Some(q), Some(meter)) = (&self.quarter, s.demand_avg_kw) {
            self.demand_check.compare(q, s, meter);
        }
    }

    /// Forgets the quarter (the readings' clock jumped).
    pub(crate) fn reset(&mut self) {
        self.quarter = None;
    }

    /// The quarter's average if import goes on at `rate_kw` to its end, when there is a
    /// quarter.
    pub(crate) fn projected(&self, s: &Sample, rate_kw: f64) -> Option<f64> {
        self.quarter.as_ref().map(|q| q.projected(s, rate_kw))
    }

    /// The quarter so far for other controllers, after `s`, under `budget_kw` (none without
    /// import registers).
    pub(crate) fn record(&self, s: &Sample, budget_kw: f64) -> Option<PeakRecord> {
        let quarter = self.quarter.as_ref()?;
        let elapsed = secs(s.time - quarter.start).clamp(0, 900);
        let energy = quarter.energy_so_far(s);
        let net_import = s.import_kw - s.export_kw;
        // At least a second left, so that the quarter's last reading gives a finite figure.
        let remaining_h = (900 - elapsed).max(1) as f64 / 3600.0;
        let allowed = (budget_kw / 4.0 - energy) / remaining_h;
        let round = |kw: f64| (kw * 1000.0).round() / 1000.0;
        Some(PeakRecord {
            time: MeterTime::from_datetime(s.time),
            quarter_start: MeterTime::from_datetime(quarter.start),
            elapsed_s: u32::try_from(elapsed).unwrap_or(0),
            average_kw: round(if elapsed > 0 {
                energy * 3600.0 / elapsed as f64
            } else {
                s.import_kw
            }),
            projected_kw: round(quarter.projected(s, s.import_kw)),
            month_peak_kw: s.demand_max_month_kw,
            budget_kw: round(budget_kw),
            headroom_kw: round(allowed - net_import),
            allowed_kw: round(allowed),
        })
    }
}

/// The higher of the limit and the month's peak, less the margin.
pub(crate) fn budget(peak: Peak, s: &Sample) -> f64 {
    peak.limit_kw.max(s.demand_max_month_kw.unwrap_or(0.0)) - peak.margin_kw
}

/// The running quarter hour (fixed quarters at :00, :15, :30 and :45 local time).
#[derive(Debug, Clone)]
struct Quarter {
    start: Time,
    /// The import register at the quarter's start (estimated when the first reading was later).
    anchor_kwh: f64,
}

impl Quarter {
    fn energy_so_far(&self, s: &Sample) -> f64 {
        s.energy_import_kwh
            .map_or(0.0, |e| (e - self.anchor_kwh).max(0.0))
    }

    /// The quarter's average if import goes on at `rate_kw` to its end.
    fn projected(&self, s: &Sample, rate_kw: f64) -> f64 {
        let elapsed = secs(s.time - self.start).clamp(0, 900);
        let remaining_h = (900 - elapsed) as f64 / 3600.0;
        (self.energy_so_far(s) + rate_kw * remaining_h) * 4.0
    }
}

/// Public sources disagree on what `1-0:1.4.0` holds: the average over the elapsed part of
/// the quarter, or the energy so far times four (rising from zero). Compare both with the
/// registers a few minutes into each quarter, and say once which one this meter sends.
#[derive(Debug, Default)]
struct DemandCheck {
    elapsed_average: u32,
    energy_times_four: u32,
    neither: u32,
    told: bool,
}

impl DemandCheck {
    fn compare(&mut self, q: &Quarter, s: &Sample, meter_kw: f64) {
        let elapsed = secs(s.time - q.start);
        if self.told || elapsed != 600 {
            return;
        }
        let energy = q.energy_so_far(s);
        let elapsed_average = energy * 3600.0 / elapsed as f64;
        let times_four = energy * 4.0;
        let close = |a: f64, b: f64| (a - b).abs() <= 0.05 * a.abs().max(b.abs()) + 0.02;
        debug!(
            "1-0:1.4.0 {meter_kw} kW; elapsed average {elapsed_average:.3}, energy x 4 {times_four:.3}"
        );
        if times_four < 0.1 {
            return;
        }
        match (
            close(meter_kw, elapsed_average),
            close(meter_kw, times_four),
        ) {
            (true, false) => self.elapsed_average += 1,
            (false, true) => self.energy_times_four += 1,
            (false, false) => self.neither += 1,
            (true, true) => {}
        }
        if self.elapsed_average >= 3 {
            info!("the meter's 1-0:1.4.0 is the average over the elapsed part of the quarter hour");
            self.told = true;
        } else if self.energy_times_four >= 3 {
            info!(
                "the meter's 1-0:1.4.0 is the quarter's energy so far times four (it rises from zero)"
            );
            self.told = true;
        } else if self.neither >= 3 {
            warn!(
                "the meter's 1-0:1.4.0 matches neither reading of the import registers; peak shaving uses the registers"
            );
            self.told = true;
        }
    }
}
