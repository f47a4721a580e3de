//! The records p1-report writes with `--format json`: a day's and a month's figures, in the
//! meter's time zone.

use serde::{Deserialize, Serialize};

use crate::protocol::meter_time::MeterTime;

crate::record_type! {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct DayReport ("day", "A day's energy and peak quarter hour, in the meter's time zone (p1-report).") {
        date: String => "the day, YYYY-MM-DD",
        import_kwh: f64 => "energy imported: the import registers at the day's end less at its start, each from the last reading at or before midnight",
        export_kwh: f64 => "energy exported, as import_kwh",
        import_t1_kwh: f64 => "energy imported on tariff 1 (day)",
        import_t2_kwh: f64 => "energy imported on tariff 2 (night)",
        export_t1_kwh: f64 => "energy exported on tariff 1",
        export_t2_kwh: f64 => "energy exported on tariff 2",
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peak_kw: Option<f64> => "the highest complete quarter-hour average import (4 x the import registers' rise over the quarter)",
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peak_start: Option<MeterTime> => "when that quarter hour began",
        quarters: u32 => "quarter hours of the day the readings cover",
        incomplete_quarters: u32 => "of those, the ones with a gap of more than 60 s between readings (not counted as a peak)",
        #[serde(default, skip_serializing_if = "Option::is_none")]
        import_cost_eur: Option<f64> => "with --prices: the energy imported in each quarter hour times its price, summed (EUR)",
        #[serde(default, skip_serializing_if = "Option::is_none")]
        export_revenue_eur: Option<f64> => "with --prices: the energy exported in each quarter hour times its price (EUR; negative when export cost money)",
        #[serde(default, skip_serializing_if = "Option::is_none")]
        net_cost_eur: Option<f64> => "with --prices: import_cost_eur less export_revenue_eur",
    }
}

crate::record_type! {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct MonthReport ("month", "A month's energy, peak quarter hour and capacity-tariff figure, in the meter's time zone (p1-report).") {
        month: String => "the month, YYYY-MM",
        import_kwh: f64 => "energy imported: the import registers at the month's end less at its start",
        export_kwh: f64 => "energy exported",
        import_t1_kwh: f64 => "energy imported on tariff 1 (day)",
        import_t2_kwh: f64 => "energy imported on tariff 2 (night)",
        export_t1_kwh: f64 => "energy exported on tariff 1",
        export_t2_kwh: f64 => "energy exported on tariff 2",
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peak_kw: Option<f64> => "the month's highest complete quarter-hour average import",
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peak_start: Option<MeterTime> => "when that quarter hour began",
        quarters: u32 => "quarter hours of the month the readings cover",
        incomplete_quarters: u32 => "of those, the ones with a gap of more than 60 s",
        #[serde(default, skip_serializing_if = "Option::is_none")]
        import_cost_eur: Option<f64> => "with --prices: the energy imported in each quarter hour times its price, summed (EUR)",
        #[serde(default, skip_serializing_if = "Option::is_none")]
        export_revenue_eur: Option<f64> => "with --prices: the energy exported in each quarter hour times its price (EUR; negative when export cost money)",
        #[serde(default, skip_serializing_if = "Option::is_none")]
        net_cost_eur: Option<f64> => "with --prices: import_cost_eur less export_revenue_eur",
        capacity_kw: f64 => "what the Flemish capacity tariff bills: the mean of the last 12 months' peaks up to this one (fewer while the data holds fewer), each counted as at least 2.5 kW",
    }
}
