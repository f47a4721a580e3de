//! Decoding a framed telegram into a [`Reading`].
//!
//! Known objects become typed values; anything else is kept under `unknown` as sent. A known
//! object that cannot be read (a bad number, a wrong unit, a malformed list) is kept there too
//! and reported as a [`LineIssue`]: one bad line never loses the rest of the telegram.

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;

use crate::field::{Decode, FieldTable, Quantity, State, Time, Unit, ValueDecode};
use crate::meter_time::{ClockZone, MeterTime};
use crate::number::{parse_decimal, parse_unsigned, split_unit};
use crate::obis::{Object, Tokens, Values};
use crate::reading::{DemandPeak, MbusDevice, MbusKind, PowerFailure, mbus_channel};

/// A line of a valid telegram that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIssue {
    /// The object's code (or the stray line) as sent.
    pub code: String,
    /// The object's values as sent.
    pub values: String,
    pub problem: &'static str,
}

impl fmt::Display for LineIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}: {}", self.code, self.values, self.problem)
    }
}

type Outcome = Result<Known, &'static str>;

/// Whether an object was one the decoder knows.
enum Known {
    Yes,
    No,
}

/// Decodes `telegram` (framed, `/` through `!`) into `reading`, which is cleared first. Lines
/// that could not be read are appended to `issues`.
pub fn decode<R: FieldTable>(
    telegram: &[u8],
    zone: ClockZone,
    reading: &mut R,
    issues: &mut Vec<LineIssue>,
) {
    reading.clear();
    let tokens = Tokens::new(telegram);
    *reading.header_mut() = Some(String::from_utf8_lossy(tokens.header).into_owned());
    let mut equipment_id = None;
    let mut device_name = None;
    for object in tokens.objects() {
        let object = match object {
            Ok(object) => object,
            Err(stray) => {
                let line = String::from_utf8_lossy(stray.0).into_owned();
                reading.unknown_mut().entry(line.clone()).or_default();
                issues.push(LineIssue {
                    code: line,
                    values: String::new(),
                    problem: "not an OBIS object",
                });
                continue;
            }
        };
        if object.normalized_code() == b"0-0:96.1.0" {
            equipment_id = Some(single(&object).map(decode_text));
            if equipment_id.as_ref().is_some_and(Result::is_ok) {
                continue;
            }
        }
        if object.normalized_code() == b"0-0:42.0.0" {
            device_name = single(&object).ok().map(decode_text);
        }
        match apply(&object, zone, reading) {
            Ok(Known::Yes) => {}
            Ok(Known::No) => keep_unknown(&object, reading.unknown_mut()),
            Err(problem) => {
                keep_unknown(&object, reading.unknown_mut());
                issues.push(LineIssue {
                    code: String::from_utf8_lossy(object.code).into_owned(),
                    values: String::from_utf8_lossy(object.raw_values).into_owned(),
                    problem,
                });
            }
        }
    }
    if reading.meter_id_mut().is_none() {
        *reading.meter_id_mut() = equipment_id.and_then(Result::ok).or(device_name);
    }
}

fn keep_unknown(object: &Object<'_>, unknown: &mut BTreeMap<String, Vec<String>>) {
    let values: Result<Vec<String>, _> = object
        .values()
        .map(|v| v.map(|v| String::from_utf8_lossy(v).into_owned()))
        .collect();
    let values =
        values.unwrap_or_else(|_| vec![String::from_utf8_lossy(object.raw_values).into_owned()]);
    // A code sent more than once (hourly gas values, load profiles): every occurrence's
    // values, one after another.
    unknown
        .entry(String::from_utf8_lossy(object.code).into_owned())
        .or_default()
        .extend(values);
}

/// Sets the fields a known object carries; `Known::No` for an object no field is for.
fn apply<R: FieldTable>(object: &Object<'_>, zone: ClockZone, reading: &mut R) -> Outcome {
    let code = object.normalized_code();
    let mut fields = R::fields_for(code);
    // Measurement channel 1 (`1-1:`, a sub-meter's registers) where no key names it: the
    // same quantity as channel 0.
    let mut main_channel = [0u8; 32];
    if fields.len() == 0
        && let Some(rest) = code.strip_prefix(b"1-1:")
        && let Some(buf) = main_channel.get_mut(..rest.len() + 4)
    {
        buf[..4].copy_from_slice(b"1-0:");
        buf[4..].copy_from_slice(rest);
        fields = R::fields_for(buf);
    }
    let shared = fields.len() > 1;
    if fields.len() == 0 {
        return apply_mbus(code, object, zone, reading.mbus_mut());
    }
    let (mut tried, mut set) = (false, false);
    for field in fields {
        // Fields sharing a code are told apart by the unit; a lone field reports a wrong one.
        if shared && !(field.accepts)(object) {
            continue;
        }
        tried = true;
        set |= (field.apply)(object, zone, reading)?;
    }
    match (set, tried) {
        (true, _) => Ok(Known::Yes),
        (false, false) => Err("unexpected unit"),
        // Another profile under a known code.
        (false, true) => Ok(Known::No),
    }
}

