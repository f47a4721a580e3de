//! Encrypted meters (Luxembourg's Smarty, Austrian network operators): DLMS
//! general-glo-ciphering frames around an ordinary telegram,
//!
//! ```text
//! DB 08 | system title (8) | 82 | LEN (2, BE) | SC 30 | frame counter (4, BE) | ciphertext | tag (12)
//! ```
//!
//! a frame being LEN + 13 bytes, AES-128-GCM with the IV system title ‖ frame counter and
//! the authenticated data SC ‖ AK. Frames are found by their header and length, never by `/`
//! and `!`; garbage, a truncated frame or one that overruns its length is resynchronised on
//! (a frame whose tag fails is searched again from its second byte, so that the start of the
//! next one is not lost inside it). Every tag is verified; a frame counter that does not rise
//! is a replay and is dropped.

use aes_gcm::aead::consts::U12;

use crate::keys::Keys;
use aes_gcm::aes::Aes128;
use aes_gcm::{AeadInPlace, AesGcm, KeyInit};

/// AES-128-GCM with the 96-bit tag DLMS uses.
type Cipher = AesGcm<Aes128, U12, U12>;

const HEADER: usize = 13;
const TAG: usize = 12;
/// SC and the frame counter, before the ciphertext.
const SECURITY: usize = 5;
const SECURITY_CONTROL: u8 = 0x30;
/// The longest frame accepted (a telegram is a few kB).
const MAX_LEN: usize = 16 * 1024;

/// What the framer found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GcmEvent<'a> {
    /// A frame whose tag verified, with a counter above the last one.
    Telegram {
        plaintext: &'a [u8],
        system_title: [u8; 8],
        counter: u32,
    },
    /// A frame whose tag failed: dropped.
    TagFailed { counter: u32 },
    /// A counter at or below the last one (a replay or a duplicate): dropped.
    Replayed { counter: u32, last: u32 },
    /// Frames missing between the last counter and this one (the telegram is still read).
    Gap { lost: u32 },
}

/// Counts, for the summary and the health report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GcmStats {
    pub(crate) frames: u64,
    pub(crate) tag_failures: u64,
    pub(crate) replays: u64,
    pub(crate) lost: u64,
    pub(crate) skipped_bytes: u64,
}

/// Finds, verifies and decrypts frames in a byte stream, in pieces of any size.
pub(crate) struct GcmFramer {
    cipher: Cipher,
    authentication: [u8; 16],
    buf: Vec<u8>,
    plain: Vec<u8>,
    last_counter: Option<u32>,
    pub(crate) stats: GcmStats,
}

impl std::fmt::Debug for GcmFramer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcmFramer")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// What the bytes at a position are.
enum Head {
    NotAFrame,
    /// Maybe a frame's start: more bytes are needed to tell.
    Incomplete,
    /// A frame's header, with the frame's total length.
    Frame(usize),
}

fn head(bytes: &[u8]) -> Head {
    match bytes {
        [0xDB, 0x08, ..] => {}
        [0xDB] | [] => return Head::Incomplete,
        _ => return Head::NotAFrame,
    }
    if bytes.len() < HEADER + 1 {
        // Not all of the header yet; what there is may still be one.
        return if bytes.get(10).is_none_or(|&b| b == 0x82) {
            Head::Incomplete
        } else {
            Head::NotAFrame
        };
    }
    let len = usize::from(u16::from_be_bytes([bytes[11], bytes[12]]));
    if bytes[10] == 0x82
        && bytes[HEADER] == SECURITY_CONTROL
        && (SECURITY + TAG..=MAX_LEN).contains(&len)
    {
        Head::Frame(HEADER + len)
    } else {
        Head::NotAFrame
    }
}

impl GcmFramer {
    pub(crate) fn new(keys: &Keys) -> Self {
        GcmFramer {
            cipher: Cipher::new(&keys.encryption.into()),
            authentication: keys.authentication,
            buf: Vec::with_capacity(4096),
            plain: Vec::with_capacity(4096),
            last_counter: None,
            stats: GcmStats::default(),
        }
    }

    /// Forgets a partial frame (the source was reopened); the counter is kept.
    pub(crate) fn restart(&mut self) {
        self.buf.clear();
    }

