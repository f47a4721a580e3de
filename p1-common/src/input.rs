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
    loop {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(line.len());
        }
        let room = &available[..available.len().min(max - line.len())];
        let (take, done) = match memchr::memchr(b'\n', room) {
            Some(p) => (p + 1, true),
            None => (room.len(), line.len() + room.len() >= max),
        };
        line.extend_from_slice(&room[..take]);
        input.consume(take);
        if done {
            return Ok(line.len());
        }
    }
}

/// Skips the rest of a line, through its `\n`; how many bytes it skipped.
fn skip_line(input: &mut impl BufRead) -> io::Result<usize> {
    let mut skipped = 0;
    loop {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(skipped);
        }
        let (take, done) = match memchr::memchr(b'\n', available) {
            Some(p) => (p + 1, true),
            None => (available.len(), false),
        };
        input.consume(take);
        skipped += take;
        if done {
            return Ok(skipped);
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
