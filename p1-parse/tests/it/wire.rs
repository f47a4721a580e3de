//! The NDJSON wire format is a contract users' `jq` scripts rely on (#10): every fixture's
//! readings are byte for byte what p1-parse wrote before the record contract moved into
//! p1-common, and a record read back with `Record::from_json` writes the same bytes again.

use p1_common::contract::record::Record;

use crate::common::*;

fn golden(name: &str) -> String {
    let path = fixtures().join("golden").join(format!("{name}.ndjson"));
    std::fs::read_to_string(path).expect("golden NDJSON")
}

#[test]
fn every_fixture_gives_byte_identical_ndjson_regression_10() {
    let names = all_telegram_names();
    assert!(names.len() >= 15, "{names:?}");
    for name in names {
        let output = p1_parse(&["-q"], &telegram(&name));
        output.success();
        let stem = name.trim_end_matches(".txt");
        assert_eq!(output.stdout(), golden(stem), "{name}");
    }
}

#[test]
fn records_read_back_write_the_same_bytes() {
    for name in all_telegram_names() {
        let text = golden(name.trim_end_matches(".txt"));
        for line in text.lines() {
            let record = Record::from_json(line).expect("a p1 record");
            assert!(matches!(record, Record::Reading(_)), "{name}");
            assert_eq!(
                serde_json::to_string(&record).expect("serialises"),
                line,
                "{name}"
            );
        }
    }
}

#[test]
fn type_need_not_come_first_and_unknown_types_pass() {
    let moved = r#"{"power_import_kw":1.5,"type":"reading","tariff":2}"#;
    let Record::Reading(reading) = Record::from_json(moved).expect("read") else {
        panic!("a reading");
    };
    assert_eq!(
        (reading.power_import_kw, reading.tariff),
        (Some(1.5), Some(2))
    );
    let newer = r#"{"type":"forecast","solar_kw":1.2,"nested":{"a":[1,2]}}"#;
    assert!(matches!(Record::from_json(newer), Ok(Record::Other(kind)) if kind == "forecast"));
    for bad in [
        r#"{"power_import_kw":1}"#,
        "{",
        r#"{"type":"reading","tariff":"x"}"#,
        "[1]",
    ] {
        assert!(Record::from_json(bad).is_err(), "{bad}");
    }
}
