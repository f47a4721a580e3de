//! The telegram envelope p1-read writes, one a line, and p1-parse reads:
//!
//! ```json
//! {"type":"telegram","received":"2020-05-12T13:54:10.012+02:00","source":"/dev/ttyUSB0","telegram":"/FLU5\\253769484_A\r\n...!3AD7\r\n"}
//! ```
//!
//! `telegram` is the exact text from `/` through the CRC and its line end. A frame passed on by
//! `p1-read --keep-invalid` carries `"invalid":"<why>"`. A telegram decrypted from an
//! encrypted meter's frame carries the frame's `system_title` (hex) and `frame_counter`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Unexpected};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

crate::record_type! {
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct TelegramEnvelope<'a> ("telegram", "A whole telegram as p1-read received it (p1-read, one a telegram, written the moment its CRC line arrives).") {
        #[serde(borrow)]
        received: Cow<'a, str> => "when p1-read received it (RFC 3339, milliseconds, local time)",
        #[serde(borrow)]
        source: Cow<'a, str> => "where it came from, as p1-read was told (a device, tcp://HOST:PORT, a file, sim)",
        #[serde(borrow)]
        telegram: TelegramText<'a> => "the exact text from / through the CRC and its line end",
        #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
        invalid: Option<Cow<'a, str>> => "why the frame is not valid, when p1-read --keep-invalid passed it on",
        #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
        system_title: Option<Cow<'a, str>> => "an encrypted meter's system title, in hex",
        #[serde(default, skip_serializing_if = "Option::is_none")]
        frame_counter: Option<u32> => "an encrypted meter's frame counter",
    }
}

impl TelegramEnvelope<'_> {
    /// The envelope, owning its text.
    #[must_use]
    pub fn into_owned(self) -> TelegramEnvelope<'static> {
        TelegramEnvelope {
            received: Cow::Owned(self.received.into_owned()),
            source: Cow::Owned(self.source.into_owned()),
            telegram: self.telegram.into_owned(),
            invalid: self.invalid.map(|i| Cow::Owned(i.into_owned())),
            system_title: self.system_title.map(|t| Cow::Owned(t.into_owned())),
            frame_counter: self.frame_counter,
        }
    }
}

/// A telegram's text. Read from a line it stays as the line has it, a JSON string with its
/// escapes, until a consumer asks for it: p1-parse unescapes it into a buffer it reuses (the
/// `\r\n` of every line would otherwise cost a fresh string a telegram), and a stage that
/// writes it again writes those bytes back as they came.
#[derive(Clone)]
pub struct TelegramText<'a>(Text<'a>);

#[derive(Clone)]
enum Text<'a> {
    Plain(Cow<'a, str>),
    /// The inside of a JSON string literal, its escapes checked.
    Escaped(&'a str),
}

impl<'a> TelegramText<'a> {
    /// Appends the telegram's bytes to `out`.
    pub fn append_to(&self, out: &mut Vec<u8>) {
        match &self.0 {
            Text::Plain(text) => out.extend_from_slice(text.as_bytes()),
            Text::Escaped(body) => unescape(body.as_bytes(), out),
        }
    }

    /// The telegram's text, borrowed when it needs no unescaping.
    #[must_use]
    pub fn text(&self) -> Cow<'_, str> {
        match &self.0 {
            Text::Plain(text) => Cow::Borrowed(text),
            Text::Escaped(body) => {
                if !body.contains('\\') {
                    return Cow::Borrowed(body);
                }
                let mut bytes = Vec::with_capacity(body.len());
                unescape(body.as_bytes(), &mut bytes);
                Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
            }
        }
    }

    /// The inside of a JSON string literal whose escapes were checked (by the record
    /// scanner).
    pub(crate) fn escaped(body: &'a str) -> Self {
        TelegramText(Text::Escaped(body))
    }

    /// The text, owned.
    #[must_use]
    pub fn into_owned(self) -> TelegramText<'static> {
        TelegramText(Text::Plain(Cow::Owned(self.text().into_owned())))
    }
}

impl<'a> From<Cow<'a, str>> for TelegramText<'a> {
    fn from(text: Cow<'a, str>) -> Self {
        TelegramText(Text::Plain(text))
    }
}

impl<'a> From<&'a str> for TelegramText<'a> {
    fn from(text: &'a str) -> Self {
        TelegramText(Text::Plain(Cow::Borrowed(text)))
    }
}

impl From<String> for TelegramText<'static> {
    fn from(text: String) -> Self {
        TelegramText(Text::Plain(Cow::Owned(text)))
    }
}

impl fmt::Display for TelegramText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl fmt::Debug for TelegramText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text(), f)
    }
}

impl PartialEq for TelegramText<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl Eq for TelegramText<'_> {}

impl PartialEq<str> for TelegramText<'_> {
    fn eq(&self, other: &str) -> bool {
        self.text() == other
    }
}

impl PartialEq<&str> for TelegramText<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.text() == *other
    }
}

