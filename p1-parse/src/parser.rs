//! Telegrams to readings: each framed telegram decoded and written at once; rejected frames
//! and lines that could not be read reported (or, under `--strict`, the end); the counts for
//! the summary. Envelope lines come through the shared stage dispatch as records.

use std::borrow::Cow;
use std::collections::HashSet;

use log::{info, warn};
use p1_common::Error;
use p1_common::contract::envelope::TelegramEnvelope;
use p1_common::contract::reading::Reading;
use p1_common::contract::record::{Record, RecordError};
use p1_common::protocol::decode::{LineIssue, decode};
use p1_common::protocol::frame::{Event, FrameStats, Framer, Reject};
use p1_common::protocol::meter_time::ClockZone;
use p1_common::runtime::input::worth_telling;
use p1_common::runtime::stage::{Handled, Out, Stage};

/// How telegrams are read and what stops p1-parse.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    pub(crate) zone: ClockZone,
    /// Stop at the first rejected telegram or bad envelope line.
    pub(crate) strict: bool,
    /// Decode telegrams whose CRC fails, marked as not checked.
    pub(crate) ignore_crc: bool,
    pub(crate) max_frame: usize,
}

/// Where a frame came from in the input being read: its raw bytes, or an envelope on a line.
#[derive(Clone, Copy)]
pub(crate) enum Origin<'a> {
    Raw,
    Envelope { line: u64, received: &'a str },
}

/// Where in an input a telegram was, for messages: raw inputs by the frame's byte offset,
/// envelopes by their line.
struct Place<'a> {
    input: &'a str,
    origin: Origin<'a>,
    offset: u64,
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.origin {
            Origin::Raw => write!(f, "{}: byte {}", self.input, self.offset),
            Origin::Envelope { line, .. } => write!(f, "{}: line {line}", self.input),
        }
    }
}

fn place<'a>(out: &'a Out<'_>, origin: Origin<'a>, offset: u64) -> Place<'a> {
    Place {
        input: &out.log().input,
        origin,
        offset,
    }
}

/// Decodes telegrams, writes their readings, and counts.
pub(crate) struct Parser {
    rules: Rules,
    reading: Reading,
    issues: Vec<LineIssue>,
    /// Frames the telegram of one envelope at a time (taken while it does).
    envelope_framer: Option<Framer>,
    /// The envelope's telegram, unescaped (a buffer kept for the next).
    envelope_text: Vec<u8>,
    frames: FrameStats,
    emitted: u64,
    bad_lines: u64,
    bad_envelopes: u64,
    /// Telegrams rejected (CRC, truncated...): the warnings are rate-limited.
    rejects: u64,
    codes_warned: HashSet<String>,
}

impl Parser {
    pub(crate) fn new(rules: Rules) -> Self {
        Parser {
            envelope_framer: Some(Framer::new(rules.max_frame)),
            envelope_text: Vec::new(),
            rules,
            reading: Reading::default(),
            issues: Vec::new(),
            frames: FrameStats::default(),
            emitted: 0,
            bad_lines: 0,
            bad_envelopes: 0,
            rejects: 0,
            codes_warned: HashSet::new(),
        }
    }

    /// A framer for one raw input.
    pub(crate) fn framer(&self) -> Framer {
        Framer::new(self.rules.max_frame)
    }

    /// Adds a finished input's framing counts.
    pub(crate) fn count_frames(&mut self, stats: &FrameStats) {
        self.frames.add(stats);
    }

    /// A telegram or a dropped frame, from `origin`.
    pub(crate) fn on_frame(
        &mut self,
        event: Event<'_>,
        origin: Origin<'_>,
        out: &mut Out<'_>,
    ) -> Result<(), Error> {
        match event {
            Event::Telegram { bytes, offset, .. } => self.emit(bytes, offset, origin, true, out),
            Event::Rejected {
                bytes,
                offset,
                reason: reason @ Reject::CrcMismatch { .. },
            } if self.rules.ignore_crc => {
                warn!(
                    "{}: {reason}: read anyway (--ignore-crc)",
                    place(out, origin, offset)
                );
                self.emit(bytes, offset, origin, false, out)
            }
            Event::Rejected { offset, reason, .. } => {
                self.reject(format!("{}: {reason}", place(out, origin, offset)))
            }
        }
    }

