//! A tiny logger over the `log` facade: one line per message on stderr, `prog: message`.
//! Supervisors and the journal add their own timestamps.

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

#[derive(Debug)]
struct StderrLogger {
    prog: &'static str,
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = match record.level() {
            Level::Error | Level::Warn | Level::Info => {
                writeln!(err, "{}: {}", self.prog, record.args())
            }
            Level::Debug | Level::Trace => writeln!(err, "{}: debug: {}", self.prog, record.args()),
        };
    }

    fn flush(&self) {}
}

/// Installs the logger for `prog` at `level` (once; later calls only change the level).
pub fn init(prog: &'static str, level: LevelFilter) {
    let logger: &'static StderrLogger = Box::leak(Box::new(StderrLogger { prog }));
    let _ = log::set_logger(logger);
    log::set_max_level(level);
}

/// The level from `-q` and `-v`: warnings and summaries by default, `-q` errors only, `-v`
/// debug detail as well.
pub fn level(quiet: bool, verbose: u8) -> LevelFilter {
    match (quiet, verbose) {
        (true, _) => LevelFilter::Error,
        (false, 0) => LevelFilter::Info,
        _ => LevelFilter::Debug,
    }
}
