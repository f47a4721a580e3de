//! Framing: whole telegrams out of a byte stream that may start mid-telegram, carry garbage,
//! lose bytes or never send a `!`.
//!
//! A telegram runs from `/` through `!`, an optional CRC of 1 to 4 hex digits, and its line end.
//! Every `/` starts a new frame (a frame cut short by one is reported as truncated), a frame
//! longer than the bound is dropped, and everything between frames is counted as garbage, so
//! memory stays bounded whatever arrives.

use crate::protocol::crc::{crc16, crc16_as_crlf, has_bare_lf};

/// Frames longer than this are dropped: the longest real telegrams (3 phases, gas, water and a
/// 13-month history) are under 2 KiB, so 16 KiB leaves room for any meter and bounds garbage.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024;

/// How a telegram's CRC was found to be right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrcCheck {
    /// The CRC matches the bytes as received.
    Valid,
    /// The CRC matches once bare LFs are read as CRLF (a capture saved with its CRs stripped).
    ValidAsCrlf,
    /// The telegram carries no CRC (DSMR 2.2 and 3, some foreign meters).
    Absent,
}

/// Why a frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// The CRC sent does not match the bytes.
    CrcMismatch {
        /// The CRC after the `!`.
        sent: u16,
        /// The CRC of the bytes from `/` to `!`.
        computed: u16,
    },
    /// A new `/` or the end of input arrived before the frame was complete.
    Truncated,
    /// The frame grew past the bound with no `!`.
    Oversize,
    /// The line after `!` is not 1 to 4 hex digits.
    BadCrcLine,
    /// No CRC, though the telegram names a DSMR 4+ or e-MUCS version, which always carry one
    /// (a cut-off telegram whose `!` came from a corrupted byte looks like this).
    MissingCrc,
    /// No CRC, and not what a meter without one sends (a printable header, then OBIS
    /// lines): noise that happened to hold a `/` and a `!`.
    NotATelegram,
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reject::CrcMismatch { sent, computed } => {
                write!(
                    f,
                    "CRC mismatch: telegram says {sent:04X}, computed {computed:04X}"
                )
            }
            Reject::Truncated => {
                f.write_str("truncated telegram (no '!' before the next '/' or the end)")
            }
            Reject::Oversize => f.write_str("frame longer than the bound with no '!': dropped"),
            Reject::BadCrcLine => f.write_str("the CRC after '!' is not 1 to 4 hex digits"),
            Reject::MissingCrc => f.write_str(
                "no CRC, though the telegram's version (DSMR 4+ or e-MUCS) always has one",
            ),
            Reject::NotATelegram => f.write_str(
                "no CRC, and no telegram: not a printable header followed by OBIS lines",
            ),
        }
    }
}

/// What the framer found.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A whole telegram, its CRC valid or absent: `bytes` runs from `/` through the line end
    /// after the CRC (or to the end of input).
    Telegram {
        /// The telegram.
        bytes: &'a [u8],
        /// Where its `/` is in the stream, from the first byte pushed.
        offset: u64,
        /// How its CRC was found good, or that it has none.
        crc: CrcCheck,
    },
    /// A dropped frame, with what had arrived of it (empty for oversize frames).
    Rejected {
        /// What had arrived of the frame.
        bytes: &'a [u8],
        /// Where its `/` is in the stream.
        offset: u64,
        /// Why it was dropped.
        reason: Reject,
    },
}

/// Counts of what went by, for summaries and periodic health reports.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FrameStats {
    /// Telegrams passed on.
    pub telegrams: u64,
    /// Frames dropped for [`Reject::CrcMismatch`].
    pub crc_mismatch: u64,
    /// Frames dropped for [`Reject::Truncated`].
    pub truncated: u64,
    /// Frames dropped for [`Reject::Oversize`].
    pub oversize: u64,
    /// Frames dropped for [`Reject::BadCrcLine`].
    pub bad_crc_line: u64,
    /// Frames dropped for [`Reject::MissingCrc`].
    pub missing_crc: u64,
    /// Frames dropped for [`Reject::NotATelegram`].
    pub not_a_telegram: u64,
    /// Bytes outside any frame (line noise, a half telegram at the start).
    pub garbage_bytes: u64,
}

