//! The HomeWizard P1 meter's local API, v1: its field names and units (W and kWh, the net
//! power negative on export), computed from the latest reading. Keys the reading lacks are
//! left out, as the real meter leaves out what its meter does not send.

use p1_common::contract::reading::{MbusKind, Reading};
use p1_common::protocol::meter_time::MeterTime;
use serde_json::{Map, Value, json};

/// `GET /api`.
pub(crate) fn device(serial: &str) -> Value {
    json!({
        "product_type": "HWE-P1",
        "product_name": "P1 meter",
        "serial": serial,
        "firmware_version": concat!("p1-serve ", env!("CARGO_PKG_VERSION")),
        "api_version": "v1",
    })
}

/// A serial of 12 hex digits from the meter id (FNV-1a, 48 bits): stable for a meter.
pub(crate) fn serial_of(meter_id: &str) -> String {
    let hash = p1_common::runtime::id::fnv1a(meter_id.as_bytes());
    format!("{:012x}", hash & 0xffff_ffff_ffff)
}

/// A meter time as HomeWizard writes it: the number YYMMDDhhmmss, in the meter's local time.
fn timestamp(time: Option<MeterTime>) -> Option<u64> {
    let time = time?.datetime()?;
    time.format("%y%m%d%H%M%S").to_string().parse().ok()
}

/// An id as HomeWizard sends it: its bytes in hex, as the meter's telegram has it.
fn hex(id: &str) -> String {
    p1_common::runtime::id::hex(id.as_bytes())
}

fn watts(kw: f64) -> Value {
    json!((kw * 1000.0 * 1000.0).round() / 1000.0)
}

fn sum(values: &[Option<f64>]) -> Option<f64> {
    values.iter().any(Option::is_some).then(|| {
        let total: f64 = values.iter().flatten().sum();
        (total * 1000.0).round() / 1000.0
    })
}

/// A v1 body being made: keys the reading lacks are left out.
struct Body(Map<String, Value>);

impl Body {
    fn put(&mut self, key: &str, value: Option<impl Into<Value>>) {
        if let Some(value) = value {
            self.0.insert(key.to_string(), value.into());
        }
    }
}

/// `GET /api/v1/data`.
pub(crate) fn data(r: &Reading) -> Value {
    let mut body = Body(Map::new());
    // Home Assistant's client reads a v1 body only when it has this key. p1-serve knows no
    // Wi-Fi network nor signal: the name is empty and no strength is made up.
    body.put("wifi_ssid", Some(""));
    body.put(
        "smr_version",
        r.version
            .as_deref()
            .and_then(|v| v.get(..2))
            .and_then(|v| v.parse::<u32>().ok()),
    );
    body.put("meter_model", r.header.clone());
    body.put("unique_id", r.meter_id.as_deref().map(hex));
    body.put("active_tariff", r.tariff);
    energy(&mut body, r);
    power(&mut body, r);
    quality(&mut body, r);
    external(&mut body, r);
    Value::Object(body.0)
}

/// The registers, in total and per tariff.
fn energy(body: &mut Body, r: &Reading) {
    let import = [
        r.energy_import_t1_kwh,
        r.energy_import_t2_kwh,
        r.energy_import_t3_kwh,
        r.energy_import_t4_kwh,
        r.energy_import_t5_kwh,
    ];
    let export = [
        r.energy_export_t1_kwh,
        r.energy_export_t2_kwh,
        r.energy_export_t3_kwh,
        r.energy_export_t4_kwh,
        r.energy_export_t5_kwh,
    ];
    body.put(
        "total_power_import_kwh",
        r.energy_import_total_kwh.or_else(|| sum(&import)),
    );
    body.put(
        "total_power_export_kwh",
        r.energy_export_total_kwh.or_else(|| sum(&export)),
    );
    for (t, (i, e)) in import.iter().zip(&export).take(4).enumerate() {
        body.put(&format!("total_power_import_t{}_kwh", t + 1), *i);
        body.put(&format!("total_power_export_t{}_kwh", t + 1), *e);
    }
}

/// Powers in W, the net one negative on export; the quarter hour and the month's peak.
fn power(body: &mut Body, r: &Reading) {
    let net = |i: Option<f64>, e: Option<f64>| match (i, e) {
        (None, None) => None,
        (i, e) => Some(watts(i.unwrap_or(0.0) - e.unwrap_or(0.0))),
    };
    body.put("active_power_w", net(r.power_import_kw, r.power_export_kw));
    body.put(
        "active_power_l1_w",
        net(r.power_import_l1_kw, r.power_export_l1_kw),
    );
    body.put(
        "active_power_l2_w",
        net(r.power_import_l2_kw, r.power_export_l2_kw),
    );
    body.put(
        "active_power_l3_w",
        net(r.power_import_l3_kw, r.power_export_l3_kw),
    );
    body.put("active_power_average_w", r.demand_avg_kw.map(watts));
    // HomeWizard's own spelling.
    body.put("montly_power_peak_w", r.demand_max_month_kw.map(watts));
    body.put(
        "montly_power_peak_timestamp",
        timestamp(r.demand_max_month_time),
    );
}