impl Serialize for TelegramText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Text::Plain(text) => serializer.serialize_str(text),
            Text::Escaped(_) => serializer.serialize_str(&self.text()),
        }
    }
}

/// Borrows the string literal from the line (serde_json checks its escapes and UTF-8 as it
/// skips it); anything but a string is refused as the derived `Cow<str>` would.
impl<'de: 'a, 'a> Deserialize<'de> for TelegramText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(deserializer)?;
        if !raw.get().starts_with('"') {
            return Err(de::Error::invalid_type(
                Unexpected::Other(raw.get()),
                &"the telegram's text",
            ));
        }
        let literal = raw.get();
        Ok(TelegramText(Text::Escaped(&literal[1..literal.len() - 1])))
    }
}

/// Appends a JSON string's body to `out` with its escapes replaced; a lone surrogate (which
/// serde_json lets pass when it skips a string) becomes U+FFFD. A telegram's escapes are
/// nearly all its lines' `\r\n`, taken as one.
fn unescape(mut body: &[u8], out: &mut Vec<u8>) {
    out.reserve(body.len());
    while let Some(at) = memchr::memchr(b'\\', body) {
        out.extend_from_slice(&body[..at]);
        let escape = &body[at..];
        if escape.starts_with(br"\r\n") {
            out.extend_from_slice(b"\r\n");
            body = &escape[4..];
            continue;
        }
        let (c, len) = escaped(&escape[1..]);
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        body = escape.get(1 + len..).unwrap_or_default();
    }
    out.extend_from_slice(body);
}

/// The character an escape stands for (after its backslash), and the escape's length.
fn escaped(escape: &[u8]) -> (char, usize) {
    let c = match escape.first() {
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'u') => return unicode_escape(escape),
        Some(&other) => other as char,
        None => return (char::REPLACEMENT_CHARACTER, 0),
    };
    (c, 1)
}

/// `uXXXX`, or a surrogate pair `uXXXX\\uXXXX`.
fn unicode_escape(escape: &[u8]) -> (char, usize) {
    let hex = |at: usize| {
        let digits = std::str::from_utf8(escape.get(at..at + 4)?).ok()?;
        u32::from_str_radix(digits, 16).ok()
    };
    let Some(first) = hex(1) else {
        return (char::REPLACEMENT_CHARACTER, escape.len().min(5));
    };
    if (0xD800..0xDC00).contains(&first)
        && escape.get(5..7) == Some(b"\\u")
        && let Some(second @ 0xDC00..0xE000) = hex(7)
    {
        let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
        return (
            char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER),
            11,
        );
    }
    (
        char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER),
        5,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> TelegramEnvelope<'_> {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn the_text_is_unescaped_as_serde_json_would() {
        let text = "/X5\\Y\r\n\"q\"\t\u{1}é€😀\r\n!0000\r\n";
        let line = serde_json::to_string(&TelegramEnvelope {
            received: "r".into(),
            source: "s".into(),
            telegram: text.into(),
            invalid: None,
            system_title: None,
            frame_counter: None,
        })
        .unwrap();
        let envelope = read(&line);
        assert_eq!(envelope.telegram.text(), text);
        let mut bytes = b"kept".to_vec();
        envelope.telegram.append_to(&mut bytes);
        assert_eq!(bytes, [b"kept", text.as_bytes()].concat());
        assert_eq!(
            serde_json::to_string(&envelope).unwrap(),
            line,
            "written back as read"
        );
        let escaped = r#""\u00e9\ud83d\ude00\/\b\f""#;
        let unescaped: String = serde_json::from_str(escaped).unwrap();
        let line = format!(r#"{{"received":"r","source":"s","telegram":{escaped}}}"#);
        assert_eq!(read(&line).telegram, unescaped.as_str());
    }

    #[test]
    fn escapes_are_replaced_wherever_they_are() {
        for len in 0..20 {
            for at in 0..len {
                for (escape, stands_for) in [
                    ("\\r", "\r"),
                    ("\\r\\n", "\r\n"),
                    ("\\u20ac", "€"),
                    ("\\\\", "\\"),
                ] {
                    let body = format!("{}{escape}{}", "é".repeat(at), "a".repeat(len - at));
                    let want = format!("{}{stands_for}{}", "é".repeat(at), "a".repeat(len - at));
                    let mut out = b"kept".to_vec();
                    unescape(body.as_bytes(), &mut out);
                    assert_eq!(out, [b"kept", want.as_bytes()].concat(), "{body}");
                }
            }
        }
    }

    #[test]
    fn a_lone_surrogate_becomes_a_replacement_character() {
        let line = r#"{"received":"r","source":"s","telegram":"a\ud800b\udc00"}"#;
        assert_eq!(read(line).telegram, "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn a_telegram_that_is_not_a_string_is_refused() {
        for value in ["17", "null", "[\"a\"]", "{}"] {
            let line = format!(r#"{{"received":"r","source":"s","telegram":{value}}}"#);
            assert!(
                serde_json::from_str::<TelegramEnvelope<'_>>(&line).is_err(),
                "{value}"
            );
        }
    }
}
