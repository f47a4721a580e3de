//! Reading fields declared once: each with its key, OBIS code(s), value type, decoder and doc
//! line (see [`reading_fields!`]). The decoder's lookup table, the schema text of
//! `p1-parse --help` and `man 5 p1`, and the `InfluxDB` field types are all derived from that
//! declaration, so a field added there is decoded, documented and exported with a fixed type.

use std::fmt::Write as _;

use serde::{Deserialize, Deserializer};

use crate::meter_time::{ClockZone, MeterTime};
use crate::number::{parse_decimal, parse_unsigned, split_unit};
use crate::obis::Object;
use crate::reading::{DemandPeak, MbusDevice, PowerFailure};

/// A value as `InfluxDB` stores it; a field keeps its type for ever.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LineValue {
    Float(f64),
    Integer(i64),
}

impl std::fmt::Display for LineValue {
    /// The bare number (a float as Rust writes it shortest, an integer without `i`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineValue::Float(v) => write!(f, "{v}"),
            LineValue::Integer(i) => write!(f, "{i}"),
        }
    }
}

/// The type of an `InfluxDB` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineType {
    Float,
    Integer,
}

/// What a field's value type says about the field: its name in the schema text, and how (or
/// whether) it becomes an `InfluxDB` field.
pub trait FieldValue {
    /// The value column of the schema text.
    const SCHEMA: &'static str;
    /// Whether it becomes an `InfluxDB` field, and of which type.
    const LINE_TYPE: Option<LineType> = None;
    fn line_value(&self) -> Option<LineValue> {
        None
    }
}

impl FieldValue for f64 {
    const SCHEMA: &'static str = "number";
    const LINE_TYPE: Option<LineType> = Some(LineType::Float);
    fn line_value(&self) -> Option<LineValue> {
        self.is_finite().then_some(LineValue::Float(*self))
    }
}

impl FieldValue for u32 {
    const SCHEMA: &'static str = "integer";
    const LINE_TYPE: Option<LineType> = Some(LineType::Integer);
    fn line_value(&self) -> Option<LineValue> {
        Some(LineValue::Integer(i64::from(*self)))
    }
}

impl FieldValue for u64 {
    const SCHEMA: &'static str = "integer";
    const LINE_TYPE: Option<LineType> = Some(LineType::Integer);
    fn line_value(&self) -> Option<LineValue> {
        i64::try_from(*self).ok().map(LineValue::Integer)
    }
}

impl FieldValue for String {
    const SCHEMA: &'static str = "text";
}

impl FieldValue for MeterTime {
    const SCHEMA: &'static str = "timestamp";
}

impl FieldValue for Vec<DemandPeak> {
    const SCHEMA: &'static str = "[{\"month\":T,\"time\":T,\"kw\":N}]";
}

impl FieldValue for Vec<PowerFailure> {
    const SCHEMA: &'static str = "[{\"end\":T,\"duration_s\":N}]";
}

/// Reads one field's value from an object.
/// What a field measures, as the programs that show or convert it need to know: a quantity
/// in its key's unit (the suffix of its name), a count of events, or something else (a
/// state, a text, a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Quantity(Unit),
    Count,
    Other,
}

pub trait Decode {
    type Value;
    /// What the field measures.
    fn measure(&self) -> Measure {
        Measure::Other
    }
    /// Whether the object, by its unit, is this field's (one code may carry several fields,
    /// told apart by the unit: the limiter in kW or in A).
    fn accepts(&self, _object: &Object<'_>) -> bool {
        true
    }
    /// The value; `Ok(None)` for another profile under the same code (kept under `unknown`
    /// without a warning).
    ///
    /// # Errors
    /// What is wrong with a line that is this field's but cannot be read.
    fn decode(
        &self,
        object: &Object<'_>,
        zone: ClockZone,
    ) -> Result<Option<Self::Value>, &'static str>;
}

