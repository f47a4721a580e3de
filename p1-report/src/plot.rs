//! The period as a picture: net power, the quarter-hour averages over it and each month's
//! peak, written as SVG. The series are kept in bounded memory whatever the period's
//! length: when one holds too many points, neighbours are merged (power averaged, quarter
//! hours by their highest, so that no peak is lost from sight).

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use plotters::prelude::*;

use crate::ledger::{Period, Quarter, Sample};

/// The most points a series keeps; a plot 1,200 pixels wide shows no more.
const MOST_POINTS: usize = 2400;

/// A series of (seconds since the epoch, value) at a resolution that coarsens as it grows.
#[derive(Debug)]
struct Series {
    points: Vec<(i64, f64)>,
    /// Seconds a point spans.
    step: i64,
    /// The point being gathered: its start, sum or highest, and count.
    open: Option<(i64, f64, u32)>,
    highest: bool,
}

impl Series {
    fn new(step: i64, highest: bool) -> Series {
        Series {
            points: Vec::new(),
            step,
            open: None,
            highest,
        }
    }

    fn push(&mut self, at: i64, value: f64) {
        let start = at.div_euclid(self.step) * self.step;
        match &mut self.open {
            Some((s, acc, n)) if *s == start => {
                *acc = if self.highest {
                    acc.max(value)
                } else {
                    *acc + value
                };
                *n += 1;
            }
            _ => {
                self.close();
                self.open = Some((start, value, 1));
            }
        }
    }

    fn close(&mut self) {
        if let Some((start, acc, n)) = self.open.take() {
            let value = if self.highest {
                acc
            } else {
                acc / f64::from(n)
            };
            self.points.push((start, value));
            if self.points.len() > MOST_POINTS {
                self.coarsen();
            }
        }
    }

    /// Twice the step: each pair of points becomes one.
    fn coarsen(&mut self) {
        self.step *= 2;
        let step = self.step;
        let highest = self.highest;
        let mut merged: Vec<(i64, f64, u32)> = Vec::with_capacity(self.points.len() / 2 + 1);
        for &(at, value) in &self.points {
            let start = at.div_euclid(step) * step;
            match merged.last_mut() {
                Some((s, acc, n)) if *s == start => {
                    *acc = if highest {
                        acc.max(value)
                    } else {
                        *acc + value
                    };
                    *n += 1;
                }
                _ => merged.push((start, value, 1)),
            }
        }
        self.points = merged
            .into_iter()
            .map(|(s, acc, n)| (s, if highest { acc } else { acc / f64::from(n) }))
            .collect();
    }

    fn finish(&mut self) -> &[(i64, f64)] {
        self.close();
        &self.points
    }
}

/// The plot being gathered.
#[derive(Debug)]
pub(crate) struct Plot {
    path: PathBuf,
    net: Series,
    quarters: Series,
    peaks: Vec<(DateTime<FixedOffset>, f64)>,
    offset: i32,
}

impl Plot {
    pub(crate) fn new(path: PathBuf) -> Plot {
        Plot {
            path,
            net: Series::new(60, false),
            quarters: Series::new(900, true),
            peaks: Vec::new(),
            offset: 0,
        }
    }

    pub(crate) fn sample(&mut self, s: &Sample) {
        self.offset = s.offset;
        if let Some(kw) = s.net_kw {
            self.net.push(s.utc, kw);
        }
    }

    pub(crate) fn quarter(&mut self, q: &Quarter) {
        if let Some(kw) = q.peak_kw() {
            self.quarters.push(q.start.timestamp(), kw);
        }
    }

    pub(crate) fn month(&mut self, month: &Period) {
        self.peaks.extend(month.peak.map(|(kw, at)| (at, kw)));
    }

    /// Writes the SVG.
    pub(crate) fn write(mut self) -> Result<(), String> {
        let zone = FixedOffset::east_opt(self.offset).unwrap_or(FixedOffset::east_opt(0).unwrap());
        let net = self.net.finish().to_vec();
        let quarters = self.quarters.finish().to_vec();
        let times = net.iter().chain(&quarters).map(|p| p.0);
        let (Some(x0), Some(x1)) = (times.clone().min(), times.max()) else {
            return Err("no reading with power or import registers to plot".into());
        };
        let values = net.iter().chain(&quarters).map(|p| p.1);
        let low = values.clone().fold(0.0_f64, f64::min);
        let high = values.fold(0.5_f64, f64::max) * 1.1;
        let root = SVGBackend::new(&self.path, (1200, 500)).into_drawing_area();
        let fail = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption("net power and quarter-hour averages", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(52)
            .build_cartesian_2d(x0..x1.max(x0 + 60), (low * 1.1)..high)
            .map_err(|e| fail(&e))?;
        let label = |x: &i64| {
            DateTime::from_timestamp(*x, 0)
                .unwrap_or_default()
                .with_timezone(&zone)
                .format(if x1 - x0 > 3 * 86_400 {
                    "%m-%d"
                } else {
                    "%m-%d %H:%M"
                })
                .to_string()
        };
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&label)
            .y_desc("kW (import +, export -)")
            .draw()
            .map_err(|e| fail(&e))?;
        let net_colour = RGBColor(70, 110, 180);
        chart
            .draw_series(LineSeries::new(net, net_colour))
            .map_err(|e| fail(&e))?
            .label("net power")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], net_colour));
        let quarter_colour = RGBColor(220, 120, 30);
        chart
            .draw_series(LineSeries::new(quarters, quarter_colour.stroke_width(2)))
            .map_err(|e| fail(&e))?
            .label("quarter-hour average import")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], quarter_colour));
        chart
            .draw_series(self.peaks.iter().map(|(at, kw)| {
                EmptyElement::at((at.timestamp(), *kw))
                    + Circle::new((0, 0), 5, RED.filled())
                    + Text::new(format!("{kw:.2} kW"), (6, -14), ("sans-serif", 12))
            }))
            .map_err(|e| fail(&e))?
            .label("month peak")
            .legend(|(x, y)| Circle::new((x + 8, y), 4, RED.filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_series_is_coarsened_into_bounded_memory_keeping_the_highest() {
        let mut series = Series::new(900, true);
        for i in 0..10_000 {
            series.push(i * 900, if i == 4321 { 9.0 } else { 1.0 });
        }
        let points = series.finish();
        assert!(points.len() <= MOST_POINTS, "{}", points.len());
        assert!(points.iter().any(|p| p.1 == 9.0));
        assert_eq!(series.step, 900 * 8);
    }
}
