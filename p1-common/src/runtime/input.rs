//! Reading input a line at a time into reused buffers, with a bound on the line length so that
//! a stream with no line ends (garbage, a wrong baud rate) cannot grow memory, and the
//! rate-limited log of the lines that are not what they should be.

use std::borrow::Cow;
use std::fmt::Display;
use std::io::{self, BufRead, Read};
use std::sync::mpsc::{self, Receiver, Sender};

/// Reads up to and including the next `\n`, or `max` bytes, or to the end of input, into
/// `line` (cleared first). Returns the number of bytes read: 0 at the end of input.
pub fn read_line_bounded(
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> io::Result<usize> {
    line.clear();
    scan_line(input, max, |bytes| line.extend_from_slice(bytes))
}

/// Skips the rest of a line, through its `\n`; how many bytes it skipped.
fn skip_line(input: &mut impl BufRead) -> io::Result<usize> {
    scan_line(input, usize::MAX, |_| {})
}

/// Takes bytes through the next `\n`, at most `max`, handing each piece to `take`; how many.
fn scan_line(
    input: &mut impl BufRead,
    max: usize,
    mut take: impl FnMut(&[u8]),
) -> io::Result<usize> {
    let mut taken = 0;
    loop {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(taken);
        }
        let room = &available[..available.len().min(max - taken)];
        let (piece, done) = match memchr::memchr(b'\n', room) {
            Some(p) => (p + 1, true),
            None => (room.len(), taken + room.len() >= max),
        };
        take(&room[..piece]);
        input.consume(piece);
        taken += piece;
        if done {
            return Ok(taken);
        }
    }
}

/// Whether the `n`th of a kind of warning is told: the first ten, then the 16th, 32nd and so
/// on, so that a stream of garbage cannot flood the journal (each told one says how many so
/// far, and a summary gives the count of all).
#[must_use]
pub fn worth_telling(n: u64) -> bool {
    n <= 10 || n.is_power_of_two()
}

/// The numbering of an input's lines, and warnings about bad ones, told as
/// [`worth_telling`] says.
#[derive(Debug)]
pub struct LineLog {
    /// The input's name in messages.
    pub input: Cow<'static, str>,
    /// The number of the line last read.
    pub line: u64,
    /// Bad lines so far.
    pub bad: u64,
    /// The record types from outside the contract seen so far (the first few).
    unknown_types: Vec<String>,
}

/// How many record types from outside the contract are told apart (each warned about once).
const UNKNOWN_TYPES: usize = 8;

impl Default for LineLog {
    fn default() -> Self {
        LineLog::new("stdin")
    }
}

impl LineLog {
    /// The log of an input named `input` in messages (`stdin`, a file's path).
    pub fn new(input: impl Into<Cow<'static, str>>) -> Self {
        LineLog {
            input: input.into(),
            line: 0,
            bad: 0,
            unknown_types: Vec::new(),
        }
    }

    /// A line was read.
    pub fn next(&mut self) {
        self.line += 1;
    }

    /// A line longer than any record was read, and dropped whole.
    pub fn too_long(&mut self, bytes: usize) {
        self.next();
        self.bad(format_args!(
            "{bytes} bytes, longer than any record: dropped"
        ));
    }

    /// The line just read is a record of a type outside the contract (a newer stage's, or a
    /// typo): warned about once for each of the first few types.
    pub fn unknown_type(&mut self, kind: &str) {
        if self.unknown_types.len() < UNKNOWN_TYPES && !self.unknown_types.iter().any(|k| k == kind)
        {
            self.unknown_types.push(kind.to_string());
            log::warn!(
                "{}: line {}: a record of type \"{kind}\", which is no p1 record type: not read",
                self.input,
                self.line
            );
        }
    }

    /// At the end of the input: how many lines were bad, when not every one was shown.
    pub fn summary(&self) {
        if self.bad > 10 {
            log::warn!(
                "{}: {} bad lines in all (the first 10 shown, then every power of two)",
                self.input,
                self.bad
            );
        }
    }

    /// The line just read is bad, for `why`.
    pub fn bad(&mut self, why: impl Display) {
        self.bad += 1;
        if worth_telling(self.bad) {
            log::warn!(
                "{}: line {}: {why} ({} so far)",
                self.input,
                self.line,
                self.bad
            );
        }
    }
}

/// Whether `buffered` (what is left in a reader's buffer) holds a whole line, so that the
/// next line can be read without waiting. Lines come whole from a stage, so the last byte
/// mostly tells; only a buffer that ends in a part of a line is searched.
pub fn holds_a_whole_line(buffered: &[u8]) -> bool {
    match buffered.last() {
        None => false,
        Some(b'\n') => true,
        Some(_) => buffered.contains(&b'\n'),
    }
}

/// A line of stdin, as the reading thread hands it over.
#[derive(Debug)]
pub enum Line {
    /// A line, its `\n` included (but for a last line without one).
    Text(String),
    /// A line longer than the bound, dropped whole (its length in bytes), so that its tail
    /// is not read as a line of its own.
    TooLong(usize),
    /// The lines read so far are all handed over: the next line is not in yet (what they
    /// led to can be flushed).
    CaughtUp,
    /// The end of input.
    End,
    /// The input could not be read.
    Failed(io::Error),
}

/// Where a reader thread hands its lines: the stage loop's inbox, or a channel of lines.
pub trait LineSink: Send + 'static {
    /// False when nobody takes lines any more.
    fn send(&self, line: Line) -> bool;
}

impl LineSink for Sender<Line> {
    fn send(&self, line: Line) -> bool {
        Sender::send(self, line).is_ok()
    }
}

