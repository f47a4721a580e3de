//! p1-read: the first stage of the pipeline. Turns a byte stream (serial port, TCP, capture,
//! or the built-in simulated meter) into whole telegrams, one NDJSON envelope a line, written
//! and flushed the moment a telegram's CRC line has arrived.

pub mod emit;
pub mod health;
pub mod sim;
pub mod source;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use clap::{Parser, ValueEnum};
use p1_common::frame::DEFAULT_MAX_FRAME;
use p1_common::meter_time::ClockZone;
use p1_common::output::RecordWriter;
use p1_common::signals::Signals;
use p1_common::{Error, logger};

use crate::emit::Emitter;
use crate::sim::SimMeter;
use crate::source::{SerialSettings, Source};

const PROG: &str = "p1-read";

/// Read whole P1 telegrams and write them as NDJSON envelopes.
///
/// SOURCE is a serial device (/dev/ttyUSB0, /dev/serial0, ...), tcp://HOST:PORT (ser2net or a
/// network P1 dongle), a capture file, - for stdin, or sim for the built-in simulated Belgian
/// meter. Each telegram is written the moment its CRC line arrives:
///
///   {"type":"telegram","received":"<RFC 3339, ms>","source":"<SOURCE>","telegram":"<exact text>"}
///
/// Telegrams whose CRC fails are dropped with a warning (--keep-invalid passes them on with an
/// "invalid" key). A device that disappears, or a TCP connection that drops, is retried with
/// backoff without restarting; a long silence is reported once.
#[derive(Debug, Parser)]
#[command(name = PROG, version, after_long_help = AFTER_HELP)]
pub struct Cli {
    /// Where telegrams come from. The default, /dev/ttyUSB0, is what a USB P1 cable (the most
    /// common way to connect) appears as; on a Raspberry Pi's own UART use /dev/serial0.
    #[arg(default_value = "/dev/ttyUSB0")]
    pub source: String,

    /// Write the telegrams' exact bytes instead of envelopes (a capture p1-parse reads later).
    #[arg(long)]
    pub raw: bool,

    /// Pass frames that fail their CRC on too, marked with "invalid" (for diagnosis).
    #[arg(long)]
    pub keep_invalid: bool,

    /// Stop after this many telegrams.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Serial: the meter's protocol. 2.2 and 3 mean 9600 baud 7E1; 4, 5 and emucs 115200 8N1.
    #[arg(long, value_name = "VERSION")]
    pub dsmr: Option<DsmrVersion>,

    /// Serial: baud rate (default 115200, or 9600 with --dsmr 2.2/3).
    #[arg(long)]
    pub baud: Option<u32>,

    /// Serial: data bits, 7 or 8 (the parity bit of a 7E1 line read as 8 bits is masked off).
    #[arg(long, value_parser = clap::value_parser!(u8).range(7..=8))]
    pub data_bits: Option<u8>,

    /// Serial: parity.
    #[arg(long)]
    pub parity: Option<ParityArg>,

    /// Replays: pace telegrams as the meter did (by their timestamps, else one a second)
    /// instead of as fast as the reader downstream takes them.
    #[arg(long)]
    pub realtime: bool,

    /// sim: seed of the simulated household (the same seed and --start give the same telegrams).
    #[arg(long)]
    pub seed: Option<u64>,

    /// sim: run its clock this many times faster than real time (0: as fast as possible).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,

    /// sim: its clock's start, RFC 3339 (2024-06-01T10:00:00+02:00) or Belgian local time
    /// (2024-06-01T10:00:00); default now.
    #[arg(long, value_name = "TIME", value_parser = parse_start)]
    pub start: Option<NaiveDateTime>,

    /// Warn once when a live source sends nothing for this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub idle_warning: u64,

    /// Report what was dropped and why at most this often, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub report_every: u64,

    /// Drop a frame that grows past this many bytes with no `!`.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FRAME)]
    pub max_frame: usize,

    /// Errors only.
    #[arg(short, long)]
    pub quiet: bool,

    /// More detail on stderr.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

const AFTER_HELP: &str = "\
EXIT STATUS
  0   success: end of a capture, --count reached, SIGTERM or SIGINT, or stdout closed
  1   runtime failure
  2   usage error
  66  the source cannot be opened at start (no such device or file, permission denied,
      device in use by another program); a TCP source is retried instead

TROUBLESHOOTING
  no data          check the cable and that the meter's P1 port is enabled (Fluvius: in
                   the customer portal); a USB cable must invert the signal for DSMR 4+
  no telegram      bytes arrive but no '/': wrong baud rate or parity, try --dsmr 2.2
                   for old Dutch meters (9600 7E1), the default 115200 8N1 otherwise
  CRC mismatches   a noisy or too long cable, or two readers on one port
";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DsmrVersion {
    #[value(name = "2.2")]
    V2_2,
    #[value(name = "3")]
    V3,
    #[value(name = "4")]
    V4,
    #[value(name = "5")]
    V5,
    #[value(name = "emucs")]
    Emucs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ParityArg {
    None,
    Even,
    Odd,
}

impl Cli {
    fn serial_settings(&self) -> SerialSettings {
        let old = matches!(self.dsmr, Some(DsmrVersion::V2_2 | DsmrVersion::V3));
        SerialSettings {
            baud: self.baud.unwrap_or(if old { 9600 } else { 115_200 }),
            data_bits: self.data_bits.unwrap_or(if old { 7 } else { 8 }),
            parity: self.parity.unwrap_or(if old {
                ParityArg::Even
            } else {
                ParityArg::None
            }),
        }
    }
}

fn parse_start(text: &str) -> Result<NaiveDateTime, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.naive_utc());
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
        .map_err(|_| format!("'{text}' is not a time like 2024-06-01T10:00:00+02:00"))?;
    // Belgian local time, by the EU rule.
    Ok(ClockZone::default().utc_of_local(local))
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::init(PROG, logger::level(cli.quiet, cli.verbose));
    p1_common::exit_code(PROG, run(&cli))
}

pub fn run(cli: &Cli) -> Result<(), Error> {
    let signals = Signals::install()?;
    let mut emitter = Emitter::new(RecordWriter::stdout(), cli);
    let result = match Source::parse(&cli.source) {
        Source::Sim => run_sim(cli, &signals, &mut emitter),
        source => source::run(source, cli, &signals, &mut emitter),
    };
    if !matches!(result, Err(Error::NoInput(_))) {
        emitter.summarise();
    }
    result
}

fn run_sim(cli: &Cli, signals: &Signals, emitter: &mut Emitter) -> Result<(), Error> {
    let start = cli.start.unwrap_or_else(|| Utc::now().naive_utc());
    let seed = cli
        .seed
        .unwrap_or_else(|| Utc::now().timestamp_nanos_opt().unwrap_or(0) as u64);
    log::debug!(
        "sim: seed {seed}, start {}",
        Utc.from_utc_datetime(&start).to_rfc3339()
    );
    let mut sim = SimMeter::new(seed, start);
    let began = Instant::now();
    let mut sent: u64 = 0;
    while !emitter.done() {
        if cli.speed > 0.0 {
            let due = began + Duration::from_secs_f64(sent as f64 / cli.speed);
            if !signals.sleep_until(due) {
                break;
            }
        } else if signals.stop_requested() {
            break;
        }
        emitter.telegram(sim.next_telegram().as_bytes())?;
        sent += 1;
    }
    Ok(())
}
