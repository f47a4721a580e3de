//! Reading fields declared once: each with its key, OBIS code(s), value type, decoder and doc
//! line (see [`reading_fields!`](crate::reading_fields)). The decoder's lookup table, the
//! schema text of `p1-parse --help` and `man 5 p1`, and the `InfluxDB` field types are all
//! derived from that declaration, so a field added there is decoded, documented and exported
//! with a fixed type.

use std::fmt::Write as _;

use crate::contract::reading_values::{DemandPeak, MbusDevice, PowerFailure, Spare};
use crate::protocol::meter_time::{ClockZone, MeterTime};
use crate::protocol::number::parse_decimal;
use crate::protocol::obis::Object;
use crate::protocol::scan::{hash16, pack16};
use crate::protocol::values::Measure;

/// A value as `InfluxDB` stores it; a field keeps its type for ever.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LineValue {
    /// A float field.
    Float(f64),
    /// An integer field (`i` in line protocol).
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
    /// Written as a float.
    Float,
    /// Written as an integer (`i`).
    Integer,
}

/// What a field's value type says about the field: its name in the schema text, and how (or
/// whether) it becomes an `InfluxDB` field.
pub trait FieldValue: serde::de::DeserializeOwned {
    /// The value column of the schema text.
    const SCHEMA: &'static str;
    /// Whether it becomes an `InfluxDB` field, and of which type.
    const LINE_TYPE: Option<LineType> = None;
    /// The value as an `InfluxDB` field, if it becomes one.
    fn line_value(&self) -> Option<LineValue> {
        None
    }
    /// The value of a JSON value (its bytes, well formed), as the derived deserializer reads
    /// it; `None` where it cannot, or where this does not try (the derived one then decides).
    fn from_json_value(value: &[u8]) -> Option<Self> {
        serde_json::from_slice(value).ok()
    }
}

/// A JSON number written with a point or an exponent, as a float: the correctly rounded value,
/// as serde_json reads it (whole numbers are left to serde_json, which reads `-0` as 0).
fn json_float(value: &[u8]) -> Option<f64> {
    if !value.contains(&b'.') {
        return serde_json::from_slice(value).ok();
    }
    // A plain decimal, as p1 writes them, read exactly; an exponent by the standard parser.
    if let Some(float) = parse_decimal(value, 0) {
        return Some(float);
    }
    // Beyond f64's range serde_json refuses what the standard parser makes infinite.
    let float: f64 = std::str::from_utf8(value).ok()?.parse().ok()?;
    float.is_finite().then_some(float)
}

/// A JSON number of digits only, as a whole number.
fn json_unsigned(value: &[u8]) -> Option<u64> {
    value
        .iter()
        .all(u8::is_ascii_digit)
        .then(|| std::str::from_utf8(value).ok()?.parse().ok())?
}

impl FieldValue for f64 {
    const SCHEMA: &'static str = "number";
    const LINE_TYPE: Option<LineType> = Some(LineType::Float);
    fn line_value(&self) -> Option<LineValue> {
        self.is_finite().then_some(LineValue::Float(*self))
    }
    fn from_json_value(value: &[u8]) -> Option<Self> {
        json_float(value)
    }
}

impl FieldValue for u32 {
    const SCHEMA: &'static str = "integer";
    const LINE_TYPE: Option<LineType> = Some(LineType::Integer);
    fn line_value(&self) -> Option<LineValue> {
        Some(LineValue::Integer(i64::from(*self)))
    }
    fn from_json_value(value: &[u8]) -> Option<Self> {
        u32::try_from(json_unsigned(value)?).ok()
    }
}