impl FrameStats {
    /// Frames dropped for any reason.
    pub fn rejected(&self) -> u64 {
        self.crc_mismatch
            + self.truncated
            + self.oversize
            + self.bad_crc_line
            + self.missing_crc
            + self.not_a_telegram
    }

    /// Adds another framer's counts to these.
    pub fn add(&mut self, other: &FrameStats) {
        self.telegrams += other.telegrams;
        self.crc_mismatch += other.crc_mismatch;
        self.truncated += other.truncated;
        self.oversize += other.oversize;
        self.bad_crc_line += other.bad_crc_line;
        self.missing_crc += other.missing_crc;
        self.not_a_telegram += other.not_a_telegram;
        self.garbage_bytes += other.garbage_bytes;
    }

    /// The counts since `earlier` (an older copy of these).
    #[must_use]
    pub fn since(&self, earlier: &FrameStats) -> FrameStats {
        FrameStats {
            telegrams: self.telegrams - earlier.telegrams.min(self.telegrams),
            crc_mismatch: self.crc_mismatch - earlier.crc_mismatch.min(self.crc_mismatch),
            truncated: self.truncated - earlier.truncated.min(self.truncated),
            oversize: self.oversize - earlier.oversize.min(self.oversize),
            bad_crc_line: self.bad_crc_line - earlier.bad_crc_line.min(self.bad_crc_line),
            missing_crc: self.missing_crc - earlier.missing_crc.min(self.missing_crc),
            not_a_telegram: self.not_a_telegram - earlier.not_a_telegram.min(self.not_a_telegram),
            garbage_bytes: self.garbage_bytes - earlier.garbage_bytes.min(self.garbage_bytes),
        }
    }

    fn count(&mut self, reason: Reject) {
        match reason {
            Reject::CrcMismatch { .. } => self.crc_mismatch += 1,
            Reject::Truncated => self.truncated += 1,
            Reject::Oversize => self.oversize += 1,
            Reject::BadCrcLine => self.bad_crc_line += 1,
            Reject::MissingCrc => self.missing_crc += 1,
            Reject::NotATelegram => self.not_a_telegram += 1,
        }
    }

    /// "3 crc mismatch, 1 truncated", or "none".
    pub fn rejected_by_reason(&self) -> String {
        let parts: Vec<String> = [
            (self.crc_mismatch, "crc mismatch"),
            (self.truncated, "truncated"),
            (self.oversize, "oversize"),
            (self.bad_crc_line, "bad crc line"),
            (self.missing_crc, "missing crc"),
            (self.not_a_telegram, "not a telegram"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between frames, waiting for `/`.
    Hunting,
    /// Inside a frame, before `!`.
    Body,
    /// After `!`: CRC digits and the line end.
    Trailer,
}

/// Incremental framer: feed it bytes as they come, in pieces of any size.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    state: State,
    max_frame: usize,
    /// Stream offset of the next byte pushed.
    offset: u64,
    frame_offset: u64,
    bang: usize,
    crc_digits: u8,
    crc_line_bad: bool,
    /// Frames completed or dropped so far, so that `feed` can stop after one.
    frames_ended: u64,
    stats: FrameStats,
}

impl Default for Framer {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME)
    }
}

impl Framer {
    /// A framer that drops a frame longer than `max_frame` bytes (16 at least) with no `!`.
    pub fn new(max_frame: usize) -> Self {
        Framer {
            buf: Vec::with_capacity(4096),
            state: State::Hunting,
            max_frame: max_frame.max(16),
            offset: 0,
            frame_offset: 0,
            bang: 0,
            crc_digits: 0,
            crc_line_bad: false,
            frames_ended: 0,
            stats: FrameStats::default(),
        }
    }

