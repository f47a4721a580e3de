//! Reading one value of an object: a quantity in its key's unit (scaled from whatever SI
//! prefix the meter sends), a count, a state, text, hex text, a meter timestamp. Each reader
//! says what its field measures, so that consumers name and convert a key without guessing.

use std::fmt::Write as _;

use crate::contract::reading_values::Spare;
use crate::protocol::meter_time::{ClockZone, MeterTime};
use crate::protocol::number::{parse_decimal, parse_unsigned, split_unit};

/// What a field measures, as the programs that show or convert it need to know: a quantity
/// in its key's unit (the suffix of its name), a count of events, or something else (a
/// state, a text, a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// A quantity in this unit.
    Quantity(Unit),
    /// A count of events (power failures, voltage sags).
    Count,
    /// A state, a text, a time.
    Other,
}

/// The unit a numeric key is named with, and the units a meter may send it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Energy, kilowatt-hours (`_kwh`).
    KWh,
    /// Power, kilowatts (`_kw`).
    KW,
    /// Voltage (`_v`).
    Volt,
    /// Current (`_a`).
    Ampere,
    /// Apparent power, kilovolt-amperes (`_kva`).
    KVA,
    /// Reactive power, kilovars (`_kvar`).
    KVar,
    /// Reactive energy, kilovar-hours (`_kvarh`).
    KVarh,
    /// Frequency (`_hz`).
    Hertz,
    /// No unit (a power factor).
    Ratio,
}

impl Unit {
    /// The end of the name of a key in this unit (`energy_import_t1_kwh`); a ratio has none.
    pub fn key_suffix(self) -> &'static str {
        match self {
            Unit::KWh => "_kwh",
            Unit::KW => "_kw",
            Unit::Volt => "_v",
            Unit::Ampere => "_a",
            Unit::KVA => "_kva",
            Unit::KVar => "_kvar",
            Unit::KVarh => "_kvarh",
            Unit::Hertz => "_hz",
            Unit::Ratio => "",
        }
    }

    /// The key's unit as the specifications write it.
    fn as_sent(self) -> &'static [u8] {
        match self {
            Unit::KWh => b"kWh",
            Unit::KW => b"kW",
            Unit::Volt => b"V",
            Unit::Ampere => b"A",
            Unit::KVA => b"kVA",
            Unit::KVar => b"kvar",
            Unit::KVarh => b"kvarh",
            Unit::Hertz => b"Hz",
            Unit::Ratio => b"",
        }
    }

    /// The unit without its prefix, and the power of ten of the key's prefix (k: 3).
    fn base(self) -> (&'static str, i32) {
        match self {
            Unit::KWh => ("Wh", 3),
            Unit::KW => ("W", 3),
            Unit::Volt => ("V", 0),
            Unit::Ampere => ("A", 0),
            Unit::KVA => ("VA", 3),
            Unit::KVar => ("var", 3),
            Unit::KVarh => ("varh", 3),
            Unit::Hertz => ("Hz", 0),
            Unit::Ratio => ("", 0),
        }
    }

    /// The power of ten to divide by to get this unit from `sent` (negative: to multiply
    /// by), whatever SI prefix it has (`Wh`, `kWh`, `MWh`; `mA`, `A`, `kA`); `None` when
    /// `sent` is another unit. Absent, the value is in the key's unit already.
    fn shift_from(self, sent: Option<&[u8]>) -> Option<i32> {
        let Some(sent) = sent else { return Some(0) };
        // Nearly always the key's own unit, as DSMR and e-MUCS write it.
        if sent == self.as_sent() {
            return Some(0);
        }
        let (base, key) = self.base();
        if base.is_empty() {
            return sent.is_empty().then_some(0);
        }
        let (prefix, rest) = sent.split_at_checked(sent.len().checked_sub(base.len())?)?;
        if !rest.eq_ignore_ascii_case(base.as_bytes()) {
            return None;
        }
        let sent_power = match prefix {
            b"" => 0,
            b"k" | b"K" => 3,
            b"M" => 6,
            b"m" => -3,
            _ => return None,
        };
        Some(key - sent_power)
    }
}

