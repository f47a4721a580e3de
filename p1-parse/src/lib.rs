//! p1-parse: P1 telegrams in, one NDJSON reading per valid telegram out.
//!
//! Input is any mix of raw telegrams as a meter sends them (a capture) and the NDJSON envelopes
//! p1-read writes. Each input is framed on its own; an envelope's telegram is framed alone.
//! Every reading is written and flushed at once: p1-parse runs live at one telegram a second.
//!
//! - `settings`: the command line, and the settings it gives;
//! - `reader`: the inputs, told apart line by line into raw bytes and envelope lines;
//! - `parser`: telegrams decoded into readings and written, the envelope lines through the
//!   shared stage dispatch, and the counts.

mod parser;
mod reader;
mod settings;

use std::process::ExitCode;

pub use crate::settings::Cli;
use crate::settings::{PROG, Settings};

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    p1_common::runtime::cli::main(PROG, |cli: Cli| {
        let settings = Settings::from(cli);
        let parser = parser::Parser::new(settings.rules);
        reader::run(&settings.inputs, parser, settings.passthrough)
    })
}
