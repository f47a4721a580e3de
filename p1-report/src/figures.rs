//! The closed days and months as the user asked for them: a table for a person, CSV for a
//! spreadsheet, or the `day` and `month` records of the contract; and the capacity-tariff
//! figure each month adds to.

use std::collections::VecDeque;
use std::fmt::Write as _;

use p1_common::Error;
use p1_common::contract::report::{DayReport, MonthReport};
use p1_common::protocol::meter_time::MeterTime;

use crate::ledger::{Period, Registers};

/// How the figures are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Table,
    Csv,
    Json,
}

/// Which periods are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct By {
    pub(crate) days: bool,
    pub(crate) months: bool,
}

/// The lowest peak the Flemish capacity tariff counts, in kW.
const LEAST_PEAK_KW: f64 = 2.5;
/// The months its mean takes.
const MONTHS: usize = 12;

/// The capacity-tariff figure: the mean of the last 12 months' peaks, each at least 2.5 kW.
#[derive(Debug, Default)]
pub(crate) struct Capacity {
    peaks: VecDeque<f64>,
}

impl Capacity {
    /// Adds a month's peak (none: no complete quarter, counted as the least); the figure
    /// up to that month.
    pub(crate) fn add(&mut self, peak_kw: Option<f64>) -> f64 {
        if self.peaks.len() == MONTHS {
            self.peaks.pop_front();
        }
        self.peaks
            .push_back(peak_kw.unwrap_or(0.0).max(LEAST_PEAK_KW));
        self.peaks.iter().sum::<f64>() / self.peaks.len() as f64
    }
}

/// Writes the figures as they close.
#[derive(Debug)]
pub(crate) struct Figures {
    pub(crate) format: Format,
    pub(crate) by: By,
    /// Whether there are prices, and so costs.
    pub(crate) priced: bool,
    capacity: Capacity,
    /// The lines written and not yet taken ([`Figures::take`]).
    line: String,
    headed: bool,
}

