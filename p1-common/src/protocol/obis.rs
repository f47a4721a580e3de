//! The OBIS line tokenizer: a telegram's header and its objects, `code(value)(value)...`.
//!
//! A line that begins with `(` continues the object before it (DSMR 2.2 and 3 send the gas
//! reading on the line after `0-n:24.3.0`). Tokens borrow from the telegram: nothing is copied.

use crate::protocol::scan::{find, find2};

/// One object: its code as sent (e.g. `1-0:1.8.1`, or `1-0:1.8.0*255`) and its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Object<'a> {
    /// The code, as sent.
    pub code: &'a [u8],
    /// Everything from the first `(` to the end of the object's last line.
    pub raw_values: &'a [u8],
    /// The code without a trailing `*255`.
    normalized: &'a [u8],
}

impl<'a> Object<'a> {
    /// An object of `code` whose values are `raw_values` (`(..)(..)`).
    pub fn new(code: &'a [u8], raw_values: &'a [u8]) -> Self {
        let normalized = match find(b'*', code) {
            Some(p) => &code[..p],
            None => code,
        };
        Object {
            code,
            raw_values,
            normalized,
        }
    }

    /// The values between parentheses, in order.
    pub fn values(&self) -> Values<'a> {
        Values {
            rest: self.raw_values,
        }
    }

    /// The value of an object that has exactly one, `(value)`, found without iterating (most
    /// objects have one); `None` for any other list, which [`Object::values`] then reads.
    pub fn only_value(&self) -> Option<&'a [u8]> {
        let value = self.raw_values.strip_prefix(b"(")?.strip_suffix(b")")?;
        find(b')', value).is_none().then_some(value)
    }

    /// The code without a trailing `*255` (a billing-period suffix some meters add).
    pub fn normalized_code(&self) -> &'a [u8] {
        self.normalized
    }
}

/// A value list that is not `(..)(..)...`: the line is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Iterator over the parenthesised values of an object.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    rest: &'a [u8],
}

impl<'a> Values<'a> {
    /// The next value if it is `len` bytes long and follows directly (`(value)`), found
    /// without a search: the fixed-width values of a long list (the peak history's
    /// timestamps). `None` leaves the list where it was.
    pub fn next_of_len(&mut self, len: usize) -> Option<&'a [u8]> {
        let [b'(', rest @ ..] = self.rest else {
            return None;
        };
        let (value, after) = rest.split_at_checked(len)?;
        let after = after.strip_prefix(b")")?;
        (find(b')', value).is_none()).then(|| {
            self.rest = after;
            value
        })
    }
}

impl<'a> Iterator for Values<'a> {
    type Item = Result<&'a [u8], Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        // Values follow each other (`)(`) but for a line break before a continued line.
        let rest = if self.rest.first() == Some(&b'(') {
            self.rest
        } else {
            let start = self
                .rest
                .iter()
                .position(|b| !matches!(b, b'\r' | b'\n' | b' '))?;
            &self.rest[start..]
        };
        if rest[0] != b'(' {
            self.rest = &[];
            return Some(Err(Malformed));
        }
        if let Some(end) = find(b')', rest) {
            self.rest = &rest[end + 1..];
            Some(Ok(&rest[1..end]))
        } else {
            self.rest = &[];
            Some(Err(Malformed))
        }
    }
}

/// A telegram split into its header and its objects.
#[derive(Debug, Clone)]
pub struct Tokens<'a> {
    /// The identification line without `/` and line end.
    pub header: &'a [u8],
    body: &'a [u8],
}

/// A line in the body that is not an object (no `(`), given as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrayLine<'a>(pub &'a [u8]);

impl<'a> Tokens<'a> {
    /// Splits a framed telegram (`/` ... `!`...). Bytes after `!` are not looked at.
    pub fn new(telegram: &'a [u8]) -> Self {
        let telegram = telegram.strip_prefix(b"/").unwrap_or(telegram);
        let end = telegram
            .iter()
            .rposition(|&b| b == b'!')
            .unwrap_or(telegram.len());
        let telegram = &telegram[..end];
        let header_end = telegram
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(telegram.len());
        let header = trim_line_end(&telegram[..header_end]);
        let body = telegram.get(header_end + 1..).unwrap_or(&[]);
        Tokens { header, body }
    }

    /// The objects, in order; a non-empty line without `(` comes as `Err(StrayLine)`.
    pub fn objects(&self) -> ObjectIter<'a> {
        ObjectIter { rest: self.body }
    }
}

/// Iterator over a telegram body's objects.
#[derive(Debug, Clone)]
pub struct ObjectIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for ObjectIter<'a> {
    type Item = Result<Object<'a>, StrayLine<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let object_start = self.rest;
            // The code runs to the first `(`, if the line has one.
            let paren = match find2(b'(', b'\n', object_start) {
                Some(p) if p > 0 && object_start[p] == b'(' => p,
                _ => {
                    let (line, after) = split_line(object_start);
                    self.rest = after;
                    let line = trim_line_end(line);
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    // A line starting with `(` here has nothing before it to continue.
                    return Some(Err(StrayLine(line)));
                }
            };
            let (values, mut after) = split_line(&object_start[paren..]);
            let mut object_len = paren + trim_line_end(values).len();
            while after.first() == Some(&b'(') {
                let (next, rest) = split_line(after);
                object_len = (object_start.len() - after.len()) + trim_line_end(next).len();
                after = rest;
            }
            self.rest = after;
            return Some(Ok(Object::new(
                object_start[..paren].trim_ascii(),
                &object_start[paren..object_len],
            )));
        }
    }
}

/// Splits off the first line, its LF included, from `bytes`.
fn split_line(bytes: &[u8]) -> (&[u8], &[u8]) {
    match find(b'\n', bytes) {
        Some(p) => bytes.split_at(p + 1),
        None => (bytes, &[]),
    }
}

/// `line` without the CRs and LF that end it (a line has one LF at most, at its end).
fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut line = line.strip_suffix(b"\n").unwrap_or(line);
    while let [rest @ .., b'\r'] = line {
        line = rest;
    }
    line
}
