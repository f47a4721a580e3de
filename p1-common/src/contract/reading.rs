//! The reading: what p1-parse writes for each telegram, and what p1-relay and p1-influx read.
//!
//! This NDJSON form is a contract shared by the binaries and by users' `jq` scripts. Each field
//! is declared once below; [`schema`] is the text `p1-parse --help` and its man page print.

use crate::contract::field::{FieldTable, key_width, schema_row, schema_rows};
use crate::contract::reading_values::mbus_channel;
pub use crate::contract::reading_values::{DemandPeak, MbusDevice, MbusKind, PowerFailure};
use crate::contract::select::Selection;
use crate::protocol::meter_time::MeterTime;
use crate::protocol::objects::{DemandHistory, FailureLog, MonthPeak, NotDecoded, Nth, one};
use crate::protocol::values::{
    Count, HexText, PowerFactor, Quantity, State, Text, Time, Unit, WithUnit,
};

/// The schema text, for `--help` and man pages: the prose around the key table, and the
/// table itself, from the field declarations below.
pub fn schema() -> String {
    let (intro, outro) = SCHEMA_PROSE
        .split_once("{fields}\n")
        .unwrap_or((SCHEMA_PROSE, ""));
    let width = key_width::<Reading>();
    let mut table = String::new();
    schema_row(&mut table, width, ["key", "OBIS", "value"]);
    schema_row(&mut table, width, ["type", "-", "\"reading\""]);
    table.push_str(&schema_rows::<Reading>());
    for (i, (obis, value)) in MBUS_ROWS.iter().enumerate() {
        let key = if i == 0 { "mbus" } else { "" };
        schema_row(&mut table, width, [key, obis, value]);
    }
    let raw = "{\"<obis>\": [\"raw value\", ...]}";
    schema_row(&mut table, width, ["unknown", "anything else", raw]);
    format!("{intro}{table}{outro}")
}

/// The rows of the M-Bus devices in the schema table: codes, and the value's shape.
const MBUS_ROWS: [(&str, &str); 6] = [
    ("0-n:24.1.0 type,", "[{\"channel\":1,\"device_type\":3,"),
    ("0-n:96.1.0/96.1.1", "  \"kind\":\"gas\",\"id\":\"...\","),
    ("id, 0-n:96.1.2", "  \"ean\":\"...\",\"valve\":1,"),
    ("ean, 0-n:24.4.0", "  \"time\":T,\"value\":112.384,"),
    ("valve, 0-n:24.2.x", "  \"unit\":\"m3\"}]"),
    ("or 0-n:24.3.0 value", ""),
];

const SCHEMA_PROSE: &str = include_str!("reading-schema.txt");

