//! The edge of p1-read: its command line, and the settings the rest of the crate sees.
#![allow(
    rustdoc::invalid_html_tags,
    reason = "the command line's doc comments are its --help text, not Markdown: <exact> is a placeholder"
)]

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{Parser, ValueEnum};
use p1_common::protocol::frame::DEFAULT_MAX_FRAME;
use p1_common::protocol::meter_time::ClockZone;
use p1_common::runtime::cli::{Exits, LogArgs};
use p1_common::runtime::duration;
use p1_common::{Error, Kind};

use crate::decoder::Decoder;
use crate::emit::OutputSettings;
use crate::health::Health;
use crate::keys::read_keys;
use crate::play::Play;
use crate::source::{Parity, Reader, SerialSettings, Source};

pub(crate) const PROG: &str = "p1-read";

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
#[command(name = PROG, version, after_long_help = EXITS.after(AFTER_HELP))]
pub struct Cli {
    /// Where telegrams come from. The default, /dev/ttyUSB0, is what a USB P1 cable (the most
    /// common way to connect) appears as; on a Raspberry Pi's own UART use /dev/serial0.
    #[arg(default_value = "/dev/ttyUSB0")]
    pub(crate) source: String,

    /// Write the telegrams' exact bytes instead of envelopes (a capture p1-parse reads later).
    #[arg(long)]
    pub(crate) raw: bool,

    /// Pass frames that fail their CRC on too, marked with "invalid" (for diagnosis).
    #[arg(long)]
    pub(crate) keep_invalid: bool,

    /// Stop after this many telegrams.
    #[arg(long, value_name = "N")]
    pub(crate) count: Option<u64>,

    /// Serial: the meter's protocol. 2.2 and 3 mean 9600 baud 7E1; 4, 5 and emucs 115200 8N1.
    #[arg(long, value_name = "VERSION")]
    pub(crate) dsmr: Option<DsmrVersion>,

    /// Serial: baud rate (default 115200, or 9600 with --dsmr 2.2/3).
    #[arg(long)]
    pub(crate) baud: Option<u32>,

    /// Serial: data bits, 7 or 8 (the parity bit of a 7E1 line read as 8 bits is masked off).
    #[arg(long, value_parser = clap::value_parser!(u8).range(7..=8))]
    pub(crate) data_bits: Option<u8>,

    /// Serial: parity: none, even or odd.
    #[arg(long, value_parser = PossibleValuesParser::new(Parity::NAMES.iter().copied()).try_map(|s| s.parse::<Parity>()))]
    pub(crate) parity: Option<Parity>,

    /// Replays: pace telegrams as the meter did (by their timestamps, else one a second)
    /// instead of as fast as the reader downstream takes them.
    #[arg(long)]
    pub(crate) realtime: bool,

    /// sim: seed of the simulated household (the same seed and --start give the same telegrams).
    #[arg(long)]
    pub(crate) seed: Option<u64>,

    /// sim: run its clock this many times faster than real time (0: as fast as possible).
    #[arg(long, default_value_t = 1.0)]
    pub(crate) speed: f64,

    /// sim: its clock's start, RFC 3339 (2024-06-01T10:00:00+02:00) or Belgian local time
    /// (2024-06-01T10:00:00); default now.
    #[arg(long, value_name = "TIME", value_parser = parse_start)]
    pub(crate) start: Option<NaiveDateTime>,

    /// Warn once when a live source sends nothing for this long.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration::arg)]
    pub(crate) idle_warning: Duration,

    /// Report what was dropped and why at most this often.
    #[arg(long, value_name = "DURATION", default_value = "600s", value_parser = duration::arg)]
    pub(crate) report_every: Duration,

    /// An encrypted meter (Luxembourg's Smarty, Austrian meters): the file holding its
    /// encryption key, 32 hex digits (readable by its owner only). Frames are found by their
    /// header and length, their tag verified, their counter checked.
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,

    /// The meter's own authentication key (Austrian operators give one; default: the
    /// Smarty's, 00112233445566778899AABBCCDDEEFF).
    #[arg(long, value_name = "FILE", requires = "key_file")]
    pub(crate) auth_key_file: Option<PathBuf>,

    /// sim: play an encrypted meter with this key (and the Smarty's authentication key):
    /// with --key-file the frames are read back as any meter's, with --raw they are written.
    #[arg(long, value_name = "FILE")]
    pub(crate) encrypt_key_file: Option<PathBuf>,

    /// Drop a frame that grows past this many bytes with no !.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FRAME)]
    pub(crate) max_frame: usize,

    #[command(flatten)]
    pub(crate) log: LogArgs,
}

/// How p1-read ends.
const EXITS: Exits = Exits {
    success: "end of a capture, --count reached, SIGTERM or SIGINT, or stdout closed",
    failures: &[
        (
            Kind::NoInput,
            "no such device or file, permission denied, device in use by another program; a TCP \
             source is retried instead",
        ),
        (
            Kind::Config,
            "a key file that cannot be used, or a key that no frame's tag verifies with",
        ),
    ],
};

