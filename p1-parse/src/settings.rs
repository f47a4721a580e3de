//! The edge of p1-parse: its command line, and the settings the rest of the crate sees.

use std::path::PathBuf;

use clap::Parser;
use p1_common::Kind;
use p1_common::contract::reading::schema;
use p1_common::protocol::frame::DEFAULT_MAX_FRAME;
use p1_common::protocol::meter_time::ClockZone;
use p1_common::runtime::cli::{Exits, StageArgs};

use crate::parser::Rules;
use crate::reader::Input;

pub(crate) const PROG: &str = "p1-parse";

/// Parse P1 telegrams (Fluvius e-MUCS, DSMR 2.2 to 5) into NDJSON readings.
///
/// Reads raw telegrams (a capture: p1-parse < capture.txt) and p1-read's NDJSON envelopes,
/// in any mix, from the files named or from stdin, and writes one JSON object per valid
/// telegram on stdout, flushed at once. Telegrams whose CRC does not match are reported on
/// stderr with where they were and both CRCs, and not written. With --passthrough the input's
/// records (telegram envelopes, and records of other types) come out too, each before the
/// reading it gives.
#[derive(Debug, Parser)]
#[command(name = PROG, version, after_long_help = EXITS.after(&format!("{}{AFTER_HELP}", schema())))]
pub struct Cli {
    /// Inputs to read in turn; - or none for stdin.
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,

    /// Standard (winter) UTC offset of the meter's clock; EU summer time adds an hour.
    /// +01:00 for Belgium and the Netherlands, +00:00 for Ireland.
    #[arg(long, value_name = "+HH:MM", default_value = "+01:00", value_parser = ClockZone::parse, allow_hyphen_values = true)]
    pub(crate) utc_offset: ClockZone,

    /// Stop at the first rejected telegram or unreadable envelope, with exit status 65.
    #[arg(long)]
    pub(crate) strict: bool,

    /// Read telegrams whose CRC fails too (a cable that corrupts the CRC line): each such
    /// reading says "crc":"not checked". Its values may be wrong.
    #[arg(long)]
    pub(crate) ignore_crc: bool,

    /// Drop a frame that grows past this many bytes with no !.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FRAME)]
    pub(crate) max_frame: usize,

    #[command(flatten)]
    pub(crate) stage: StageArgs,
}

/// How p1-parse ends.
const EXITS: Exits = Exits {
    success: "every input read (also when stdout is closed early)",
    failures: &[
        (Kind::Failure, "an input could not be read"),
        (Kind::Data, "a telegram was rejected"),
    ],
};

/// What p1-parse does, decided from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) inputs: Vec<Input>,
    pub(crate) rules: Rules,
    /// Copy input records before the readings they give.
    pub(crate) passthrough: bool,
}

impl From<Cli> for Settings {
    fn from(cli: Cli) -> Self {
        let mut inputs: Vec<Input> = cli
            .files
            .into_iter()
            .map(|path| {
                if path.as_os_str() == "-" {
                    Input::Stdin
                } else {
                    Input::File(path)
                }
            })
            .collect();
        if inputs.is_empty() {
            inputs.push(Input::Stdin);
        }
        Settings {
            inputs,
            rules: Rules {
                zone: cli.utc_offset,
                strict: cli.strict,
                ignore_crc: cli.ignore_crc,
                max_frame: cli.max_frame,
            },
            passthrough: cli.stage.passthrough,
        }
    }
}

const AFTER_HELP: &str = "
EXAMPLES
  p1-read /dev/ttyUSB0 | p1-parse                    readings as they come
  p1-parse capture.txt > readings.ndjson             a capture, at hundreds of thousands a second
  p1-parse --passthrough < envelopes.ndjson          the telegrams kept beside their readings
  p1-parse capture.txt | jq -c 'select(.power_export_kw > 0) | [.time, .power_export_kw]'

SEE ALSO
  p1-read(1), p1-relay(1), p1-report(1), p1(5) (the reading's keys, as above)
";
