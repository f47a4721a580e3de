//! The stage loop every stage of the pipeline runs: records in on stdin, one line at a time,
//! each passed on (with `--passthrough`) before what it leads to, read as a typed record and
//! handed to the stage by its type; the stage's own threads and the signals post into the
//! same inbox, and the stage's timer ticks. The loop blocks on that inbox until something
//! comes or the next tick is due: an idle stage costs nothing.
//!
//! A stage is a type implementing [`Stage`]: what it does with each kind of record, with its
//! events and on a tick. Everything else (the bounded reader, signals, passthrough, the
//! rate-limited log of bad lines) is here, once.

use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use crate::contract::envelope::TelegramEnvelope;
use crate::contract::events::{PeakRecord, RelayEvent};
use crate::contract::price::PriceRecord;
use crate::contract::reading::Reading;
use crate::contract::record::{Record, RecordError};
use crate::contract::select::Selection;
use crate::runtime::error::{Context as _, Error};
use crate::runtime::input::LineLog;
use crate::runtime::output::RecordWriter;
use crate::runtime::signals::{Signal, Signals};
use crate::runtime::wait::{self, Doorbell, Piece, Ring, StdinLines};

/// Where a stage writes: stdout, a record a line, flushed before the loop waits for input.
pub type Stdout = RecordWriter;

/// A record line is never longer (a reading is a few kB); a longer line is dropped whole.
pub const MAX_LINE: usize = 1 << 20;

/// What a handler of a stage gives back: done, or the error that ends the stage.
pub type Handled = Result<(), Error>;

/// What a stage does with the stream. A stage implements the handlers of the records it
/// consumes; the others come to [`Stage::on_other`] by type name, which does nothing by
/// default: they are passed on by the loop (with `--passthrough`) and otherwise ignored.
/// The line a record came on is [`Out::line`].
pub trait Stage {
    /// What the stage's own threads post to the loop (a broker's news, a control request).
    type Event: Send + 'static;

    /// The keys of a reading the stage reads (the rest is skipped unparsed); all by default.
    fn reading_keys(&self) -> Option<Selection<Reading>> {
        None
    }

    /// The record types the stage only stores or forwards as they came: their lines are
    /// checked to be JSON, not read, and come to [`Stage::on_other`] (the line in
    /// [`Out::line`]).
    fn unread_types(&self) -> &'static [&'static str] {
        &[]
    }

    /// A reading; [`Stage::on_other`] unless the stage reads readings.
    fn on_reading(&mut self, _reading: Reading, out: &mut Out<'_>) -> Handled {
        self.on_other("reading", out)
    }

    /// A telegram; [`Stage::on_other`] unless the stage reads telegrams.
    fn on_telegram(&mut self, _envelope: TelegramEnvelope<'_>, out: &mut Out<'_>) -> Handled {
        self.on_other("telegram", out)
    }

    /// A relay event; [`Stage::on_other`] unless the stage reads them.
    fn on_relay(&mut self, _event: RelayEvent, out: &mut Out<'_>) -> Handled {
        self.on_other("relay", out)
    }

    /// A peak record; [`Stage::on_other`] unless the stage reads them.
    fn on_peak(&mut self, _peak: PeakRecord, out: &mut Out<'_>) -> Handled {
        self.on_other("peak", out)
    }

    /// A price record; [`Stage::on_other`] unless the stage reads them.
    fn on_price(&mut self, _price: PriceRecord, out: &mut Out<'_>) -> Handled {
        self.on_other("price", out)
    }

    /// A record the stage does not consume: of a type it has no handler for, or one the
    /// toolkit does not know (from a newer stage).
    fn on_other(&mut self, _kind: &str, _out: &mut Out<'_>) -> Handled {
        Ok(())
    }

    /// A line that is not a record: warned about (rate-limited) and skipped by default.
    fn on_bad_line(&mut self, why: RecordError, out: &mut Out<'_>) -> Handled {
        out.bad_line(format_args!("{why}: skipped"));
        Ok(())
    }

    /// An event the stage's own threads sent (through [`Stage::Event`]).
    fn on_event(&mut self, _event: Self::Event, _out: &mut Out<'_>) -> Handled {
        Ok(())
    }

    /// When the next tick is due, if one is; [`Stage::on_tick`] must move it on.
    fn next_tick(&self) -> Option<Instant> {
        None
    }

    /// The tick [`Stage::next_tick`] asked for is due.
    fn on_tick(&mut self, _out: &mut Out<'_>) -> Handled {
        Ok(())
    }

    /// Every line at hand is handled, and the loop is about to wait: a stage that sends
    /// what records lead to elsewhere (a broker) sends it here, all at once.
    fn on_caught_up(&mut self, _out: &mut Out<'_>) -> Handled {
        Ok(())
    }

    /// SIGHUP.
    fn on_hangup(&mut self, _out: &mut Out<'_>) -> Handled {
        Ok(())
    }

    /// SIGTERM or SIGINT: the input is read for [`Stage::drain`] more, then the loop ends.
    fn on_stop(&mut self) {}

    /// The stage is done before its input (a viewer's user quit): the loop ends.
    fn finished(&self) -> bool {
        false
    }

    /// How long the input is still read after a stop request (the stages before are
    /// stopping too, and their last records are on their way).
    fn drain(&self) -> Duration {
        Duration::ZERO
    }
}