impl FieldValue for u64 {
    const SCHEMA: &'static str = "integer";
    const LINE_TYPE: Option<LineType> = Some(LineType::Integer);
    fn line_value(&self) -> Option<LineValue> {
        i64::try_from(*self).ok().map(LineValue::Integer)
    }
    fn from_json_value(value: &[u8]) -> Option<Self> {
        json_unsigned(value)
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

/// One field of a reading type: the row of its table.
pub struct Field<R> {
    /// Its JSON key (units in the name: `power_import_kw`).
    pub name: &'static str,
    /// The OBIS codes it is read from.
    pub obis: &'static [&'static str],
    /// Its line in the schema text.
    pub doc: &'static str,
    /// Its value column in the schema text.
    pub schema: &'static str,
    /// Whether it becomes an `InfluxDB` field, and of which type.
    pub line_type: Option<LineType>,
    /// What it measures, from its decoder.
    pub measure: fn() -> Measure,
    /// Whether an object of its code is its own (a code some fields share, told apart by
    /// its values).
    pub accepts: fn(&Object<'_>) -> bool,
    /// Decodes the object into its slot: `Ok(true)` when set.
    pub apply: fn(&Object<'_>, ClockZone, &mut R) -> Result<bool, &'static str>,
    /// Its value in a reading as an `InfluxDB` field.
    pub line_value: fn(&R) -> Option<LineValue>,
}

impl<R> std::fmt::Debug for Field<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A reading type made by [`reading_fields!`](crate::reading_fields).
pub trait FieldTable: Sized + 'static {
    /// Every field, in declaration (and output) order.
    fn fields() -> &'static [Field<Self>];
    /// Field indices by OBIS code.
    fn by_code() -> &'static CodeIndex;
    /// Field indices by name, sorted by name (the order of `InfluxDB` fields).
    fn by_name() -> &'static [u16];
    /// Every field unset, the storage kept for the next telegram.
    fn clear(&mut self);
    /// When the telegram was received (RFC 3339), if known.
    fn received(&self) -> Option<&str>;
    /// The meter's own time.
    fn time(&self) -> Option<MeterTime>;
    /// The meter's equipment id.
    fn meter_id(&self) -> Option<&str>;
    /// The M-Bus devices (gas, water, heat meters) read through the meter.
    fn mbus(&self) -> &[MbusDevice];
    /// The identification line, to set.
    fn header_mut(&mut self) -> &mut Option<String>;
    /// The meter's equipment id, to set.
    fn meter_id_mut(&mut self) -> &mut Option<String>;
    /// The M-Bus devices, to fill.
    fn mbus_mut(&mut self) -> &mut Vec<MbusDevice>;
    /// Objects of no declared field, by code: their values as sent.
    fn unknown_mut(&mut self) -> &mut std::collections::BTreeMap<String, Vec<String>>;
    /// The parts the decoder fills by hand, at once (and the spare storage for them).
    fn parts_mut(&mut self) -> Parts<'_>;

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

/// The parts of a reading that no field table row fills, for the decoder.
#[derive(Debug)]
pub struct Parts<'a> {
    /// The identification line.
    pub header: &'a mut Option<String>,
    /// The meter's equipment id.
    pub meter_id: &'a mut Option<String>,
    /// The M-Bus devices.
    pub mbus: &'a mut Vec<MbusDevice>,
    /// Objects of no declared field.
    pub unknown: &'a mut std::collections::BTreeMap<String, Vec<String>>,
    /// Texts and lists kept from the last telegram, to fill again.
    pub spare: &'a mut Spare,
}

/// OBIS code to field indices: an open-addressing table of codes packed into integers, since
/// the decoder looks up every object of every telegram (a binary search cost a tenth of the
/// decoding, a hash of the bytes and a comparison of slices still a twentieth).
#[derive(Debug)]
pub struct CodeIndex {
    mask: usize,
    /// `(packed code, start, len)` into `fields`; a free slot's code is 0.
    slots: Vec<(u128, u16, u16)>,
    fields: Vec<u16>,
}

impl CodeIndex {
    /// The index of a field table (for [`FieldTable::by_code`]).
    pub fn new<R>(table: &'static [Field<R>]) -> CodeIndex {
        let mut codes: Vec<(u128, u16)> = Vec::new();
        for (i, field) in table.iter().enumerate() {
            let i = u16::try_from(i).expect("fewer than 65536 fields");
            for code in field.obis {
                let key = pack16(code.as_bytes()).expect("an OBIS code of at most 16 bytes");
                codes.push((key, i));
            }
        }
        // Stable: fields sharing a code keep their declaration order.
        codes.sort_by_key(|&(code, _)| code);
        let capacity = (codes.len() * 2).next_power_of_two().max(8);
        let mut index = CodeIndex {
            mask: capacity - 1,
            slots: vec![(0, 0, 0); capacity],
            fields: codes.iter().map(|&(_, i)| i).collect(),
        };
        let mut at = 0;
        while at < codes.len() {
            let code = codes[at].0;
            let len = codes[at..].iter().take_while(|(c, _)| *c == code).count();
            let mut slot = hash(code) & index.mask;
            while index.slots[slot].0 != 0 {
                slot = (slot + 1) & index.mask;
            }
            index.slots[slot] = (code, to_u16(at), to_u16(len));
            at += len;
        }
        index
    }

    /// The field indices for `code`, empty when none.
    pub fn get(&self, code: &[u8]) -> &[u16] {
        let Some(key) = pack16(code) else {
            return &[];
        };
        let mut slot = hash(key) & self.mask;
        loop {
            let (known, start, len) = self.slots[slot];
            if known == key {
                return &self.fields[usize::from(start)..usize::from(start) + usize::from(len)];
            }
            if known == 0 {
                return &[];
            }
            slot = (slot + 1) & self.mask;
        }
    }
}

fn to_u16(n: usize) -> u16 {
    u16::try_from(n).expect("fewer than 65536 codes")
}

/// The home slot of a code (the high bits of its hash).
fn hash(key: u128) -> usize {
    (hash16(key) >> 40) as usize
}

/// Builds the name order of a field table (for [`FieldTable::by_name`]).
pub fn name_order<R>(fields: &'static [Field<R>]) -> Vec<u16> {
    let mut order: Vec<u16> = (0..fields.len())
        .map(|i| u16::try_from(i).expect("fewer than 65536 fields"))
        .collect();
    order.sort_by_key(|&i| fields[usize::from(i)].name);
    order
}

/// The width of the key column of a reading type's schema table: the widest key and a space,
/// so that every key stands apart from its code.
pub fn key_width<R: FieldTable>() -> usize {
    R::fields().iter().map(|f| f.name.len()).max().unwrap_or(0) + 1
}

/// The width of the OBIS column of the schema table.
const OBIS_WIDTH: usize = 23;

/// One row of the schema table: a key, its codes and its value, in columns.
pub fn schema_row(out: &mut String, key_width: usize, cells: [&str; 3]) {
    let [key, obis, value] = cells;
    let _ = writeln!(
        out,
        "{}",
        format!("  {key:<key_width$}{obis:<OBIS_WIDTH$}{value}").trim_end()
    );
}

/// The key table of the schema text: each field's key, OBIS codes and value in columns,
/// then what it means on the lines below, indented and wrapped to 80 columns.
pub fn schema_rows<R: FieldTable>() -> String {
    let mut out = String::new();
    let name_width = key_width::<R>();
    for field in R::fields() {
        let codes = if field.obis.is_empty() {
            "-".to_string()
        } else {
            field.obis.join(" ")
        };
        schema_row(&mut out, name_width, [field.name, &codes, field.schema]);
        for line in wrap(field.doc, 80 - DOC_INDENT) {
            let _ = writeln!(out, "{:DOC_INDENT$}{line}", "");
        }
    }
    out
}

/// `text` in lines of at most `width` characters, broken at spaces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}
/// Where a field's meaning starts in the schema table.
const DOC_INDENT: usize = 6;

/// The `InfluxDB` integer fields of a reading type, for the schema text.
pub fn integer_field_names<R: FieldTable>() -> Vec<&'static str> {
    R::fields()
        .iter()
        .filter(|f| f.line_type == Some(LineType::Integer))
        .map(|f| f.name)
        .collect()
}