/// kWh and kW to the meter's resolution (a watt-hour), free of float noise.
fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Euros to a hundredth of a cent.
fn euros(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// A period's import cost, export revenue and the net, in euros.
#[derive(Debug, Clone, Copy)]
struct Euros {
    import: f64,
    export: f64,
    net: f64,
}

impl Euros {
    fn of(p: &Period) -> Euros {
        let c = p.costs;
        Euros {
            import: euros(c.import_eur),
            export: euros(c.export_eur),
            net: euros(c.import_eur - c.export_eur),
        }
    }
}

const CSV_HEAD: &str = "type,period,import_kwh,export_kwh,import_t1_kwh,import_t2_kwh,\
export_t1_kwh,export_t2_kwh,peak_kw,peak_start,quarters,incomplete_quarters,capacity_kw";

const TABLE_HEAD: &str = "PERIOD      IMPORT kWh      T1      T2  EXPORT kWh      T1      T2  \
PEAK kW  PEAK AT      QUARTERS  CAPACITY kW";

/// The columns `--prices` adds, after the others.
const CSV_COSTS: &str = ",import_cost_eur,export_revenue_eur,net_cost_eur";
const TABLE_COSTS: &str = "  IMPORT EUR  EXPORT EUR     NET EUR";

impl Figures {
    pub(crate) fn new(format: Format, by: By, priced: bool) -> Figures {
        Figures {
            format,
            by,
            priced,
            capacity: Capacity::default(),
            line: String::with_capacity(256),
            headed: false,
        }
    }

    pub(crate) fn day(&mut self, day: &Period) -> Result<(), Error> {
        if self.by.days {
            self.write(&day.key.to_string(), day, None)?;
        }
        Ok(())
    }

    pub(crate) fn month(&mut self, month: &Period) -> Result<(), Error> {
        let capacity = self.capacity.add(month.peak.map(|(kw, _)| kw));
        if self.by.months {
            let key = month.key.format("%Y-%m").to_string();
            self.write(&key, month, Some(capacity))?;
        }
        Ok(())
    }

    /// Hands what was written since the last time to `out` (nothing most readings).
    pub(crate) fn take(
        &mut self,
        out: impl FnOnce(&[u8]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.line.is_empty() {
            return Ok(());
        }
        out(self.line.as_bytes())?;
        self.line.clear();
        Ok(())
    }

    /// The period's costs, when there are prices.
    fn costs(&self, p: &Period) -> Option<Euros> {
        self.priced.then(|| Euros::of(p))
    }

    fn write(&mut self, key: &str, p: &Period, capacity: Option<f64>) -> Result<(), Error> {
        if !self.headed {
            self.headed = true;
            let (head, costs) = match self.format {
                Format::Table => (TABLE_HEAD, TABLE_COSTS),
                Format::Csv => (CSV_HEAD, CSV_COSTS),
                Format::Json => ("", ""),
            };
            if !head.is_empty() {
                self.line.push_str(head);
                if self.priced {
                    self.line.push_str(costs);
                }
                self.line.push('\n');
            }
        }
        match self.format {
            Format::Json => self.json(key, p, capacity)?,
            Format::Csv => self.csv(key, p, capacity),
            Format::Table => self.table(key, p, capacity),
        }
        Ok(())
    }

    fn json(&mut self, key: &str, p: &Period, capacity: Option<f64>) -> Result<(), Error> {
        let e = p.energy;
        let peak_kw = p.peak.map(|(kw, _)| round(kw));
        let peak_start = p.peak.map(|(_, at)| MeterTime::from_datetime(at));
        let costs = self.costs(p);
        let (import_cost_eur, export_revenue_eur, net_cost_eur) = (
            costs.map(|c| c.import),
            costs.map(|c| c.export),
            costs.map(|c| c.net),
        );
        let value = match capacity {
            None => serde_json::to_string(&DayReport {
                date: key.to_string(),
                import_kwh: round(e.import),
                export_kwh: round(e.export),
                import_t1_kwh: round(e.import_t1),
                import_t2_kwh: round(e.import_t2),
                export_t1_kwh: round(e.export_t1),
                export_t2_kwh: round(e.export_t2),
                peak_kw,
                peak_start,
                quarters: p.quarters,
                incomplete_quarters: p.incomplete_quarters,
                import_cost_eur,
                export_revenue_eur,
                net_cost_eur,
            }),
            Some(capacity) => serde_json::to_string(&MonthReport {
                month: key.to_string(),
                import_kwh: round(e.import),
                export_kwh: round(e.export),
                import_t1_kwh: round(e.import_t1),
                import_t2_kwh: round(e.import_t2),
                export_t1_kwh: round(e.export_t1),
                export_t2_kwh: round(e.export_t2),
                peak_kw,
                peak_start,
                quarters: p.quarters,
                incomplete_quarters: p.incomplete_quarters,
                import_cost_eur,
                export_revenue_eur,
                net_cost_eur,
                capacity_kw: round(capacity),
            }),
        };
        let text = value.map_err(|e| Error::failure(format!("cannot write a figure: {e}")))?;
        self.line.push_str(&text);
        self.line.push('\n');
        Ok(())
    }

    fn csv(&mut self, key: &str, p: &Period, capacity: Option<f64>) {
        let Registers {
            import,
            export,
            import_t1,
            import_t2,
            export_t1,
            export_t2,
        } = p.energy;
        let kind = if capacity.is_some() { "month" } else { "day" };
        let _ = write!(
            self.line,
            "{kind},{key},{},{},{},{},{},{},",
            round(import),
            round(export),
            round(import_t1),
            round(import_t2),
            round(export_t1),
            round(export_t2)
        );
        if let Some((kw, at)) = p.peak {
            let _ = write!(self.line, "{},{}", round(kw), MeterTime::from_datetime(at));
        } else {
            self.line.push(',');
        }
        let _ = write!(self.line, ",{},{},", p.quarters, p.incomplete_quarters);
        if let Some(capacity) = capacity {
            let _ = write!(self.line, "{}", round(capacity));
        }
        if let Some(Euros {
            import,
            export,
            net,
        }) = self.costs(p)
        {
            let _ = write!(self.line, ",{import},{export},{net}");
        }
        self.line.push('\n');
    }

    fn table(&mut self, key: &str, p: &Period, capacity: Option<f64>) {
        let e = p.energy;
        let _ = write!(
            self.line,
            "{key:<10} {:>11.3} {:>7.3} {:>7.3} {:>11.3} {:>7.3} {:>7.3}",
            e.import, e.import_t1, e.import_t2, e.export, e.export_t1, e.export_t2
        );
        // A day's peak by its time; a month's by its day and time.
        let when = if capacity.is_some() {
            "%m-%d %H:%M"
        } else {
            "%H:%M"
        };
        match p.peak {
            Some((kw, at)) => {
                let _ = write!(self.line, " {kw:>8.3}  {:<11}", at.format(when).to_string());
            }
            None => self.line.push_str("        -  -          "),
        }
        let _ = write!(self.line, "{:>9}", p.quarters);
        if let Some(capacity) = capacity {
            let _ = write!(self.line, " {capacity:>12.3}");
        } else if self.priced {
            self.line.push_str(&" ".repeat(13));
        }
        if let Some(c) = self.costs(p) {
            // To the cent; a credit of less than half a cent is no "-0.00".
            let cents = |eur: f64| (eur * 100.0).round() / 100.0 + 0.0;
            let (import, export, net) = (cents(c.import), cents(c.export), cents(c.net));
            let _ = write!(self.line, "  {import:>10.2}  {export:>10.2}  {net:>10.2}");
        }
        if p.incomplete_quarters > 0 {
            let _ = write!(self.line, "  ({} incomplete)", p.incomplete_quarters);
        }
        self.line.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_the_mean_of_the_last_twelve_peaks_each_at_least_2_5() {
        let mut capacity = Capacity::default();
        assert_eq!(capacity.add(Some(1.0)), 2.5);
        assert_eq!(capacity.add(Some(4.5)), 3.5);
        for _ in 0..11 {
            capacity.add(Some(6.0));
        }
        // The first two months have left the window of twelve.
        assert_eq!(capacity.add(None), (11.0 * 6.0 + 2.5) / 12.0);
    }
}