/// What a stage's handlers write to, and where they report a bad line.
pub struct Out<'a> {
    writer: &'a mut Stdout,
    log: &'a mut LineLog,
    passthrough: bool,
    /// The record's line, trimmed ("" outside a record's handler).
    line: &'a str,
}

impl std::fmt::Debug for Out<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Out")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl<'a> Out<'a> {
    /// Output to `writer`, bad lines counted in `log`, every record passed on when
    /// `passthrough`.
    pub fn new(writer: &'a mut Stdout, log: &'a mut LineLog, passthrough: bool) -> Self {
        Out {
            writer,
            log,
            passthrough,
            line: "",
        }
    }

    /// The line the record being handled came on, trimmed.
    pub fn line(&self) -> &'a str {
        self.line
    }

    /// Writes a record as one line, flushed before the loop waits for more input.
    pub fn write(&mut self, record: &Record<'_>) -> Result<(), Error> {
        self.writer.write(record)
    }

    /// Writes what is held now.
    ///
    /// # Errors
    /// The output's; a closed pipe is of kind `BrokenPipe`.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.writer.flush()
    }

    /// Writes bytes as they are, flushed before the loop waits for more input.
    pub fn write_raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.writer.write_raw(bytes)
    }

    /// Whether the input's lines are passed on.
    pub fn passes_through(&self) -> bool {
        self.passthrough
    }

    /// The line just read is bad, for `why` (a rate-limited warning).
    pub fn bad_line(&mut self, why: impl std::fmt::Display) {
        self.log.bad(why);
    }

    /// The input's line log: where the stream is, and how many lines were bad.
    pub fn log(&self) -> &LineLog {
        self.log
    }

    /// The line now read is number `line` of the input (for a reader that counts its own).
    pub fn at_line(&mut self, line: u64) {
        self.log.line = line;
    }
}

/// One line through a stage: passed on as it came, then read as a record and handed to the
/// stage by its type.
pub fn dispatch<S: Stage + ?Sized>(stage: &mut S, line: &str, out: &mut Out<'_>) -> Handled {
    if out.passthrough {
        out.writer.write_raw_line(line.as_bytes())?;
    }
    let text = line.trim_ascii();
    if text.is_empty() {
        out.bad_line("an empty line: skipped");
        return Ok(());
    }
    let out = &mut Out {
        writer: &mut *out.writer,
        log: &mut *out.log,
        passthrough: out.passthrough,
        line: text,
    };
    if let Some(kind) = unread_type(text, stage.unread_types()) {
        return stage.on_other(kind, out);
    }
    let record = match stage.reading_keys() {
        Some(keys) => Record::from_json_selecting(text, keys),
        None => Record::from_json(text),
    };
    match record {
        Ok(Record::Reading(reading)) => stage.on_reading(reading.into_owned(), out),
        Ok(Record::Telegram(envelope)) => stage.on_telegram(envelope, out),
        Ok(Record::Relay(event)) => stage.on_relay(event.into_owned(), out),
        Ok(Record::Peak(peak)) => stage.on_peak(peak.into_owned(), out),
        Ok(Record::Price(price)) => stage.on_price(price.into_owned(), out),
        Ok(Record::Other(kind)) => {
            out.log.unknown_type(&kind);
            stage.on_other(&kind, out)
        }
        Err(why) => stage.on_bad_line(why, out),
    }
}