/// `0-n:...` objects of M-Bus channel n (1 to 4).
fn apply_mbus(
    code: &[u8],
    object: &Object<'_>,
    zone: ClockZone,
    devices: &mut Vec<MbusDevice>,
) -> Outcome {
    let (channel, what) = match code {
        [b'0', b'-', n @ b'1'..=b'4', b':', what @ ..] => (n - b'0', what),
        _ => return Ok(Known::No),
    };
    match what {
        b"24.1.0" => {
            let raw = single(object)?;
            // `()` or `(000)`: no device in this slot.
            if raw.is_empty() || raw.iter().all(|&b| b == b'0') {
                return Ok(Known::Yes);
            }
            let device_type = small_integer(raw)?;
            let device = mbus_channel(devices, channel);
            device.device_type = Some(device_type);
            device.kind = MbusKind::from_device_type(device_type);
        }
        b"96.1.0" | b"96.1.1" => {
            let id = decode_text(single(object)?);
            if !id.is_empty() {
                mbus_channel(devices, channel).id = Some(id);
            }
        }
        b"96.1.2" => {
            let ean = decode_text(single(object)?);
            if ean.bytes().any(|b| b != b'-' && b != b'0') {
                mbus_channel(devices, channel).ean = Some(ean);
            }
        }
        b"24.4.0" => mbus_channel(devices, channel).valve = Some(small_integer(single(object)?)?),
        [b'2', b'4', b'.', b'2', b'.', _] => {
            let [time, value] = exactly::<2>(object)?;
            let (number, unit) = split_unit(value);
            let time = timestamp(time, zone)?;
            let value = parse_decimal(number, 0).ok_or("not a number")?;
            // A reading at an unset time is one the device never made (an empty slot's zero).
            if !time.is_set() {
                return Ok(Known::Yes);
            }
            let device = mbus_channel(devices, channel);
            device.time = Some(time);
            device.value = Some(value);
            device.unit = unit.map(lossy);
        }
        b"24.3.0" => {
            // DSMR 2.2/3: (time)(00)(60)(1)(0-n:24.2.1)(unit) then (value) on the next line.
            let [time, _, _, _, _, unit, value] = exactly::<7>(object)?;
            let time = timestamp(time, zone)?;
            let value = parse_decimal(value, 0).ok_or("not a number")?;
            let device = mbus_channel(devices, channel);
            device.time = Some(time);
            device.value = Some(value);
            device.unit = Some(lossy(unit));
        }
        _ => return Ok(Known::No),
    }
    Ok(Known::Yes)
}

/// `0-0:98.1.0`: `(N)(1-0:1.6.0)(1-0:1.6.0)` then N times `(month)(time)(value*kW)`; another
/// profile under the same code (Hungarian meters send monthly registers there) is not this.
#[derive(Debug, Clone, Copy)]
pub struct DemandHistory;

impl Decode for DemandHistory {
    type Value = Vec<DemandPeak>;
    fn decode(
        &self,
        object: &Object<'_>,
        zone: ClockZone,
    ) -> Result<Option<Vec<DemandPeak>>, &'static str> {
        let mut values = object.values();
        let Some(count) = values.next().and_then(Result::ok).and_then(parse_unsigned) else {
            return Ok(None);
        };
        let mut peaks = Vec::with_capacity(count.min(16) as usize);
        if count == 0 {
            return Ok(Some(peaks));
        }
        for _ in 0..2 {
            match values.next() {
                Some(Ok(b"1-0:1.6.0")) => {}
                _ => return Ok(None),
            }
        }
        let mut next = || next_entry(&mut values);
        for _ in 0..count {
            let month = timestamp(next()?, zone)?;
            let time = timestamp(next()?, zone)?;
            let kw = Quantity(Unit::KW).value(next()?, zone)?;
            peaks.push(DemandPeak { month, time, kw });
        }
        match values.next() {
            None => Ok(Some(peaks)),
            Some(_) => Err("more entries than announced"),
        }
    }
}

/// `1-0:99.97.0`: `(N)(0-0:96.7.19)` then N times `(end)(duration*s)`.
#[derive(Debug, Clone, Copy)]
pub struct FailureLog;

/// The duration a meter writes in an unused entry of its power-failure log.
const UNUSED_DURATION_S: u64 = 2_147_483_647;

impl Decode for FailureLog {
    type Value = Vec<PowerFailure>;
    fn decode(
        &self,
        object: &Object<'_>,
        zone: ClockZone,
    ) -> Result<Option<Vec<PowerFailure>>, &'static str> {
        let mut values = object.values();
        let count = values
            .next()
            .ok_or("empty")?
            .map_err(|_| "malformed value list")?;
        // `1-0:99.97.0()` (Iskra AM550): an empty log.
        if count.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let count = parse_unsigned(count).ok_or("the entry count is not a number")?;
        let mut log = Vec::with_capacity(count.min(16) as usize);
        if count == 0 {
            return Ok(Some(log));
        }
        let mut next = || next_entry(&mut values);
        next()?; // the object logged, 0-0:96.7.19
        for _ in 0..count {
            let end = timestamp(next()?, zone)?;
            let (number, unit) = split_unit(next()?);
            if unit.is_some_and(|u| !u.eq_ignore_ascii_case(b"s")) {
                return Err("unexpected unit");
            }
            let duration_s = parse_unsigned(number).ok_or("not a whole number of seconds")?;
            // An unset end or the "unused" duration 2^31 - 1: an entry that never happened.
            if end.is_set() && duration_s != UNUSED_DURATION_S {
                log.push(PowerFailure { end, duration_s });
            }
        }
        match values.next() {
            None => Ok(Some(log)),
            Some(_) => Err("more entries than announced"),
        }
    }
}