    /// What went by so far.
    pub fn stats(&self) -> &FrameStats {
        &self.stats
    }

    /// The longest frame it takes.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Whether a frame has started and not yet ended.
    pub fn in_frame(&self) -> bool {
        self.state != State::Hunting
    }

    /// Feeds `data`, calling `on_event` for every frame completed or dropped; stops at the
    /// first error `on_event` returns, the frame it was given ended.
    ///
    /// # Errors
    /// The first of `on_event`'s.
    pub fn push<E>(
        &mut self,
        data: &[u8],
        mut on_event: impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut done = 0;
        while done < data.len() {
            done += self.feed(&data[done..], &mut on_event)?;
        }
        Ok(())
    }

    /// Feeds bytes from `data` up to the end of the next frame completed or dropped (or all of
    /// them), returning how many were taken: a caller can then look at what follows a frame
    /// before framing goes on.
    ///
    /// # Errors
    /// `on_event`'s; the bytes of the frame it was given are taken.
    pub fn feed<E>(
        &mut self,
        data: &[u8],
        mut on_event: impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut i = 0;
        let frames_ended = self.frames_ended;
        let mut result = Ok(());
        while i < data.len() && result.is_ok() {
            match self.state {
                State::Hunting => {
                    if self.frames_ended != frames_ended {
                        break;
                    }
                    if let Some(p) = memchr::memchr(b'/', &data[i..]) {
                        self.stats.garbage_bytes += p as u64;
                        self.start_frame(self.offset + (i + p) as u64);
                        i += p + 1;
                    } else {
                        self.stats.garbage_bytes += (data.len() - i) as u64;
                        i = data.len();
                    }
                }
                State::Body => {
                    let rest = &data[i..];
                    let stop = memchr::memchr2(b'!', b'/', rest);
                    let take = stop.map_or(rest.len(), |p| p + usize::from(rest[p] == b'!'));
                    if self.buf.len() + take > self.max_frame {
                        result = self.reject(Reject::Oversize, &mut on_event);
                        self.stats.garbage_bytes += take as u64;
                        i += take;
                        continue;
                    }
                    self.buf.extend_from_slice(&rest[..take]);
                    i += take;
                    match stop.map(|p| rest[p]) {
                        Some(b'!') => {
                            self.bang = self.buf.len() - 1;
                            self.crc_digits = 0;
                            self.crc_line_bad = false;
                            self.state = State::Trailer;
                        }
                        Some(_) => result = self.reject(Reject::Truncated, &mut on_event),
                        None => {}
                    }
                }
                State::Trailer => {
                    let b = data[i];
                    match b {
                        b'/' => {
                            // The next telegram glued on without a line end: this one is
                            // complete, and its CRC still decides.
                            result = self.complete(&mut on_event);
                            continue;
                        }
                        b'\n' => {
                            self.buf.push(b);
                            i += 1;
                            result = self.complete(&mut on_event);
                            continue;
                        }
                        b'\r' => {}
                        _ if b.is_ascii_hexdigit() && self.crc_digits < 4 => self.crc_digits += 1,
                        _ => self.crc_line_bad = true,
                    }
                    if self.buf.len() >= self.max_frame {
                        result = self.reject(Reject::Oversize, &mut on_event);
                    } else {
                        self.buf.push(b);
                    }
                    i += 1;
                }
            }
        }
        self.offset += i as u64;
        result.map(|()| i)
    }

    /// Ends the stream: a frame whose CRC line had begun is complete (captures often lack the
    /// last line end); one still in its body is truncated.
    ///
    /// # Errors
    /// `on_event`'s.
    pub fn finish<E>(
        &mut self,
        mut on_event: impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.state {
            State::Hunting => Ok(()),
            State::Body => self.reject(Reject::Truncated, &mut on_event),
            State::Trailer => self.complete(&mut on_event),
        }
    }