/// The type of a line among `unread` (as every p1 program writes it, `{"type":"<type>"` first),
/// when the line is JSON; `None` for any other line, which is read.
fn unread_type(text: &str, unread: &[&'static str]) -> Option<&'static str> {
    let rest = text.strip_prefix(r#"{"type":""#)?;
    let kind = unread.iter().find(|kind| {
        rest.strip_prefix(**kind)
            .is_some_and(|r| r.starts_with('"'))
    })?;
    Record::is_json(text).then_some(kind)
}

/// How the loop ended, without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The input ended.
    Input,
    /// A stop was asked for (and the drain time is over).
    Stopped,
    /// The stage said it was done ([`Stage::finished`]).
    Finished,
}

impl End {
    /// The end in words, for the summary.
    pub fn describe(self) -> &'static str {
        match self {
            End::Input => "end of input",
            End::Stopped => "stop requested",
            End::Finished => "done",
        }
    }
}

/// What comes into the loop.
enum Message<E> {
    Signal(Signal),
    Event(E),
}

/// What a stage's threads post events with; cheap to clone.
pub struct Events<E> {
    inbox: Sender<Message<E>>,
    ring: Ring,
}

impl<E> Clone for Events<E> {
    fn clone(&self) -> Self {
        Events {
            inbox: self.inbox.clone(),
            ring: self.ring.clone(),
        }
    }
}

impl<E> std::fmt::Debug for Events<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Events")
    }
}

impl<E> Events<E> {
    /// Posts an event; false once the loop is gone.
    pub fn send(&self, event: E) -> bool {
        let sent = self.inbox.send(Message::Event(event)).is_ok();
        self.ring.ring();
        sent
    }
}

/// The loop of one stage: its inbox, its signals and its settings.
pub struct Runtime<E> {
    inbox: Receiver<Message<E>>,
    sender: Sender<Message<E>>,
    signals: Signals,
    /// Rung by whoever posts into the inbox, so that the loop's one wait hears it.
    doorbell: Doorbell,
    passthrough: bool,
    /// Whether stdin is read (not for a stage whose records come from elsewhere).
    stdin: bool,
    log: LineLog,
}

impl<E> std::fmt::Debug for Runtime<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("passthrough", &self.passthrough)
            .finish_non_exhaustive()
    }
}

