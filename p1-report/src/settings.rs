//! The edge of p1-report: its command line, and the settings the rest of the crate sees.

use std::path::PathBuf;

use clap::Parser;
use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use p1_common::runtime::cli::{Exits, LogArgs};
use p1_common::runtime::error::Kind;

use crate::figures::{By, Format};

pub(crate) const PROG: &str = "p1-report";

p1_common::named_enum! {
    /// `--by`.
    pub enum Periods ("a period") {
        Day = "day",
        Month = "month",
    }
}

p1_common::named_enum! {
    /// `--format`.
    pub enum FormatName ("a format") {
        Table = "table",
        Csv = "csv",
        Json = "json",
    }
}

/// What a day and a month cost: energy per tariff, the peak quarter hour and the capacity
/// tariff, from readings.
///
/// Reads readings (p1-parse's output; other records are skipped) from the FILEs in turn, or
/// stdin, in constant memory, and prints per day and per month, in the meter's time zone:
/// import and export per tariff and in total (the registers at the period's end less at its
/// start, each from the last reading at or before the boundary: a reading at exactly
/// 00:00:00 closes the day before), the highest quarter-hour average import and when it
/// began, and for months the figure the Flemish capacity tariff bills (the mean of the last
/// 12 months' peaks, each at least 2.5 kW). A quarter hour with more than 60 s between
/// readings is incomplete and no peak.
#[derive(Debug, Parser)]
#[command(name = PROG, version, after_long_help = EXITS.after(AFTER_HELP))]
pub struct Cli {
    /// Files of readings (NDJSON), read in turn; - or none for stdin.
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// Only days, or only months (default: both, each month after its days).
    #[arg(long, value_parser = PossibleValuesParser::new(Periods::NAMES.iter().copied()).try_map(|s| s.parse::<Periods>()))]
    pub(crate) by: Option<Periods>,
    /// How the figures are written: a table, CSV with a header, or NDJSON day and month
    /// records (see p1(5)).
    #[arg(long, default_value = "table", value_parser = PossibleValuesParser::new(FormatName::NAMES.iter().copied()).try_map(|s| s.parse::<FormatName>()))]
    pub(crate) format: FormatName,
    /// A price file (p1-prices --out): each day and month also gets its import cost, export
    /// revenue and net, the energy of every quarter hour times its price.
    #[arg(long, value_name = "FILE")]
    pub(crate) prices: Option<PathBuf>,
    /// Also draw the period's net power, quarter-hour averages and month peaks as an SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub(crate) plot: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) log: LogArgs,
}

const EXITS: Exits = Exits {
    success: "every input read",
    failures: &[
        (
            Kind::NoInput,
            "a FILE (or the --prices file) that cannot be opened",
        ),
        (Kind::Failure, "the plot cannot be written"),
    ],
};

const AFTER_HELP: &str = "\
EXAMPLES
  p1-parse capture.txt | p1-report                      days and months as a table
  p1-report --by month --format csv readings-*.ndjson > months.csv
  p1-report --format json readings.ndjson | jq 'select(.type==\"month\") | .capacity_kw'
  p1-report --plot june.svg june.ndjson                 and a picture of the month
  p1-report --prices prices.ndjson --by day week.ndjson    what each day cost

SEE ALSO
  p1-parse(1), p1-relay(1) (the live quarter hour), p1(5) (the day and month records)
";

/// What p1-report does, decided from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) files: Vec<PathBuf>,
    pub(crate) by: By,
    pub(crate) format: Format,
    pub(crate) plot: Option<PathBuf>,
    pub(crate) prices: Option<PathBuf>,
}

impl Settings {
    pub(crate) fn from_cli(cli: Cli) -> Settings {
        Settings {
            files: cli.files,
            by: By {
                days: cli.by != Some(Periods::Month),
                months: cli.by != Some(Periods::Day),
            },
            format: match cli.format {
                FormatName::Table => Format::Table,
                FormatName::Csv => Format::Csv,
                FormatName::Json => Format::Json,
            },
            plot: cli.plot,
            prices: cli.prices,
        }
    }
}