crate::reading_fields! {
    /// One telegram's values, keyed as in the schema of this module.
    pub struct Reading, keys ReadingKey {
        /// when p1-read received it
        received: String = [] NotDecoded,
        /// the identification line, without "/"
        header: String = [] NotDecoded,
        /// "not checked": its CRC failed, and p1-parse --ignore-crc read it anyway
        crc: String = [] NotDecoded,
        /// as sent, e.g. "50217"
        version: String = ["0-0:96.1.4", "1-3:0.2.8"] one(Text),
        /// decoded; 0-0:96.1.0 when that is all
        meter_id: String = ["0-0:96.1.1"] one(HexText),
        /// the meter's clock
        time: MeterTime = ["0-0:1.0.0", "0-0:1.1.0"] one(Time),
        /// 1 high (day), 2 low (night)
        tariff: u32 = ["0-0:96.14.0"] one(State),
        /// import register, tariff 1
        energy_import_t1_kwh: f64 = ["1-0:1.8.1"] one(Quantity(Unit::KWh)),
        /// import register, tariff 2
        energy_import_t2_kwh: f64 = ["1-0:1.8.2"] one(Quantity(Unit::KWh)),
        /// export register, tariff 1
        energy_export_t1_kwh: f64 = ["1-0:2.8.1"] one(Quantity(Unit::KWh)),
        /// export register, tariff 2
        energy_export_t2_kwh: f64 = ["1-0:2.8.2"] one(Quantity(Unit::KWh)),
        /// import register, tariff 3 (Walloon and foreign meters)
        energy_import_t3_kwh: f64 = ["1-0:1.8.3"] one(Quantity(Unit::KWh)),
        /// import register, tariff 4
        energy_import_t4_kwh: f64 = ["1-0:1.8.4"] one(Quantity(Unit::KWh)),
        /// import register, tariff 5
        energy_import_t5_kwh: f64 = ["1-0:1.8.5"] one(Quantity(Unit::KWh)),
        /// export register, tariff 3
        energy_export_t3_kwh: f64 = ["1-0:2.8.3"] one(Quantity(Unit::KWh)),
        /// export register, tariff 4
        energy_export_t4_kwh: f64 = ["1-0:2.8.4"] one(Quantity(Unit::KWh)),
        /// export register, tariff 5
        energy_export_t5_kwh: f64 = ["1-0:2.8.5"] one(Quantity(Unit::KWh)),
        /// import register, no tariffs
        energy_import_total_kwh: f64 = ["1-0:1.8.0"] one(Quantity(Unit::KWh)),
        /// export register, no tariffs
        energy_export_total_kwh: f64 = ["1-0:2.8.0"] one(Quantity(Unit::KWh)),
        /// power drawn from the grid
        power_import_kw: f64 = ["1-0:1.7.0"] one(Quantity(Unit::KW)),
        /// power fed into the grid
        power_export_kw: f64 = ["1-0:2.7.0"] one(Quantity(Unit::KW)),
        /// import, phase 1
        power_import_l1_kw: f64 = ["1-0:21.7.0"] one(Quantity(Unit::KW)),
        /// import, phase 2
        power_import_l2_kw: f64 = ["1-0:41.7.0"] one(Quantity(Unit::KW)),
        /// import, phase 3
        power_import_l3_kw: f64 = ["1-0:61.7.0"] one(Quantity(Unit::KW)),
        /// export, phase 1
        power_export_l1_kw: f64 = ["1-0:22.7.0"] one(Quantity(Unit::KW)),
        /// export, phase 2
        power_export_l2_kw: f64 = ["1-0:42.7.0"] one(Quantity(Unit::KW)),
        /// export, phase 3
        power_export_l3_kw: f64 = ["1-0:62.7.0"] one(Quantity(Unit::KW)),
        /// voltage, phase 1
        voltage_l1_v: f64 = ["1-0:32.7.0"] one(Quantity(Unit::Volt)),
        /// voltage, phase 2
        voltage_l2_v: f64 = ["1-0:52.7.0"] one(Quantity(Unit::Volt)),
        /// voltage, phase 3
        voltage_l3_v: f64 = ["1-0:72.7.0"] one(Quantity(Unit::Volt)),
        /// current, phase 1
        current_l1_a: f64 = ["1-0:31.7.0"] one(Quantity(Unit::Ampere)),
        /// current, phase 2
        current_l2_a: f64 = ["1-0:51.7.0"] one(Quantity(Unit::Ampere)),
        /// current, phase 3
        current_l3_a: f64 = ["1-0:71.7.0"] one(Quantity(Unit::Ampere)),
        /// the running quarter hour's demand
        demand_avg_kw: f64 = ["1-0:1.4.0"] one(Quantity(Unit::KW)),
        /// this month's peak quarter hour
        demand_max_month_kw: f64 = ["1-0:1.6.0"] MonthPeak { time_part: false, value: Quantity(Unit::KW) },
        /// when that peak was
        demand_max_month_time: MeterTime = ["1-0:1.6.0"] MonthPeak { time_part: true, value: Time },
        /// the monthly peaks of the last 13 months
        demand_max_history: Vec<DemandPeak> = ["0-0:98.1.0"] DemandHistory,
        /// 0 off, 1 on, 2 ready
        breaker_state: u32 = ["0-0:96.3.10"] one(State),
        /// limiter in kW; 999.9 means no limit
        limiter_threshold_kw: f64 = ["0-0:17.0.0"] one(WithUnit(Unit::KW)),
        /// limiter in A (DSMR 3)
        limiter_threshold_a: f64 = ["0-0:17.0.0"] one(WithUnit(Unit::Ampere)),
        /// limiter in kVA (Walloon meters; the Smarty, which sends no unit)
        limiter_threshold_kva: f64 = ["0-0:17.0.0"] one(Quantity(Unit::KVA)),
        /// fuse supervision (phase 1, or all); 999 means no limit
        fuse_threshold_a: f64 = ["1-0:31.4.0"] one(Quantity(Unit::Ampere)),
        /// fuse supervision, phase 2
        fuse_threshold_l2_a: f64 = ["1-0:51.4.0"] one(Quantity(Unit::Ampere)),
        /// fuse supervision, phase 3
        fuse_threshold_l3_a: f64 = ["1-0:71.4.0"] one(Quantity(Unit::Ampere)),
        /// text message, hex decoded; empty when unset (all FF); bytes not UTF-8 as \xNN
        message: String = ["0-0:96.13.0"] one(HexText),
        /// numeric message (DSMR 2.2 to 4), as message
        message_code: String = ["0-0:96.13.1"] one(HexText),
        /// power failures in any phase
        power_failures: u64 = ["0-0:96.7.21"] one(Count),
        /// long power failures in any phase
        long_power_failures: u64 = ["0-0:96.7.9"] one(Count),
        /// the long power failures, when each ended and how long
        power_failure_log: Vec<PowerFailure> = ["1-0:99.97.0"] FailureLog,
        /// voltage sags, phase 1
        voltage_sags_l1: u64 = ["1-0:32.32.0"] one(Count),
        /// voltage sags, phase 2
        voltage_sags_l2: u64 = ["1-0:52.32.0"] one(Count),
        /// voltage sags, phase 3
        voltage_sags_l3: u64 = ["1-0:72.32.0"] one(Count),
        /// voltage swells, phase 1
        voltage_swells_l1: u64 = ["1-0:32.36.0"] one(Count),
        /// voltage swells, phase 2
        voltage_swells_l2: u64 = ["1-0:52.36.0"] one(Count),
        /// voltage swells, phase 3
        voltage_swells_l3: u64 = ["1-0:72.36.0"] one(Count),
        /// mains frequency
        frequency_hz: f64 = ["1-0:14.7.0"] one(Quantity(Unit::Hertz)),
        /// power factor, all phases
        power_factor: f64 = ["1-0:13.7.0"] one(PowerFactor),
        /// reactive energy imported (Q+)
        reactive_energy_import_kvarh: f64 = ["1-0:3.8.0"] one(Quantity(Unit::KVarh)),
        /// reactive energy exported (Q-)
        reactive_energy_export_kvarh: f64 = ["1-0:4.8.0"] one(Quantity(Unit::KVarh)),
        /// reactive power imported (Q+)
        reactive_power_import_kvar: f64 = ["1-0:3.7.0"] one(Quantity(Unit::KVar)),
        /// reactive power exported (Q-)
        reactive_power_export_kvar: f64 = ["1-0:4.7.0"] one(Quantity(Unit::KVar)),
        /// reactive power imported, phase 1
        reactive_power_import_l1_kvar: f64 = ["1-0:23.7.0"] one(Quantity(Unit::KVar)),
        /// reactive power imported, phase 2
        reactive_power_import_l2_kvar: f64 = ["1-0:43.7.0"] one(Quantity(Unit::KVar)),
        /// reactive power imported, phase 3
        reactive_power_import_l3_kvar: f64 = ["1-0:63.7.0"] one(Quantity(Unit::KVar)),
        /// reactive power exported, phase 1
        reactive_power_export_l1_kvar: f64 = ["1-0:24.7.0"] one(Quantity(Unit::KVar)),
        /// reactive power exported, phase 2
        reactive_power_export_l2_kvar: f64 = ["1-0:44.7.0"] one(Quantity(Unit::KVar)),
        /// reactive power exported, phase 3
        reactive_power_export_l3_kvar: f64 = ["1-0:64.7.0"] one(Quantity(Unit::KVar)),
        /// power factor, phase 1
        power_factor_l1: f64 = ["1-0:33.7.0"] one(PowerFactor),
        /// power factor, phase 2
        power_factor_l2: f64 = ["1-0:53.7.0"] one(PowerFactor),
        /// power factor, phase 3
        power_factor_l3: f64 = ["1-0:73.7.0"] one(PowerFactor),
        /// apparent power imported
        apparent_power_import_kva: f64 = ["1-0:9.7.0"] one(Quantity(Unit::KVA)),
        /// apparent power exported
        apparent_power_export_kva: f64 = ["1-0:10.7.0"] one(Quantity(Unit::KVA)),
        /// the connection's EAN code (0-0:96.1.2), decoded
        ean: String = ["0-0:96.1.2"] one(HexText),
        /// the logical device name, decoded; the meter id when there is no other
        device_name: String = ["0-0:42.0.0"] one(HexText),
        /// relay or breaker on channel 1 (0 off, 1 on)
        relay_1_state: u32 = ["0-1:96.3.10"] one(State),
        /// relay or breaker on channel 2
        relay_2_state: u32 = ["0-2:96.3.10"] one(State),
        /// relay or breaker on channel 3
        relay_3_state: u32 = ["0-3:96.3.10"] one(State),
        /// relay or breaker on channel 4
        relay_4_state: u32 = ["0-4:96.3.10"] one(State),
        /// active energy, import plus export (|A+| + |A-|)
        energy_absolute_total_kwh: f64 = ["1-0:15.8.0"] one(Quantity(Unit::KWh)),
        /// active power, import plus export
        power_absolute_kw: f64 = ["1-0:15.7.0"] one(Quantity(Unit::KW)),
        /// reactive energy, quadrant 1 (inductive import)
        reactive_energy_q1_kvarh: f64 = ["1-0:5.8.0"] one(Quantity(Unit::KVarh)),
        /// reactive energy, quadrant 2 (capacitive import)
        reactive_energy_q2_kvarh: f64 = ["1-0:6.8.0"] one(Quantity(Unit::KVarh)),
        /// reactive energy, quadrant 3 (inductive export)
        reactive_energy_q3_kvarh: f64 = ["1-0:7.8.0"] one(Quantity(Unit::KVarh)),
        /// reactive energy, quadrant 4 (capacitive export)
        reactive_energy_q4_kvarh: f64 = ["1-0:8.8.0"] one(Quantity(Unit::KVarh)),
        /// reactive power, quadrant 1
        reactive_power_q1_kvar: f64 = ["1-0:5.7.0"] one(Quantity(Unit::KVar)),
        /// reactive power, quadrant 2
        reactive_power_q2_kvar: f64 = ["1-0:6.7.0"] one(Quantity(Unit::KVar)),
        /// reactive power, quadrant 3
        reactive_power_q3_kvar: f64 = ["1-0:7.7.0"] one(Quantity(Unit::KVar)),
        /// reactive power, quadrant 4
        reactive_power_q4_kvar: f64 = ["1-0:8.7.0"] one(Quantity(Unit::KVar)),
        /// reactive energy imported, tariff 1
        reactive_energy_import_t1_kvarh: f64 = ["1-0:3.8.1"] one(Quantity(Unit::KVarh)),
        /// reactive energy imported, tariff 2
        reactive_energy_import_t2_kvarh: f64 = ["1-0:3.8.2"] one(Quantity(Unit::KVarh)),
        /// reactive energy imported, tariff 3
        reactive_energy_import_t3_kvarh: f64 = ["1-0:3.8.3"] one(Quantity(Unit::KVarh)),
        /// reactive energy imported, tariff 4
        reactive_energy_import_t4_kvarh: f64 = ["1-0:3.8.4"] one(Quantity(Unit::KVarh)),
        /// reactive energy exported, tariff 1
        reactive_energy_export_t1_kvarh: f64 = ["1-0:4.8.1"] one(Quantity(Unit::KVarh)),
        /// reactive energy exported, tariff 2
        reactive_energy_export_t2_kvarh: f64 = ["1-0:4.8.2"] one(Quantity(Unit::KVarh)),
        /// reactive energy exported, tariff 3
        reactive_energy_export_t3_kvarh: f64 = ["1-0:4.8.3"] one(Quantity(Unit::KVarh)),
        /// reactive energy exported, tariff 4
        reactive_energy_export_t4_kvarh: f64 = ["1-0:4.8.4"] one(Quantity(Unit::KVarh)),
        /// apparent power imported, phase 1
        apparent_power_import_l1_kva: f64 = ["1-0:29.7.0"] one(Quantity(Unit::KVA)),
        /// apparent power imported, phase 2
        apparent_power_import_l2_kva: f64 = ["1-0:49.7.0"] one(Quantity(Unit::KVA)),
        /// apparent power imported, phase 3
        apparent_power_import_l3_kva: f64 = ["1-0:69.7.0"] one(Quantity(Unit::KVA)),
        /// apparent power exported, phase 1
        apparent_power_export_l1_kva: f64 = ["1-0:30.7.0"] one(Quantity(Unit::KVA)),
        /// apparent power exported, phase 2
        apparent_power_export_l2_kva: f64 = ["1-0:50.7.0"] one(Quantity(Unit::KVA)),
        /// apparent power exported, phase 3
        apparent_power_export_l3_kva: f64 = ["1-0:70.7.0"] one(Quantity(Unit::KVA)),
        /// the limiter's import current threshold (Smarty), first value
        current_limit_import_a: f64 = ["1-1:31.4.0"] Nth { index: 0, count: 2, value: Quantity(Unit::Ampere) },
        /// the limiter's export current threshold (Smarty), second value, as sent
        current_limit_export_a: f64 = ["1-1:31.4.0"] Nth { index: 1, count: 2, value: Quantity(Unit::Ampere) },
        /// long message line 2 (Smarty), as message
        message_2: String = ["0-0:96.13.2"] one(HexText),
        /// long message line 3 (Smarty)
        message_3: String = ["0-0:96.13.3"] one(HexText),
        /// long message line 4 (Smarty)
        message_4: String = ["0-0:96.13.4"] one(HexText),
        /// long message line 5 (Smarty)
        message_5: String = ["0-0:96.13.5"] one(HexText),
    }
}