impl<E: Send + 'static> Runtime<E> {
    /// Installs the signal handlers; stdin is read once [`Runtime::run`] starts.
    pub fn start(passthrough: bool) -> Result<Self, Error> {
        let (sender, inbox) = mpsc::channel();
        let signals = Signals::install()?;
        let doorbell = Doorbell::new().context("cannot make the loop's doorbell")?;
        let (to_loop, ring) = (sender.clone(), doorbell.button());
        signals.listen(move |signal| {
            let _ = to_loop.send(Message::Signal(signal));
            ring.ring();
        });
        Ok(Runtime {
            inbox,
            sender,
            signals,
            doorbell,
            passthrough,
            stdin: true,
            log: LineLog::default(),
        })
    }

    /// Leaves stdin alone: the stage's records come from its own threads, as events (and
    /// the terminal on stdin may be a person's keyboard).
    #[must_use]
    pub fn without_stdin(mut self) -> Self {
        self.stdin = false;
        self
    }

    /// For the stage's threads.
    pub fn events(&self) -> Events<E> {
        Events {
            inbox: self.sender.clone(),
            ring: self.doorbell.button(),
        }
    }

    /// The signals the stage loop listens to.
    pub fn signals(&self) -> &Signals {
        &self.signals
    }

    /// The input's lines so far, and the bad ones.
    pub fn log(&self) -> &LineLog {
        &self.log
    }

    /// After the loop: the next event of the stage's threads within `within`, if one comes
    /// (lines and signals are no longer looked at).
    pub fn next_event(&self, within: Duration) -> Option<E> {
        let until = Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.inbox.recv_timeout(left) {
                Ok(Message::Event(event)) => return Some(event),
                Ok(_) if !left.is_zero() => {}
                _ => return None,
            }
        }
    }

    /// Runs `stage` on stdin until the input ends, a stop is asked for (and drained), or
    /// a handler fails.
    pub fn run<S: Stage<Event = E>>(
        &mut self,
        stage: &mut S,
        writer: &mut Stdout,
    ) -> Result<End, Error> {
        writer.hold();
        let end = self.serve(stage, writer);
        let released = writer.release();
        let end = end?;
        released.map(|()| end)
    }

    /// [`Runtime::run`]'s loop: what is at hand is handled (the inbox first, then stdin's
    /// whole lines), and what it wrote flushed once nothing more is, before the loop waits
    /// on stdin, the doorbell and the next tick at once.
    fn serve<S: Stage<Event = E>>(
        &mut self,
        stage: &mut S,
        writer: &mut Stdout,
    ) -> Result<End, Error> {
        let mut input = self.stdin.then(StdinLines::new);
        let mut stopped: Option<Instant> = None;
        loop {
            let mut out = Out::new(writer, &mut self.log, self.passthrough);
            let handled = if let Ok(message) = self.inbox.try_recv() {
                match message {
                    Message::Signal(Signal::Stop) => {
                        if stopped.is_none() {
                            stopped = Some(Instant::now());
                            stage.on_stop();
                        }
                    }
                    Message::Signal(Signal::Hangup) => stage.on_hangup(&mut out)?,
                    Message::Event(event) => stage.on_event(event, &mut out)?,
                }
                true
            } else if let Some(input) = &mut input {
                match input.next(MAX_LINE) {
                    Some(Piece::Line(line)) => {
                        out.log.next();
                        let bytes = input.bytes(line);
                        match std::str::from_utf8(bytes) {
                            Ok(text) => dispatch(stage, text, &mut out)?,
                            Err(_) => dispatch(stage, &String::from_utf8_lossy(bytes), &mut out)?,
                        }
                        true
                    }
                    Some(Piece::TooLong(bytes)) => {
                        out.log.too_long(bytes);
                        true
                    }
                    None if input.ended => {
                        stage.on_caught_up(&mut out)?;
                        out.log.summary();
                        return Ok(End::Input);
                    }
                    // More input already there: read it before anything is flushed.
                    None if wait::stdin_ready() => input.fill().context("stdin").map(|_| true)?,
                    None => false,
                }
            } else {
                false
            };
            if stopped.is_some_and(|at| at.elapsed() >= stage.drain()) {
                stage.on_caught_up(&mut out)?;
                self.log.summary();
                return Ok(End::Stopped);
            }
            if stage.finished() {
                stage.on_caught_up(&mut out)?;
                return Ok(End::Finished);
            }
            if stage.next_tick().is_some_and(|at| at <= Instant::now()) {
                stage.on_tick(&mut out)?;
            }
            if handled {
                continue;
            }
            // Caught up: what the lines led to goes out, then the loop waits.
            stage.on_caught_up(&mut out)?;
            writer.flush()?;
            let drained = stopped.map(|at| at + stage.drain());
            let wake = [stage.next_tick(), drained].into_iter().flatten().min();
            let reading = input.as_ref().is_some_and(|i| !i.ended);
            if wait::wait(&self.doorbell, reading, wake)
                && let Some(input) = &mut input
            {
                input.fill().context("stdin")?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::io::Write;
    use std::rc::Rc;

    use super::*;

    /// What a stage was handed, in order.
    #[derive(Default)]
    struct Seen(Vec<String>);

    impl Stage for Seen {
        type Event = ();

        fn on_reading(&mut self, reading: Reading, _: &mut Out<'_>) -> Handled {
            self.0
                .push(format!("reading {:?}", reading.power_import_kw));
            Ok(())
        }

        fn on_telegram(&mut self, envelope: TelegramEnvelope<'_>, _: &mut Out<'_>) -> Handled {
            self.0.push(format!("telegram from {}", envelope.source));
            Ok(())
        }

        fn on_relay(&mut self, event: RelayEvent, _: &mut Out<'_>) -> Handled {
            self.0.push(format!("relay {}", event.load));
            Ok(())
        }

        fn on_other(&mut self, kind: &str, out: &mut Out<'_>) -> Handled {
            assert_eq!(out.line(), LINES[3].trim(), "the record's line");
            self.0.push(format!("other {kind}"));
            Ok(())
        }
    }

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    const LINES: [&str; 6] = [
        "{\"type\":\"reading\",\"power_import_kw\":0.5}\n",
        "{\"type\":\"telegram\",\"received\":\"2024-06-01T12:00:00Z\",\"source\":\"sim\",\"telegram\":\"/X\"}\n",
        "{\"type\":\"relay\",\"time\":\"2024-06-01T12:00:00+02:00\",\"load\":\"boiler\",\"state\":\"on\",\"reason\":\"r\"}\n",
        "{\"type\":\"forecast\",\"solar_kw\":1.0}\n",
        "{nope\n",
        "\n",
    ];

    fn through(passthrough: bool) -> (Vec<String>, String, LineLog) {
        let written = Shared::default();
        let mut writer = RecordWriter::new(written.clone());
        let mut log = LineLog::default();
        let mut stage = Seen::default();
        for line in LINES {
            log.next();
            let mut out = Out::new(&mut writer, &mut log, passthrough);
            dispatch(&mut stage, line, &mut out).unwrap();
        }
        let text = String::from_utf8(written.0.borrow().clone()).unwrap();
        (stage.0, text, log)
    }

    /// Issue 22: a type the stage does not read comes to `on_other` unread, if it is JSON.
    #[test]
    fn unread_types_come_as_their_lines_and_bad_ones_are_still_bad() {
        #[derive(Default)]
        struct Storing(Vec<String>);
        impl Stage for Storing {
            type Event = ();
            fn unread_types(&self) -> &'static [&'static str] {
                &["relay"]
            }
            fn on_other(&mut self, kind: &str, out: &mut Out<'_>) -> Handled {
                self.0.push(format!("{kind}: {}", out.line()));
                Ok(())
            }
            fn on_bad_line(&mut self, why: RecordError, _: &mut Out<'_>) -> Handled {
                self.0.push(format!("bad: {why}"));
                Ok(())
            }
        }
        let mut writer = RecordWriter::new(Shared::default());
        let mut log = LineLog::default();
        let mut stage = Storing::default();
        for line in [LINES[2], "{\"type\":\"relay\",\"load\":[}\n", LINES[3]] {
            let mut out = Out::new(&mut writer, &mut log, false);
            dispatch(&mut stage, line, &mut out).unwrap();
        }
        assert_eq!(stage.0[0], format!("relay: {}", LINES[2].trim()));
        assert!(stage.0[1].starts_with("bad: "), "{:?}", stage.0);
        assert_eq!(stage.0[2], format!("forecast: {}", LINES[3].trim()));
    }

    #[test]
    fn records_go_to_the_stage_by_type_and_every_line_is_passed_on_before() {
        let (seen, written, log) = through(true);
        assert_eq!(
            seen,
            [
                "reading Some(0.5)",
                "telegram from sim",
                "relay boiler",
                "other forecast"
            ]
        );
        assert_eq!(written, LINES.concat(), "every line, as it came");
        assert_eq!(
            (log.line, log.bad),
            (6, 2),
            "the line that is not JSON, the empty one"
        );
        let (_, written, _) = through(false);
        assert_eq!(written, "", "nothing passed on without --passthrough");
    }

    #[test]
    fn a_line_that_is_no_record_says_why() {
        let mut stage = Seen::default();
        let why = Record::from_json("{nope").unwrap_err();
        assert!(why.to_string().starts_with("not JSON"), "{why}");
        let mut writer = RecordWriter::new(Shared::default());
        let mut log = LineLog::default();
        stage
            .on_bad_line(why, &mut Out::new(&mut writer, &mut log, false))
            .unwrap();
        assert_eq!(log.bad, 1);
    }
}
