//! The public corpus of real telegrams (tests/fixtures/realworld, SOURCES.md says whose):
//! values the specifications define are read, not left under `unknown`, and a telegram
//! whose every line is valid gives no warning (issue 12). Each value below was read off the
//! telegram by hand.

use std::path::PathBuf;

use p1_common::contract::reading::{DemandPeak, Reading};
use p1_common::protocol::meter_time::MeterTime;

use crate::common::*;

fn corpus() -> PathBuf {
    fixtures().join("realworld")
}

fn names() -> Vec<String> {
    telegram_names(&corpus())
}

/// The meter's standard offset from UTC: Finland and Lithuania are on EET, the rest on CET.
fn utc_offset(name: &str) -> &'static str {
    if name.starts_with("fi_") || name.starts_with("lt_") {
        "+02:00"
    } else {
        "+01:00"
    }
}

fn read(name: &str) -> (Reading, String) {
    let bytes = std::fs::read(corpus().join(name)).expect("telegram");
    let output = p1_parse(&["--utc-offset", utc_offset(name)], &bytes);
    output.success();
    let mut readings = output.readings();
    assert_eq!(readings.len(), 1, "{name}");
    (readings.remove(0), output.stderr())
}

/// What p1-parse says besides its summary line.
fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| !l.contains(" telegrams read, "))
        .collect()
}

#[test]
fn the_landis_gyr_e360_peak_history_is_read_with_its_unset_entry_regression_12() {
    for name in [
        "be_lg_e360_3ph_50221_azimut.txt",
        "be_lg_e360_3ph_gas_50221_dheijl.txt",
    ] {
        let (r, stderr) = read(name);
        assert_eq!(warnings(&stderr), Vec::<&str>::new(), "{name}");
        assert!(!r.unknown.contains_key("0-0:98.1.0"), "{name}");
        assert!(r.demand_max_history.is_some(), "{name}");
    }
    let (r, _) = read("be_lg_e360_3ph_50221_azimut.txt");
    // (2)(1-0:1.6.0)(1-0:1.6.0)(241001000000S)(35255255255255255S)(00.000*kW)
    //    (251101000000W)(251029004500W)(03.772*kW)
    assert_eq!(
        r.demand_max_history,
        Some(vec![
            DemandPeak {
                month: time("2024-10-01T00:00:00+02:00"),
                time: MeterTime::UNSET,
                kw: 0.0
            },
            DemandPeak {
                month: time("2025-11-01T00:00:00+01:00"),
                time: time("2025-10-29T00:45:00+01:00"),
                kw: 3.772
            },
        ])
    );
}

#[test]
fn an_empty_power_failure_log_is_an_empty_list_regression_12() {
    let (r, stderr) = read("nl_dsmr50_iskra_am550e_1014_1ph.txt");
    assert_eq!(r.power_failure_log, Some(Vec::new()));
    assert_eq!(warnings(&stderr), Vec::<&str>::new());
}

#[test]
fn every_si_prefix_of_a_keys_unit_is_scaled_regression_12() {
    let (r, stderr) = read("nl_dsmr50_mcs_kenter_milliamps.txt");
    assert_eq!(warnings(&stderr), Vec::<&str>::new());
    // (791*mA) (210*mA) (697*mA)
    assert_eq!(
        [r.current_l1_a, r.current_l2_a, r.current_l3_a],
        [Some(0.791), Some(0.21), Some(0.697)]
    );
    let (r, _) = read("lt_eso_ct_93lines.txt");
    assert_eq!(r.frequency_hz, Some(49.0), "(0000.049*kHz)");
    assert_eq!(r.voltage_l1_v, Some(0.0), "(0000.000*kV)");
    assert!(!r.unknown.contains_key("1-0:32.7.0"));
}

