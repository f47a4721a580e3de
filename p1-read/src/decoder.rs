//! From bytes to telegrams: the framer, behind the decryption of an encrypted meter's frames
//! when there are keys. What either drops is reported here, once per frame.

use std::time::Instant;

#[cfg(feature = "encryption")]
use log::{info, warn};
use p1_common::Error;
use p1_common::protocol::frame::{Event, FrameStats, Framer};

use crate::emit::FrameInfo;
#[cfg(feature = "encryption")]
use crate::gcm::{GcmEvent, GcmFramer};
use crate::keys::Keys;

/// A key that fails every frame for this long is wrong: fatal.
#[cfg(feature = "encryption")]
const KEY_FAILING: std::time::Duration = std::time::Duration::from_mins(1);

pub(crate) struct Decoder {
    framer: Framer,
    #[cfg(feature = "encryption")]
    gcm: Option<GcmFramer>,
    #[cfg_attr(not(feature = "encryption"), allow(dead_code))]
    source: String,
    /// Since when every frame failed its tag.
    #[cfg_attr(not(feature = "encryption"), allow(dead_code))]
    failing_since: Option<Instant>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").finish_non_exhaustive()
    }
}

/// What a frame found by the encrypted framer leads to: its telegram through the framer
/// (which checks its CRC), or a warning.
#[cfg(feature = "encryption")]
struct Decrypted<'d> {
    framer: &'d mut Framer,
    source: &'d str,
    failing_since: &'d mut Option<Instant>,
}

#[cfg(feature = "encryption")]
impl Decrypted<'_> {
    fn on(
        &mut self,
        event: GcmEvent<'_>,
        on_event: &mut impl FnMut(Event<'_>, Option<FrameInfo>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let source = self.source;
        match event {
            GcmEvent::Telegram {
                plaintext,
                system_title,
                counter,
            } => {
                *self.failing_since = None;
                let frame = FrameInfo {
                    system_title,
                    counter,
                };
                self.framer
                    .push(plaintext, |event| on_event(event, Some(frame)))?;
                // A decrypted frame is one telegram: nothing of it waits for the next.
                self.framer.finish(|event| on_event(event, Some(frame)))?;
            }
            GcmEvent::TagFailed { counter } => {
                self.failing_since.get_or_insert_with(Instant::now);
                warn!(
                    "{source}: frame {counter}: its tag does not verify: dropped (wrong key in \
                     --key-file, or the meter needs its own authentication key: --auth-key-file)"
                );
            }
            GcmEvent::Replayed { counter, last } => {
                warn!("{source}: frame {counter} after {last}: a replay or a duplicate: dropped");
            }
            GcmEvent::Gap { lost } => info!("{source}: {lost} frames lost before this one"),
        }
        Ok(())
    }
}

/// The parity bit of a 7E1 line read as 8 bits sits in bit 7; P1 telegrams are ASCII, so
/// clearing it is right for every line setting. An encrypted frame is binary: left alone.
fn strip_parity(bytes: &mut [u8]) {
    for b in bytes {
        *b &= 0x7f;
    }
}

impl Decoder {
    /// A decoder of `source`'s bytes; with `keys`, of an encrypted meter's frames.
    pub(crate) fn new(source: &str, max_frame: usize, keys: Option<&Keys>) -> Self {
        #[cfg(not(feature = "encryption"))]
        let _ = keys;
        Decoder {
            framer: Framer::new(max_frame),
            #[cfg(feature = "encryption")]
            gcm: keys.map(GcmFramer::new),
            source: source.to_string(),
            failing_since: None,
        }
    }

    /// The source's name, for messages.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    fn encrypted(&self) -> bool {
        #[cfg(feature = "encryption")]
        return self.gcm.is_some();
        #[cfg(not(feature = "encryption"))]
        false
    }

    pub(crate) fn stats(&self) -> &FrameStats {
        self.framer.stats()
    }

    /// Forgets partial frames (the source was reopened).
    pub(crate) fn restart(&mut self) {
        self.framer.restart();
        #[cfg(feature = "encryption")]
        if let Some(gcm) = self.gcm.as_mut() {
            gcm.restart();
        }
    }

    /// Takes bytes; calls `on_event` for each telegram or rejected frame, and stops at its
    /// first error.
    pub(crate) fn push(
        &mut self,
        chunk: &mut [u8],
        mut on_event: impl FnMut(Event<'_>, Option<FrameInfo>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if !self.encrypted() {
            strip_parity(chunk);
            return self.framer.push(chunk, |event| on_event(event, None));
        }
        #[cfg(feature = "encryption")]
        return self.push_encrypted(chunk, &mut on_event);
        #[cfg(not(feature = "encryption"))]
        Ok(())
    }

    #[cfg(feature = "encryption")]
    fn push_encrypted(
        &mut self,
        chunk: &[u8],
        on_event: &mut impl FnMut(Event<'_>, Option<FrameInfo>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let Some(gcm) = self.gcm.as_mut() else {
            return Ok(());
        };
        let mut decrypted = Decrypted {
            framer: &mut self.framer,
            source: &self.source,
            failing_since: &mut self.failing_since,
        };
        gcm.push(chunk, |event| decrypted.on(event, on_event))
    }

    /// The end of the input: what is left of a frame is reported.
    pub(crate) fn finish(
        &mut self,
        mut on_event: impl FnMut(Event<'_>, Option<FrameInfo>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        #[cfg(feature = "encryption")]
        if let Some(gcm) = self.gcm.as_mut() {
            let mut decrypted = Decrypted {
                framer: &mut self.framer,
                source: &self.source,
                failing_since: &mut self.failing_since,
            };
            gcm.finish(|event| decrypted.on(event, &mut on_event))?;
        }
        self.framer.finish(|event| on_event(event, None))
    }

    /// A key that fails every frame for a minute, or every frame of a whole input, is
    /// wrong: that is fatal, not a silent stream of drops.
    pub(crate) fn check_key(&self, input_over: bool) -> Result<(), Error> {
        #[cfg(feature = "encryption")]
        if let Some(gcm) = &self.gcm {
            let all_failed = input_over && gcm.stats.frames == 0 && gcm.stats.tag_failures > 0;
            if all_failed
                || self
                    .failing_since
                    .is_some_and(|t| t.elapsed() >= KEY_FAILING)
            {
                return Err(Error::config(format!(
                    "{}: {} frames, none whose tag verifies: check --key-file (the meter's \
                     encryption key), and --auth-key-file if the meter has its own \
                     authentication key",
                    self.source, gcm.stats.tag_failures
                )));
            }
        }
        #[cfg(not(feature = "encryption"))]
        let _ = input_over;
        Ok(())
    }

    /// The encrypted frames' counts, for the summary.
    pub(crate) fn summarise(&self) {
        #[cfg(feature = "encryption")]
        if let Some(gcm) = &self.gcm {
            let s = gcm.stats;
            info!(
                "{}: {} frames decrypted, {} failed their tag, {} replayed, {} lost, {} bytes skipped",
                self.source, s.frames, s.tag_failures, s.replays, s.lost, s.skipped_bytes
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parity_bit_of_7e1_read_as_8_bits_is_cleared() {
        // "/1" sent as 7E1: '/' (0x2F, five ones) gets parity 1, '1' (0x31, three ones) too.
        let mut bytes = [0xAF, 0xB1, 0x0D, 0x0A];
        strip_parity(&mut bytes);
        assert_eq!(&bytes, b"/1\r\n");
    }
}