    /// Forgets any partial frame and starts a new stream at offset 0; the counts stay.
    pub fn restart(&mut self) {
        self.buf.clear();
        self.state = State::Hunting;
        self.offset = 0;
    }

    fn start_frame(&mut self, offset: u64) {
        self.buf.clear();
        self.buf.push(b'/');
        self.frame_offset = offset;
        self.state = State::Body;
    }

    /// Ends the frame as dropped, whatever `on_event` says of it.
    fn reject<E>(
        &mut self,
        reason: Reject,
        on_event: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.frames_ended += 1;
        self.stats.count(reason);
        let bytes = if reason == Reject::Oversize {
            &[][..]
        } else {
            &self.buf[..]
        };
        let result = on_event(Event::Rejected {
            bytes,
            offset: self.frame_offset,
            reason,
        });
        self.buf.clear();
        self.state = State::Hunting;
        result
    }

    /// Ends the frame: a telegram if its CRC line holds, else dropped.
    fn complete<E>(
        &mut self,
        on_event: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let check = if self.crc_line_bad {
            Err(Reject::BadCrcLine)
        } else {
            self.check_crc()
        };
        match check {
            Ok(crc) => {
                self.frames_ended += 1;
                self.stats.telegrams += 1;
                let result = on_event(Event::Telegram {
                    bytes: &self.buf,
                    offset: self.frame_offset,
                    crc,
                });
                self.buf.clear();
                self.state = State::Hunting;
                result
            }
            Err(reason) => self.reject(reason, on_event),
        }
    }

    fn check_crc(&self) -> Result<CrcCheck, Reject> {
        check_crc_at(&self.buf, self.bang)
    }
}

/// Checks the CRC of a whole telegram, `/` through `!`, the CRC and its line end (as
/// [`Event::Telegram`] gives it): how it is right, or why the telegram is to be dropped.
///
/// # Errors
/// A telegram whose CRC does not match, whose CRC line is not hex, or which has no `!`
/// ([`Reject::Truncated`]); one without a CRC where its version requires one.
pub fn check_crc(telegram: &[u8]) -> Result<CrcCheck, Reject> {
    let bang = memchr::memchr(b'!', telegram).ok_or(Reject::Truncated)?;
    let line = telegram[bang + 1..].trim_ascii_end();
    if line.len() > 4 || !line.iter().all(u8::is_ascii_hexdigit) {
        return Err(Reject::BadCrcLine);
    }
    check_crc_at(telegram, bang)
}

/// The CRC check of a frame whose `!` is at `bang` (the CRC line after it is hex).
fn check_crc_at(frame: &[u8], bang: usize) -> Result<CrcCheck, Reject> {
    let covered = &frame[..=bang];
    let mut sent = 0u16;
    let mut digits = 0;
    for &d in frame[bang + 1..].iter().filter(|d| d.is_ascii_hexdigit()) {
        sent = (sent << 4) | u16::from(hex_value(d));
        digits += 1;
    }
    if digits == 0 {
        return if !looks_like_a_telegram(covered) {
            Err(Reject::NotATelegram)
        } else if [&b"1-3:0.2.8("[..], b"0-0:96.1.4("]
            .iter()
            .any(|code| contains(covered, code))
        {
            Err(Reject::MissingCrc)
        } else {
            Ok(CrcCheck::Absent)
        };
    }
    let computed = crc16(covered);
    if computed == sent {
        Ok(CrcCheck::Valid)
    } else if has_bare_lf(covered) && crc16_as_crlf(covered) == sent {
        Ok(CrcCheck::ValidAsCrlf)
    } else {
        Err(Reject::CrcMismatch { sent, computed })
    }
}

