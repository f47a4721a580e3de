//! Record output: one record a line, flushed at once (the pipeline runs live at one telegram a
//! second), with a closed pipe reported as a broken pipe
//! ([`Kind::BrokenPipe`](crate::runtime::error::Kind)), so that it ends the program quietly.

use std::io::{self, Write};

use crate::contract::json::WriteJson as _;
use crate::contract::record::Record;
use crate::runtime::error::{Context as _, Error};

/// Writes records to stdout (or another writer), one line each, flushed after each.
pub struct RecordWriter {
    out: Box<dyn Write>,
    line: Vec<u8>,
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
        }
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
        write_flushed(&mut self.out, &self.line)
    }

    /// Writes one line as it is (adding the line end if it has none) and flushes.
    ///
    /// # Errors
    /// The output's; a closed pipe is of kind `BrokenPipe`.
    pub fn write_raw_line(&mut self, line: &[u8]) -> Result<(), Error> {
        if line.ends_with(b"\n") {
            return write_flushed(&mut self.out, line);
        }
        self.line.clear();
        self.line.extend_from_slice(line);
        self.line.push(b'\n');
        write_flushed(&mut self.out, &self.line)
    }

    /// Writes `bytes` as they are and flushes.
    ///
    /// # Errors
    /// The output's; a closed pipe is of kind `BrokenPipe`.
    pub fn write_raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        write_flushed(&mut self.out, bytes)
    }
}

fn write_flushed(out: &mut impl Write, bytes: &[u8]) -> Result<(), Error> {
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("stdout")
}
