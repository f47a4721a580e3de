//! p1-report: days and months from readings, in numbers and a picture.
//!
//! - `settings`: the command line;
//! - `ledger`: readings in time order into quarter hours, days and months (constant memory);
//! - `figures`: the closed periods as a table, CSV or records, and the capacity tariff;
//! - `plot`: the SVG of net power, quarter-hour averages and month peaks.

mod figures;
mod ledger;
mod plot;
mod settings;

use std::process::ExitCode;

use log::warn;
use p1_common::Error;
use p1_common::contract::price::load_price_file;
use p1_common::contract::reading::{Reading, ReadingKey};
use p1_common::contract::select::Selection;
use p1_common::runtime::files::run_files;
use p1_common::runtime::stage::{Handled, Out, Stage, Stdout};

use crate::figures::Figures;
use crate::ledger::{Ledger, Period, Quarter, Registers, Sample, Sink};
use crate::plot::Plot;
pub use crate::settings::Cli;
use crate::settings::{PROG, Settings};

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    p1_common::runtime::cli::main(PROG, |cli: Cli| run(Settings::from_cli(cli)))
}

fn run(settings: Settings) -> Result<(), Error> {
    let slots = match &settings.prices {
        Some(path) => Some(load_price_file(path)?.slots),
        None => None,
    };
    let mut report = Report {
        sink: Outputs {
            figures: Figures::new(settings.format, settings.by, slots.is_some()),
            plot: settings.plot.map(Plot::new),
            unpriced: 0,
        },
        ledger: Ledger::priced(slots.unwrap_or_default()),
        unusable: 0,
        earlier: 0,
    };
    let mut out = Stdout::stdout();
    run_files(&mut report, &settings.files, &mut out)?;
    report.finish(&mut out)
}

/// The stage: readings into the ledger, the rest skipped.
struct Report {
    ledger: Ledger,
    sink: Outputs,
    /// Readings without a time or import registers.
    unusable: u64,
    /// Readings no later than the one before.
    earlier: u64,
}

/// Where the ledger's figures go: the written figures, and the plot when asked for.
struct Outputs {
    figures: Figures,
    plot: Option<Plot>,
    /// Quarter hours with energy that no price slot held.
    unpriced: u32,
}

impl Sink for Outputs {
    fn sample(&mut self, sample: &Sample) {
        if let Some(plot) = &mut self.plot {
            plot.sample(sample);
        }
    }

    fn quarter(&mut self, quarter: &Quarter) {
        if let Some(plot) = &mut self.plot {
            plot.quarter(quarter);
        }
    }

    fn day(&mut self, day: &Period) -> Result<(), Error> {
        self.unpriced += day.costs.unpriced_quarters;
        self.figures.day(day)
    }

    fn month(&mut self, month: &Period) -> Result<(), Error> {
        if let Some(plot) = &mut self.plot {
            plot.month(month);
        }
        self.figures.month(month)
    }
}

/// The keys the report reads; the rest of a reading is skipped unparsed.
const KEYS: Selection<Reading> = ReadingKey::select(&[
    ReadingKey::time,
    ReadingKey::power_import_kw,
    ReadingKey::power_export_kw,
])
.and(Reading::IMPORT_KEYS)
.and(Reading::EXPORT_KEYS);

/// What the ledger takes from a reading: none without a set time or import registers.
fn sample(reading: &Reading) -> Option<Sample> {
    let time = reading.time.as_ref()?.datetime()?;
    let import = reading.import_kwh()?;
    Some(Sample {
        utc: time.timestamp(),
        offset: time.offset().local_minus_utc(),
        registers: Registers {
            import,
            export: reading.export_kwh().unwrap_or(0.0),
            import_t1: reading.energy_import_t1_kwh.unwrap_or(0.0),
            import_t2: reading.energy_import_t2_kwh.unwrap_or(0.0),
            export_t1: reading.energy_export_t1_kwh.unwrap_or(0.0),
            export_t2: reading.energy_export_t2_kwh.unwrap_or(0.0),
        },
        net_kw: reading
            .power_import_kw
            .zip(reading.power_export_kw)
            .map(|(import, export)| import - export),
    })
}

impl Stage for Report {
    type Event = ();

    fn reading_keys(&self) -> Option<Selection<Reading>> {
        Some(KEYS)
    }

    fn on_reading(&mut self, reading: Reading, out: &mut Out<'_>) -> Handled {
        let Some(sample) = sample(&reading) else {
            self.unusable += 1;
            if self.unusable == 1 {
                out.bad_line("a reading without a time or import registers: skipped");
            }
            return Ok(());
        };
        if !self.ledger.add(sample, &mut self.sink)? {
            self.earlier += 1;
            if self.earlier == 1 {
                out.bad_line("a reading no later than the one before it: skipped (are the files in time order?)");
            }
        }
        self.sink.figures.take(|text| out.write_raw(text))
    }
}

impl Report {
    fn finish(mut self, out: &mut Stdout) -> Result<(), Error> {
        self.ledger.finish(&mut self.sink)?;
        self.sink.figures.take(|text| out.write_raw(text))?;
        if self.unusable + self.earlier > 0 {
            warn!(
                "{} readings without a time or import registers and {} out of order were skipped",
                self.unusable, self.earlier
            );
        }
        if self.sink.figures.priced && self.sink.unpriced > 0 {
            warn!(
                "--prices: {} quarter hours with energy have no price: their energy is in no cost",
                self.sink.unpriced
            );
        }
        match self.sink.plot {
            Some(plot) => plot
                .write()
                .map_err(|e| Error::failure(format!("--plot: {e}"))),
            None => Ok(()),
        }
    }
}