/// A reader of one value (of however many an object has).
pub trait ValueDecode {
    /// What the value is read as.
    type Value;
    /// What the value measures.
    fn measure(&self) -> Measure {
        Measure::Other
    }
    /// Whether `value` is of this reader (told apart where fields share a code).
    fn accepts(&self, _value: &[u8]) -> bool {
        true
    }
    /// # Errors
    /// Why the value cannot be read.
    fn value(&self, raw: &[u8], zone: ClockZone) -> Result<Self::Value, &'static str>;

    /// [`ValueDecode::value`], in storage from `spare` where the value needs some (a text).
    ///
    /// # Errors
    /// As [`ValueDecode::value`].
    fn value_in(
        &self,
        raw: &[u8],
        zone: ClockZone,
        _spare: &mut Spare,
    ) -> Result<Self::Value, &'static str> {
        self.value(raw, zone)
    }
}

/// A quantity in `Unit`, scaled from a prefixed unit.
#[derive(Debug, Clone, Copy)]
pub struct Quantity(pub Unit);

impl ValueDecode for Quantity {
    type Value = f64;
    fn measure(&self) -> Measure {
        Measure::Quantity(self.0)
    }
    fn accepts(&self, value: &[u8]) -> bool {
        self.0.shift_from(split_unit(value).1).is_some()
    }
    fn value(&self, raw: &[u8], _: ClockZone) -> Result<f64, &'static str> {
        // Nearly always `digits*unit` in the key's own unit: no search for the star.
        let unit = self.0.as_sent();
        if let Some(star) = raw.len().checked_sub(unit.len() + 1)
            && raw[star] == b'*'
            && raw[star + 1..] == *unit
            && let Some(value) = parse_decimal(&raw[..star], 0)
        {
            return Ok(value);
        }
        let (number, unit) = split_unit(raw);
        let shift = self.0.shift_from(unit).ok_or("unexpected unit")?;
        parse_decimal(number, shift).ok_or("not a number")
    }
}

/// A quantity that must come with its unit (one of several readings of a shared code).
#[derive(Debug, Clone, Copy)]
pub struct WithUnit(pub Unit);

impl ValueDecode for WithUnit {
    type Value = f64;
    fn measure(&self) -> Measure {
        Measure::Quantity(self.0)
    }
    fn accepts(&self, value: &[u8]) -> bool {
        split_unit(value).1.is_some() && Quantity(self.0).accepts(value)
    }
    fn value(&self, raw: &[u8], zone: ClockZone) -> Result<f64, &'static str> {
        Quantity(self.0).value(raw, zone)
    }
}

/// A power factor: as sent with a decimal point (`0.842`); without one and in four digits
/// or more, in thousandths (`01000` is 1.000, as DLMS meters with a scaler of -3 send it).
#[derive(Debug, Clone, Copy)]
pub struct PowerFactor;

impl ValueDecode for PowerFactor {
    type Value = f64;
    fn measure(&self) -> Measure {
        Measure::Quantity(Unit::Ratio)
    }
    fn accepts(&self, value: &[u8]) -> bool {
        Quantity(Unit::Ratio).accepts(value)
    }
    fn value(&self, raw: &[u8], _: ClockZone) -> Result<f64, &'static str> {
        let (number, unit) = split_unit(raw);
        Unit::Ratio.shift_from(unit).ok_or("unexpected unit")?;
        let digits = number.iter().filter(|b| b.is_ascii_digit()).count();
        let shift = if !number.contains(&b'.') && digits >= 4 {
            3
        } else {
            0
        };
        parse_decimal(number, shift).ok_or("not a number")
    }
}

/// A whole number (a count), any unit ignored.
#[derive(Debug, Clone, Copy)]
pub struct Count;

impl ValueDecode for Count {
    type Value = u64;
    fn measure(&self) -> Measure {
        Measure::Count
    }
    fn value(&self, raw: &[u8], _: ClockZone) -> Result<u64, &'static str> {
        parse_unsigned(split_unit(raw).0).ok_or("not a whole number")
    }
}

/// A small whole number (a state or a tariff).
#[derive(Debug, Clone, Copy)]
pub struct State;

impl ValueDecode for State {
    type Value = u32;
    fn value(&self, raw: &[u8], zone: ClockZone) -> Result<u32, &'static str> {
        u32::try_from(Count.value(raw, zone)?).map_err(|_| "number too large")
    }
}

/// A state or small count, whatever the unit.
pub(crate) fn small_integer(raw: &[u8]) -> Result<u32, &'static str> {
    State.value(raw, ClockZone::default())
}

