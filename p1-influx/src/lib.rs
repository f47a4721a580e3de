//! p1-influx: readings into InfluxDB. Not implemented yet: its own issue fills it in.

use std::process::ExitCode;

use clap::Parser;
use p1_common::Error;

/// Write readings to InfluxDB 1.x, 2.x or 3.x through an on-disk spool (not implemented yet).
#[derive(Debug, Parser)]
#[command(name = "p1-influx", version)]
pub struct Cli {
    /// The server, e.g. http://127.0.0.1:8086.
    #[arg(long)]
    pub url: Option<String>,
    /// Write the line protocol to stdout instead of sending it.
    #[arg(long)]
    pub print: bool,
}

pub fn main() -> ExitCode {
    let _cli = Cli::parse();
    p1_common::exit_code(
        "p1-influx",
        Err(Error::Failure("not implemented yet".into())),
    )
}
