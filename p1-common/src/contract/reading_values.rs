//! The structured values of a reading: a month's peak in the 13-month history, an entry of
//! the power-failure log, and a device on an M-Bus channel. Part of the record contract.

use serde::{Deserialize, Deserializer, Serialize};

use crate::protocol::meter_time::MeterTime;

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

/// The device on an M-Bus channel of `devices` (kept sorted by channel), added when new.
pub fn mbus_channel(devices: &mut Vec<MbusDevice>, channel: u8) -> &mut MbusDevice {
    let index = if let Some(i) = devices.iter().position(|d| d.channel == channel) {
        i
    } else {
        let at = devices.partition_point(|d| d.channel < channel);
        devices.insert(at, MbusDevice::new(channel));
        at
    };
    &mut devices[index]
}

/// One month's peak in the 13-month history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DemandPeak {
    /// Start of the month the peak belongs to.
    pub month: MeterTime,
    /// When the peak quarter hour ended.
    pub time: MeterTime,
    /// The peak, the highest quarter-hour average power of the month.
    pub kw: f64,
}

/// One entry of the long power-failure log.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowerFailure {
    /// When the failure ended; unset (`null`) when the meter did not know the time then.
    pub end: MeterTime,
    /// How long it lasted.
    pub duration_s: u64,
}

/// What kind of meter an M-Bus device is, from its device type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MbusKind {
    /// A gas meter (device type 3).
    Gas,
    /// A heat or cooling meter (4, 12).
    Heat,
    /// A water meter (7).
    Water,
    /// Any other, or a device type not sent.
    #[default]
    Other,
}

impl MbusKind {
    /// Its name in the NDJSON and as an `InfluxDB` tag.
    pub fn name(self) -> &'static str {
        match self {
            MbusKind::Gas => "gas",
            MbusKind::Heat => "heat",
            MbusKind::Water => "water",
            MbusKind::Other => "other",
        }
    }

    /// The kind of an M-Bus device type (EN 13757-3).
    pub fn from_device_type(device_type: u32) -> Self {
        match device_type {
            3 => MbusKind::Gas,
            4 | 12 => MbusKind::Heat,
            7 => MbusKind::Water,
            _ => MbusKind::Other,
        }
    }
}

/// A device on an M-Bus channel (1 to 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MbusDevice {
    /// The channel, `n` of its codes.
    pub channel: u8,
    /// `0-n:24.1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<u32>,
    /// From the device type: gas 3, heat 4 and 12, water 7, else other.
    #[serde(default)]
    pub kind: MbusKind,
    /// `0-n:96.1.0` or `0-n:96.1.1`, decoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `0-n:96.1.2`, decoded: the device's EAN code (absent when sent as dashes or zeros).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ean: Option<String>,
    /// `0-n:24.4.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valve: Option<u32>,
    /// When the value was captured (last M-Bus contact).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub time: Option<MeterTime>,
    /// `0-n:24.2.x` or DSMR 2.2/3 `0-n:24.3.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The value's unit as sent (`m3`, `GJ`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

impl MbusDevice {
    /// A device on `channel` of which nothing is known yet.
    pub fn new(channel: u8) -> Self {
        MbusDevice {
            channel,
            device_type: None,
            kind: MbusKind::Other,
            id: None,
            ean: None,
            valve: None,
            time: None,
            value: None,
            unit: None,
        }
    }
}

/// Storage a reading keeps from one telegram for the next, so that decoding telegram after
/// telegram into the same reading allocates nothing: the texts and lists of the last one,
/// emptied, and the peak history it last read (a meter sends the same one for a month). Not
/// part of the reading's value: never written, read, compared or cloned.
#[derive(Default)]
pub struct Spare {
    texts: Vec<String>,
    peaks: Vec<Vec<DemandPeak>>,
    failures: Vec<Vec<PowerFailure>>,
    /// The last peak history, as sent and as read.
    pub(crate) history: Remembered<DemandPeak>,
    /// The last power-failure log, as sent and as read.
    pub(crate) failure_log: Remembered<PowerFailure>,
    /// The last hex texts (ids, messages), as sent and as decoded, the oldest first.
    pub(crate) hex_texts: Vec<(Vec<u8>, String)>,
}

/// A list as a meter sent it and as it was read, to read it once while the meter sends the
/// same (a month's peaks, a failure log).
#[derive(Debug)]
pub(crate) struct Remembered<T> {
    sent: Vec<u8>,
    read: Vec<T>,
}

impl<T> Default for Remembered<T> {
    fn default() -> Self {
        Remembered {
            sent: Vec::new(),
            read: Vec::new(),
        }
    }
}

impl<T: Clone> Remembered<T> {
    /// Appends what `sent` was read as to `into`, if it is the list remembered.
    pub(crate) fn recall(&self, sent: &[u8], into: &mut Vec<T>) -> bool {
        let known = !self.read.is_empty() && self.sent == sent;
        if known {
            into.extend_from_slice(&self.read);
        }
        known
    }

    pub(crate) fn remember(&mut self, sent: &[u8], read: &[T]) {
        self.sent.clear();
        self.sent.extend_from_slice(sent);
        self.read.clear();
        self.read.extend_from_slice(read);
    }
}

/// Texts kept at most: a telegram's texts are a handful; a burst of unknown objects is not
/// kept for ever.
const TEXTS_KEPT: usize = 64;

impl Spare {
    /// An empty text, with room from an earlier one when there is one.
    pub fn text(&mut self) -> String {
        let mut text = self.texts.pop().unwrap_or_default();
        text.clear();
        text
    }

    /// An empty peak list, with room from an earlier one when there is one.
    pub fn peaks(&mut self) -> Vec<DemandPeak> {
        let mut peaks = self.peaks.pop().unwrap_or_default();
        peaks.clear();
        peaks
    }

    /// An empty failure log, with room from an earlier one when there is one.
    pub fn failures(&mut self) -> Vec<PowerFailure> {
        let mut failures = self.failures.pop().unwrap_or_default();
        failures.clear();
        failures
    }

    /// Keeps `text`'s room for a text to come (up to a bound).
    pub fn keep_text(&mut self, text: String) {
        if self.texts.len() < TEXTS_KEPT {
            self.texts.push(text);
        }
    }
}

impl Clone for Spare {
    fn clone(&self) -> Self {
        Spare::default()
    }
}

impl PartialEq for Spare {
    fn eq(&self, _: &Spare) -> bool {
        true
    }
}

impl std::fmt::Debug for Spare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Spare")
    }
}

/// A reading's value given back to its [`Spare`] when the reading is cleared.
pub trait Recycle: Sized {
    /// Gives the value's storage to `spare` (nothing, for a number).
    fn give_back(self, _spare: &mut Spare) {}
}

impl Recycle for f64 {}
impl Recycle for u32 {}
impl Recycle for u64 {}
impl Recycle for MeterTime {}

impl Recycle for String {
    fn give_back(self, spare: &mut Spare) {
        spare.keep_text(self);
    }
}

impl Recycle for Vec<DemandPeak> {
    fn give_back(self, spare: &mut Spare) {
        spare.peaks.push(self);
        spare.peaks.truncate(2);
    }
}

impl Recycle for Vec<PowerFailure> {
    fn give_back(self, spare: &mut Spare) {
        spare.failures.push(self);
        spare.failures.truncate(2);
    }
}

impl Recycle for MbusDevice {
    fn give_back(self, spare: &mut Spare) {
        for text in [self.id, self.ean, self.unit].into_iter().flatten() {
            spare.keep_text(text);
        }
    }
}
