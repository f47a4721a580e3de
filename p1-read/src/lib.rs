//! p1-read: the first stage of the pipeline. Turns a byte stream (serial port, TCP, capture,
//! or the built-in simulated meter) into whole telegrams, one NDJSON envelope a line, written
//! and flushed the moment a telegram's CRC line has arrived.

mod emit;
mod health;
mod settings;
pub mod sim;
mod source;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use clap::Parser;
use p1_common::output::RecordWriter;
use p1_common::signals::Signals;
use p1_common::{Error, logger};

use crate::emit::Emitter;
pub use crate::settings::Cli;
use crate::settings::{Input, PROG, Settings, SimSettings};
use crate::sim::SimMeter;

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::init(PROG, logger::level(cli.quiet, cli.verbose));
    p1_common::exit_code(PROG, run(&Settings::from(cli)))
}

fn run(settings: &Settings) -> Result<(), Error> {
    let signals = Signals::install()?;
    let mut emitter = Emitter::new(RecordWriter::stdout(), &settings.name, &settings.output);
    let result = match &settings.input {
        Input::Sim(sim) => run_sim(sim, &signals, &mut emitter),
        Input::Bytes {
            source,
            serial,
            realtime,
        } => source::run(source, *serial, *realtime, settings, &signals, &mut emitter),
    };
    if !matches!(result, Err(Error::NoInput(_))) {
        emitter.summarise();
    }
    result
}

fn run_sim(settings: &SimSettings, signals: &Signals, emitter: &mut Emitter) -> Result<(), Error> {
    log::debug!(
        "sim: seed {}, start {}",
        settings.seed,
        Utc.from_utc_datetime(&settings.start).to_rfc3339()
    );
    let mut sim = SimMeter::new(settings.seed, settings.start);
    let began = Instant::now();
    let mut sent: u64 = 0;
    while !emitter.done() {
        if settings.speed > 0.0 {
            let due = began + Duration::from_secs_f64(sent as f64 / settings.speed);
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
