//! The real binary on every real-world telegram: every field's value checked.

mod common;

use common::*;
use serde_json::{Value, json};

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
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        let got = readings(&output);
        let expected_path = fixtures()
            .join("expected")
            .join(name.replace(".txt", ".json"));
        let expected: Value =
            serde_json::from_slice(&std::fs::read(&expected_path).expect("expected file"))
                .expect("json");
        assert_eq!(got, vec![expected], "{name}");
    }
}

/// The contract values, asserted one by one (independently of the expected files).
#[test]
fn fluvius_values_by_key() {
    let output = p1_parse(&[], &telegram("fluvius_v171.txt"));
    let r = &readings(&output)[0];
    assert_eq!(r["type"], "reading");
    assert_eq!(r["header"], "FLU5\\253769484_A");
    assert_eq!(r["version"], "50217");
    assert_eq!(r["meter_id"], "1SAG3101021605");
    assert_eq!(r["time"], "2020-05-12T13:54:09+02:00");
    assert_eq!(r["tariff"], 1);
    assert_eq!(r["energy_import_t1_kwh"], 0.034);
    assert_eq!(r["energy_import_t2_kwh"], 15.758);
    assert_eq!(r["energy_export_t2_kwh"], 0.011);
    assert_eq!(r["voltage_l3_v"], 234.7);
    assert_eq!(r["demand_avg_kw"], 2.351);
    assert_eq!(r["demand_max_month_kw"], 2.589);
    assert_eq!(r["demand_max_month_time"], "2020-05-09T13:45:58+02:00");
    assert_eq!(r["breaker_state"], 1);
    assert_eq!(r["limiter_threshold_kw"], 999.9);
    assert_eq!(r["fuse_threshold_a"], 999.0);
    assert_eq!(r["message"], "");
    assert_eq!(
        r["demand_max_history"][2],
        // 200301000000S: the letter says summer, 1 March is winter: the rule wins.
        json!({"month": "2020-03-01T00:00:00+01:00", "time": "2020-02-10T03:54:21+01:00", "kw": 4.318})
    );
    assert_eq!(
        r["mbus"],
        json!([
            {"channel": 1, "device_type": 3, "kind": "gas", "id": "7FLO2119033733", "valve": 1,
             "time": "2020-05-12T13:45:58+02:00", "value": 112.384, "unit": "m3"},
            {"channel": 2, "device_type": 7, "kind": "water", "id": "8SAG1234567890",
             "time": "2020-05-12T13:45:58+02:00", "value": 872.234, "unit": "m3"}
        ])
    );
    assert!(r.get("received").is_none() && r.get("unknown").is_none());
}

#[test]
fn belgian_currents_with_decimals_and_a_placeholder_in_the_history() {
    let r = &readings(&p1_parse(&[], &telegram("fluvius_v171_alt.txt")))[0];
    assert_eq!(r["current_l1_a"], 0.27);
    assert_eq!(r["current_l2_a"], 0.88);
    assert_eq!(r["demand_max_history"][0]["time"], Value::Null);
    assert_eq!(
        r["demand_max_history"][3]["month"],
        "2023-11-01T00:00:00+01:00"
    );
    assert_eq!(
        r["demand_max_history"][3]["time"],
        "2023-10-16T13:00:00+02:00"
    );
}

#[test]
fn watts_and_watt_hours_are_scaled_to_kilo() {
    let r = &readings(&p1_parse(&[], &telegram("sagemcom_t210_d_r.txt")))[0];
    assert_eq!(r["energy_import_t1_kwh"], 5017.12);
    assert_eq!(r["power_import_kw"], 0.286);
    // Issue 12: reactive energy and power are named, in kvarh and kvar.
    assert_eq!(r["reactive_energy_import_kvarh"], 0.747);
    assert_eq!(r["reactive_power_export_kvar"], 0.166);
    assert_eq!(r["unknown"]["1-0:3.8.0"], Value::Null);
    let r = &readings(&p1_parse(&[], &telegram("q3d_esy5q3da1004_v304.txt")))[0];
    assert_eq!(r["power_import_kw"], 1.68821);
    assert_eq!(r["energy_import_total_kwh"], 32_549.506_166_2);
}

#[test]
fn dsmr_2_2_gas_on_two_lines_and_dsmr_3_limiter_in_amperes() {
    let r = &readings(&p1_parse(&[], &telegram("v2_2.txt")))[0];
    assert_eq!(r["mbus"][0]["value"], 1.001);
    assert_eq!(r["mbus"][0]["unit"], "m3");
    assert_eq!(r["mbus"][0]["time"], "2016-11-07T19:00:00+01:00");
    let r = &readings(&p1_parse(&[], &telegram("v3.txt")))[0];
    assert_eq!(r["limiter_threshold_a"], 16.0);
    assert_eq!(r["message_code"], "012345678");
}

#[test]
fn dsmr_power_failure_log_and_placeholder_gas_time() {
    let r = &readings(&p1_parse(&[], &telegram("v4_2.txt")))[0];
    assert_eq!(r["power_failures"], 15);
    assert_eq!(r["long_power_failures"], 7);
    assert_eq!(
        r["power_failure_log"][0],
        json!({"end": "2000-01-04T18:03:20+01:00", "duration_s": 237_126})
    );
    // Issue 12: the entry ending at the unset 2000-01-01 never happened.
    assert_eq!(r["power_failure_log"].as_array().map(Vec::len), Some(2));
    // Issue 12: a reading at an unset time is none (it was a value 0 at null).
    let r = &readings(&p1_parse(&[], &telegram("v5_invalid_gas_timestamp.txt")))[0];
    assert_eq!(r["mbus"][0]["kind"], "gas");
    assert_eq!(r["mbus"][0]["time"], Value::Null);
    assert_eq!(r["mbus"][0]["value"], Value::Null);
    let r = &readings(&p1_parse(&[], &telegram("v5_two_mbus.txt")))[0];
    assert_eq!(r["mbus"][1]["id"], "G0039001936990619");
    assert_eq!(r["voltage_sags_l3"], 192);
}

#[test]
fn three_digit_crc_heat_meter() {
    let output = p1_parse(&[], &telegram("v5_unpadded_crc.txt"));
    let r = &readings(&output)[0];
    assert_eq!(r["mbus"][0]["kind"], "heat");
    assert_eq!(r["mbus"][0]["value"], 240.86);
    assert_eq!(r["mbus"][0]["unit"], "GJ");
}

#[test]
fn irish_meter_with_another_base_offset() {
    let output = p1_parse(&["--utc-offset", "+00:00"], &telegram("iskra_ie.txt"));
    let r = &readings(&output)[0];
    assert_eq!(r["time"], "2023-02-02T13:27:47+00:00");
    assert_eq!(r["header"], "ISk5\u{2}MIE5T-200");
    assert_eq!(r["meter_id"], "09610");
}
