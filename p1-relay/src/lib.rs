//! p1-relay: switches loads from readings. Not implemented yet: its own issue fills it in.

use std::process::ExitCode;

use clap::Parser;
use p1_common::Error;

/// Switch loads on export surplus and shed them on import or before a capacity-tariff peak
/// (not implemented yet).
#[derive(Debug, Parser)]
#[command(name = "p1-relay", version)]
pub struct Cli {
    /// The TOML configuration of the loads.
    #[arg(long)]
    pub config: std::path::PathBuf,
    /// Decide and report, switch nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn main() -> ExitCode {
    let _cli = Cli::parse();
    p1_common::exit_code(
        "p1-relay",
        Err(Error::Failure("not implemented yet".into())),
    )
}
