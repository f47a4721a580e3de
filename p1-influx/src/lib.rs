//! p1-influx: NDJSON records (p1-parse's readings, p1-relay's events) into `InfluxDB` 1.x, 2.x
//! or 3.x. The stdin side never waits on the network: records go to an on-disk spool, and a
//! sender thread posts it, so a slow or absent database neither stalls the pipeline nor loses
//! a point.

pub mod line_protocol;
mod sender;
mod settings;
mod spool;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use clap::Parser;
use log::{debug, info};
use p1_common::input::{Line, LineLog, spawn_stdin_lines};
use p1_common::output::RecordWriter;
use p1_common::record::{Record, RecordError};
use p1_common::signals::Signals;
use p1_common::{Error, logger};

use crate::line_protocol::{NothingToWrite, Schema, reading_keys};
use crate::sender::Sender;
pub use crate::settings::{Cli, after_help};
use crate::settings::{Delivery, Output, PROG, Settings};
use crate::spool::Spool;
use p1_common::field::Selection;
use p1_common::reading::Reading;

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::init(PROG, logger::level(cli.quiet, cli.verbose));
    p1_common::exit_code(PROG, Settings::from_cli(cli).and_then(run))
}

fn run(settings: Settings) -> Result<(), Error> {
    let mut converter = Converter::new(settings.schema);
    let signals = Signals::install()?;
    let mut input_end = InputEnd {
        drain: settings.drain,
        stop_seen: None,
    };
    match settings.output {
        Output::Print => print(&mut converter, &signals, &mut input_end),
        Output::Send(delivery) => send(&mut converter, &delivery, &signals, &mut input_end),
    }
}

/// When to stop reading the input. After SIGTERM it is still read for the drain time: the
/// stages before are stopping too, and their last records (the relay's exit events, which
/// say every load went off) are on their way.
struct InputEnd {
    drain: Duration,
    stop_seen: Option<Instant>,
}

impl InputEnd {
    /// Whether a stop was asked for, noting when it was first seen.
    fn stopping(&mut self, signals: &Signals) -> bool {
        if signals.stop_requested() {
            self.stop_seen.get_or_insert_with(Instant::now);
        }
        self.stop_seen.is_some()
    }

    /// Whether the input is no longer read.
    fn over(&mut self, signals: &Signals) -> bool {
        self.stopping(signals) && self.stop_seen.is_some_and(|t| t.elapsed() >= self.drain)
    }

    /// How long to wait for a line before looking at the signals again.
    fn poll(&self) -> Duration {
        if self.stop_seen.is_some() {
            Duration::from_millis(50)
        } else {
            Duration::from_millis(500)
        }
    }

    /// Why reading ended, the input being over.
    fn ended(&self) -> Ended {
        if self.stop_seen.is_some() {
            Ended::StopRequested
        } else {
            Ended::Input
        }
    }
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A record line is never longer (a reading is a few kB).
const MAX_LINE: usize = 1 << 20;

/// Lines read ahead of the spool, at most.
const INPUT_QUEUE: usize = 16;

/// Why an input line gave no point.
#[derive(Debug)]
enum Skip {
    Record(RecordError),
    Nothing(NothingToWrite),
}

impl From<RecordError> for Skip {
    fn from(e: RecordError) -> Self {
        Skip::Record(e)
    }
}

impl From<NothingToWrite> for Skip {
    fn from(e: NothingToWrite) -> Self {
        Skip::Nothing(e)
    }
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Record(e) => e.fmt(f),
            Skip::Nothing(e) => e.fmt(f),
        }
    }
}

/// Converts one input line; warns (with its number) about lines with nothing to write.
struct Converter {
    schema: Schema,
    /// What the schema reads of a reading.
    keys: Selection<Reading>,
    log: LineLog,
    buf: String,
}

impl Converter {
    fn new(schema: Schema) -> Self {
        Converter {
            schema,
            keys: reading_keys(),
            log: LineLog::default(),
            buf: String::with_capacity(4096),
        }
    }

    /// The points of one line, in `self.buf`; how many.
    fn convert(&mut self, text: &str) -> usize {
        self.log.next();
        self.buf.clear();
        let text = text.trim();
        if text.is_empty() {
            return 0;
        }
        match self.points(text) {
            Ok(n) => n,
            // Envelopes and records of other types pass by in a linear pipeline.
            Err(Skip::Nothing(NothingToWrite::Type(kind))) => {
                debug!(
                    "stdin: line {}: a {kind} record: not written",
                    self.log.line
                );
                0
            }
            Err(why) => {
                self.log.bad(&format!("{why}: skipped"));
                0
            }
        }
    }

    fn points(&mut self, text: &str) -> Result<usize, Skip> {
        let record = Record::from_json_selecting(text, self.keys)?;
        Ok(self.schema.record(&record, now_secs(), &mut self.buf)?)
    }
}

/// Why the input side stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Input,
    StopRequested,
}

impl Ended {
    fn describe(self) -> &'static str {
        match self {
            Ended::Input => "end of input",
            Ended::StopRequested => "stop requested",
        }
    }
}