#[test]
fn walloon_meters_limiter_peak_and_tariffs_regression_12() {
    let (r, stderr) = read("be_ores_iskra_mie5t_3ph_wallonia.txt");
    assert_eq!(warnings(&stderr), Vec::<&str>::new());
    assert_eq!(
        r.limiter_threshold_kva,
        Some(999.9),
        "0-0:17.0.0(999.9*kVA)"
    );
    // 1-0:1.6.0(08.832*kW)(260112223000): value first, a January time without S/W.
    assert_eq!(r.demand_max_month_kw, Some(8.832));
    assert_eq!(
        r.demand_max_month_time,
        Some(time("2026-01-12T22:30:00+01:00"))
    );
    assert_eq!(
        (r.energy_import_t3_kwh, r.energy_export_t3_kwh),
        (Some(0.0), Some(0.0))
    );
    let unknown: Vec<&String> = r.unknown.keys().collect();
    assert!(
        !unknown
            .iter()
            .any(|k| k.starts_with("1-0:1.8.") || *k == "0-0:17.0.0" || *k == "1-0:1.6.0"),
        "{unknown:?}"
    );
}

#[test]
fn an_unset_all_ff_message_is_empty_regression_12() {
    let (r, _) = read("hu_aux_sanxing_ff_message.txt");
    assert_eq!(r.message.as_deref(), Some(""));
}

#[test]
fn an_empty_m_bus_slot_is_no_device_regression_12() {
    // 0-1:24.1.0() 0-1:96.1.0() 0-1:24.2.1(000101000000W)(00000000.0000)
    let (r, stderr) = read("nl_dsmr50_mcs_zero_placeholders.txt");
    assert_eq!(warnings(&stderr), Vec::<&str>::new());
    assert!(r.mbus.is_empty());
    assert!(!r.unknown.contains_key("0-1:24.1.0"));
}

/// Issue 12: every telegram gives exactly its expected reading (`realworld/expected/`, each
/// value traced to its line of the telegram by `scripts/corpus-check`, which reads the
/// telegrams independently of p1-parse, and the odd ones checked by hand).
#[test]
fn every_corpus_telegram_gives_exactly_its_expected_reading_regression_12() {
    let names = names();
    assert_eq!(names.len(), 45, "the corpus");
    for name in &names {
        assert_eq!(read(name).0, expected_reading(&corpus(), name), "{name}");
    }
}

/// Issue 12: what is left under `unknown` over the whole corpus is only what neither DSMR
/// 5.0.2 nor e-MUCS 1.7.1 defines, and no key names: each code here, with why.
#[test]
fn only_objects_no_specification_defines_stay_unknown_regression_12() {
    let mut left: Vec<String> = names()
        .iter()
        .flat_map(|name| {
            let (r, _) = read(name);
            r.unknown.into_keys().collect::<Vec<_>>()
        })
        .collect();
    left.sort();
    left.dedup();
    let mut allowed = vec![
        // Landis+Gyr E360, e-MUCS 50221: an undocumented unitless (230), likely the grid's
        // nominal voltage; not in e-MUCS 1.7.1.
        "1-0:94.32.1",
        // Hungarian meters: a state text (ON) and the monthly billing profile (the month's
        // registers and peaks), whose layout no specification we have gives.
        "0-0:96.50.68",
        "0-0:98.1.0",
        // Aidon CT meter: the current transformer's ratio lines.
        "1-0:0.4.2",
        "1-0:0.4.3",
    ];
    // The Lithuanian ESO meter: firmware ids and checksums, demand registers (x.4.0, x.5.0,
    // x.24.0), sag and swell durations and thresholds (x.33.0, x.34.0, x.37.0, x.38.0), the
    // sum, neutral and any-phase current and voltage, a reactive-energy time base.
    allowed.extend([
        "1-0:0.2.0",
        "1-0:0.2.8",
        "1-0:0.8.2",
        "1-0:1.24.0",
        "1-0:1.5.0",
        "1-0:10.4.0",
        "1-0:10.5.0",
        "1-0:11.7.0",
        "1-0:12.7.0",
        "1-0:13.3.0",
        "1-0:15.24.0",
        "1-0:16.24.0",
        "1-0:2.4.0",
        "1-0:2.5.0",
        "1-0:3.4.0",
        "1-0:3.5.0",
        "1-0:32.24.0",
        "1-0:32.33.0",
        "1-0:32.34.0",
        "1-0:32.37.0",
        "1-0:32.38.0",
        "1-0:4.4.0",
        "1-0:4.5.0",
        "1-0:52.24.0",
        "1-0:52.33.0",
        "1-0:52.34.0",
        "1-0:52.37.0",
        "1-0:52.38.0",
        "1-0:72.24.0",
        "1-0:72.33.0",
        "1-0:72.34.0",
        "1-0:72.37.0",
        "1-0:72.38.0",
        "1-0:9.4.0",
        "1-0:9.5.0",
        "1-0:90.7.0",
        "1-0:91.7.0",
        "1-1:0.2.0",
        "1-1:0.2.8",
    ]);
    allowed.sort_unstable();
    assert_eq!(left, allowed);
}