    /// Decodes a framed telegram and writes its reading.
    fn emit(
        &mut self,
        bytes: &[u8],
        offset: u64,
        origin: Origin<'_>,
        crc_checked: bool,
        out: &mut Out<'_>,
    ) -> Result<(), Error> {
        self.issues.clear();
        decode(bytes, self.rules.zone, &mut self.reading, &mut self.issues);
        self.reading.received = match origin {
            Origin::Envelope { received, .. } => Some(received.to_string()),
            Origin::Raw => None,
        };
        if !crc_checked {
            self.reading.crc = Some("not checked".to_string());
        }
        self.report_issues(&place(out, origin, offset));
        out.write(&Record::Reading(Cow::Borrowed(&self.reading)))?;
        self.emitted += 1;
        Ok(())
    }

    /// A rejected telegram: the end under --strict, else a warning (rate-limited: noise
    /// holds a frame every hundred bytes).
    fn reject(&mut self, message: String) -> Result<(), Error> {
        if self.rules.strict {
            return Err(Error::bad_data(message));
        }
        self.rejects += 1;
        if worth_telling(self.rejects) {
            warn!("{message} ({} so far)", self.rejects);
        }
        Ok(())
    }

    /// A line that should have been a telegram envelope: the end under --strict, else a
    /// rate-limited warning.
    fn bad_envelope(
        &mut self,
        why: impl std::fmt::Display,
        out: &mut Out<'_>,
    ) -> Result<(), Error> {
        self.bad_envelopes += 1;
        if self.rules.strict {
            let log = out.log();
            return Err(Error::bad_data(format!(
                "{}: line {}: {why}",
                log.input, log.line
            )));
        }
        out.bad_line(why);
        Ok(())
    }

    /// Warns once per object code (every time with -v); all are counted for the summary.
    fn report_issues(&mut self, place: &Place<'_>) {
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

    /// The counts on stderr; `any_input_read` is false when every input failed to open (no
    /// hint about the input's format then).
    pub(crate) fn summarise(&mut self, any_input_read: bool) {
        if let Some(framer) = &self.envelope_framer {
            self.frames.add(framer.stats());
        }
        let f = &self.frames;
        let read = f.telegrams + f.rejected();
        if read == 0 && self.bad_envelopes == 0 && any_input_read {
            warn!("no telegram found: is the input a P1 capture or p1-read output?");
        }
        let mut summary = format!(
            "{read} telegrams read, {} emitted, rejected: {}; {} unreadable lines kept under \"unknown\"; {} bytes of garbage skipped",
            self.emitted,
            f.rejected_by_reason(),
            self.bad_lines,
            f.garbage_bytes
        );
        if self.bad_envelopes > 0 {
            summary = format!("{summary}; {} bad envelope lines", self.bad_envelopes);
        }
        info!("{summary}");
    }

    /// An envelope line whose bytes are not UTF-8.
    pub(crate) fn not_utf8(&mut self, out: &mut Out<'_>) -> Result<(), Error> {
        self.bad_envelope("not a telegram envelope: not UTF-8", out)
    }

    /// Records other than envelopes are passed on, or are bad lines here.
    fn other_record(&mut self, kind: &str, out: &mut Out<'_>) -> Result<(), Error> {
        if out.passes_through() {
            return Ok(());
        }
        self.bad_envelope(
            format_args!("a {kind} record, not a telegram envelope"),
            out,
        )
    }
}

/// Envelope lines, through the shared dispatch: the envelope's telegram framed alone.
impl Stage for Parser {
    type Event = ();

    fn on_telegram(&mut self, envelope: TelegramEnvelope<'_>, out: &mut Out<'_>) -> Handled {
        let line = out.log().line;
        let origin = Origin::Envelope {
            line,
            received: &envelope.received,
        };
        let found = |framer: &Framer| framer.stats().telegrams + framer.stats().rejected();
        let mut framer = self.envelope_framer.take().unwrap_or_else(|| self.framer());
        let mut text = std::mem::take(&mut self.envelope_text);
        text.clear();
        envelope.telegram.append_to(&mut text);
        let before = found(&framer);
        framer.restart();
        let result = framer
            .push(&text, |event| self.on_frame(event, origin, out))
            .and_then(|()| framer.finish(|event| self.on_frame(event, origin, out)));
        let empty = found(&framer) == before;
        self.envelope_framer = Some(framer);
        self.envelope_text = text;
        result?;
        if empty {
            self.bad_envelopes += 1;
            if worth_telling(self.bad_envelopes) {
                warn!(
                    "{}: line {line}: the envelope holds no telegram ({} so far)",
                    out.log().input,
                    self.bad_envelopes
                );
            }
        }
        Ok(())
    }

    fn on_other(&mut self, kind: &str, out: &mut Out<'_>) -> Handled {
        self.other_record(kind, out)
    }

    fn on_bad_line(&mut self, why: RecordError, out: &mut Out<'_>) -> Handled {
        self.bad_envelope(format_args!("not a telegram envelope: {why}"), out)
    }
}
