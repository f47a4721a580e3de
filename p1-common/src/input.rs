//! Reading input a line at a time into a reused buffer, with a bound on the line length so
//! that a stream with no line ends (garbage, a wrong baud rate) cannot grow memory.

use std::io::{self, BufRead};
use std::sync::mpsc::{self, Receiver};

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

/// The numbering of input lines, and warnings about bad ones: the first ten, then the 16th,
/// 32nd and so on, so that a stream of bad lines cannot flood the journal.
#[derive(Debug, Default)]
pub struct LineLog {
    /// The number of the line last read.
    pub line: u64,
    /// Bad lines so far.
    pub bad: u64,
}

impl LineLog {
    /// A line was read.
    pub fn next(&mut self) {
        self.line += 1;
    }

    /// A line longer than any record was read, and dropped whole.
    pub fn too_long(&mut self, bytes: usize) {
        self.next();
        self.bad(&format!("{bytes} bytes, longer than any record: dropped"));
    }

    /// The line just read is bad, for `why`.
    pub fn bad(&mut self, why: &str) {
        self.bad += 1;
        if self.bad <= 10 || self.bad.is_power_of_two() {
            log::warn!("stdin: line {}: {why} ({} so far)", self.line, self.bad);
        }
    }
}

/// A line of stdin, as the reading thread hands it over.
#[derive(Debug)]
pub enum Line {
    Text(String),
    /// A line longer than the bound, dropped whole (its length in bytes), so that its tail
    /// is not read as a line of its own.
    TooLong(usize),
    End,
    Failed(io::Error),
}

/// Reads stdin on a thread, a line (at most `max` bytes) at a time, so that the main loop can
/// wait with a timeout and watch signals and the wall clock meanwhile.
pub fn spawn_stdin_lines(max: usize, queue: usize) -> Receiver<Line> {
    let (tx, rx) = mpsc::sync_channel(queue);
    std::thread::spawn(move || {
        let mut input = io::stdin().lock();
        let mut line = Vec::with_capacity(4096);
        loop {
            let message = match read_line_bounded(&mut input, &mut line, max) {
                Ok(0) => Line::End,
                Ok(n) if n >= max && !line.ends_with(b"\n") => match skip_line(&mut input) {
                    Ok(rest) => Line::TooLong(n + rest),
                    Err(e) => Line::Failed(e),
                },
                // Valid UTF-8 (every record) is checked far faster than it is repaired.
                Ok(_) => Line::Text(match std::str::from_utf8(&line) {
                    Ok(text) => text.to_owned(),
                    Err(_) => String::from_utf8_lossy(&line).into_owned(),
                }),
                Err(e) => Line::Failed(e),
            };
            let last = matches!(message, Line::End | Line::Failed(_));
            if tx.send(message).is_err() || last {
                break;
            }
        }
    });
    rx
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
}