#[test]
fn no_telegram_of_the_corpus_gives_a_warning_regression_12() {
    let names = names();
    assert_eq!(names.len(), 45, "the corpus");
    for name in &names {
        let (_, stderr) = read(name);
        assert_eq!(warnings(&stderr), Vec::<&str>::new(), "{name}");
    }
}

#[test]
fn the_whole_corpus_in_one_stream_gives_the_same_readings_crlf_or_lf_regression_12() {
    let mut one_by_one = Vec::new();
    let mut stream = Vec::new();
    for name in names() {
        let bytes = std::fs::read(corpus().join(&name)).expect("telegram");
        // One stream is read in one zone: each telegram alone in the same.
        one_by_one.extend(p1_parse(&["-q"], &bytes).readings());
        stream.extend_from_slice(&bytes);
    }
    assert_eq!(p1_parse(&["-q"], &stream).readings(), one_by_one, "CRLF");
    // The same with every CR stripped, as a capture saved on another system.
    let mut lf = Vec::with_capacity(stream.len());
    for (i, &b) in stream.iter().enumerate() {
        if !(b == b'\r' && stream.get(i + 1) == Some(&b'\n')) {
            lf.push(b);
        }
    }
    assert_eq!(p1_parse(&["-q"], &lf).readings(), one_by_one, "LF");
}

/// Issue 12: the edited telegrams of `unverified/` fail their CRC as published: rejected with
/// the CRC message, and read under --ignore-crc, each reading saying its CRC was not checked.
#[test]
fn unverified_telegrams_are_rejected_and_read_only_under_ignore_crc_regression_12() {
    // (file, 1-0:1.7.0 in kW, 0-0:96.1.1 decoded), read off each telegram.
    let expected = [
        (
            "be_fluvius_50217_water_gas_bogus_history.txt",
            0.0,
            Some("1SAG3105209493"),
        ),
        ("be_iskra_ie5t_fr.txt", 0.0, None),
        (
            "be_iskra_mie5t_lowvoltage.txt",
            4.8,
            Some("E0044007251706618"),
        ),
        ("be_sibelga_s210.txt", 0.426, Some("40018417SAGE")),
        ("fi_lg_e360_b.txt", 0.903, None),
        (
            "nl_iskra_am550t_redacted.txt",
            0.321,
            Some("**********************************"),
        ),
        ("nl_xmx_ies.txt", 2.388, Some("E0052005462312119")),
    ];
    for (name, power, id) in expected {
        let bytes = std::fs::read(corpus().join("unverified").join(name)).expect("telegram");
        let output = p1_parse(&[], &bytes);
        assert!(output.readings().is_empty(), "{name}");
        output.stderr_contains(": CRC mismatch: telegram says ");
        let r = &p1_parse(&["--ignore-crc"], &bytes).readings()[0];
        assert_eq!(r.crc.as_deref(), Some("not checked"), "{name}");
        assert_eq!(r.power_import_kw, Some(power), "{name}");
        if let Some(id) = id {
            assert_eq!(r.meter_id.as_deref(), Some(id), "{name}");
        }
    }
    // A telegram whose CRC is right says nothing about it, with or without the flag.
    let (r, _) = read("nl_dsmr50_sagemcom_t211.txt");
    assert!(r.crc.is_none());
}

