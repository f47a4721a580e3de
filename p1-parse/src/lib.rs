//! p1-parse: P1 telegrams in, one NDJSON reading per valid telegram out.
//!
//! Input is any mix of raw telegrams as a meter sends them (a capture) and the NDJSON envelopes
//! p1-read writes. Each input is framed on its own; an envelope's telegram is framed alone.
//! Every reading is written and flushed at once: p1-parse runs live at one telegram a second.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::process::ExitCode;

use clap::Parser;
use log::{error, info, warn};
use p1_common::decode::{LineIssue, decode};
use p1_common::error::IoCause;
use p1_common::frame::{Event, FrameStats, Framer, Reject};
use p1_common::input::read_line_bounded;
use p1_common::meter_time::ClockZone;
use p1_common::output::RecordWriter;
use p1_common::reading::Reading;
use p1_common::record::Record;
use p1_common::{Error, logger};

mod settings;

pub use crate::settings::Cli;
use crate::settings::{Input, PROG, Settings};

/// An envelope line is at most its telegram and the escapes of its CR LF: a line longer than
/// this many frames is framed in pieces instead.
const LINE_FRAMES: usize = 4;

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::init(PROG, logger::level(cli.quiet, cli.verbose));
    p1_common::exit_code(PROG, run(&Settings::from(cli), RecordWriter::stdout()))
}

/// Parses every input into `out`.
fn run<W: Write>(settings: &Settings, out: RecordWriter<W>) -> Result<(), Error> {
    let mut session = Session::new(settings, out);
    let mut failed_inputs = 0;
    for input in &settings.inputs {
        match input {
            Input::Stdin => session.read_input("stdin", &mut io::stdin().lock())?,
            Input::File(path) => {
                let name = path.display().to_string();
                match File::open(path) {
                    Ok(file) => {
                        session.read_input(&name, &mut BufReader::with_capacity(1 << 16, file))?;
                    }
                    Err(e) => {
                        error!("{name}: {}", IoCause(&e));
                        failed_inputs += 1;
                    }
                }
            }
        }
    }
    session.summarise(failed_inputs < settings.inputs.len());
    if failed_inputs > 0 {
        return Err(Error::Failure(format!(
            "{failed_inputs} input(s) could not be read"
        )));
    }
    Ok(())
}

/// Where a frame came from: a raw input, or an envelope on a line of one.
#[derive(Clone, Copy)]
enum Origin<'a> {
    Raw(&'a str),
    Envelope {
        input: &'a str,
        line: u64,
        received: &'a str,
    },
}

/// Where in the input a telegram was, for messages.
#[derive(Clone, Copy)]
enum Place<'a> {
    Byte(&'a str, u64),
    Line(&'a str, u64),
}

impl<'a> Origin<'a> {
    /// Raw inputs are placed by the frame's byte offset, envelopes by their line.
    fn place(self, offset: u64) -> Place<'a> {
        match self {
            Origin::Raw(input) => Place::Byte(input, offset),
            Origin::Envelope { input, line, .. } => Place::Line(input, line),
        }
    }
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Byte(input, offset) => write!(f, "{input}: byte {offset}"),
            Place::Line(input, line) => write!(f, "{input}: line {line}"),
        }
    }
}

/// State across all inputs.
struct Session<W: Write> {
    /// Copy input records to the output.
    passthrough: bool,
    max_frame: usize,
    /// Envelope lines longer than this are framed in pieces.
    max_line: usize,
    envelope_framer: Framer,
    frames: FrameStats,
    sink: Sink<W>,
}

/// What handles framed telegrams: decoding, output and counts.
struct Sink<W: Write> {
    zone: ClockZone,
    strict: bool,
    /// Decode telegrams whose CRC fails, marked as not checked.
    ignore_crc: bool,
    out: RecordWriter<W>,
    reading: Reading,
    issues: Vec<LineIssue>,
    emitted: u64,
    bad_lines: u64,
    bad_envelopes: u64,
    codes_warned: HashSet<String>,
    /// The first error met inside a framer callback, acted on when it returns.
    error: Option<Error>,
}

impl<W: Write> Session<W> {
    fn new(settings: &Settings, out: RecordWriter<W>) -> Self {
        Session {
            passthrough: settings.passthrough,
            max_frame: settings.max_frame,
            max_line: LINE_FRAMES.saturating_mul(settings.max_frame),
            envelope_framer: Framer::new(settings.max_frame),
            frames: FrameStats::default(),
            sink: Sink {
                zone: settings.zone,
                strict: settings.strict,
                ignore_crc: settings.ignore_crc,
                out,
                reading: Reading::default(),
                issues: Vec::new(),
                emitted: 0,
                bad_lines: 0,
                bad_envelopes: 0,
                codes_warned: HashSet::new(),
                error: None,
            },
        }
    }

