//! What the stage loop waits on, in one `poll`: stdin, read by the loop itself into a buffer
//! it splits into lines (no reading thread to wake first: one wake-up a burst of input, not
//! two), and a doorbell that the stage's threads and the signal handler ring after they
//! post into the loop's inbox.

use std::io;
use std::ops::Range;
use std::os::fd::{AsFd as _, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;
use rustix::pipe::{PipeFlags, pipe_with};

/// How much one read takes from stdin at most.
const CHUNK: usize = 64 * 1024;

/// The doorbell: a pipe whose read end the loop polls.
#[derive(Debug)]
pub(crate) struct Doorbell {
    read: OwnedFd,
    write: Arc<OwnedFd>,
}

/// The doorbell's button, for the threads that post into the inbox.
#[derive(Debug, Clone)]
pub(crate) struct Ring(Arc<OwnedFd>);

impl Ring {
    /// Wakes the loop (a full pipe is ringing already).
    pub(crate) fn ring(&self) {
        let _ = rustix::io::write(&*self.0, &[1]);
    }
}

impl Doorbell {
    pub(crate) fn new() -> io::Result<Doorbell> {
        let (read, write) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        Ok(Doorbell {
            read,
            write: Arc::new(write),
        })
    }

    pub(crate) fn button(&self) -> Ring {
        Ring(Arc::clone(&self.write))
    }

    /// Empties the pipe: every ring so far is heard.
    fn silence(&self) {
        let mut rings = [0u8; 64];
        while matches!(rustix::io::read(&self.read, &mut rings), Ok(n) if n > 0) {}
    }
}

/// What came out of stdin's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// A line's bytes in [`StdinLines::bytes`], its `\n` included (but for a last line
    /// without one).
    Line(Range<usize>),
    /// A line longer than the bound, dropped whole: its length.
    TooLong(usize),
}

/// stdin, read by the loop into one buffer that is reused (no allocation a line).
#[derive(Debug)]
pub(crate) struct StdinLines {
    buffer: Vec<u8>,
    /// Where the lines not yet taken begin.
    start: usize,
    /// How far from `start` there is surely no `\n`.
    scanned: usize,
    /// The bytes of an over-long line dropped so far, while its end is looked for.
    dropping: Option<usize>,
    /// stdin ended (what is left is the last line).
    pub(crate) ended: bool,
}

impl StdinLines {
    pub(crate) fn new() -> StdinLines {
        StdinLines {
            buffer: Vec::with_capacity(CHUNK),
            start: 0,
            scanned: 0,
            dropping: None,
            ended: false,
        }
    }

    /// The bytes a [`Piece::Line`] names.
    pub(crate) fn bytes(&self, line: Range<usize>) -> &[u8] {
        &self.buffer[line]
    }

    /// The next whole line in the buffer (lines at most `max` bytes), if there is one; at
    /// the end of input, the last bytes too.
    pub(crate) fn next(&mut self, max: usize) -> Option<Piece> {
        let rest = &self.buffer[self.start..];
        let newline = memchr::memchr(b'\n', &rest[self.scanned..]).map(|i| self.scanned + i);
        match newline {
            // The end of a line longer than any record: dropped whole.
            Some(end) if self.dropping.is_some() || end >= max => {
                let dropped = self.dropping.take().unwrap_or(0) + end + 1;
                self.take(end + 1);
                Some(Piece::TooLong(dropped))
            }
            Some(end) => {
                let line = self.start..self.start + end + 1;
                self.take(end + 1);
                Some(Piece::Line(line))
            }
            None if self.dropping.is_none() && rest.len() < max => {
                if self.ended && !rest.is_empty() {
                    let line = self.start..self.buffer.len();
                    self.take(rest.len());
                    return Some(Piece::Line(line));
                }
                self.scanned = rest.len();
                None
            }
            // Too long already and no end yet: dropped as it comes.
            None => {
                let dropped = self.dropping.unwrap_or(0) + rest.len();
                self.take(rest.len());
                if self.ended {
                    self.dropping = None;
                    return Some(Piece::TooLong(dropped));
                }
                self.dropping = Some(dropped);
                None
            }
        }
    }

