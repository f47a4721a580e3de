//! Reading input a line at a time into reused buffers, with a bound on the line length so that
//! a stream with no line ends (garbage, a wrong baud rate) cannot grow memory, and the
//! rate-limited log of the lines that are not what they should be.

use std::borrow::Cow;
use std::fmt::Display;
use std::io::{self, BufRead};

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
    fn a_whole_line_is_seen_by_its_end_or_within() {
        assert!(!holds_a_whole_line(b""));
        assert!(holds_a_whole_line(b"{\"a\":1}\n"));
        assert!(holds_a_whole_line(b"{\"a\":1}\n{\"b\""));
        assert!(!holds_a_whole_line(b"{\"b\""));
    }
}