/// Voltages, currents, frequency, sags, swells and failures.
fn quality(body: &mut Body, r: &Reading) {
    let volts = [r.voltage_l1_v, r.voltage_l2_v, r.voltage_l3_v];
    let amps = [r.current_l1_a, r.current_l2_a, r.current_l3_a];
    let sags = [r.voltage_sags_l1, r.voltage_sags_l2, r.voltage_sags_l3];
    let swells = [
        r.voltage_swells_l1,
        r.voltage_swells_l2,
        r.voltage_swells_l3,
    ];
    for n in 0..3 {
        let l = n + 1;
        body.put(&format!("active_voltage_l{l}_v"), volts[n]);
        body.put(&format!("active_current_l{l}_a"), amps[n]);
        body.put(&format!("voltage_sag_l{l}_count"), sags[n]);
        body.put(&format!("voltage_swell_l{l}_count"), swells[n]);
    }
    body.put("active_frequency_hz", r.frequency_hz);
    body.put("any_power_fail_count", r.power_failures);
    body.put("long_power_fail_count", r.long_power_failures);
}

/// The gas meter in HomeWizard's own keys, and every M-Bus meter in `external`.
fn external(body: &mut Body, r: &Reading) {
    if let Some(gas) = r.mbus.iter().find(|d| d.kind == MbusKind::Gas) {
        body.put("total_gas_m3", gas.value);
        body.put("gas_timestamp", timestamp(gas.time));
        body.put("gas_unique_id", gas.id.as_deref().map(hex));
    }
    let external: Vec<Value> = r
        .mbus
        .iter()
        .filter(|d| d.value.is_some())
        .map(|d| {
            let kind = match d.kind {
                MbusKind::Gas => "gas_meter",
                MbusKind::Water => "water_meter",
                MbusKind::Heat => "heat_meter",
                MbusKind::Other => "unknown",
            };
            json!({
                "unique_id": hex(d.id.as_deref().unwrap_or_default()),
                "type": kind,
                "timestamp": timestamp(d.time),
                "value": d.value,
                "unit": d.unit,
            })
        })
        .collect();
    body.put("external", Some(external));
}

/// HomeWizard's error object.
pub(crate) fn error(id: u32, description: &str) -> Value {
    json!({"error": {"id": id, "description": description}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_in_homewizards_names_and_units() {
        let reading: Reading = serde_json::from_str(
            r#"{"version":"50217","header":"FLU5\\253769484_A","meter_id":"1SAG3101021605","tariff":1,
               "energy_import_t1_kwh":100.5,"energy_import_t2_kwh":200.25,"energy_export_t1_kwh":1.0,
               "energy_export_t2_kwh":2.0,"power_import_kw":0.0,"power_export_kw":1.234,
               "power_import_l1_kw":0.2,"power_export_l1_kw":0.0,"voltage_l1_v":230.1,"current_l1_a":1.5,
               "demand_avg_kw":2.351,"demand_max_month_kw":3.5,"demand_max_month_time":"2020-05-04T18:15:00+02:00",
               "mbus":[{"channel":1,"device_type":3,"kind":"gas","id":"7FLO","time":"2020-05-12T13:45:58+02:00","value":112.384,"unit":"m3"}]}"#,
        )
        .unwrap();
        let data = data(&reading);
        assert_eq!(data["smr_version"], 50);
        assert_eq!(data["unique_id"], "3153414733313031303231363035");
        assert_eq!(data["total_power_import_kwh"], 300.75);
        assert_eq!(data["total_power_export_t2_kwh"], 2.0);
        assert_eq!(data["active_power_w"], -1234.0, "negative on export");
        assert_eq!(data["active_power_l1_w"], 200.0);
        assert_eq!(data["active_power_average_w"], 2351.0);
        assert_eq!(data["montly_power_peak_w"], 3500.0);
        assert_eq!(data["montly_power_peak_timestamp"], 200_504_181_500_u64);
        assert_eq!(data["total_gas_m3"], 112.384);
        assert_eq!(data["gas_timestamp"], 200_512_134_558_u64);
        assert_eq!(data["external"][0]["type"], "gas_meter");
        assert!(
            data.get("active_voltage_l2_v").is_none(),
            "absent, not null"
        );
        // Issue 23 (14): the key clients need, with an honest value, and no made-up signal.
        assert_eq!(data["wifi_ssid"], "");
        assert!(data.get("wifi_strength").is_none());
        assert_eq!(serial_of("1SAG3101021605").len(), 12);
    }
}