    fn take(&mut self, bytes: usize) {
        self.start += bytes;
        self.scanned = 0;
    }

    /// Reads what stdin has (blocking only if it has nothing yet); `Ok(false)` at its end.
    pub(crate) fn fill(&mut self) -> io::Result<bool> {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        if self.buffer.capacity() - self.buffer.len() < CHUNK / 4 {
            self.buffer.reserve(CHUNK);
        }
        let stdin = io::stdin();
        loop {
            match rustix::io::read(
                stdin.as_fd(),
                rustix::buffer::spare_capacity(&mut self.buffer),
            ) {
                Ok(0) => {
                    self.ended = true;
                    return Ok(false);
                }
                // Nothing yet from a stdin left non-blocking by whoever started us: the wait
                // tells when there is.
                Ok(_) | Err(Errno::AGAIN) => return Ok(true),
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Whether stdin has something to read now (data, or its end).
pub(crate) fn stdin_ready() -> bool {
    let stdin = io::stdin();
    let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(poll(&mut fds, Some(&now)), Ok(n) if n > 0)
}

/// Waits until stdin (when `stdin`) has something, the doorbell rings, or `until`; true when
/// stdin is what woke it.
pub(crate) fn wait(doorbell: &Doorbell, stdin: bool, until: Option<Instant>) -> bool {
    let input = io::stdin();
    let timeout = until.map(|at| {
        let left = at.saturating_duration_since(Instant::now()) + Duration::from_micros(500);
        Timespec::try_from(left).unwrap_or(Timespec {
            tv_sec: i64::from(i32::MAX),
            tv_nsec: 0,
        })
    });
    let mut fds = [
        PollFd::new(&doorbell.read, PollFlags::IN),
        PollFd::new(&input, PollFlags::IN),
    ];
    let watched = if stdin { 2 } else { 1 };
    match poll(&mut fds[..watched], timeout.as_ref()) {
        Ok(_) => {
            if !fds[0].revents().is_empty() {
                doorbell.silence();
            }
            stdin && !fds[1].revents().is_empty()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces `chunks`, arriving one after another, are split into (lines as text).
    fn split(chunks: &[&[u8]], max: usize) -> Vec<String> {
        let mut lines = StdinLines::new();
        let mut got = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            lines.buffer.extend_from_slice(chunk);
            lines.ended = i + 1 == chunks.len();
            while let Some(piece) = lines.next(max) {
                got.push(match piece {
                    Piece::Line(range) => String::from_utf8(lines.bytes(range).to_vec()).unwrap(),
                    Piece::TooLong(n) => format!("<{n} bytes dropped>"),
                });
            }
        }
        got
    }

    #[test]
    fn lines_whole_whatever_the_reads_and_the_last_without_its_end() {
        assert_eq!(
            split(&[b"ab\ncd", b"e\n\nf"], 100),
            ["ab\n", "cde\n", "\n", "f"]
        );
        assert_eq!(split(&[b"a", b"b", b"\n"], 100), ["ab\n"]);
    }

    #[test]
    fn an_over_long_line_is_dropped_whole_regression_13() {
        assert_eq!(
            split(&[b"ok\n0123", b"456789", b"01\nnext\n"], 8),
            ["ok\n", "<13 bytes dropped>", "next\n"]
        );
        assert_eq!(split(&[b"0123456789"], 4), ["<10 bytes dropped>"]);
        assert_eq!(
            split(&[b"0123456789\nnext\n"], 8),
            ["<11 bytes dropped>", "next\n"]
        );
    }

    proptest::proptest! {
        /// However the input is cut into reads, the lines are those of the whole.
        #[test]
        fn reads_do_not_change_the_lines(text in "[a-c\n]{0,200}", cuts in proptest::collection::vec(0usize..200, 0..8)) {
            let bytes = text.as_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut from = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                chunks.push(&bytes[from..cut]);
                from = cut;
            }
            let expected: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
            proptest::prop_assert_eq!(split(&chunks, 1000), expected);
        }
    }
}