/// The one value of a single-valued object.
fn single<'a>(object: &Object<'a>) -> Result<&'a [u8], &'static str> {
    let [value] = exactly::<1>(object)?;
    Ok(value)
}

/// Exactly `N` values.
pub(crate) fn exactly<'a, const N: usize>(
    object: &Object<'a>,
) -> Result<[&'a [u8]; N], &'static str> {
    let mut out = [&[][..]; N];
    let mut values = object.values();
    for slot in &mut out {
        *slot = values
            .next()
            .ok_or("too few values")?
            .map_err(|_| "malformed value list")?;
    }
    match values.next() {
        None => Ok(out),
        Some(_) => Err("too many values"),
    }
}

/// The next value of a list whose length was announced.
fn next_entry<'a>(values: &mut Values<'a>) -> Result<&'a [u8], &'static str> {
    values
        .next()
        .ok_or("fewer entries than announced")?
        .map_err(|_| "malformed value list")
}

fn small_integer(value: &[u8]) -> Result<u32, &'static str> {
    State.value(value, ClockZone::default())
}

fn timestamp(value: &[u8], zone: ClockZone) -> Result<MeterTime, &'static str> {
    Time.value(value, zone)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Hex-encoded text decoded to ASCII when every byte is printable, else the text as sent.
pub fn decode_text(raw: &[u8]) -> String {
    fn nibble(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    // An unset buffer: all 0xFF as sent (0x7F once p1-read has cleared the parity bit), or
    // all "FF" in hex.
    let unset = |b: &u8| matches!(b, 0xFF | 0x7F);
    if raw.iter().all(unset)
        || (raw.len() >= 2 && raw.iter().all(|b| b.eq_ignore_ascii_case(&b'F')))
    {
        return String::new();
    }
    if !raw.is_empty() && raw.len().is_multiple_of(2) {
        let decoded: Option<String> = raw
            .chunks_exact(2)
            .map(|pair| {
                let byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
                (0x20..0x7f).contains(&byte).then_some(byte as char)
            })
            .collect();
        if let Some(text) = decoded {
            return text;
        }
    }
    faithful(raw)
}

/// Text as sent, each byte that is not UTF-8 written `\xNN`, so that nothing is lost.
fn faithful(raw: &[u8]) -> String {
    let mut text = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        text.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(text, "\\x{b:02X}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_buffers_are_empty_and_other_bytes_are_kept_faithfully_regression_12() {
        assert_eq!(decode_text(&[0xFF; 1024]), "");
        // p1-read clears the parity bit: 0xFF arrives as 0x7F.
        assert_eq!(decode_text(&[0x7F; 16]), "");
        assert_eq!(decode_text(b"FFFFFFFF"), "");
        assert_eq!(decode_text(b"caf\xE9!"), "caf\\xE9!");
        assert_eq!(decode_text("café".as_bytes()), "café");
    }

    #[test]
    fn hex_texts_decode_only_when_printable() {
        assert_eq!(
            decode_text(b"3153414733313031303231363035"),
            "1SAG3101021605"
        );
        assert_eq!(decode_text(b"00000000000000"), "00000000000000");
        assert_eq!(decode_text(b"09610"), "09610");
        assert_eq!(decode_text(b"ADC3100000158491"), "ADC3100000158491");
        assert_eq!(decode_text(b""), "");
    }

    use crate::reading::Reading;

    fn decoded(text: &str) -> (Reading, Vec<LineIssue>) {
        let mut reading = Reading::default();
        let mut issues = Vec::new();
        decode(
            text.as_bytes(),
            ClockZone::default(),
            &mut reading,
            &mut issues,
        );
        (reading, issues)
    }

    #[test]
    fn a_bad_line_is_kept_under_unknown_and_the_rest_is_read() {
        let (r, issues) =
            decoded("/X\r\n\r\n1-0:1.8.1(12x.5*kWh)\r\n1-0:1.8.2(000001.500*kWh)\r\n!");
        assert_eq!(r.energy_import_t1_kwh, None);
        assert_eq!(r.energy_import_t2_kwh, Some(1.5));
        assert_eq!(r.unknown["1-0:1.8.1"], vec!["12x.5*kWh".to_string()]);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].to_string(), "1-0:1.8.1(12x.5*kWh): not a number");
    }

    #[test]
    fn a_wrong_unit_is_a_bad_line() {
        let (r, issues) = decoded("/X\r\n\r\n1-0:1.7.0(1.0*V)\r\n!");
        assert_eq!(r.power_import_kw, None);
        assert_eq!(issues[0].problem, "unexpected unit");
    }
}