impl Reading {
    /// Resets every value, keeping the allocations that can be reused for the next telegram.
    pub fn clear(&mut self) {
        FieldTable::clear(self);
    }

    /// The device on an M-Bus channel, added when new.
    pub fn mbus_channel(&mut self, channel: u8) -> &mut MbusDevice {
        mbus_channel(&mut self.mbus, channel)
    }

    /// The keys [`Reading::import_kwh`] reads, for a consumer that reads some keys only.
    pub const IMPORT_KEYS: Selection<Reading> = ReadingKey::select(&[
        ReadingKey::energy_import_t1_kwh,
        ReadingKey::energy_import_t2_kwh,
        ReadingKey::energy_import_t3_kwh,
        ReadingKey::energy_import_t4_kwh,
        ReadingKey::energy_import_t5_kwh,
        ReadingKey::energy_import_total_kwh,
    ]);

    /// The keys [`Reading::export_kwh`] reads.
    pub const EXPORT_KEYS: Selection<Reading> = ReadingKey::select(&[
        ReadingKey::energy_export_t1_kwh,
        ReadingKey::energy_export_t2_kwh,
        ReadingKey::energy_export_t3_kwh,
        ReadingKey::energy_export_t4_kwh,
        ReadingKey::energy_export_t5_kwh,
        ReadingKey::energy_export_total_kwh,
    ]);

