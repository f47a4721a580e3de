//! Writing telegrams out: envelopes or raw bytes, flushed one by one, with the counts and the
//! hints a user needs when nothing good arrives.

use std::io::StdoutLock;

use chrono::{Local, SecondsFormat};
use log::{info, warn};
use p1_common::Error;
use p1_common::envelope::TelegramEnvelope;
use p1_common::frame::{Event, Reject};
use p1_common::output::RecordWriter;
use p1_common::record::Record;

use crate::Cli;

pub struct Emitter {
    out: RecordWriter<StdoutLock<'static>>,
    source: String,
    raw: bool,
    keep_invalid: bool,
    limit: Option<u64>,
    pub emitted: u64,
    pub dropped: u64,
    /// The first output error met inside a framer callback.
    error: Option<Error>,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("source", &self.source)
            .field("emitted", &self.emitted)
            .finish()
    }
}

impl Emitter {
    pub fn new(out: RecordWriter<StdoutLock<'static>>, cli: &Cli) -> Self {
        Emitter {
            out,
            source: cli.source.clone(),
            raw: cli.raw,
            keep_invalid: cli.keep_invalid,
            limit: cli.count,
            emitted: 0,
            dropped: 0,
            error: None,
        }
    }

    /// Whether `--count` telegrams have gone out.
    pub fn done(&self) -> bool {
        self.limit.is_some_and(|limit| self.emitted >= limit)
    }

    /// Handles a framer event; an output error is kept for [`Emitter::take_error`].
    pub fn on_event(&mut self, event: Event<'_>) {
        if self.error.is_some() || self.done() {
            return;
        }
        let result = match event {
            Event::Telegram { bytes, .. } => self.telegram(bytes),
            Event::Rejected {
                bytes,
                offset,
                reason,
            } => {
                self.dropped += 1;
                let level = if matches!(reason, Reject::Truncated) {
                    log::Level::Info
                } else {
                    log::Level::Warn
                };
                log::log!(level, "{}: byte {offset}: {reason}: dropped", self.source);
                if self.keep_invalid && !bytes.is_empty() {
                    self.write(bytes, Some(reason))
                } else {
                    Ok(())
                }
            }
        };
        if let Err(e) = result {
            self.error = Some(e);
        }
    }

    pub fn take_error(&mut self) -> Result<(), Error> {
        self.error.take().map_or(Ok(()), Err)
    }

    /// Writes a valid telegram.
    pub fn telegram(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.done() {
            return Ok(());
        }
        self.write(bytes, None)?;
        self.emitted += 1;
        Ok(())
    }

    fn write(&mut self, bytes: &[u8], invalid: Option<Reject>) -> Result<(), Error> {
        if self.raw {
            return self.out.write_raw(bytes);
        }
        let received = Local::now().to_rfc3339_opts(SecondsFormat::Millis, false);
        let envelope = TelegramEnvelope {
            received: received.into(),
            source: self.source.as_str().into(),
            telegram: String::from_utf8_lossy(bytes),
            invalid: invalid.map(|r| r.to_string().into()),
        };
        self.out.write(&Record::Telegram(envelope))
    }

    pub fn summarise(&self) {
        info!(
            "{}: {} telegrams written, {} frames dropped",
            self.source, self.emitted, self.dropped
        );
        if self.emitted == 0 && self.dropped > 0 {
            warn!("no valid telegram at all: see TROUBLESHOOTING in p1-read --help");
        }
    }
}
