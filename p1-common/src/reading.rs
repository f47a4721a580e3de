//! The reading: what p1-parse writes for each telegram, and what p1-relay and p1-influx read.
//!
//! This NDJSON form is a contract shared by the binaries and by users' `jq` scripts; the schema
//! below is the one `p1-parse --help` and its man page print.
#![doc = ""]
#![doc = include_str!("reading-schema.txt")]

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::meter_time::MeterTime;

/// The schema text, for `--help` and man pages.
pub const SCHEMA: &str = include_str!("reading-schema.txt");

/// An optional key that, when present, holds a value (so a `null` timestamp stays `null`
/// rather than becoming an absent key on a round trip).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

macro_rules! reading {
    ($( #[doc = $doc:literal] $field:ident: $ty:ty, )*) => {
        /// One telegram's values, keyed as in the schema of this module.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type", rename = "reading")]
        pub struct Reading {
            $(
                #[doc = $doc]
                #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
                pub $field: Option<$ty>,
            )*
            /// M-Bus devices (gas, water, heat), by channel.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub mbus: Vec<MbusDevice>,
            /// Objects the parser does not know or could not read, with their values as sent.
            #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
            pub unknown: BTreeMap<String, Vec<String>>,
        }
    };
}

reading! {
    /// When p1-read received the telegram (RFC 3339, from its envelope).
    received: String,
    /// The identification line, without `/`.
    header: String,
    /// `0-0:96.1.4` (BE) or `1-3:0.2.8` (NL), as sent.
    version: String,
    /// `0-0:96.1.1`, decoded (or `0-0:96.1.0` when that is all the meter sends).
    meter_id: String,
    /// `0-0:1.0.0`.
    time: MeterTime,
    /// `0-0:96.14.0`: 1 high (day), 2 low (night).
    tariff: u32,
    /// `1-0:1.8.1`.
    energy_import_t1_kwh: f64,
    /// `1-0:1.8.2`.
    energy_import_t2_kwh: f64,
    /// `1-0:2.8.1`.
    energy_export_t1_kwh: f64,
    /// `1-0:2.8.2`.
    energy_export_t2_kwh: f64,
    /// `1-0:1.8.0` (meters without tariff registers).
    energy_import_total_kwh: f64,
    /// `1-0:2.8.0`.
    energy_export_total_kwh: f64,
    /// `1-0:1.7.0`.
    power_import_kw: f64,
    /// `1-0:2.7.0`.
    power_export_kw: f64,
    /// `1-0:21.7.0`.
    power_import_l1_kw: f64,
    /// `1-0:41.7.0`.
    power_import_l2_kw: f64,
    /// `1-0:61.7.0`.
    power_import_l3_kw: f64,
    /// `1-0:22.7.0`.
    power_export_l1_kw: f64,
    /// `1-0:42.7.0`.
    power_export_l2_kw: f64,
    /// `1-0:62.7.0`.
    power_export_l3_kw: f64,
    /// `1-0:32.7.0`.
    voltage_l1_v: f64,
    /// `1-0:52.7.0`.
    voltage_l2_v: f64,
    /// `1-0:72.7.0`.
    voltage_l3_v: f64,
    /// `1-0:31.7.0`.
    current_l1_a: f64,
    /// `1-0:51.7.0`.
    current_l2_a: f64,
    /// `1-0:71.7.0`.
    current_l3_a: f64,
    /// `1-0:1.4.0`: the running quarter hour's demand.
    demand_avg_kw: f64,
    /// `1-0:1.6.0`: this month's highest quarter-hour demand.
    demand_max_month_kw: f64,
    /// `1-0:1.6.0`: when that peak was.
    demand_max_month_time: MeterTime,
    /// `0-0:98.1.0`: the monthly peaks of the last 13 months.
    demand_max_history: Vec<DemandPeak>,
    /// `0-0:96.3.10`: 0 off, 1 on, 2 ready.
    breaker_state: u32,
    /// `0-0:17.0.0` in kW (999.9 means no limit).
    limiter_threshold_kw: f64,
    /// `0-0:17.0.0` in A (DSMR 3).
    limiter_threshold_a: f64,
    /// `1-0:31.4.0` (999 means no limit).
    fuse_threshold_a: f64,
    /// `0-0:96.13.0`.
    message: String,
    /// `0-0:96.13.1`.
    message_code: String,
    /// `0-0:96.7.21`.
    power_failures: u64,
    /// `0-0:96.7.9`.
    long_power_failures: u64,
    /// `1-0:99.97.0`.
    power_failure_log: Vec<PowerFailure>,
    /// `1-0:32.32.0`.
    voltage_sags_l1: u64,
    /// `1-0:52.32.0`.
    voltage_sags_l2: u64,
    /// `1-0:72.32.0`.
    voltage_sags_l3: u64,
    /// `1-0:32.36.0`.
    voltage_swells_l1: u64,
    /// `1-0:52.36.0`.
    voltage_swells_l2: u64,
    /// `1-0:72.36.0`.
    voltage_swells_l3: u64,
}

impl Reading {
    /// Resets every value, keeping the allocations that can be reused for the next telegram.
    pub fn clear(&mut self) {
        let mut mbus = std::mem::take(&mut self.mbus);
        mbus.clear();
        *self = Reading {
            mbus,
            ..Reading::default()
        };
    }

    /// The device on an M-Bus channel, added when new.
    pub fn mbus_channel(&mut self, channel: u8) -> &mut MbusDevice {
        let index = match self.mbus.iter().position(|d| d.channel == channel) {
            Some(i) => i,
            None => {
                let at = self.mbus.partition_point(|d| d.channel < channel);
                self.mbus.insert(at, MbusDevice::new(channel));
                at
            }
        };
        &mut self.mbus[index]
    }
}

/// One month's peak in the 13-month history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DemandPeak {
    /// Start of the month the peak belongs to.
    pub month: MeterTime,
    /// When the peak quarter hour ended.
    pub time: MeterTime,
    pub kw: f64,
}

/// One entry of the long power-failure log.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowerFailure {
    /// When the failure ended.
    pub end: MeterTime,
    pub duration_s: u64,
}

/// What kind of meter an M-Bus device is, from its device type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MbusKind {
    Gas,
    Heat,
    Water,
    #[default]
    Other,
}

impl MbusKind {
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
    pub fn new(channel: u8) -> Self {
        MbusDevice {
            channel,
            device_type: None,
            kind: MbusKind::Other,
            id: None,
            valve: None,
            time: None,
            value: None,
            unit: None,
        }
    }
}