/// One field of a reading type: the row of its table.
pub struct Field<R> {
    pub name: &'static str,
    pub obis: &'static [&'static str],
    pub doc: &'static str,
    pub schema: &'static str,
    pub line_type: Option<LineType>,
    /// What it measures, from its decoder.
    pub measure: fn() -> Measure,
    pub accepts: fn(&Object<'_>) -> bool,
    /// Decodes the object into its slot: `Ok(true)` when set.
    pub apply: fn(&Object<'_>, ClockZone, &mut R) -> Result<bool, &'static str>,
    pub line_value: fn(&R) -> Option<LineValue>,
}

impl<R> std::fmt::Debug for Field<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A reading type made by [`reading_fields!`].
pub trait FieldTable: Sized + 'static {
    /// Every field, in declaration (and output) order.
    fn fields() -> &'static [Field<Self>];
    /// Field indices by OBIS code.
    fn by_code() -> &'static CodeIndex;
    /// Field indices by name, sorted by name (the order of `InfluxDB` fields).
    fn by_name() -> &'static [u16];
    fn clear(&mut self);
    fn received(&self) -> Option<&str>;
    fn time(&self) -> Option<MeterTime>;
    fn meter_id(&self) -> Option<&str>;
    fn mbus(&self) -> &[MbusDevice];
    fn header_mut(&mut self) -> &mut Option<String>;
    fn meter_id_mut(&mut self) -> &mut Option<String>;
    fn mbus_mut(&mut self) -> &mut Vec<MbusDevice>;
    fn unknown_mut(&mut self) -> &mut std::collections::BTreeMap<String, Vec<String>>;

    /// The fields an object of `code` (normalised) may set, in declaration order.
    fn fields_for(code: &[u8]) -> impl ExactSizeIterator<Item = &'static Field<Self>> + use<Self> {
        Self::by_code()
            .get(code)
            .iter()
            .map(|&i| &Self::fields()[usize::from(i)])
    }

    /// The `InfluxDB` fields of a reading, by name: `(key, value)`.
    fn line_values(&self) -> impl Iterator<Item = (&'static str, LineValue)> {
        Self::by_name().iter().filter_map(|&i| {
            let field = &Self::fields()[usize::from(i)];
            (field.line_value)(self).map(|v| (field.name, v))
        })
    }
}

