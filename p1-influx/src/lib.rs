//! p1-influx: NDJSON records (p1-parse's readings, p1-relay's events) into `InfluxDB` 1.x, 2.x
//! or 3.x. The stdin side never waits on the network: records go to a spool, and a sender
//! thread posts it, so a slow or absent database neither stalls the pipeline nor loses a
//! point.
//!
//! - `settings`: the command line, the write endpoint and the spool's directories;
//! - [`line_protocol`]: records to points;
//! - `points`: the stage, records through the schema to the spool or stdout;
//! - `spool`: segments on the way (its `layout` owns the directories);
//! - `sender`: the thread that posts them (`gzip`ped) and reads the server's answers.

mod gzip;
pub mod line_protocol;
mod points;
mod sender;
mod settings;
mod spool;

use std::process::ExitCode;

use log::info;
use p1_common::Error;
use p1_common::runtime::stage::{End, Runtime, Stdout};

use crate::points::{Points, Print, Spooled};
use crate::sender::Sending;
pub use crate::settings::{Cli, after_help};
use crate::settings::{Output, PROG, Settings};
use crate::spool::Spool;

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    p1_common::runtime::cli::main(PROG, |cli: Cli| run(Settings::from_cli(cli)?))
}

fn run(settings: Settings) -> Result<(), Error> {
    let mut runtime = Runtime::start(false)?;
    let mut out = Stdout::stdout();
    let (spool, delivery) = match settings.output {
        Output::Print => {
            let mut points = Points::new(settings.schema, Print, settings.drain);
            return runtime.run(&mut points, &mut out).map(|_| ());
        }
        Output::Send(sending) => (sending.spool, sending.delivery),
    };
    let spool = Spool::open(&spool)?;
    let dirs = spool.layout().dirs().clone();
    info!(
        "writing to {} through the spool {}{}",
        delivery.target.url,
        dirs.cold.display(),
        dirs.hot.as_ref().map_or(String::new(), |hot| format!(
            " (in memory at {} while the database keeps up)",
            hot.display()
        ))
    );
    let sending = Sending::start(&delivery, spool.layout());
    let mut points = Points::new(settings.schema, Spooled { spool, sending }, settings.drain);
    let ended = runtime.run(&mut points, &mut out);
    let Spooled { mut spool, sending } = points.sink;
    spool.seal()?;
    // Only the end of the input has everything sent before the end.
    let stopped = !matches!(ended, Ok(End::Input));
    let sent = sending.finish(stopped, runtime.signals());
    // What is left goes to disk, whatever became of the sender.
    spool.put_away()?;
    let ended = ended?;
    let sent = sent?;
    let left = spool.left();
    let log = runtime.log();
    info!(
        "{}: {} lines read, {sent} points sent, {} skipped, {} dropped (spool full){}",
        ended.describe(),
        log.line,
        log.bad,
        spool.dropped_lines,
        if left > 0 {
            format!("; {left} batches left in the spool for the next run")
        } else {
            String::new()
        }
    );
    Ok(())
}
