//! A JSON object's members found without building them: each key, and the bytes of its value,
//! the syntax checked on the way. A stage that reads a few keys of a reading skips the rest
//! (the peak history, the texts) at a few instructions a byte, where a general deserializer
//! visits every token.
//!
//! It accepts only what is valid JSON (RFC 8259, nesting at most 128 deep as serde_json has
//! it); whatever it refuses, the general deserializer reads, with its own error.

use crate::protocol::scan::{hash16, pack16};

/// Nesting serde_json allows.
const MAX_DEPTH: usize = 128;

/// A position in a JSON text.
#[derive(Debug)]
pub struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str) -> Self {
        Scanner {
            text,
            bytes: text.as_bytes(),
            at: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// After whitespace, `byte`, taken.
    pub fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.skip_whitespace();
        self.at == self.bytes.len()
    }

    /// The key of the next member of an object, after `{` or a member (as written, escapes
    /// and all), its colon taken; `None` at `}` (taken) and on anything that is not JSON.
    pub fn key_of_member(&mut self, first: bool) -> Option<Option<&'a [u8]>> {
        self.skip_whitespace();
        match self.peek()? {
            b'}' => {
                self.at += 1;
                return Some(None);
            }
            b',' if !first => {
                self.at += 1;
                self.skip_whitespace();
            }
            b'"' if first => {}
            _ => return None,
        }
        (self.peek() == Some(b'"')).then_some(())?;
        let key_start = self.at + 1;
        self.string()?;
        let key = &self.bytes[key_start..self.at - 1];
        if self.bytes.get(self.at) == Some(&b':') {
            self.at += 1;
        } else {
            self.expect(b':')?;
        }
        Some(Some(key))
    }

    /// The value of a member, after its key: its bytes. A list or an object equal to the one
    /// `known` gives (the last of its key, checked then) is taken as it stands; another is
    /// checked and kept there for the next time.
    pub fn value_of_member<'k>(
        &mut self,
        known: impl FnOnce() -> &'k mut Vec<u8>,
    ) -> Option<&'a [u8]> {
        self.skip_whitespace();
        let start = self.at;
        match self.peek()? {
            b'[' | b'{' => {
                let known = known();
                if !known.is_empty() && self.bytes[start..].starts_with(known) {
                    self.at += known.len();
                } else {
                    self.value()?;
                    known.clear();
                    known.extend_from_slice(&self.bytes[start..self.at]);
                }
            }
            _ => self.value()?,
        }
        Some(&self.bytes[start..self.at])
    }

    /// The next value, its syntax checked: its text.
    pub fn value_text(&mut self) -> Option<&'a str> {
        self.skip_whitespace();
        let start = self.at;
        self.value()?;
        // A value starts and ends at ASCII bytes: character boundaries.
        self.text.get(start..self.at)
    }

    /// One value, skipped: its syntax checked, its end found.
    pub fn value(&mut self) -> Option<()> {
        // What each open container is, innermost last: true for an object.
        let mut open = [false; MAX_DEPTH];
        let mut depth = 0;
        loop {
            self.skip_whitespace();
            match self.peek()? {
                b'{' | b'[' => {
                    let object = self.peek() == Some(b'{');
                    self.at += 1;
                    *open.get_mut(depth)? = object;
                    depth += 1;
                    self.skip_whitespace();
                    let close = if object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.at += 1;
                        depth -= 1;
                    } else {
                        if object {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b'"' => self.string()?,
                b'-' | b'0'..=b'9' => self.number()?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => return None,
            }
            // A value has ended: the containers it ends, then the next value's place.
            loop {
                if depth == 0 {
                    return Some(());
                }
                self.skip_whitespace();
                let object = open[depth - 1];
                match self.peek()? {
                    b',' => {
                        self.at += 1;
                        if object {
                            self.skip_whitespace();
                            self.key()?;
                        }
                        break;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                self.at += 1;
                depth -= 1;
            }
        }
    }

    /// A key and its colon.
    fn key(&mut self) -> Option<()> {
        (self.peek() == Some(b'"')).then_some(())?;
        self.string()?;
        self.expect(b':')
    }

    /// A string, at its opening quote: no control characters, only the escapes JSON has.
    fn string(&mut self) -> Option<()> {
        self.at += 1;
        loop {
            let rest = self.bytes.get(self.at..)?;
            // Most of a string is plain: eight bytes a step to the next quote, backslash or
            // control character.
            let plain = plain_run(rest);
            self.at += plain;
            match *self.bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(());
                }
                b'\\' => {
                    // A telegram's every line ends in `\r\n`: both at once.
                    if self.bytes.get(self.at..self.at + 4) == Some(br"\r\n") {
                        self.at += 4;
                        continue;
                    }
                    let escape = *self.bytes.get(self.at + 1)?;
                    self.at += 2;
                    match escape {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            let hex = self.bytes.get(self.at..self.at + 4)?;
                            hex.iter().all(u8::is_ascii_hexdigit).then_some(())?;
                            self.at += 4;
                        }
                        _ => return None,
                    }
                }
                // A control character.
                _ => return None,
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.some_digits()?;
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.bytes.get(self.at..)?.starts_with(word).then_some(())?;
        self.at += word.len();
        Some(())
    }
}

/// A JSON string value (its bytes, well formed) without escapes, as its text; `None` for one
/// with escapes (or any other value).
pub fn plain_text(value: &str) -> Option<&str> {
    let body = value.strip_prefix('"')?.strip_suffix('"')?;
    (!body.contains('\\')).then_some(body)
}

/// Names to their places, for the keys of a record: an open-addressing table of hashes of
/// both ends of a name, each hit checked against the name.
#[derive(Debug)]
pub struct KeyIndex {
    mask: usize,
    /// `(name, place)`; a free slot's name is empty.
    slots: Vec<(&'static str, u16)>,
}

impl KeyIndex {
    pub fn new(names: &[&'static str]) -> KeyIndex {
        let capacity = (names.len() * 2).next_power_of_two().max(8);
        let mut index = KeyIndex {
            mask: capacity - 1,
            slots: vec![("", 0); capacity],
        };
        for (place, name) in names.iter().enumerate() {
            assert!(!name.is_empty(), "a key has a name");
            let mut slot = key_hash(name.as_bytes()) & index.mask;
            while !index.slots[slot].0.is_empty() {
                slot = (slot + 1) & index.mask;
            }
            index.slots[slot] = (name, u16::try_from(place).expect("fewer than 65536 keys"));
        }
        index
    }

    /// The place of `name`, if it is one of the names.
    pub fn get(&self, name: &[u8]) -> Option<u16> {
        let mut slot = key_hash(name) & self.mask;
        loop {
            let (known, place) = self.slots[slot];
            if known.is_empty() {
                return None;
            }
            if known.as_bytes() == name {
                return Some(place);
            }
            slot = (slot + 1) & self.mask;
        }
    }
}

/// A key's first and last eight bytes (they may overlap), and its length, mixed: keys that
/// share a beginning differ at their end (`..._l1_v`, `..._l2_v`).
fn key_hash(name: &[u8]) -> usize {
    let (head, tail) = match (name.first_chunk::<8>(), name.last_chunk::<8>()) {
        (Some(head), Some(tail)) => (u64::from_le_bytes(*head), u64::from_le_bytes(*tail)),
        _ => (pack16(name).unwrap_or(0) as u64, 0),
    };
    let mixed = u128::from(head) | u128::from(tail.rotate_left(5) ^ name.len() as u64) << 64;
    (hash16(mixed) >> 40) as usize
}

/// How many bytes from the start are neither `"`, `\` nor a control character.
pub(crate) fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let (words, rest) = bytes.as_chunks::<8>();
    for (i, word) in words.iter().enumerate() {
        let word = u64::from_le_bytes(*word);
        // Bytes below 0x20 (their high three bits clear, UTF-8's high bytes excluded), and
        // quotes and backslashes: each found as a zero byte.
        let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
        let special = zero_byte(word ^ (ONES * u64::from(b'"')))
            | zero_byte(word ^ (ONES * u64::from(b'\\')))
            | control;
        if special != 0 {
            return i * 8 + special.trailing_zeros() as usize / 8;
        }
    }
    let tail = rest
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(rest.len());
    words.len() * 8 + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn valid(text: &str) -> bool {
        let mut scanner = Scanner::new(text);
        scanner.skip_whitespace();
        scanner.value().is_some() && scanner.at_end()
    }

    #[test]
    fn json_is_accepted_and_anything_else_is_not() {
        for good in [
            "0",
            "-0.5e+10",
            "1E5",
            "\"a\\u00e9\\n\\\"\"",
            "[]",
            "{}",
            "[1,[2,{\"a\":[]}],\"x\"]",
            " {\"a\" : 1 , \"b\":{\"c\":null}} ",
            "true",
            "\"é€😀\"",
        ] {
            assert!(valid(good), "{good}");
        }
        for bad in [
            "",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "[1,]",
            "[,1]",
            "{\"a\"}",
            "{\"a\":1,}",
            "{1:2}",
            "[1 2]",
            "\"a",
            "\"\\x\"",
            "\"\\u12g4\"",
            "\"tab\there\"",
            "tru",
            "nul",
            "[}",
            "{]",
            "[1]]",
            "{\"a\":1} x",
            "'a'",
        ] {
            assert!(!valid(bad), "{bad}");
        }
        let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(valid(&deep));
        let deeper = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert!(!valid(&deeper), "deeper than serde_json goes");
    }

    #[test]
    fn plain_runs_stop_at_quotes_backslashes_and_control_characters() {
        for at in 0..20 {
            for special in [b'"', b'\\', 0x00, 0x1F] {
                let mut bytes = vec![b'a'; 20];
                bytes[at] = special;
                assert_eq!(plain_run(&bytes), at, "{special:#x} at {at}");
            }
            let mut bytes = "é€".repeat(5).into_bytes();
            bytes.truncate(at.min(bytes.len()));
            assert_eq!(plain_run(&bytes), bytes.len(), "UTF-8 is plain");
            assert_eq!(plain_run(&[0x20, 0x7F, 0xFF]), 3);
        }
    }

    #[test]
    fn every_key_is_found_at_its_place_and_no_other_word() {
        let names = [
            "type",
            "time",
            "meter_id",
            "power_import_kw",
            "reactive_energy_import_t1_kvarh",
            "reactive_energy_import_t2_kvarh",
            "a",
            "mbus",
            "unknown",
        ];
        let index = KeyIndex::new(&names);
        for (place, name) in names.iter().enumerate() {
            assert_eq!(index.get(name.as_bytes()), Some(place as u16), "{name}");
        }
        for other in [
            "",
            "tim",
            "times",
            "reactive_energy_import_t3_kvarh",
            "b",
            "power\\u005fimport_kw",
        ] {
            assert_eq!(index.get(other.as_bytes()), None, "{other}");
        }
    }

    proptest! {
        /// Whatever the text, the scanner says valid exactly when serde_json does.
        #[test]
        fn agrees_with_serde_json(text in "[ \\[\\]{}\":,0-9.eE+\\-a-z\\\\]{0,24}") {
            let serde = serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok();
            prop_assert_eq!(valid(&text), serde);
        }

        /// On JSON made well formed, too.
        #[test]
        fn agrees_with_serde_json_on_values(value in arbitrary_json()) {
            let text = value.to_string();
            prop_assert!(valid(&text), "{}", text);
        }
    }

    fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |v| v.is_finite())
                .prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            ".*".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                proptest::collection::btree_map(".*", inner, 0..6)
                    .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }
}