/// OBIS code to field indices: an open-addressing table, since the decoder looks up every
/// object of every telegram (a binary search cost a tenth of the decoding).
#[derive(Debug)]
pub struct CodeIndex {
    mask: usize,
    /// `(code, start, len)` into `fields`, or an empty code for a free slot.
    slots: Vec<(&'static [u8], u16, u16)>,
    fields: Vec<u16>,
}

impl CodeIndex {
    /// The index of a field table (for [`FieldTable::by_code`]).
    pub fn new<R>(table: &'static [Field<R>]) -> CodeIndex {
        let mut codes: Vec<(&'static [u8], u16)> = Vec::new();
        for (i, field) in table.iter().enumerate() {
            let i = u16::try_from(i).expect("fewer than 65536 fields");
            codes.extend(field.obis.iter().map(|code| (code.as_bytes(), i)));
        }
        // Stable: fields sharing a code keep their declaration order.
        codes.sort_by_key(|&(code, _)| code);
        let capacity = (codes.len() * 2).next_power_of_two().max(8);
        let mut index = CodeIndex {
            mask: capacity - 1,
            slots: vec![(&[][..], 0, 0); capacity],
            fields: codes.iter().map(|&(_, i)| i).collect(),
        };
        let mut at = 0;
        while at < codes.len() {
            let code = codes[at].0;
            let len = codes[at..].iter().take_while(|(c, _)| *c == code).count();
            let mut slot = hash(code) & index.mask;
            while !index.slots[slot].0.is_empty() {
                slot = (slot + 1) & index.mask;
            }
            index.slots[slot] = (code, to_u16(at), to_u16(len));
            at += len;
        }
        index
    }

    /// The field indices for `code`, empty when none.
    pub fn get(&self, code: &[u8]) -> &[u16] {
        let mut slot = hash(code) & self.mask;
        loop {
            let (known, start, len) = self.slots[slot];
            if known.is_empty() {
                return &[];
            }
            if known == code {
                return &self.fields[usize::from(start)..usize::from(start) + usize::from(len)];
            }
            slot = (slot + 1) & self.mask;
        }
    }
}

fn to_u16(n: usize) -> u16 {
    u16::try_from(n).expect("fewer than 65536 codes")
}

/// A hash of the bytes where OBIS codes differ (the length, the C and D groups, the end):
/// a dozen instructions a lookup; collisions only cost a probe.
fn hash(code: &[u8]) -> usize {
    let n = code.len();
    let at = |i: usize| u64::from(code.get(i).copied().unwrap_or(0));
    let mix = (n as u64)
        ^ (at(4) << 8)
        ^ (at(5) << 16)
        ^ (at(6) << 24)
        ^ (at(n.wrapping_sub(3)) << 32)
        ^ (at(n.wrapping_sub(1)) << 40)
        ^ (at(2) << 48);
    (mix.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize
}

/// Builds the name order of a field table (for [`FieldTable::by_name`]).
pub fn name_order<R>(fields: &'static [Field<R>]) -> Vec<u16> {
    let mut order: Vec<u16> = (0..fields.len())
        .map(|i| u16::try_from(i).expect("fewer than 65536 fields"))
        .collect();
    order.sort_by_key(|&i| fields[usize::from(i)].name);
    order
}

/// The key table of the schema text: one row a field, its OBIS codes, value type and doc.
pub fn schema_rows<R: FieldTable>() -> String {
    let mut out = String::new();
    // The widest key and a space, so that every key stands apart from its code.
    let name_width = R::fields().iter().map(|f| f.name.len()).max().unwrap_or(0) + 1;
    let doc_column = 2 + name_width + 19;
    for field in R::fields() {
        let mut codes = field.obis.iter();
        let first = codes.next().copied().unwrap_or("-");
        let _ = write!(
            out,
            "  {:<name_width$}{first:<19}{}",
            field.name, field.schema
        );
        // The doc on the same line when it fits in 80 columns, else on the next.
        if doc_column + field.schema.len() + 2 + field.doc.len() <= 80 {
            let _ = writeln!(out, ": {}", field.doc);
        } else {
            let _ = writeln!(out, "\n  {:<w$}{}", "", field.doc, w = name_width + 19);
        }
        for code in codes {
            let _ = writeln!(out, "  {:<name_width$}{code}", "");
        }
    }
    out
}

/// The `InfluxDB` integer fields of a reading type, for the schema text.
pub fn integer_field_names<R: FieldTable>() -> Vec<&'static str> {
    R::fields()
        .iter()
        .filter(|f| f.line_type == Some(LineType::Integer))
        .map(|f| f.name)
        .collect()
}

/// An optional key that, when present, holds a value (so a `null` timestamp stays `null`
/// rather than becoming an absent key on a round trip).
///
/// # Errors
/// The value's own.
#[inline]
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The unit a numeric key is named with, and the units a meter may send it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    KWh,
    KW,
    Volt,
    Ampere,
    KVA,
    KVar,
    KVarh,
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
    type Value;
    fn measure(&self) -> Measure {
        Measure::Other
    }
    fn accepts(&self, _value: &[u8]) -> bool {
        true
    }
    /// # Errors
    /// Why the value cannot be read.
    fn value(&self, raw: &[u8], zone: ClockZone) -> Result<Self::Value, &'static str>;
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

/// Text as sent.
#[derive(Debug, Clone, Copy)]
pub struct Text;

impl ValueDecode for Text {
    type Value = String;
    fn value(&self, raw: &[u8], _: ClockZone) -> Result<String, &'static str> {
        Ok(String::from_utf8_lossy(raw).into_owned())
    }
}

/// Hex-encoded text, decoded when printable (equipment ids, messages).
#[derive(Debug, Clone, Copy)]
pub struct HexText;

impl ValueDecode for HexText {
    type Value = String;
    fn value(&self, raw: &[u8], _: ClockZone) -> Result<String, &'static str> {
        Ok(crate::decode::decode_text(raw))
    }
}

