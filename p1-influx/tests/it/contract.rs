//! The record contract (#10): a reading field declared in one place, with its OBIS code, value
//! type and doc line, is decoded, documented and written to `InfluxDB` with a fixed type; and
//! the line protocol of every fixture is what it was before the contract moved.

use p1_common::contract::field::{FieldTable, integer_field_names, schema_rows};
use p1_common::contract::record::Record;
use p1_common::protocol::decode::decode;
use p1_common::protocol::meter_time::{ClockZone, MeterTime};
use p1_common::protocol::objects::{NotDecoded, one};
use p1_common::protocol::values::{Count, HexText, Quantity, Time, Unit};
use p1_influx::line_protocol::{Schema, TimeSource, reading_keys};
use p1_testkit::telegram::TelegramBuilder;

p1_common::reading_fields! {
    /// A reading type with two fields more than the shipped one.
    struct Extended, keys ExtendedKey {
        /// when p1-read received it
        received: String = [] NotDecoded,
        /// the identification line
        header: String = [] NotDecoded,
        /// decoded
        meter_id: String = ["0-0:96.1.1"] one(HexText),
        /// the meter's clock
        time: MeterTime = ["0-0:1.0.0"] one(Time),
        /// power drawn from the grid
        power_import_kw: f64 = ["1-0:1.7.0"] one(Quantity(Unit::KW)),
        /// the field added here, a quantity
        apparent_import_kw: f64 = ["1-0:9.7.0"] one(Quantity(Unit::KW)),
        /// the field added here, a count
        relay_switches: u64 = ["0-0:96.7.99"] one(Count),
    }
}

#[test]
fn a_field_declared_once_is_decoded_documented_and_exported_with_its_type() {
    let telegram = TelegramBuilder::new("X5")
        .line("0-0:96.1.1(4D31)")
        .line("0-0:1.0.0(240612120000S)")
        .line("1-0:1.7.0(00.250*kW)")
        .line("1-0:9.7.0(01500*W)")
        .line("0-0:96.7.99(00007)")
        .build();
    let mut reading = Extended::default();
    let mut issues = Vec::new();
    decode(
        telegram.as_bytes(),
        ClockZone::default(),
        &mut reading,
        &mut issues,
    );
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(reading.apparent_import_kw, Some(1.5));
    assert_eq!(reading.relay_switches, Some(7));
    assert!(reading.unknown.is_empty(), "{:?}", reading.unknown);

    let schema = schema_rows::<Extended>();
    let row = schema
        .split("\n  apparent_import_kw ")
        .nth(1)
        .and_then(|rest| rest.split("\n  relay_switches").next())
        .expect("documented");
    let row = row.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(row, "1-0:9.7.0 number the field added here, a quantity");
    assert!(
        schema.contains("relay_switches") && schema.contains("0-0:96.7.99"),
        "{schema}"
    );
    assert_eq!(integer_field_names::<Extended>(), ["relay_switches"]);

    let mut out = String::new();
    Schema::new("p1", &[], None, Vec::new(), TimeSource::Meter)
        .reading(&reading, 0, &mut out)
        .expect("a point");
    assert_eq!(
        out,
        "p1,meter_id=M1 apparent_import_kw=1.5,power_import_kw=0.25,relay_switches=7i 1718186400\n"
    );
    let names: Vec<&str> = Extended::fields().iter().map(|f| f.name).collect();
    assert_eq!(names.len(), 7, "{names:?}");
}

#[test]
fn every_fixture_gives_the_same_line_protocol_regression_10() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/golden");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .collect();
    names.sort();
    let input: String = names
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("golden"))
        .collect();
    let expected = std::fs::read_to_string(dir.join("all.lp")).expect("golden line protocol");
    let expected: Vec<&str> = expected.lines().collect();
    let schema = Schema::new("p1", &[], None, Vec::new(), TimeSource::Meter);
    let (mut got, mut at) = (String::new(), 0);
    for line in input.lines() {
        // As the binary reads it: only the keys that become points.
        let record = Record::from_json_selecting(line, reading_keys()).expect("a record");
        // A reading with no number gives no point, as before.
        let Ok(points) = schema.record(&record, 1_900_000_000, &mut got) else {
            continue;
        };
        // A reading with no clock of its own is stamped with now: then and now differ.
        if let Record::Reading(r) = &record
            && r.time.and_then(|t| t.timestamp()).is_none()
            && r.received.is_none()
        {
            let head = expected[at].rsplit_once(' ').expect("a timestamp").0;
            let stamped = format!("{head} 1900000000");
            assert!(got.contains(&stamped), "{stamped}");
            got = got.replace(&stamped, expected[at]);
        }
        at += points;
    }
    assert_eq!(at, expected.len(), "every golden line accounted for");
    assert_eq!(got.lines().collect::<Vec<_>>(), expected);
}