    /// Takes bytes; calls `on_event` for each frame found, and stops at its first error (the
    /// frame it was given is taken).
    pub(crate) fn push<E>(
        &mut self,
        data: &[u8],
        mut on_event: impl FnMut(GcmEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.buf.extend_from_slice(data);
        let mut at = 0;
        let mut result = Ok(());
        while at < self.buf.len() {
            match head(&self.buf[at..]) {
                Head::Incomplete => break,
                Head::Frame(total) if self.buf.len() - at < total => break,
                Head::Frame(total) => match self.frame(at, total, &mut on_event) {
                    Ok(true) => at += total,
                    // A frame whose tag fails: searched again from the next byte.
                    Ok(false) => {
                        at += 1;
                        self.stats.skipped_bytes += 1;
                    }
                    Err(e) => {
                        at += total;
                        result = Err(e);
                        break;
                    }
                },
                Head::NotAFrame => {
                    at += 1;
                    self.stats.skipped_bytes += 1;
                }
            }
        }
        self.buf.drain(..at);
        result
    }

    /// The end of the input: what waits for more bytes is no frame after all (a header
    /// among garbage, or a cut-off frame), and is searched past for the frames after it.
    pub(crate) fn finish<E>(
        &mut self,
        mut on_event: impl FnMut(GcmEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        while !self.buf.is_empty() {
            self.buf.remove(0);
            self.stats.skipped_bytes += 1;
            self.push(&[], &mut on_event)?;
        }
        Ok(())
    }

    /// Verifies and decrypts the frame at `at`; false when its tag fails.
    fn frame<E>(
        &mut self,
        at: usize,
        total: usize,
        on_event: &mut impl FnMut(GcmEvent<'_>) -> Result<(), E>,
    ) -> Result<bool, E> {
        let frame = &self.buf[at..at + total];
        let mut system_title = [0u8; 8];
        system_title.copy_from_slice(&frame[2..10]);
        let counter = u32::from_be_bytes([frame[14], frame[15], frame[16], frame[17]]);
        let mut iv = [0u8; 12];
        iv[..8].copy_from_slice(&system_title);
        iv[8..].copy_from_slice(&frame[14..18]);
        let mut aad = [0u8; 17];
        aad[0] = SECURITY_CONTROL;
        aad[1..].copy_from_slice(&self.authentication);
        let (ciphertext, tag) =
            frame[HEADER + SECURITY..].split_at(total - HEADER - SECURITY - TAG);
        self.plain.clear();
        self.plain.extend_from_slice(ciphertext);
        let verified = self
            .cipher
            .decrypt_in_place_detached(&iv.into(), &aad, &mut self.plain, tag.into())
            .is_ok();
        if !verified {
            self.stats.tag_failures += 1;
            on_event(GcmEvent::TagFailed { counter })?;
            return Ok(false);
        }
        match self.last_counter {
            Some(last) if counter <= last => {
                self.stats.replays += 1;
                on_event(GcmEvent::Replayed { counter, last })?;
                return Ok(true);
            }
            Some(last) if counter > last + 1 => {
                self.stats.lost += u64::from(counter - last - 1);
                on_event(GcmEvent::Gap {
                    lost: counter - last - 1,
                })?;
            }
            _ => {}
        }
        self.last_counter = Some(counter);
        self.stats.frames += 1;
        on_event(GcmEvent::Telegram {
            plaintext: &self.plain,
            system_title,
            counter,
        })?;
        Ok(true)
    }
}

/// Encrypts `telegram` as a meter does: the simulator's encrypted meter.
pub(crate) fn encrypt(
    keys: &Keys,
    system_title: [u8; 8],
    counter: u32,
    telegram: &[u8],
) -> Vec<u8> {
    let cipher = Cipher::new(&keys.encryption.into());
    let mut iv = [0u8; 12];
    iv[..8].copy_from_slice(&system_title);
    iv[8..].copy_from_slice(&counter.to_be_bytes());
    let mut aad = [0u8; 17];
    aad[0] = SECURITY_CONTROL;
    aad[1..].copy_from_slice(&keys.authentication);
    let mut body = telegram.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(&iv.into(), &aad, &mut body)
        .unwrap_or_default();
    let len = u16::try_from(SECURITY + body.len() + TAG).unwrap_or(u16::MAX);
    let mut frame = Vec::with_capacity(HEADER + usize::from(len));
    frame.extend_from_slice(&[0xDB, 0x08]);
    frame.extend_from_slice(&system_title);
    frame.push(0x82);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.push(SECURITY_CONTROL);
    frame.extend_from_slice(&counter.to_be_bytes());
    frame.extend_from_slice(&body);
    frame.extend_from_slice(&tag);
    frame
}

/// For the fuzz target: any bytes, in pieces of any size, through the encrypted meters'
/// framer, never a panic; and `data` encrypted as a frame, between those bytes, comes out
/// as it went in.
#[doc(hidden)]
pub fn fuzz_encrypted(data: &[u8]) {
    let keys = Keys {
        encryption: [0x5A; 16],
        authentication: crate::keys::SMARTY_AUTH_KEY,
    };
    let piece = usize::from(data.first().copied().unwrap_or(1)).max(1);
    let frame = encrypt(&keys, *b"SAGfuzz\x01", 7, data);
    let mut stream = data.to_vec();
    stream.extend_from_slice(&frame);
    let mut framer = GcmFramer::new(&keys);
    let mut found = false;
    let mut check = |event: GcmEvent<'_>| -> Result<(), std::convert::Infallible> {
        if let GcmEvent::Telegram {
            plaintext,
            counter: 7,
            ..
        } = event
        {
            assert_eq!(plaintext, data, "the frame decrypts to what was encrypted");
            found = true;
        }
        Ok(())
    };
    for chunk in stream.chunks(piece) {
        let Ok(()) = framer.push(chunk, &mut check);
    }
    let Ok(()) = framer.finish(&mut check);
    assert!(
        found || data.len() > 16 * 1024 - 17,
        "the frame after the garbage was found"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{SMARTY_AUTH_KEY, parse_key};
    use std::convert::Infallible;

    /// A callback that cannot fail.
    fn each(
        mut take: impl FnMut(GcmEvent<'_>),
    ) -> impl FnMut(GcmEvent<'_>) -> Result<(), Infallible> {
        move |event| {
            take(event);
            Ok(())
        }
    }

    fn keys(ak: [u8; 16]) -> Keys {
        Keys {
            encryption: parse_key("5A6B3C2D1E0F9A8B7C6D5E4F30211203").unwrap(),
            authentication: ak,
        }
    }

    /// Frames in pieces of every size from 1 to 40 bytes, with garbage between: the same
    /// telegrams, in order.
    #[test]
    fn frames_in_any_pieces_with_garbage_between_come_out_whole() {
        let keys = keys(SMARTY_AUTH_KEY);
        let title = *b"SAGDUfw\x88";
        let mut stream = b"\xDB\x08garbage\x00\xDB".to_vec();
        for counter in 1..=5u32 {
            stream.extend(encrypt(
                &keys,
                title,
                counter,
                format!("/T{counter}\r\n!").as_bytes(),
            ));
            stream.extend(b"\xDB\x08\x01junk");
        }
        for piece in 1..=40 {
            let mut framer = GcmFramer::new(&keys);
            let mut got = Vec::new();
            for chunk in stream.chunks(piece) {
                let Ok(()) = framer.push(
                    chunk,
                    each(|e| {
                        if let GcmEvent::Telegram {
                            plaintext, counter, ..
                        } = e
                        {
                            got.push((counter, String::from_utf8_lossy(plaintext).into_owned()));
                        }
                    }),
                );
            }
            let want: Vec<(u32, String)> = (1..=5).map(|c| (c, format!("/T{c}\r\n!"))).collect();
            assert_eq!(got, want, "pieces of {piece}");
            assert_eq!(framer.stats.tag_failures, 0, "pieces of {piece}");
        }
    }

    #[test]
    fn a_wrong_key_fails_the_tag_and_a_repeated_counter_is_a_replay() {
        let right = keys(SMARTY_AUTH_KEY);
        let wrong = keys([7; 16]);
        let frame = encrypt(&right, *b"SAG00001", 9, b"/X\r\n!");
        let mut events = Vec::new();
        let mut framer = GcmFramer::new(&wrong);
        let Ok(()) = framer.push(&frame, each(|e| events.push(format!("{e:?}"))));
        assert_eq!(events, ["TagFailed { counter: 9 }"]);
        let mut framer = GcmFramer::new(&right);
        let mut events = Vec::new();
        for counter in [9, 12, 12, 3] {
            let frame = encrypt(&right, *b"SAG00001", counter, b"/X\r\n!");
            let Ok(()) = framer.push(
                &frame,
                each(|e| {
                    events.push(match e {
                        GcmEvent::Telegram { counter, .. } => format!("telegram {counter}"),
                        other => format!("{other:?}"),
                    });
                }),
            );
        }
        assert_eq!(
            events,
            [
                "telegram 9",
                "Gap { lost: 2 }",
                "telegram 12",
                "Replayed { counter: 12, last: 12 }",
                "Replayed { counter: 3, last: 12 }"
            ]
        );
    }
}