    /// Lines matter only between frames, where an envelope may start; inside a frame whole
    /// buffered blocks go to the framer, which stops where the frame ends.
    fn read_input(&mut self, name: &str, input: &mut impl BufRead) -> Result<(), Error> {
        let mut framer = Framer::new(self.max_frame);
        let origin = Origin::Raw(name);
        let mut line = Vec::with_capacity(4096);
        let mut line_number = 1u64;
        let result = loop {
            if framer.in_frame() {
                let block = match input.fill_buf() {
                    Ok([]) => break Ok(()),
                    Ok(block) => block,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => break Err(Error::io(name.to_string(), e)),
                };
                let taken = framer.feed(block, |event| self.sink.on_event(event, origin));
                line_number += block[..taken].iter().filter(|&&b| b == b'\n').count() as u64;
                input.consume(taken);
            } else {
                let n = match read_line_bounded(input, &mut line, self.max_line) {
                    Ok(0) => break Ok(()),
                    Ok(n) => n,
                    Err(e) => break Err(Error::io(name.to_string(), e)),
                };
                let whole_line = line.ends_with(b"\n") || n < self.max_line;
                if whole_line && line.trim_ascii_start().starts_with(b"{") {
                    self.read_envelope(name, line_number, &line);
                } else {
                    framer.push(&line, |event| self.sink.on_event(event, origin));
                }
                if line.ends_with(b"\n") {
                    line_number += 1;
                }
            }
            if let Some(error) = self.sink.error.take() {
                break Err(error);
            }
        };
        if result.is_ok() {
            framer.finish(|event| self.sink.on_event(event, origin));
        }
        self.frames.add(framer.stats());
        if let Some(error) = self.sink.error.take() {
            return Err(error);
        }
        result
    }

    fn read_envelope(&mut self, name: &str, line_number: u64, line: &[u8]) {
        let record = Record::from_slice(line);
        if self.passthrough && record.is_ok() {
            self.sink.pass_through(line);
        }
        let envelope = match record {
            Ok(Record::Telegram(envelope)) => envelope,
            Ok(_) if self.passthrough => return,
            Ok(other) => {
                self.sink.bad_envelopes += 1;
                let kind = other.kind().to_string();
                self.sink.reject(format!(
                    "{name}: line {line_number}: a {kind} record, not a telegram envelope"
                ));
                return;
            }
            Err(e) => {
                self.sink.bad_envelopes += 1;
                self.sink.reject(format!(
                    "{name}: line {line_number}: not a telegram envelope: {e}"
                ));
                return;
            }
        };
        let origin = Origin::Envelope {
            input: name,
            line: line_number,
            received: &envelope.received,
        };
        let found = |framer: &Framer| framer.stats().telegrams + framer.stats().rejected();
        let before = found(&self.envelope_framer);
        self.envelope_framer.restart();
        let sink = &mut self.sink;
        self.envelope_framer
            .push(envelope.telegram.as_bytes(), |event| {
                sink.on_event(event, origin);
            });
        self.envelope_framer
            .finish(|event| sink.on_event(event, origin));
        if found(&self.envelope_framer) == before && self.sink.error.is_none() {
            self.sink.bad_envelopes += 1;
            warn!("{name}: line {line_number}: the envelope holds no telegram");
        }
    }

    /// The counts on stderr; `any_input_read` is false when every input failed to open (no
    /// hint about the input's format then).
    fn summarise(&mut self, any_input_read: bool) {
        self.frames.add(self.envelope_framer.stats());
        let f = &self.frames;
        let s = &self.sink;
        let read = f.telegrams + f.rejected();
        if read == 0 && s.bad_envelopes == 0 && any_input_read {
            warn!("no telegram found: is the input a P1 capture or p1-read output?");
        }
        let mut summary = format!(
            "{read} telegrams read, {} emitted, rejected: {}; {} unreadable lines kept under \"unknown\"; {} bytes of garbage skipped",
            s.emitted,
            f.rejected_by_reason(),
            s.bad_lines,
            f.garbage_bytes
        );
        if s.bad_envelopes > 0 {
            summary = format!("{summary}; {} bad envelope lines", s.bad_envelopes);
        }
        info!("{summary}");
    }
}

impl<W: Write> Sink<W> {
    /// Copies an input record line to the output as it is.
    fn pass_through(&mut self, line: &[u8]) {
        let result = self.out.write_raw_line(line);
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
    }

    fn on_event(&mut self, event: Event<'_>, origin: Origin<'_>) {
        if self.error.is_some() {
            return;
        }
        match event {
            Event::Telegram { bytes, offset, .. } => self.emit(bytes, offset, origin, true),
            Event::Rejected {
                bytes,
                offset,
                reason: reason @ Reject::CrcMismatch { .. },
            } if self.ignore_crc => {
                warn!(
                    "{}: {reason}: read anyway (--ignore-crc)",
                    origin.place(offset)
                );
                self.emit(bytes, offset, origin, false);
            }
            Event::Rejected { offset, reason, .. } => {
                self.reject(format!("{}: {reason}", origin.place(offset)));
            }
        }
    }

    /// Decodes a framed telegram and writes its reading.
    fn emit(&mut self, bytes: &[u8], offset: u64, origin: Origin<'_>, crc_checked: bool) {
        self.issues.clear();
        decode(bytes, self.zone, &mut self.reading, &mut self.issues);
        self.reading.received = match origin {
            Origin::Envelope { received, .. } => Some(received.to_string()),
            Origin::Raw(_) => None,
        };
        if !crc_checked {
            self.reading.crc = Some("not checked".to_string());
        }
        self.report_issues(origin.place(offset));
        match self
            .out
            .write(&Record::Reading(Cow::Borrowed(&self.reading)))
        {
            Ok(()) => self.emitted += 1,
            Err(e) => self.error = Some(e),
        }
    }

    /// A rejected telegram or envelope: the end under --strict, else a warning.
    fn reject(&mut self, message: String) {
        if self.strict {
            self.error = Some(Error::BadData(message));
        } else {
            warn!("{message}");
        }
    }

    /// Warns once per object code (every time with -v); all are counted for the summary.
    fn report_issues(&mut self, place: Place<'_>) {
        for issue in &self.issues {
            self.bad_lines += 1;
            if self.codes_warned.insert(issue.code.clone()) {
                warn!(
                    "{place}: {issue}; kept under \"unknown\" (further problems with {} are only counted)",
                    issue.code
                );
            } else {
                log::debug!("{place}: {issue}");
            }
        }
    }
}