/// A meter timestamp `YYMMDDhhmmss[SW]`.
#[derive(Debug, Clone, Copy)]
pub struct Time;

impl ValueDecode for Time {
    type Value = MeterTime;
    fn value(&self, raw: &[u8], zone: ClockZone) -> Result<MeterTime, &'static str> {
        MeterTime::parse(raw, zone).map_err(|_| "not a timestamp YYMMDDhhmmss[SW]")
    }
}

/// A part of the month's peak `1-0:1.6.0`, a time and a value in kW in either order: e-MUCS
/// sends the time first, Walloon ORES/RESA meters the value.
#[derive(Debug, Clone, Copy)]
pub struct MonthPeak<V> {
    /// The time (else the value).
    pub time_part: bool,
    pub value: V,
}

impl<V: ValueDecode> Decode for MonthPeak<V> {
    type Value = V::Value;
    fn measure(&self) -> Measure {
        self.value.measure()
    }
    fn decode(
        &self,
        object: &Object<'_>,
        zone: ClockZone,
    ) -> Result<Option<V::Value>, &'static str> {
        let [first, second] = crate::decode::exactly::<2>(object)?;
        let time_first = MeterTime::looks_like(first);
        let raw = if self.time_part == time_first {
            first
        } else {
            second
        };
        self.value.value(raw, zone).map(Some)
    }
}

/// Value `index` of an object with exactly `count` values.
#[derive(Debug, Clone, Copy)]
pub struct Nth<V> {
    pub index: usize,
    pub count: usize,
    pub value: V,
}

/// The one value of a single-valued object.
pub const fn one<V>(value: V) -> Nth<V> {
    Nth {
        index: 0,
        count: 1,
        value,
    }
}

/// Value `index` of `count`.
pub const fn nth<V>(index: usize, count: usize, value: V) -> Nth<V> {
    Nth {
        index,
        count,
        value,
    }
}

impl<V: ValueDecode> Decode for Nth<V> {
    type Value = V::Value;
    fn measure(&self) -> Measure {
        self.value.measure()
    }
    fn accepts(&self, object: &Object<'_>) -> bool {
        match object.values().nth(self.index) {
            Some(Ok(value)) => self.value.accepts(value),
            _ => true,
        }
    }
    fn decode(
        &self,
        object: &Object<'_>,
        zone: ClockZone,
    ) -> Result<Option<V::Value>, &'static str> {
        let mut values = object.values();
        let mut wanted = None;
        for i in 0..self.count {
            let value = values
                .next()
                .ok_or("too few values")?
                .map_err(|_| "malformed value list")?;
            if i == self.index {
                wanted = Some(value);
            }
        }
        if values.next().is_some() {
            return Err("too many values");
        }
        let raw = wanted.ok_or("too few values")?;
        self.value.value(raw, zone).map(Some)
    }
}

/// Not read from any object (set from the envelope or the header line).
#[derive(Debug, Clone, Copy)]
pub struct NotDecoded;

impl Decode for NotDecoded {
    type Value = String;
    fn decode(&self, _: &Object<'_>, _: ClockZone) -> Result<Option<String>, &'static str> {
        Ok(None)
    }
}

/// Which keys of a reading a consumer reads: the rest is skipped unparsed (no timestamp
/// read, nothing allocated), so a stage that needs a few values pays for those only.
pub struct Selection<R> {
    bits: u128,
    _reading: std::marker::PhantomData<fn() -> R>,
}

impl<R> Clone for Selection<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Selection<R> {}

impl<R> std::fmt::Debug for Selection<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Selection({:#x})", self.bits)
    }
}

impl<R> Selection<R> {
    /// For [`reading_fields!`]: bit `i` is the `i`th key.
    #[doc(hidden)]
    #[must_use]
    pub const fn from_bits(bits: u128) -> Self {
        Selection {
            bits,
            _reading: std::marker::PhantomData,
        }
    }

    #[must_use]
    pub const fn has(self, key: u32) -> bool {
        self.bits & (1 << key) != 0
    }