/// Issue 12: a code sent more than once keeps every occurrence, in order; a unit written
/// without its `*` is read.
#[test]
fn repeated_codes_are_all_kept_and_units_without_a_star_are_read_regression_12() {
    let telegram = p1_testkit::telegram::TelegramBuilder::new("XMX5TEST")
        .line("1-0:1.8.1(000123.456kWh)")
        .line("0-1:24.3.1(1)(2)")
        .line("0-1:24.3.1(3)(4)")
        .build();
    let output = p1_parse(&[], telegram.as_bytes());
    let r = &output.readings()[0];
    assert_eq!(r.energy_import_t1_kwh, Some(123.456));
    assert_eq!(r.unknown["0-1:24.3.1"], ["1", "2", "3", "4"]);
    output.stderr_lacks("1-0:1.8.1");
}

/// Issue 16: the Smarty's plaintext objects by name (the openHAB frame's plaintext, whose
/// CRC was broken by its anonymisation: read under --ignore-crc).
#[test]
fn the_smartys_objects_are_read_by_name_regression_16() {
    let bytes = std::fs::read(fixtures().join("encrypted/openhab_smarty_plaintext.txt"))
        .expect("plaintext");
    let r = &p1_parse(&["-q", "--ignore-crc"], &bytes).readings()[0];
    // 0-0:42.0.0(5341473130333037...) 0-0:17.0.0(77.376) 1-0:1.8.0(000006.695*kWh)
    // 1-0:4.8.0(000002.745*kvarh) 1-0:4.7.0(00.007) 0-0:96.3.10(1) 0-0:96.13.2()
    assert_eq!(
        r.meter_id.as_deref(),
        Some("SAG1030700114004SAG1030700114004SAG1030700114004")
    );
    assert_eq!(r.device_name, r.meter_id);
    assert_eq!(
        r.limiter_threshold_kva,
        Some(77.376),
        "the Smarty's unitless limiter is kVA"
    );
    assert_eq!(r.energy_import_total_kwh, Some(6.695));
    assert_eq!(r.reactive_energy_export_kvarh, Some(2.745));
    assert_eq!(r.reactive_power_export_kvar, Some(0.007));
    assert_eq!(r.breaker_state, Some(1));
    assert_eq!(r.message_2.as_deref(), Some(""));
    assert_eq!(r.crc.as_deref(), Some("not checked"));
    assert!(r.unknown.is_empty(), "nothing left unknown");
    // 1-1:31.4.0 comes with two values: the import and the export current thresholds.
    let two = "/Lux5\\253663629_D\r\n\r\n1-1:31.4.0(100*A)(-100*A)\r\n!";
    let r = &p1_parse(&["-q", "--ignore-crc"], two.as_bytes()).readings()[0];
    assert_eq!(
        (r.current_limit_import_a, r.current_limit_export_a),
        (Some(100.0), Some(-100.0))
    );
}

/// Issue 23 (7): a long power failure whose end the meter did not know (Kaifa, Landis+Gyr
/// E360: `(000101185853W)(0000067432*s)`) was left out of the log; it happened, and is kept
/// with its end null. The unused slots (2^31 - 1 s, or no time and no duration) are not.
#[test]
fn a_failure_with_an_unknown_end_is_kept_with_a_null_end_regression_23() {
    let failures = |name: &str| -> Vec<(Option<String>, u64)> {
        read(name)
            .0
            .power_failure_log
            .expect("a log")
            .iter()
            .map(|f| (f.end.is_set().then(|| f.end.to_string()), f.duration_s))
            .collect()
    };
    assert_eq!(
        failures("nl_dsmr42_kaifa_wassasin.txt"),
        [
            (Some("2022-08-26T14:58:25+02:00".to_string()), 4982),
            (Some("2018-12-18T16:22:32+01:00".to_string()), 817),
            (Some("2016-10-25T12:25:18+02:00".to_string()), 2667),
            (None, 67_432),
            (None, 620),
        ]
    );
    assert_eq!(
        failures("nl_dsmr50_mcs_zero_placeholders.txt"),
        [(None, 23), (None, 8), (None, 14)]
    );
    let (reading, _) = read("nl_dsmr42_kaifa_wassasin.txt");
    let line = serde_json::to_string(&p1_common::contract::record::Record::Reading(
        std::borrow::Cow::Borrowed(&reading),
    ))
    .expect("json");
    assert!(
        line.contains(r#"{"end":null,"duration_s":67432}"#),
        "{line}"
    );
}
