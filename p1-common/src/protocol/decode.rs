//! Decoding a framed telegram into a [`Reading`].
//!
//! Known objects become typed values; anything else is kept under `unknown` as sent. A known
//! object that cannot be read (a bad number, a wrong unit, a malformed list) is kept there too
//! and reported as a [`LineIssue`]: one bad line never loses the rest of the telegram.

use std::fmt;

use crate::contract::field::{FieldTable, Parts};
use crate::contract::reading::Reading;
use crate::contract::reading_values::{MbusDevice, MbusKind, Spare, mbus_channel};
use crate::protocol::frame::{CrcCheck, Reject, check_crc};
use crate::protocol::meter_time::ClockZone;
use crate::protocol::number::{parse_decimal, split_unit};
use crate::protocol::obis::{Object, Tokens};
use crate::protocol::objects::{exactly, single};
use crate::protocol::values::{hex_text, small_integer, timestamp};

/// A line of a valid telegram that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIssue {
    /// The object's code (or the stray line) as sent.
    pub code: String,
    /// The object's values as sent.
    pub values: String,
    /// What is wrong with it.
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
    let parts = reading.parts_mut();
    *parts.header = Some(lossy(tokens.header, parts.spare));
    let mut equipment_id = None;
    let mut device_name = None;
    for object in tokens.objects() {
        let object = match object {
            Ok(object) => object,
            Err(stray) => {
                let line = String::from_utf8_lossy(stray.0).into_owned();
                reading.parts_mut().unknown.entry(line.clone()).or_default();
                issues.push(LineIssue {
                    code: line,
                    values: String::new(),
                    problem: "not an OBIS object",
                });
                continue;
            }
        };
        let code = object.normalized_code();
        if code == b"0-0:96.1.0" && equipment_id.is_none() {
            let spare = reading.parts_mut().spare;
            if let Ok(id) = single(&object).map(|raw| hex_text(raw, spare)) {
                equipment_id = Some((id, object));
                continue;
            }
        }
        if code == b"0-0:42.0.0" {
            let spare = reading.parts_mut().spare;
            device_name = single(&object).ok().map(|raw| hex_text(raw, spare));
        }
        match apply(&object, zone, reading) {
            Ok(Known::Yes) => {}
            Ok(Known::No) => keep_unknown(&object, reading.parts_mut()),
            Err(problem) => {
                keep_unknown(&object, reading.parts_mut());
                issues.push(LineIssue {
                    code: String::from_utf8_lossy(object.code).into_owned(),
                    values: String::from_utf8_lossy(object.raw_values).into_owned(),
                    problem,
                });
            }
        }
    }
    let parts = reading.parts_mut();
    // The meter's id: `0-0:96.1.1`, else `0-0:96.1.0`, else the device name. A `0-0:96.1.0`
    // the id does not take is kept under `unknown`, as sent.
    let (chosen, unused) = match (parts.meter_id.is_some(), equipment_id) {
        (true, Some((id, object))) => {
            keep_unknown(&object, reading.parts_mut());
            (None, [Some(id), device_name])
        }
        (true, None) => (None, [None, device_name]),
        (false, Some((id, _))) => (Some(id), [None, device_name]),
        (false, None) => (device_name, [None, None]),
    };
    let parts = reading.parts_mut();
    if chosen.is_some() {
        *parts.meter_id = chosen;
    }
    unused
        .into_iter()
        .flatten()
        .for_each(|text| parts.spare.keep_text(text));
}

/// Bytes as text, each byte that is not UTF-8 replaced, in a text from `spare`.
fn lossy(bytes: &[u8], spare: &mut Spare) -> String {
    let mut text = spare.text();
    text.push_str(&String::from_utf8_lossy(bytes));
    text
}

/// Decodes whole telegrams one at a time, CRC first, into a reading it keeps: the memory of
/// one telegram is reused for the next.
///
/// ```
/// use p1_common::{ClockZone, TelegramDecoder};
///
/// let telegram = b"/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n\
///     0-0:1.0.0(200512135409S)\r\n1-0:1.8.1(000000.034*kWh)\r\n1-0:1.7.0(00.425*kW)\r\n!";
/// let crc = p1_common::crc16(telegram);
/// let telegram = [&telegram[..], format!("{crc:04X}\r\n").as_bytes()].concat();
///
/// let mut decoder = TelegramDecoder::new(ClockZone::default());
/// let decoded = decoder.decode(&telegram).expect("a valid telegram");
/// assert_eq!(decoded.reading.power_import_kw, Some(0.425));
/// assert_eq!(decoded.reading.energy_import_t1_kwh, Some(0.034));
/// assert_eq!(
///     decoded.reading.time.map(|t| t.to_string()).as_deref(),
///     Some("2020-05-12T13:54:09+02:00")
/// );
/// assert!(decoded.issues.is_empty());
/// ```
#[derive(Debug, Default)]
pub struct TelegramDecoder {
    zone: ClockZone,
    reading: Reading,
    issues: Vec<LineIssue>,
}

