//! The real binary on every real-world telegram: every field's value checked.

use p1_common::contract::reading::{DemandPeak, MbusDevice, MbusKind, PowerFailure, Reading};
use p1_common::protocol::meter_time::MeterTime;

use crate::common::*;

/// The one reading `p1-parse ARGS` gives for fixture `name`.
fn reading_of(args: &[&str], name: &str) -> Reading {
    let mut readings = p1_parse(args, &telegram(name)).readings();
    assert_eq!(readings.len(), 1, "{name}");
    readings.remove(0)
}

#[test]
fn every_fixture_gives_exactly_its_expected_reading() {
    let names = all_telegram_names();
    assert_eq!(
        names.len(),
        15,
        "a fixture was added or lost: give it an expected reading"
    );
    for name in names {
        let output = p1_parse(&["-q"], &telegram(&name));
        output.success();
        let expected = expected_reading(&fixtures(), &name);
        assert_eq!(output.readings(), [expected], "{name}");
    }
}

/// The contract values, asserted one by one (independently of the expected files).
#[test]
fn fluvius_values_by_key() {
    let r = reading_of(&[], "fluvius_v171.txt");
    assert_eq!(r.header.as_deref(), Some("FLU5\\253769484_A"));
    assert_eq!(r.version.as_deref(), Some("50217"));
    assert_eq!(r.meter_id.as_deref(), Some("1SAG3101021605"));
    assert_eq!(r.time, Some(time("2020-05-12T13:54:09+02:00")));
    assert_eq!(r.tariff, Some(1));
    assert_eq!(r.energy_import_t1_kwh, Some(0.034));
    assert_eq!(r.energy_import_t2_kwh, Some(15.758));
    assert_eq!(r.energy_export_t2_kwh, Some(0.011));
    assert_eq!(r.voltage_l3_v, Some(234.7));
    assert_eq!(r.demand_avg_kw, Some(2.351));
    assert_eq!(r.demand_max_month_kw, Some(2.589));
    assert_eq!(
        r.demand_max_month_time,
        Some(time("2020-05-09T13:45:58+02:00"))
    );
    assert_eq!(r.breaker_state, Some(1));
    assert_eq!(r.limiter_threshold_kw, Some(999.9));
    assert_eq!(r.fuse_threshold_a, Some(999.0));
    assert_eq!(r.message.as_deref(), Some(""));
    assert_eq!(
        r.demand_max_history.as_ref().map(|h| h[2]),
        // 200301000000S: the letter says summer, 1 March is winter: the rule wins.
        Some(DemandPeak {
            month: time("2020-03-01T00:00:00+01:00"),
            time: time("2020-02-10T03:54:21+01:00"),
            kw: 4.318
        })
    );
    let at = Some(time("2020-05-12T13:45:58+02:00"));
    assert_eq!(
        r.mbus,
        [
            MbusDevice {
                device_type: Some(3),
                kind: MbusKind::Gas,
                id: Some("7FLO2119033733".into()),
                valve: Some(1),
                time: at,
                value: Some(112.384),
                unit: Some("m3".into()),
                ..MbusDevice::new(1)
            },
            MbusDevice {
                device_type: Some(7),
                kind: MbusKind::Water,
                id: Some("8SAG1234567890".into()),
                time: at,
                value: Some(872.234),
                unit: Some("m3".into()),
                ..MbusDevice::new(2)
            }
        ]
    );
    assert!(r.received.is_none() && r.unknown.is_empty());
}

#[test]
fn belgian_currents_with_decimals_and_a_placeholder_in_the_history() {
    let r = reading_of(&[], "fluvius_v171_alt.txt");
    assert_eq!(r.current_l1_a, Some(0.27));
    assert_eq!(r.current_l2_a, Some(0.88));
    let history = r.demand_max_history.expect("the history");
    assert_eq!(history[0].time, MeterTime::UNSET);
    assert_eq!(history[3].month, time("2023-11-01T00:00:00+01:00"));
    assert_eq!(history[3].time, time("2023-10-16T13:00:00+02:00"));
}