/// Whether a frame without a CRC (`/` through `!`) is what a DSMR 2.2 or 3 meter sends: a
/// printable header (`/`, three letters, then the meter's identification), and lines that
/// are printable, each an OBIS object (`1-0:1.8.1(...)`) or the continuation of one (`(...)`,
/// a DSMR 2.2 gas value), with at least one object.
fn looks_like_a_telegram(frame: &[u8]) -> bool {
    let printable = |line: &[u8]| line.iter().all(|&b| (b' '..=b'~').contains(&b));
    let mut lines = frame[..frame.len() - 1]
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let header = lines.next().unwrap_or_default();
    let named = header.len() >= 5 && header[1..4].iter().all(u8::is_ascii_alphabetic);
    if !(named && printable(header)) {
        return false;
    }
    let mut objects = 0;
    for line in lines.filter(|line| !line.is_empty()) {
        if !printable(line) {
            return false;
        }
        if line.starts_with(b"(") {
            continue;
        }
        if !is_obis_line(line) {
            return false;
        }
        objects += 1;
    }
    objects > 0
}

/// `A-B:C.D.E(`, each part digits, then a value.
fn is_obis_line(line: &[u8]) -> bool {
    let Some(open) = memchr::memchr(b'(', line) else {
        return false;
    };
    let code = &line[..open];
    let mut parts = code.split(|&b| matches!(b, b'-' | b':' | b'.' | b'*'));
    let digits = |part: &[u8]| !part.is_empty() && part.iter().all(u8::is_ascii_digit);
    parts.clone().count() >= 5 && parts.all(digits)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn hex_value(d: u8) -> u8 {
    match d {
        b'0'..=b'9' => d - b'0',
        b'a'..=b'f' => d - b'a' + 10,
        _ => d - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::crc::crc16;
    use std::convert::Infallible;

    /// The CRC of a telegram's text from `/` through `!`.
    fn crc_of(telegram: &str) -> u16 {
        crc16(&telegram.as_bytes()[..=telegram.find('!').unwrap()])
    }

    /// A telegram with its CRC line.
    fn telegram(body: &str) -> String {
        let text = format!("/ISK5\\2M550T-1012\r\n\r\n{body}!");
        format!("{text}{:04X}\r\n", crc16(text.as_bytes()))
    }

    /// What the framer reports for `input` fed in pieces, as text: the CRC check or the
    /// rejection, and the frame's offset.
    fn frames(input: &[u8], piece: usize) -> Vec<String> {
        let mut framer = Framer::new(256);
        let mut out = Vec::new();
        let mut record = |event: Event<'_>| -> Result<(), Infallible> {
            out.push(match event {
                Event::Telegram { offset, crc, .. } => format!("{crc:?} at {offset}"),
                Event::Rejected { offset, reason, .. } => format!("{reason:?} at {offset}"),
            });
            Ok(())
        };
        for chunk in input.chunks(piece.max(1)) {
            let Ok(()) = framer.push(chunk, &mut record);
        }
        let Ok(()) = framer.finish(&mut record);
        out
    }

    #[test]
    fn bytes_in_frames_out() {
        let good = telegram("1-3:0.2.8(50)\r\n1-0:1.7.0(00.193*kW)\r\n");
        let bad_crc = good.replace("00.193", "00.194");
        let no_crc = "/KFM5KAIFA-METER\r\n\r\n1-0:1.7.0(00.193*kW)\r\n!\r\n".to_string();
        let cut = &good[..good.len() / 2];
        let lf_only = good.replace("\r\n", "\n");
        let lf_only = {
            // Its CRC was computed over CRLF, as the meter sent it.
            let bang = lf_only.find('!').unwrap();
            format!("{}{:04X}\n", &lf_only[..=bang], crc_of(&good))
        };
        let n = good.len();
        let mismatch = format!(
            "CrcMismatch {{ sent: {}, computed: {} }} at 0",
            crc_of(&good),
            crc_of(&bad_crc)
        );
        let cases: Vec<(&str, String, Vec<String>)> = vec![
            ("one telegram", good.clone(), vec!["Valid at 0".into()]),
            (
                "garbage before it",
                format!("xx\0{good}"),
                vec!["Valid at 3".into()],
            ),
            (
                "two in a row",
                format!("{good}{good}"),
                vec!["Valid at 0".into(), format!("Valid at {n}")],
            ),
            ("a CRC that fails", bad_crc, vec![mismatch]),
            ("no CRC (DSMR 2.2)", no_crc, vec!["Absent at 0".into()]),
            (
                "a CRC of 5 digits",
                good.replacen('!', "!1", 1),
                vec!["BadCrcLine at 0".into()],
            ),
            (
                "cut off by the next '/'",
                format!("{cut}{good}"),
                vec!["Truncated at 0".into(), format!("Valid at {}", cut.len())],
            ),
            (
                "cut off by the end",
                cut.to_string(),
                vec!["Truncated at 0".into()],
            ),
            (
                "longer than the bound",
                format!("/X\r\n{}\r\n{good}", "a".repeat(300)),
                vec!["Oversize at 0".into(), format!("Valid at {}", 306)],
            ),
            (
                "a capture with its CRs stripped",
                lf_only,
                vec!["ValidAsCrlf at 0".into()],
            ),
            (
                "a version 5 telegram without CRC",
                good[..=good.find('!').unwrap()].to_string() + "\r\n",
                vec!["MissingCrc at 0".into()],
            ),
        ];
        for (name, input, want) in cases {
            for piece in [1, 7, input.len()] {
                let got = frames(input.as_bytes(), piece);
                assert_eq!(got, want, "{name}, in pieces of {piece}");
            }
        }
    }

    /// A callback that fails stops the push there, with its error; the frame it was given is
    /// over, and the next push goes on from the byte after it.
    #[test]
    fn a_failing_callback_stops_the_push_and_framing_goes_on_after_it() {
        let good = telegram("1-0:1.7.0(00.193*kW)\r\n");
        let input = format!("{good}{good}{good}");
        let mut framer = Framer::new(256);
        let mut seen = 0;
        let result = framer.push(input.as_bytes(), |_| {
            seen += 1;
            if seen == 2 { Err("full") } else { Ok(()) }
        });
        assert_eq!((result, seen), (Err("full"), 2));
        assert!(!framer.in_frame());
        let rest = &input.as_bytes()[2 * good.len()..];
        let mut after = Vec::new();
        let Ok(()) = framer.push(rest, |event| -> Result<(), Infallible> {
            if let Event::Telegram { offset, .. } = event {
                after.push(offset);
            }
            Ok(())
        });
        assert_eq!(after, [2 * good.len() as u64]);
        assert_eq!(framer.stats().telegrams, 3);
    }

    /// Issue 23 (11): noise gave a reading, from a frame without a CRC whose header and
    /// lines are control characters. Without a CRC, only a printable header followed by OBIS
    /// lines is a telegram.
    #[test]
    fn a_frame_without_a_crc_must_look_like_a_telegram_regression_23() {
        let check = |frame: &[u8]| check_crc(frame).map_err(|e| e.to_string());
        assert_eq!(
            check(b"/ISk5\\2ME382-1003\r\n\r\n1-0:1.8.1(00123.456*kWh)\r\n0-1:24.3.0(090212160000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00000.000)\r\n!\r\n"),
            Ok(CrcCheck::Absent)
        );
        let not = Err(Reject::NotATelegram.to_string());
        for noise in [
            &b"/\x01\x02\x03\x04\r\n\x05(\x06)\r\n!\r\n"[..],
            b"/ISk5\\2ME382\r\n\x05(\x06)\r\n!\r\n",
            b"/ISk5\\2ME382\r\n1-0:1.8.1(1\x07)\r\n!\r\n",
            b"/ISk5\\2ME382\r\nhello(1)\r\n!\r\n",
            b"/I\r\n1-0:1.8.1(1)\r\n!\r\n",
            b"/ISk5\\2ME382\r\n\r\n!\r\n",
        ] {
            assert_eq!(check(noise), not, "{}", noise.escape_ascii());
        }
    }
}