/// One telegram, decoded.
#[derive(Debug, Clone, Copy)]
pub struct Decoded<'a> {
    /// How its CRC was found right.
    pub crc: CrcCheck,
    /// What it says.
    pub reading: &'a Reading,
    /// Its lines that could not be read (each kept in `reading.unknown` as sent).
    pub issues: &'a [LineIssue],
}

impl TelegramDecoder {
    /// A decoder for meters whose clock shows the local time of `zone`.
    pub fn new(zone: ClockZone) -> Self {
        TelegramDecoder {
            zone,
            ..TelegramDecoder::default()
        }
    }

    /// Checks the CRC of `telegram` (`/` through `!`, the CRC and its line end, as a
    /// [`crate::Framer`] gives it) and decodes it.
    ///
    /// # Errors
    /// Why the telegram is to be dropped (see [`check_crc`]); nothing is decoded then.
    pub fn decode(&mut self, telegram: &[u8]) -> Result<Decoded<'_>, Reject> {
        let crc = check_crc(telegram)?;
        self.issues.clear();
        decode(telegram, self.zone, &mut self.reading, &mut self.issues);
        Ok(Decoded {
            crc,
            reading: &self.reading,
            issues: &self.issues,
        })
    }
}

fn keep_unknown(object: &Object<'_>, parts: Parts<'_>) {
    let spare = parts.spare;
    // A code sent more than once (hourly gas values, load profiles): every occurrence's
    // values, one after another.
    let values = parts.unknown.entry(lossy(object.code, spare)).or_default();
    let start = values.len();
    for value in object.values() {
        let Ok(value) = value else {
            // Not a value list: the whole of it as sent.
            for text in values.drain(start..) {
                spare.keep_text(text);
            }
            values.push(lossy(object.raw_values, spare));
            return;
        };
        values.push(lossy(value, spare));
    }
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
        let parts = reading.parts_mut();
        return apply_mbus(code, object, zone, parts.mbus, parts.spare);
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
    spare: &mut Spare,
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
            let id = hex_text(single(object)?, spare);
            if id.is_empty() {
                spare.keep_text(id);
            } else if let Some(old) = mbus_channel(devices, channel).id.replace(id) {
                spare.keep_text(old);
            }
        }
        b"96.1.2" => {
            let ean = hex_text(single(object)?, spare);
            if !ean.bytes().any(|b| b != b'-' && b != b'0') {
                spare.keep_text(ean);
            } else if let Some(old) = mbus_channel(devices, channel).ean.replace(ean) {
                spare.keep_text(old);
            }
        }
        b"24.4.0" => mbus_channel(devices, channel).valve = Some(small_integer(single(object)?)?),
        [b'2', b'4', b'.', b'2', b'.', _] => {
            let [time, value] = exactly::<2>(object)?;
            let (number, unit) = split_unit(value);
            let time = timestamp(time, zone)?;
            let value = parse_decimal(number, 0).ok_or("not a number")?;
            // At an unset time, a zero is a reading the device never made: an empty slot's,
            // no device unless others lines say so. Its time is `null` (as the schema has
            // it) on a device there is, and any other value is kept.
            let made = time.is_set() || value != 0.0;
            if !made && !devices.iter().any(|d| d.channel == channel) {
                return Ok(Known::Yes);
            }
            let device = mbus_channel(devices, channel);
            device.time = Some(time);
            device.value = made.then_some(value);
            let unit = unit.filter(|_| made).map(|unit| lossy(unit, spare));
            if let Some(old) = std::mem::replace(&mut device.unit, unit) {
                spare.keep_text(old);
            }
        }
        b"24.3.0" => {
            // DSMR 2.2/3: (time)(00)(60)(1)(0-n:24.2.1)(unit) then (value) on the next line.
            let [time, _, _, _, _, unit, value] = exactly::<7>(object)?;
            let time = timestamp(time, zone)?;
            let value = parse_decimal(value, 0).ok_or("not a number")?;
            let device = mbus_channel(devices, channel);
            device.time = Some(time);
            device.value = Some(value);
            let unit = lossy(unit, spare);
            if let Some(old) = device.unit.replace(unit) {
                spare.keep_text(old);
            }
        }
        _ => return Ok(Known::No),
    }
    Ok(Known::Yes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::json::WriteJson as _;
    use crate::protocol::meter_time::MeterTime;

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

    /// Issue 23 (8): a Belgian 50221 meter's M-Bus device sends its EAN (`0-1:96.1.2`): it
    /// is the device's `ean`, decoded, not lost.
    #[test]
    fn an_m_bus_devices_ean_is_kept_regression_23() {
        let (r, issues) = decoded(
            "/FLU5\r\n\r\n0-1:24.1.0(003)\r\n0-1:96.1.1(37464C4F32313139303333373333)\r\n\
             0-1:96.1.2(353431343438383030303030303132333435)\r\n!",
        );
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(r.mbus[0].id.as_deref(), Some("7FLO2119033733"));
        assert_eq!(r.mbus[0].ean.as_deref(), Some("541448800000012345"));
        assert!(r.unknown.is_empty(), "{:?}", r.unknown);
    }

    /// Issue 23 (9): an M-Bus reading at an unset time has its time `null`, as the schema
    /// says; a value the device did give is kept, only an empty slot's zero is not.
    #[test]
    fn an_m_bus_reading_at_an_unset_time_is_null_regression_23() {
        let (r, _) = decoded(
            "/X\r\n\r\n0-1:24.1.0(003)\r\n0-1:24.2.1(000101000000W)(00012.345*m3)\r\n\
             0-2:24.1.0(003)\r\n0-2:24.2.1(632525252525S)(00000.000*m3)\r\n!",
        );
        assert_eq!(r.mbus.len(), 2);
        assert_eq!(
            (r.mbus[0].time, r.mbus[0].value),
            (Some(MeterTime::UNSET), Some(12.345))
        );
        assert_eq!(
            (r.mbus[1].time, r.mbus[1].value),
            (Some(MeterTime::UNSET), None)
        );
        let mut json = Vec::new();
        r.mbus[1].write_json(&mut json);
        assert_eq!(
            String::from_utf8(json).expect("utf-8"),
            r#"{"channel":2,"device_type":3,"kind":"gas","time":null}"#
        );
    }

    /// Issue 23 (10): a line whose key an earlier line took (`0-0:96.1.0` beside
    /// `0-0:96.1.1`, `1-1:1.8.1` after `1-0:1.8.1`) vanished or overwrote it; the first
    /// keeps the key and the other goes under `unknown`, as sent.
    #[test]
    fn what_a_key_does_not_take_goes_under_unknown_regression_23() {
        let (r, issues) = decoded(
            "/X\r\n\r\n0-0:96.1.1(4D31)\r\n0-0:96.1.0(4D32)\r\n1-0:1.8.1(000001.000*kWh)\r\n\
             1-1:1.8.1(000002.000*kWh)\r\n1-1:1.8.2(000003.000*kWh)\r\n!",
        );
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(r.meter_id.as_deref(), Some("M1"));
        assert_eq!(r.energy_import_t1_kwh, Some(1.0));
        assert_eq!(r.energy_import_t2_kwh, Some(3.0), "channel 1 alone is read");
        assert_eq!(r.unknown["0-0:96.1.0"], ["4D32"]);
        assert_eq!(r.unknown["1-1:1.8.1"], ["000002.000*kWh"]);
        assert_eq!(r.unknown.len(), 2);
        // 0-0:96.1.0 alone is the id.
        let (r, _) = decoded("/X\r\n\r\n0-0:96.1.0(4D32)\r\n!");
        assert_eq!(r.meter_id.as_deref(), Some("M2"));
        assert!(r.unknown.is_empty());
    }

    #[test]
    fn a_wrong_unit_is_a_bad_line() {
        let (r, issues) = decoded("/X\r\n\r\n1-0:1.7.0(1.0*V)\r\n!");
        assert_eq!(r.power_import_kw, None);
        assert_eq!(issues[0].problem, "unexpected unit");
    }

    /// What a reading keeps for the next telegram (texts, lists, the last peak history) never
    /// shows in it: every telegram of the corpus, in turn and back, reads the same into one
    /// reused reading as into a fresh one.
    #[test]
    fn a_reused_reading_reads_each_telegram_as_a_fresh_one_does() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/realworld");
        let mut telegrams: Vec<Vec<u8>> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "txt"))
            .map(|path| std::fs::read(path).unwrap())
            .collect();
        assert!(telegrams.len() >= 45);
        let reversed: Vec<Vec<u8>> = telegrams.iter().rev().cloned().collect();
        telegrams.extend(reversed);
        let mut reused = Reading::default();
        for telegram in &telegrams {
            let (mut fresh_issues, mut issues) = (Vec::new(), Vec::new());
            let mut fresh = Reading::default();
            decode(
                telegram,
                ClockZone::default(),
                &mut fresh,
                &mut fresh_issues,
            );
            decode(telegram, ClockZone::default(), &mut reused, &mut issues);
            assert_eq!(
                reused,
                fresh,
                "{}",
                String::from_utf8_lossy(&telegram[..40])
            );
            assert_eq!(issues, fresh_issues);
        }
    }
}
