//! p1-read: telegrams from a meter's P1 port, a network dongle, a capture or a simulated meter.
//! Not implemented yet: its own issue fills it in.

use std::process::ExitCode;

use clap::Parser;
use p1_common::Error;

/// Read whole P1 telegrams from a serial port, TCP, a capture or the built-in simulated meter,
/// and write them as NDJSON envelopes (not implemented yet).
#[derive(Debug, Parser)]
#[command(name = "p1-read", version)]
pub struct Cli {
    /// /dev/ttyUSB0, tcp://HOST:PORT, a capture file, - for stdin, or sim.
    pub source: String,
}

pub fn main() -> ExitCode {
    let _cli = Cli::parse();
    p1_common::exit_code("p1-read", Err(Error::Failure("not implemented yet".into())))
}