    /// All the energy imported: the tariff registers summed (Walloon meters have up to
    /// five), else the total register; none without either.
    pub fn import_kwh(&self) -> Option<f64> {
        registers_sum(
            [
                self.energy_import_t1_kwh,
                self.energy_import_t2_kwh,
                self.energy_import_t3_kwh,
                self.energy_import_t4_kwh,
                self.energy_import_t5_kwh,
            ],
            self.energy_import_total_kwh,
        )
    }

    /// All the energy exported, as [`Reading::import_kwh`] sums the import.
    pub fn export_kwh(&self) -> Option<f64> {
        registers_sum(
            [
                self.energy_export_t1_kwh,
                self.energy_export_t2_kwh,
                self.energy_export_t3_kwh,
                self.energy_export_t4_kwh,
                self.energy_export_t5_kwh,
            ],
            self.energy_export_total_kwh,
        )
    }
}

/// Tariff registers 1 to 5 summed when the first two are there, else the total.
fn registers_sum(tariffs: [Option<f64>; 5], total: Option<f64>) -> Option<f64> {
    match tariffs {
        [Some(t1), Some(t2), rest @ ..] => Some(t1 + t2 + rest.into_iter().flatten().sum::<f64>()),
        _ => total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::contract::field::LineType;
    use crate::protocol::values::Measure;

    /// Consumers name, scale and classify a key by what it measures: a quantity's key ends
    /// with its unit (`_kwh`, `_kw`, `_v`, ...), and a count is a whole number.
    #[test]
    fn every_quantity_key_ends_with_its_unit() {
        let mut quantities = 0;
        for field in Reading::fields() {
            match (field.measure)() {
                Measure::Quantity(unit) => {
                    quantities += 1;
                    assert!(
                        field.name.ends_with(unit.key_suffix()),
                        "{}: {unit:?}",
                        field.name
                    );
                }
                Measure::Count => {
                    assert_eq!(field.line_type, Some(LineType::Integer), "{}", field.name);
                }
                Measure::Other => {}
            }
        }
        assert!(quantities > 50, "{quantities}");
        let measure = |key: &str| {
            Reading::fields()
                .iter()
                .find(|f| f.name == key)
                .map(|f| (f.measure)())
        };
        assert_eq!(
            measure("demand_max_month_kw"),
            Some(Measure::Quantity(Unit::KW))
        );
        assert_eq!(
            measure("power_factor"),
            Some(Measure::Quantity(Unit::Ratio))
        );
        assert_eq!(measure("voltage_sags_l1"), Some(Measure::Count));
        assert_eq!(measure("tariff"), Some(Measure::Other));
    }
}
