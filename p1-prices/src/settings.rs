//! The edge of p1-prices: its command line, and the settings the rest of the crate sees.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use p1_common::Error;
use p1_common::runtime::cli::{Exits, LogArgs};
use p1_common::runtime::error::Kind;

pub(crate) const PROG: &str = "p1-prices";

/// A day's day-ahead prices into the price file p1-relay reads.
///
/// Fetches the day's prices (default: tomorrow in Brussels time) from ENTSO-E's transparency
/// platform (Belgium or the Netherlands, a token needed) or EnergyZero (the Netherlands, no
/// token), makes each slot's price all in, (price + --add) x --multiply in EUR a kWh, and
/// writes the file: the old file's slots that have not ended and the new day's, one price
/// record a line, written to a new file renamed over the old. Run it daily from cron or a
/// timer after the auction's results (about 13:00 in Brussels); it exits 75 until they are
/// out.
#[derive(Debug, Parser)]
#[command(name = PROG, version, after_long_help = EXITS.after(AFTER_HELP))]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) source: SourceArgs,
    #[command(flatten)]
    pub(crate) log: LogArgs,
}

/// Where the prices come from.
#[derive(Debug, Subcommand)]
pub(crate) enum SourceArgs {
    /// ENTSO-E's transparency platform: the day-ahead auction (A44) of a bidding zone.
    Entsoe {
        /// The bidding zone.
        #[arg(long, value_parser = ["BE", "NL"])]
        zone: String,
        /// A file holding the platform's security token (readable by its owner only).
        #[arg(long, value_name = "FILE")]
        token_file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// EnergyZero's public prices of the Netherlands, no token.
    Energyzero {
        #[command(flatten)]
        common: Common,
    },
}

/// What every source takes.
#[derive(Debug, Args)]
pub(crate) struct Common {
    /// The price file to write (p1-relay --prices reads it).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Ask this server instead (scheme, host and port: http://127.0.0.1:8080).
    #[arg(long, value_name = "BASE")]
    pub(crate) url: Option<String>,
    /// The day, YYYY-MM-DD (default: tomorrow in Brussels time).
    #[arg(long, value_name = "DAY")]
    pub(crate) day: Option<NaiveDate>,
    /// Added to each market price, EUR a kWh (grid fees, taxes, the supplier's margin).
    #[arg(
        long,
        value_name = "EUR",
        default_value_t = 0.0,
        allow_hyphen_values = true
    )]
    pub(crate) add: f64,
    /// Each price plus --add is multiplied by this (1.06: 6% VAT).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    pub(crate) multiply: f64,
}

const EXITS: Exits = Exits {
    success: "the day's prices are written",
    failures: &[
        (
            Kind::TempFail,
            "the day's prices are not published yet, or the source cannot be reached",
        ),
        (Kind::Config, "the token was refused, or cannot be read"),
        (
            Kind::Failure,
            "an answer that cannot be read, or a file that cannot be written: the old file is kept",
        ),
    ],
};

const AFTER_HELP: &str = "\
PRICE FILE
  One record a line, in time order: {\"type\":\"price\",\"start\":\"2026-12-07T14:00:00+01:00\",
  \"end\":\"2026-12-07T14:15:00+01:00\",\"value\":0.0712}, the keys of evcc's tariff rates
  (see p1(5)). Slots are the market's: a quarter hour since 2025-10-01, an hour before.

EXAMPLES
  p1-prices entsoe --zone BE --token-file /etc/p1/entsoe.token --out /var/lib/p1/prices.ndjson
  p1-prices energyzero --out prices.ndjson --add 0.12 --multiply 1.21
  p1-prices energyzero --out prices.ndjson --day 2026-12-07
  cron: 15 13-23 * * * p1-prices entsoe --zone BE --token-file F --out FILE (75 until out)

SEE ALSO
  p1-relay(1), p1(5)
";

/// Which source, and how to ask it.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Entsoe { eic: &'static str, token: String },
    EnergyZero,
}

/// What p1-prices does.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) source: Source,
    pub(crate) out: PathBuf,
    pub(crate) server: Option<String>,
    pub(crate) day: Option<NaiveDate>,
    pub(crate) add: f64,
    pub(crate) multiply: f64,
}

impl Settings {
    pub(crate) fn from_cli(cli: Cli) -> Result<Settings, Error> {
        let (source, common) = match cli.source {
            SourceArgs::Entsoe {
                zone,
                token_file,
                common,
            } => {
                let token = p1_common::runtime::secret::read(&token_file).map_err(|e| {
                    Error::config(format!("--token-file {}: {e}", token_file.display()))
                })?;
                let eic = if zone == "NL" {
                    "10YNL----------L"
                } else {
                    "10YBE----------2"
                };
                (Source::Entsoe { eic, token }, common)
            }
            SourceArgs::Energyzero { common } => (Source::EnergyZero, common),
        };
        if !(common.add.is_finite() && common.multiply.is_finite()) {
            return Err(Error::usage("--add and --multiply take numbers"));
        }
        Ok(Settings {
            source,
            out: common.out,
            server: common.url.map(|u| u.trim_end_matches('/').to_string()),
            day: common.day,
            add: common.add,
            multiply: common.multiply,
        })
    }
}
