//! p1-read: the first stage of the pipeline. Turns a byte stream (serial port, TCP, capture,
//! or the built-in simulated meter) into whole telegrams, one NDJSON envelope a line, written
//! and flushed the moment a telegram's CRC line has arrived.
//!
//! - `settings`: the command line, which builds the source and its decoder;
//! - `source`: serial devices and TCP, captures and stdin (replayed);
//! - `live`: a live source, reopened with backoff when lost;
//! - `reading`: a source read on a thread of its own, its buffers going there and back;
//! - `play`: the simulated meter (`sim`) as a source, `sim` its household and telegrams;
//! - `decoder`: bytes to telegrams, through the decryption of an encrypted meter (`gcm`,
//!   with its `keys`);
//! - `health`: a live source watched for silence and drops;
//! - `emit`: telegrams written out as envelopes or raw bytes.

mod decoder;
mod emit;
#[cfg(feature = "encryption")]
mod gcm;
mod health;
mod keys;
mod live;
mod play;
mod reading;
mod settings;
pub mod sim;
mod source;

use std::process::ExitCode;

use p1_common::runtime::output::RecordWriter;
use p1_common::runtime::signals::Signals;

use crate::emit::Emitter;
#[cfg(feature = "encryption")]
pub use crate::gcm::fuzz_encrypted;
pub use crate::settings::Cli;
use crate::settings::{Job, PROG, Settings};

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    p1_common::runtime::cli::main(PROG, |cli: Cli| {
        let Settings { name, job, output } = Settings::from_cli(cli)?;
        let signals = Signals::install()?;
        let mut emitter = Emitter::new(RecordWriter::stdout(), &name, &output);
        let result = match job {
            Job::Sim(play) => play.run(&signals, &mut emitter),
            Job::Read(reader) => reader.run(&signals, &mut emitter),
        };
        if !matches!(&result, Err(e) if e.kind() == p1_common::Kind::NoInput) {
            emitter.summarise();
        }
        result
    })
}