#[test]
fn watts_and_watt_hours_are_scaled_to_kilo() {
    let r = reading_of(&[], "sagemcom_t210_d_r.txt");
    assert_eq!(r.energy_import_t1_kwh, Some(5017.12));
    assert_eq!(r.power_import_kw, Some(0.286));
    // Issue 12: reactive energy and power are named, in kvarh and kvar.
    assert_eq!(r.reactive_energy_import_kvarh, Some(0.747));
    assert_eq!(r.reactive_power_export_kvar, Some(0.166));
    assert!(!r.unknown.contains_key("1-0:3.8.0"));
    let r = reading_of(&[], "q3d_esy5q3da1004_v304.txt");
    assert_eq!(r.power_import_kw, Some(1.68821));
    assert_eq!(r.energy_import_total_kwh, Some(32_549.506_166_2));
}

#[test]
fn dsmr_2_2_gas_on_two_lines_and_dsmr_3_limiter_in_amperes() {
    let r = reading_of(&[], "v2_2.txt");
    assert_eq!(r.mbus[0].value, Some(1.001));
    assert_eq!(r.mbus[0].unit.as_deref(), Some("m3"));
    assert_eq!(r.mbus[0].time, Some(time("2016-11-07T19:00:00+01:00")));
    let r = reading_of(&[], "v3.txt");
    assert_eq!(r.limiter_threshold_a, Some(16.0));
    assert_eq!(r.message_code.as_deref(), Some("012345678"));
}

#[test]
fn dsmr_power_failure_log_and_placeholder_gas_time() {
    let r = reading_of(&[], "v4_2.txt");
    assert_eq!(r.power_failures, Some(15));
    assert_eq!(r.long_power_failures, Some(7));
    let log = r.power_failure_log.expect("the log");
    assert_eq!(
        log[0],
        PowerFailure {
            end: time("2000-01-04T18:03:20+01:00"),
            duration_s: 237_126
        }
    );
    // Issue 23 (7): an entry whose end the meter did not know happened all the same (it
    // counts it): kept, its end null. Only 2^31 - 1 s, or no time and no duration, is unused.
    assert_eq!(log.len(), 3);
    assert_eq!(
        log[1],
        PowerFailure {
            end: MeterTime::UNSET,
            duration_s: 2_147_583_646
        }
    );
    // Issue 12: a reading at an unset time is none (it was a value 0 at null). Issue 23 (9):
    // its time is null, as the schema says, not absent.
    let r = reading_of(&[], "v5_invalid_gas_timestamp.txt");
    assert_eq!(r.mbus[0].kind, MbusKind::Gas);
    assert_eq!(
        (r.mbus[0].time, r.mbus[0].value),
        (Some(MeterTime::UNSET), None)
    );
    let r = reading_of(&[], "v5_two_mbus.txt");
    assert_eq!(r.mbus[1].id.as_deref(), Some("G0039001936990619"));
    assert_eq!(r.voltage_sags_l3, Some(192));
}

#[test]
fn three_digit_crc_heat_meter() {
    let r = reading_of(&[], "v5_unpadded_crc.txt");
    assert_eq!(r.mbus[0].kind, MbusKind::Heat);
    assert_eq!(r.mbus[0].value, Some(240.86));
    assert_eq!(r.mbus[0].unit.as_deref(), Some("GJ"));
}

#[test]
fn irish_meter_with_another_base_offset() {
    let r = reading_of(&["--utc-offset", "+00:00"], "iskra_ie.txt");
    assert_eq!(r.time, Some(time("2023-02-02T13:27:47+00:00")));
    assert_eq!(r.header.as_deref(), Some("ISk5\u{2}MIE5T-200"));
    assert_eq!(r.meter_id.as_deref(), Some("09610"));
}