    /// These keys and those of `other`.
    #[must_use]
    pub const fn and(self, other: Selection<R>) -> Self {
        Self::from_bits(self.bits | other.bits)
    }
}

impl<R: FieldTable> Selection<R> {
    /// The fields `wanted` says yes to, and the M-Bus devices when `mbus`.
    pub fn fields_where(wanted: impl Fn(&Field<R>) -> bool, mbus: bool) -> Self {
        let fields = R::fields();
        let mut bits = 0u128;
        for (i, field) in fields.iter().enumerate() {
            if wanted(field) {
                bits |= 1 << i;
            }
        }
        if mbus {
            // The M-Bus key comes right after the declared fields.
            bits |= 1 << fields.len();
        }
        Self::from_bits(bits)
    }
}

/// A reading type that can be read with only some of its keys ([`reading_fields!`] makes it).
pub trait Select: Sized {
    /// Reads the rest of a reading's JSON object, only the `wanted` keys parsed.
    ///
    /// # Errors
    /// A wanted key whose value does not fit its type, or JSON that is not well formed.
    fn deserialize_selected<'de, A: serde::de::MapAccess<'de>>(
        map: A,
        wanted: Selection<Self>,
    ) -> Result<Self, A::Error>;
}

/// A map key told by name without allocating.
#[doc(hidden)]
#[derive(Debug)]
pub struct KeySeed<K>(pub fn(&str) -> Option<K>);

impl<'de, K> serde::de::DeserializeSeed<'de> for KeySeed<K> {
    type Value = Option<K>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<K>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<K> serde::de::Visitor<'_> for KeySeed<K> {
    type Value = Option<K>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Option<K>, E> {
        Ok((self.0)(name))
    }
}

/// A present value, as [`present`] reads it for the derived deserializer.
#[doc(hidden)]
#[derive(Debug)]
pub struct Present<T>(pub Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Present<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        present(d).map(Present)
    }
}