/// Buffers for the lines in flight: the reader takes one for each line and waits when none
/// is free, so at most `queue` lines are read ahead of their consumer, and once the
/// consumer gives them back ([`LineBuffers::give_back`]) no line allocates.
#[derive(Debug, Clone)]
pub struct LineBuffers {
    free: Sender<String>,
}

impl LineBuffers {
    /// A line's buffer, returned for the next line.
    pub fn give_back(&self, mut line: String) {
        line.clear();
        let _ = self.free.send(line);
    }
}

/// Reads stdin on a thread, a line (at most `max` bytes) at a time, at most `queue` lines
/// ahead of their consumer, handing each to `sink`.
pub fn spawn_stdin_reader(max: usize, queue: usize, sink: impl LineSink) -> LineBuffers {
    let (free, buffers) = mpsc::channel();
    for _ in 0..queue.max(1) {
        let _ = free.send(String::with_capacity(4096));
    }
    std::thread::spawn(move || {
        // A buffer of its own, to see whether a whole line is still in it.
        let mut input = io::BufReader::with_capacity(64 * 1024, io::stdin().lock());
        read_lines(&mut input, max, &buffers, &sink);
    });
    LineBuffers { free }
}

fn read_lines(
    input: &mut io::BufReader<impl Read>,
    max: usize,
    buffers: &Receiver<String>,
    sink: &impl LineSink,
) {
    loop {
        // A free buffer is the permission to read one more line.
        let Ok(text) = buffers.recv() else { return };
        let mut bytes = text.into_bytes();
        let message = match read_line_bounded(input, &mut bytes, max) {
            Ok(0) => Line::End,
            Ok(n) if n >= max && !bytes.ends_with(b"\n") => match skip_line(input) {
                Ok(rest) => Line::TooLong(n + rest),
                Err(e) => Line::Failed(e),
            },
            // Valid UTF-8 (every record) is checked far faster than it is repaired.
            Ok(_) => Line::Text(
                String::from_utf8(bytes)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            ),
            Err(e) => Line::Failed(e),
        };
        let last = matches!(message, Line::End | Line::Failed(_));
        if !sink.send(message) || last {
            return;
        }
        if !holds_a_whole_line(input.buffer()) && !sink.send(Line::CaughtUp) {
            return;
        }
    }
}

/// Reads stdin on a thread into a channel of lines, for a loop of its own.
pub fn spawn_stdin_lines(max: usize, queue: usize) -> (Receiver<Line>, LineBuffers) {
    let (sender, lines) = mpsc::channel();
    (lines, spawn_stdin_reader(max, queue, sender))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_long_lines_in_pieces() {
        let mut input = io::Cursor::new(b"ab\ncdefgh\n\nij".to_vec());
        let mut line = Vec::new();
        let mut got = Vec::new();
        while read_line_bounded(&mut input, &mut line, 4).unwrap() > 0 {
            got.push(String::from_utf8(line.clone()).unwrap());
        }
        assert_eq!(got, ["ab\n", "cdef", "gh\n", "\n", "ij"]);
    }

    #[test]
    fn the_rest_of_an_over_long_line_is_skipped_whole_regression_13() {
        let mut input = io::Cursor::new(b"cdefgh\nij\n".to_vec());
        let mut line = Vec::new();
        assert_eq!(read_line_bounded(&mut input, &mut line, 4).unwrap(), 4);
        assert_eq!(skip_line(&mut input).unwrap(), 3);
        assert_eq!(read_line_bounded(&mut input, &mut line, 4).unwrap(), 3);
        assert_eq!(line, b"ij\n");
    }

    #[test]
    fn a_whole_line_is_seen_by_its_end_or_within() {
        assert!(!holds_a_whole_line(b""));
        assert!(holds_a_whole_line(b"{\"a\":1}\n"));
        assert!(holds_a_whole_line(b"{\"a\":1}\n{\"b\""));
        assert!(!holds_a_whole_line(b"{\"b\""));
    }

    /// The reader takes a buffer for each line and waits for one to come back: at most the
    /// queue's worth of lines is read ahead, and the buffers are the same ones again.
    #[test]
    fn lines_are_read_ahead_only_as_far_as_free_buffers_go() {
        let (sink, lines) = mpsc::channel();
        let (free, buffers) = mpsc::channel();
        for _ in 0..2 {
            free.send(String::with_capacity(64)).unwrap();
        }
        let reader = std::thread::spawn(move || {
            let mut input = io::BufReader::new(io::Cursor::new(b"a\nb\nc\nd\xff\n".to_vec()));
            read_lines(&mut input, 16, &buffers, &sink);
        });
        let first = lines.recv().unwrap();
        let second = lines.recv().unwrap();
        assert!(
            matches!((&first, &second), (Line::Text(a), Line::Text(b)) if a == "a\n" && b == "b\n")
        );
        let recycled = match first {
            Line::Text(text) => text,
            other => panic!("{other:?}"),
        };
        assert!(
            lines
                .recv_timeout(std::time::Duration::from_millis(50))
                .is_err(),
            "no third line before a buffer is free"
        );
        free.send(recycled).unwrap();
        assert!(matches!(lines.recv().unwrap(), Line::Text(c) if c == "c\n"));
        drop(second);
        free.send(String::new()).unwrap();
        free.send(String::new()).unwrap();
        assert!(matches!(lines.recv().unwrap(), Line::Text(d) if d == "d\u{fffd}\n"));
        assert!(
            matches!(lines.recv().unwrap(), Line::CaughtUp),
            "the last line in, no other in the buffer"
        );
        assert!(matches!(lines.recv().unwrap(), Line::End));
        reader.join().unwrap();
    }
}