/// Text as sent.
#[derive(Debug, Clone, Copy)]
pub struct Text;

impl ValueDecode for Text {
    type Value = String;
    fn value(&self, raw: &[u8], zone: ClockZone) -> Result<String, &'static str> {
        self.value_in(raw, zone, &mut Spare::default())
    }
    fn value_in(
        &self,
        raw: &[u8],
        _: ClockZone,
        spare: &mut Spare,
    ) -> Result<String, &'static str> {
        let mut text = spare.text();
        text.push_str(&String::from_utf8_lossy(raw));
        Ok(text)
    }
}

/// Hex-encoded text, decoded when printable (equipment ids, messages).
#[derive(Debug, Clone, Copy)]
pub struct HexText;

impl ValueDecode for HexText {
    type Value = String;
    fn value(&self, raw: &[u8], _: ClockZone) -> Result<String, &'static str> {
        Ok(decode_text(raw))
    }
    fn value_in(
        &self,
        raw: &[u8],
        _: ClockZone,
        spare: &mut Spare,
    ) -> Result<String, &'static str> {
        Ok(hex_text(raw, spare))
    }
}

/// A meter timestamp `YYMMDDhhmmss[SW]`.
#[derive(Debug, Clone, Copy)]
pub struct Time;

impl ValueDecode for Time {
    type Value = MeterTime;
    fn value(&self, raw: &[u8], zone: ClockZone) -> Result<MeterTime, &'static str> {
        timestamp(raw, zone)
    }
}

/// A meter timestamp in `zone`.
pub(crate) fn timestamp(raw: &[u8], zone: ClockZone) -> Result<MeterTime, &'static str> {
    MeterTime::parse(raw, zone).map_err(|_| "not a timestamp YYMMDDhhmmss[SW]")
}

/// Hex-encoded text decoded to ASCII when every byte is printable, else the text as sent.
pub fn decode_text(raw: &[u8]) -> String {
    let mut text = String::new();
    decode_text_into(raw, &mut text);
    text
}

/// Texts remembered from telegram to telegram (a meter's ids, its message).
const HEX_TEXTS_KEPT: usize = 4;

/// [`decode_text`] in a text from `spare`: the ids a meter sends every telegram are decoded
/// once and copied after.
pub(crate) fn hex_text(raw: &[u8], spare: &mut Spare) -> String {
    let mut text = spare.text();
    if let Some((_, known)) = spare.hex_texts.iter().find(|(sent, _)| sent == raw) {
        text.push_str(known);
        return text;
    }
    decode_text_into(raw, &mut text);
    let kept = if spare.hex_texts.len() < HEX_TEXTS_KEPT {
        spare.hex_texts.push((Vec::new(), String::new()));
        spare.hex_texts.len() - 1
    } else {
        // The oldest goes.
        spare.hex_texts.rotate_left(1);
        HEX_TEXTS_KEPT - 1
    };
    let (sent, known) = &mut spare.hex_texts[kept];
    sent.clear();
    sent.extend_from_slice(raw);
    known.clone_from(&text);
    text
}

/// [`decode_text`], appended to `text`.
pub fn decode_text_into(raw: &[u8], text: &mut String) {
    fn nibble(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    // An unset buffer: all 0xFF as sent (0x7F once p1-read has cleared the parity bit), or
    // all "FF" in hex.
    let unset = |b: &u8| matches!(b, 0xFF | 0x7F);
    if raw.iter().all(unset)
        || (raw.len() >= 2 && raw.iter().all(|b| b.eq_ignore_ascii_case(&b'F')))
    {
        return;
    }
    let start = text.len();
    if !raw.is_empty() && raw.len().is_multiple_of(2) {
        for pair in raw.chunks_exact(2) {
            match nibble(pair[0]).zip(nibble(pair[1])) {
                Some((high, low)) if (0x20..0x7f).contains(&(high << 4 | low)) => {
                    text.push(char::from(high << 4 | low));
                }
                _ => {
                    text.truncate(start);
                    break;
                }
            }
        }
        if text.len() > start {
            return;
        }
    }
    // Text as sent, each byte that is not UTF-8 written `\xNN`, so that nothing is lost.
    for chunk in raw.utf8_chunks() {
        text.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(text, "\\x{b:02X}");
        }
    }
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
}