const AFTER_HELP: &str = "\
ENCRYPTED METERS
  Luxembourg's Smarty and several Austrian meters send each telegram in an AES-128-GCM frame,
  one every 10 s. --key-file names a file (owner-only: chmod 600) holding the meter's
  encryption key, 32 hex digits; --auth-key-file the meter's own authentication key, where
  the operator gives one (a Smarty uses 00112233445566778899AABBCCDDEEFF). Every frame's tag
  is verified: a failing one is dropped with a warning; a key that fails every frame for a
  minute (or of a whole capture) ends p1-read with status 78. A frame counter that does not
  rise is a replay and is dropped; lost frames are counted. The envelope carries the frame's
  system_title and frame_counter; --raw writes the decrypted telegrams. Try it without a
  meter: p1-read sim --encrypt-key-file K --key-file K (K: any 32-hex-digit key file).

TROUBLESHOOTING
  no data          check the cable and that the meter's P1 port is enabled (Fluvius: in
                   the customer portal); a USB cable must invert the signal for DSMR 4+
  no telegram      bytes arrive but no '/': wrong baud rate or parity, try --dsmr 2.2
                   for old Dutch meters (9600 7E1), the default 115200 8N1 otherwise
  CRC mismatches   a noisy or too long cable, or two readers on one port

EXAMPLES
  p1-read /dev/ttyUSB0 | p1-parse                     a USB P1 cable, readings as NDJSON
  p1-read --raw /dev/ttyUSB0 > capture.txt            a capture to replay or report on later
  p1-read tcp://192.168.1.50:2001 | p1-parse          a network P1 dongle or ser2net
  p1-read sim --start 2024-06-12T11:00:00 --speed 60  the simulated meter, a sunny noon
  p1-read --key-file smarty.key /dev/ttyUSB0          a Luxembourg Smarty (encrypted)

SEE ALSO
  p1-parse(1), p1-pipeline(1), p1(5)
";

/// Line presets by protocol (a command-line convenience; the settings see the line only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DsmrVersion {
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

impl Cli {
    fn serial_settings(&self) -> SerialSettings {
        let old = matches!(self.dsmr, Some(DsmrVersion::V2_2 | DsmrVersion::V3));
        SerialSettings {
            baud: self.baud.unwrap_or(if old { 9600 } else { 115_200 }),
            data_bits: self.data_bits.unwrap_or(if old { 7 } else { 8 }),
            parity: self
                .parity
                .unwrap_or(if old { Parity::Even } else { Parity::None }),
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

/// What p1-read does, decided from the command line: the source and its decoder built.
#[derive(Debug)]
pub(crate) struct Settings {
    /// The source as the user named it, for messages and envelopes.
    pub(crate) name: String,
    pub(crate) job: Job,
    pub(crate) output: OutputSettings,
}

/// Where telegrams come from.
#[derive(Debug)]
pub(crate) enum Job {
    Sim(Play),
    Read(Reader),
}

impl Settings {
    pub(crate) fn from_cli(cli: Cli) -> Result<Self, Error> {
        let keys = cli
            .key_file
            .as_deref()
            .map(|path| read_keys(path, cli.auth_key_file.as_deref()))
            .transpose()?;
        let encrypt = cli
            .encrypt_key_file
            .as_deref()
            .map(|path| read_keys(path, None))
            .transpose()?;
        if (keys.is_some() || encrypt.is_some()) && !cfg!(feature = "encryption") {
            return Err(Error::usage(
                "this p1-read was built without the encryption feature",
            ));
        }
        if encrypt.is_some() && cli.source != "sim" {
            return Err(Error::usage("--encrypt-key-file is for sim"));
        }
        if encrypt.is_some() && keys.is_none() && !cli.raw {
            return Err(Error::usage(
                "an encrypted sim needs --key-file to be read back, or --raw to write its frames",
            ));
        }
        let decoder = Decoder::new(&cli.source, cli.max_frame, keys.as_ref());
        let job = if cli.source == "sim" {
            Job::Sim(Play {
                read_back: (encrypt.is_some() && keys.is_some()).then_some(decoder),
                encrypt,
                seed: cli.seed.unwrap_or_else(|| {
                    Utc::now().timestamp_nanos_opt().unwrap_or(0).unsigned_abs()
                }),
                start: cli.start.unwrap_or_else(|| Utc::now().naive_utc()),
                speed: cli.speed,
            })
        } else {
            Job::Read(Reader {
                source: Source::parse(&cli.source)
                    .map_err(|e| Error::config(format!("SOURCE {e}")))?,
                serial: cli.serial_settings(),
                realtime: cli.realtime,
                decoder,
                health: Health::new(&cli.source, cli.idle_warning, cli.report_every),
            })
        };
        Ok(Settings {
            job,
            output: OutputSettings {
                raw: cli.raw,
                keep_invalid: cli.keep_invalid,
                count: cli.count,
            },
            name: cli.source,
        })
    }
}
