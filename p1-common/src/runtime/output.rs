//! Record output: one record a line, flushed at once (the pipeline runs live at one telegram a
//! second), or held while a stage has more input at hand and flushed before it waits for
//! more (what one telegram leads to leaves in one write, which wakes the next stage once),
//! with a closed pipe reported as a broken pipe
//! ([`Kind::BrokenPipe`](crate::runtime::error::Kind)), so that it ends the program quietly.

use std::io::{self, Write};

use crate::contract::json::WriteJson as _;
use crate::contract::record::Record;
use crate::runtime::error::{Context as _, Error};

/// The most a [`RecordWriter`] holds before it writes: a pipe's buffer's worth.
pub const HOLD_AT_MOST: usize = 64 * 1024;

/// Writes records to stdout (or another writer), one line each, flushed after each unless
/// held.
pub struct RecordWriter {
    out: Box<dyn Write>,
    line: Vec<u8>,
    /// Lines held for the next [`RecordWriter::flush`], while `holding`.
    held: Vec<u8>,
    holding: bool,
}

impl std::fmt::Debug for RecordWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordWriter").finish_non_exhaustive()
    }
}

impl RecordWriter {
    /// A writer on this process's stdout.
    pub fn stdout() -> Self {
        RecordWriter::new(io::stdout().lock())
    }

    /// A writer on `out`.
    pub fn new(out: impl Write + 'static) -> Self {
        RecordWriter {
            out: Box::new(out),
            line: Vec::with_capacity(4096),
            held: Vec::with_capacity(16 * 1024),
            holding: false,
        }
    }

    /// From now on lines are held until [`RecordWriter::flush`] (or `release`).
    pub fn hold(&mut self) {
        self.holding = true;
    }

    /// Writes the lines held, in one write, and flushes.
    ///
    /// # Errors
    /// The output's; a closed pipe is of kind `BrokenPipe`.
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.held.is_empty() {
            return Ok(());
        }
        write_held(&mut self.out, &mut self.held)
    }

    /// Writes the lines held, and flushes each line from now on.
    ///
    /// # Errors
    /// As [`RecordWriter::flush`].
    pub fn release(&mut self) -> Result<(), Error> {
        self.holding = false;
        self.flush()
    }

    /// `bytes` out now, or held (what is held goes out once it reaches [`HOLD_AT_MOST`]: a
    /// stage that never catches up with its input still writes as it goes, in bounded memory).
    fn emit(
        out: &mut dyn Write,
        held: &mut Vec<u8>,
        holding: bool,
        bytes: &[u8],
    ) -> Result<(), Error> {
        if !holding {
            return write_flushed(out, bytes);
        }
        held.extend_from_slice(bytes);
        if held.len() < HOLD_AT_MOST {
            return Ok(());
        }
        write_held(out, held)
    }

    /// Writes `record` as one JSON line and flushes.
    ///
    /// # Errors
    /// The output's; a closed pipe is of kind `BrokenPipe`.
    pub fn write(&mut self, record: &Record<'_>) -> Result<(), Error> {
        self.line.clear();
        match record {
            Record::Reading(reading) => reading.write_json(&mut self.line),
            Record::Telegram(envelope) => envelope.write_json(&mut self.line),
            other => serde_json::to_writer(&mut self.line, other)
                .map_err(|e| Error::failure(format!("cannot serialise a record: {e}")))?,
        }
        self.line.push(b'\n');
        Self::emit(&mut self.out, &mut self.held, self.holding, &self.line)
    }

    /// Writes one line as it is (adding the line end if it has none) and flushes.
    ///
    /// # Errors
    /// The output's; a closed pipe is of kind `BrokenPipe`.
    pub fn write_raw_line(&mut self, line: &[u8]) -> Result<(), Error> {
        if line.ends_with(b"\n") {
            return Self::emit(&mut self.out, &mut self.held, self.holding, line);
        }
        self.line.clear();
        self.line.extend_from_slice(line);
        self.line.push(b'\n');
        Self::emit(&mut self.out, &mut self.held, self.holding, &self.line)
    }

    /// Writes `bytes` as they are and flushes.
    ///
    /// # Errors
    /// The output's; a closed pipe is of kind `BrokenPipe`.
    pub fn write_raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        Self::emit(&mut self.out, &mut self.held, self.holding, bytes)
    }
}

/// What is held, out in one write; the holder emptied whatever came of it.
fn write_held(out: &mut dyn Write, held: &mut Vec<u8>) -> Result<(), Error> {
    let result = write_flushed(out, held);
    held.clear();
    result
}

fn write_flushed(out: &mut dyn Write, bytes: &[u8]) -> Result<(), Error> {
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("stdout")
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    /// The writes a writer was given, each as it came.
    #[derive(Clone, Default)]
    struct Writes(Rc<RefCell<Vec<Vec<u8>>>>);

    impl Write for Writes {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().push(bytes.to_vec());
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn held_lines_leave_in_one_write_and_released_ones_at_once() {
        let seen = Writes::default();
        let mut writer = RecordWriter::new(seen.clone());
        writer.hold();
        writer.write_raw_line(b"{\"type\":\"a\"}").unwrap();
        writer.write_raw(b"{\"type\":\"b\"}\n").unwrap();
        assert!(seen.0.borrow().is_empty(), "held");
        writer.flush().unwrap();
        assert_eq!(
            *seen.0.borrow(),
            [b"{\"type\":\"a\"}\n{\"type\":\"b\"}\n".to_vec()]
        );
        writer.write_raw_line(b"{\"type\":\"c\"}").unwrap();
        writer.release().unwrap();
        writer.write_raw_line(b"{\"type\":\"d\"}").unwrap();
        let seen = seen.0.borrow();
        assert_eq!(seen.len(), 3, "c at its release, d at once: {seen:?}");
        assert_eq!(seen[2], b"{\"type\":\"d\"}\n");
    }

    #[test]
    fn what_is_held_goes_out_when_it_reaches_the_bound() {
        let seen = Writes::default();
        let mut writer = RecordWriter::new(seen.clone());
        writer.hold();
        let line = format!("{{\"type\":\"x\",\"pad\":\"{}\"}}", "p".repeat(1000));
        let lines = HOLD_AT_MOST / (line.len() + 1) + 1;
        for _ in 0..lines {
            writer.write_raw_line(line.as_bytes()).unwrap();
        }
        let seen = seen.0.borrow();
        assert_eq!(seen.len(), 1, "one write, at the bound");
        assert_eq!(seen[0].len(), lines * (line.len() + 1));
    }
}
