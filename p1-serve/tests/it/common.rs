//! What the tests of p1-serve share: the fixtures and what the API makes of them.

use std::path::PathBuf;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// The golden reading of a fixture telegram, as p1-parse writes it.
pub fn reading_line(name: &str) -> String {
    let text = std::fs::read_to_string(fixtures().join("golden").join(format!("{name}.ndjson")))
        .expect("golden reading");
    text.lines().next().expect("a reading").to_string()
}

/// fluvius_v171's values in `/api/v1/data` (key) and as python-homewizard-energy reads them
/// (attribute). The telegram: 1-0:1.8.1(000000.034*kWh) 1-0:1.8.2(000015.758*kWh)
/// 1-0:2.8.2(000000.011*kWh) 1-0:1.7.0(00.000*kW) 1-0:32.7.0(234.7*V) 1-0:1.4.0(02.351*kW)
/// 1-0:1.6.0(200509134558S)(02.589*kW) 0-1:24.2.3(200512134558S)(00112.384*m3).
pub const FLUVIUS_V171_DATA: [(&str, &str, f64); 7] = [
    ("total_power_import_kwh", "total_energy_import_kwh", 15.792),
    (
        "total_power_export_t2_kwh",
        "total_energy_export_t2_kwh",
        0.011,
    ),
    ("active_power_w", "active_power_w", 0.0),
    ("active_voltage_l1_v", "active_voltage_l1_v", 234.7),
    ("active_power_average_w", "active_power_average_w", 2351.0),
    // The API's own spelling, which the library reads as "monthly".
    ("montly_power_peak_w", "monthly_power_peak_w", 2589.0),
    ("total_gas_m3", "total_gas_m3", 112.384),
];