/// Declares a reading type, once, field by field: `/// doc line` then
/// `key: Type = ["obis", ...] decoder,`. The struct (every field `Option<Type>`, plus `mbus`
/// and `unknown`) and its [`FieldTable`] follow from that; it is written with
/// `"type":"reading"` first, and reads with or without it. It must declare `received`,
/// `header`, `meter_id` and `time`, which the decoder and the exporters use by name.
#[macro_export]
macro_rules! reading_fields {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident, keys $keys:ident {
            $( #[doc = $doc:literal] $field:ident : $ty:ty = [$($obis:literal),*] $decoder:expr, )*
        }
    ) => {
        #[derive(Debug, Clone, Default, PartialEq, $crate::serde::Serialize, $crate::serde::Deserialize)]
        #[serde(crate = "::p1_common::serde", tag = "type", rename = "reading")]
        $(#[$meta])*
        $vis struct $name {
            $(
                #[doc = $doc]
                #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "::p1_common::field::present")]
                pub $field: Option<$ty>,
            )*
            /// M-Bus devices (gas, water, heat), by channel.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub mbus: Vec<$crate::reading::MbusDevice>,
            /// Objects the parser does not know or could not read, with their values as sent.
            #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
            pub unknown: std::collections::BTreeMap<String, Vec<String>>,
        }

        /// Every key of the reading, to name the ones a consumer reads (see
        /// [`Selection`](::p1_common::field::Selection)).
        #[allow(non_camel_case_types, dead_code)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $keys {
            $($field,)*
            mbus,
            unknown,
        }

        #[allow(dead_code)]
        impl $keys {
            /// The key of a name, if it is one.
            fn from_name(name: &str) -> Option<$keys> {
                Some(match name {
                    $(stringify!($field) => $keys::$field,)*
                    "mbus" => $keys::mbus,
                    "unknown" => $keys::unknown,
                    _ => return None,
                })
            }

            /// The selection of these keys.
            $vis const fn select(keys: &[$keys]) -> $crate::field::Selection<$name> {
                let mut bits = 0u128;
                let mut i = 0;
                while i < keys.len() {
                    bits |= 1 << keys[i] as u32;
                    i += 1;
                }
                $crate::field::Selection::from_bits(bits)
            }
        }

        const _: () = assert!(($keys::unknown as u32) < 128, "a Selection holds 128 keys");

        impl $crate::json::WriteJson for $name {
            fn write_json(&self, out: &mut Vec<u8>) {
                $crate::json::entry(out, true, "type", &$crate::json::TypeName("reading"));
                $(
                    if let Some(value) = &self.$field {
                        $crate::json::entry(out, false, stringify!($field), value);
                    }
                )*
                if !self.mbus.is_empty() {
                    $crate::json::entry(out, false, "mbus", &self.mbus);
                }
                if !self.unknown.is_empty() {
                    $crate::json::unknown(out, &self.unknown);
                }
                out.push(b'}');
            }
        }

        impl $crate::field::Select for $name {
            fn deserialize_selected<'de, A: $crate::serde::de::MapAccess<'de>>(
                mut map: A,
                wanted: $crate::field::Selection<Self>,
            ) -> Result<Self, A::Error> {
                use $crate::field::{KeySeed, Present};
                use $crate::serde::de::IgnoredAny;
                let mut reading = $name::default();
                while let Some(key) = map.next_key_seed(KeySeed($keys::from_name))? {
                    match key {
                        Some(key) if wanted.has(key as u32) => match key {
                            $($keys::$field => reading.$field = map.next_value::<Present<$ty>>()?.0,)*
                            $keys::mbus => reading.mbus = map.next_value()?,
                            $keys::unknown => reading.unknown = map.next_value()?,
                        },
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(reading)
            }
        }

        impl $crate::field::FieldTable for $name {
            fn fields() -> &'static [$crate::field::Field<Self>] {
                use $crate::field::{Decode as _, FieldValue as _};
                const FIELDS: &[$crate::field::Field<$name>] = &[$(
                    $crate::field::Field {
                        name: stringify!($field),
                        obis: &[$($obis),*],
                        doc: $doc.trim_ascii(),
                        schema: <$ty as $crate::field::FieldValue>::SCHEMA,
                        line_type: <$ty as $crate::field::FieldValue>::LINE_TYPE,
                        measure: || $decoder.measure(),
                        accepts: |object| $decoder.accepts(object),
                        apply: |object, zone, reading| match $decoder.decode(object, zone)? {
                            Some(value) => {
                                reading.$field = Some(value);
                                Ok(true)
                            }
                            None => Ok(false),
                        },
                        line_value: |reading| reading.$field.as_ref().and_then(|v| v.line_value()),
                    },
                )*];
                FIELDS
            }
            fn by_code() -> &'static $crate::field::CodeIndex {
                static INDEX: std::sync::OnceLock<$crate::field::CodeIndex> = std::sync::OnceLock::new();
                INDEX.get_or_init(|| $crate::field::CodeIndex::new(Self::fields()))
            }
            fn by_name() -> &'static [u16] {
                static ORDER: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
                ORDER.get_or_init(|| $crate::field::name_order(Self::fields()))
            }
            fn clear(&mut self) {
                let mut mbus = std::mem::take(&mut self.mbus);
                mbus.clear();
                *self = $name { mbus, ..$name::default() };
            }
            fn received(&self) -> Option<&str> {
                self.received.as_deref()
            }
            fn time(&self) -> Option<$crate::meter_time::MeterTime> {
                self.time
            }
            fn meter_id(&self) -> Option<&str> {
                self.meter_id.as_deref()
            }
            fn mbus(&self) -> &[$crate::reading::MbusDevice] {
                &self.mbus
            }
            fn header_mut(&mut self) -> &mut Option<String> {
                &mut self.header
            }
            fn meter_id_mut(&mut self) -> &mut Option<String> {
                &mut self.meter_id
            }
            fn mbus_mut(&mut self) -> &mut Vec<$crate::reading::MbusDevice> {
                &mut self.mbus
            }
            fn unknown_mut(&mut self) -> &mut std::collections::BTreeMap<String, Vec<String>> {
                &mut self.unknown
            }
        }
    };
}
