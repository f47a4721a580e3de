//! Writing telegrams out: envelopes or raw bytes, flushed one by one, with the counts and the
//! hints a user needs when nothing good arrives.

use chrono::{Local, SecondsFormat};
use log::{info, warn};
use p1_common::Error;
use p1_common::contract::envelope::TelegramEnvelope;
use p1_common::contract::record::Record;
use p1_common::protocol::frame::{Event, Reject};
use p1_common::runtime::input::worth_telling;
use p1_common::runtime::output::RecordWriter;

/// What is written, and when to stop.
#[derive(Debug, Clone)]
pub(crate) struct OutputSettings {
    /// The telegrams' bytes rather than envelopes.
    pub(crate) raw: bool,
    /// Frames that fail their CRC too, marked "invalid".
    pub(crate) keep_invalid: bool,
    /// Stop after this many telegrams.
    pub(crate) count: Option<u64>,
}

/// The encrypted frame a telegram came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameInfo {
    pub(crate) system_title: [u8; 8],
    pub(crate) counter: u32,
}

pub(crate) struct Emitter {
    out: RecordWriter,
    source: String,
    raw: bool,
    keep_invalid: bool,
    limit: Option<u64>,
    pub(crate) emitted: u64,
    pub(crate) dropped: u64,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("source", &self.source)
            .field("emitted", &self.emitted)
            .finish_non_exhaustive()
    }
}

impl Emitter {
    pub(crate) fn new(out: RecordWriter, source: &str, settings: &OutputSettings) -> Self {
        Emitter {
            out,
            source: source.to_string(),
            raw: settings.raw,
            keep_invalid: settings.keep_invalid,
            limit: settings.count,
            emitted: 0,
            dropped: 0,
        }
    }

    /// Whether `--count` telegrams have gone out.
    pub(crate) fn done(&self) -> bool {
        self.limit.is_some_and(|limit| self.emitted >= limit)
    }

    /// Handles a framer event (from a decrypted frame: `frame`).
    pub(crate) fn on_event(
        &mut self,
        event: Event<'_>,
        frame: Option<FrameInfo>,
    ) -> Result<(), Error> {
        if self.done() {
            return Ok(());
        }
        match event {
            Event::Telegram { bytes, .. } => self.telegram(bytes, frame),
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
                if worth_telling(self.dropped) {
                    log::log!(
                        level,
                        "{}: byte {offset}: {reason}: dropped ({} so far)",
                        self.source,
                        self.dropped
                    );
                }
                if self.keep_invalid && !bytes.is_empty() {
                    self.write(bytes, Some(reason), frame)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Writes a valid telegram.
    pub(crate) fn telegram(&mut self, bytes: &[u8], frame: Option<FrameInfo>) -> Result<(), Error> {
        if self.done() {
            return Ok(());
        }
        self.write(bytes, None, frame)?;
        self.emitted += 1;
        Ok(())
    }

    fn write(
        &mut self,
        bytes: &[u8],
        invalid: Option<Reject>,
        frame: Option<FrameInfo>,
    ) -> Result<(), Error> {
        if self.raw {
            return self.out.write_raw(bytes);
        }
        let received = Local::now().to_rfc3339_opts(SecondsFormat::Millis, false);
        let envelope = TelegramEnvelope {
            received: received.into(),
            source: self.source.as_str().into(),
            // A telegram is ASCII: checked fast, repaired only when it is not.
            telegram: match std::str::from_utf8(bytes) {
                Ok(text) => text.into(),
                Err(_) => String::from_utf8_lossy(bytes).into(),
            },
            invalid: invalid.map(|r| r.to_string().into()),
            system_title: frame.map(|f| p1_common::runtime::id::hex(&f.system_title).into()),
            frame_counter: frame.map(|f| f.counter),
        };
        self.out.write(&Record::Telegram(envelope))
    }

    pub(crate) fn summarise(&self) {
        info!(
            "{}: {} telegrams written, {} frames dropped",
            self.source, self.emitted, self.dropped
        );
        if self.emitted == 0 && self.dropped > 0 {
            warn!("no valid telegram at all: see TROUBLESHOOTING in p1-read --help");
        }
    }
}