/// The sender thread and the flags it watches.
struct Sending {
    thread: JoinHandle<u64>,
    input_done: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    wake: mpsc::Sender<()>,
}

impl Sending {
    fn start(delivery: &Delivery, drain: Duration) -> Sending {
        let input_done = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (wake, woken): (_, Receiver<()>) = mpsc::channel();
        let mut sender = Sender::new(
            delivery.target.clone(),
            &delivery.spool,
            delivery.timeout,
            Arc::clone(&input_done),
            Arc::clone(&stop),
            drain,
            woken,
        );
        let thread = std::thread::spawn(move || {
            sender.run();
            sender.sent_lines
        });
        Sending {
            thread,
            input_done,
            stop,
            wake,
        }
    }

    fn wake(&self) {
        let _ = self.wake.send(());
    }

    /// Starts the sender's drain time (it sends what it can, then leaves the rest).
    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Tells the sender the input is over and waits for it (a second SIGTERM stops it at
    /// once); how many points it sent.
    fn finish(self, ended: Ended, signals: &Signals) -> Result<u64, Error> {
        if ended == Ended::StopRequested {
            self.stop();
        }
        self.input_done.store(true, Ordering::Release);
        self.wake();
        while !self.thread.is_finished() {
            if signals.stop_requested() {
                self.stop.store(true, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.thread.join().map_err(|_| {
            Error::Failure(
                "the sender failed (a bug): what it had not sent stays in the spool".into(),
            )
        })
    }
}

fn send(
    converter: &mut Converter,
    delivery: &Delivery,
    signals: &Signals,
    input_end: &mut InputEnd,
) -> Result<(), Error> {
    let mut spool = Spool::open(&delivery.spool)?;
    let dirs = &delivery.spool.dirs;
    info!(
        "writing to {} through the spool {}{}",
        delivery.target.url,
        dirs.cold.display(),
        dirs.hot.as_ref().map_or(String::new(), |hot| format!(
            " (in memory at {} while the database keeps up)",
            hot.display()
        ))
    );
    let sending = Sending::start(delivery, input_end.drain);
    let ended = spool_input(converter, &mut spool, &sending, signals, input_end)?;
    spool.seal()?;
    let sent = sending.finish(ended, signals);
    // What is left goes to disk, whatever became of the sender.
    spool.put_away()?;
    let sent = sent?;
    let left = spool::sealed_segments(dirs).map_or(0, |s| s.len());
    info!(
        "{}: {} lines read, {sent} points sent, {} skipped, {} dropped (spool full){}",
        ended.describe(),
        converter.log.line,
        converter.log.bad,
        spool.dropped_lines,
        if left > 0 {
            format!("; {left} batches left in the spool for the next run")
        } else {
            String::new()
        }
    );
    Ok(())
}

/// Appends the input's points to the spool until the input ends or, after a stop request,
/// the drain time is over.
fn spool_input(
    converter: &mut Converter,
    spool: &mut Spool,
    sending: &Sending,
    signals: &Signals,
    input_end: &mut InputEnd,
) -> Result<Ended, Error> {
    // Few lines in flight: what is read from stdin is in the spool (handed to the kernel)
    // before more than INPUT_QUEUE lines and one read buffer are taken from the pipe, so a
    // SIGKILL loses no more than those.
    let lines = spawn_stdin_lines(MAX_LINE, INPUT_QUEUE);
    loop {
        if input_end.stopping(signals) {
            sending.stop();
        }
        if input_end.over(signals) {
            return Ok(Ended::StopRequested);
        }
        let line = match lines.recv_timeout(input_end.poll()) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return Ok(input_end.ended()),
        };
        match line {
            Some(Line::Text(text)) => {
                let n = converter.convert(&text);
                if n > 0 {
                    spool.append(&converter.buf, n)?;
                    // To the kernel at once: a crash of this process loses nothing written.
                    spool.flush()?;
                }
            }
            Some(Line::TooLong(bytes)) => converter.log.too_long(bytes),
            Some(Line::End) => return Ok(input_end.ended()),
            Some(Line::Failed(e)) => return Err(Error::io("stdin", e)),
            None => spool.sync_if_due()?,
        }
        if spool.seal_if_old()? {
            sending.wake();
        }
    }
}

/// `--print`: line protocol to stdout, one record at a time.
fn print(
    converter: &mut Converter,
    signals: &Signals,
    input_end: &mut InputEnd,
) -> Result<(), Error> {
    let mut out = RecordWriter::stdout();
    let lines = spawn_stdin_lines(MAX_LINE, INPUT_QUEUE);
    while !input_end.over(signals) {
        match lines.recv_timeout(input_end.poll()) {
            Ok(Line::Text(text)) => {
                if converter.convert(&text) > 0 {
                    out.write_raw(converter.buf.as_bytes())?;
                }
            }
            Ok(Line::TooLong(bytes)) => converter.log.too_long(bytes),
            Ok(Line::Failed(e)) => return Err(Error::io("stdin", e)),
            Ok(Line::End) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
    Ok(())
}
