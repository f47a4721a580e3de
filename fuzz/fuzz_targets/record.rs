//! The NDJSON record reader every stage uses, and what p1-parse and p1-influx write from a
//! record: any bytes read as a record or an error, never a panic; a reading that reads
//! writes the same JSON by the generated writer as by serde, reads back the same, and turns
//! into line protocol.
//!
//!     RUSTC_BOOTSTRAP=1 cargo fuzz run record -- -max_total_time=60
#![no_main]

use libfuzzer_sys::fuzz_target;
use p1_common::contract::json::WriteJson;
use p1_common::contract::reading::ReadingKey;
use p1_common::contract::record::Record;
use p1_influx::line_protocol::{Schema, TimeSource, reading_keys};

fuzz_target!(|data: &[u8]| {
    let Ok(record) = Record::from_slice(data) else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(data) {
        // The stages' selective readers take whatever the full reader takes.
        assert!(Record::from_json_selecting(text, reading_keys()).is_ok());
        let few = ReadingKey::select(&[ReadingKey::time, ReadingKey::power_import_kw]);
        assert!(Record::from_json_selecting(text, few).is_ok());
    }
    let schema = Schema::new("p1", &[], None, Vec::new(), TimeSource::Meter);
    let mut lines = String::new();
    let _ = schema.record(&record, 1_700_000_000, &mut lines);
    if let Record::Reading(reading) = &record {
        let mut fast = Vec::new();
        reading.write_json(&mut fast);
        let derived = serde_json::to_vec(&record).expect("a reading serialises");
        assert_eq!(fast, derived, "the generated writer is the derived form");
        let back = Record::from_slice(&fast).expect("what is written reads back");
        let Record::Reading(again) = back else {
            panic!("a reading reads back as a reading");
        };
        let mut twice = Vec::new();
        again.write_json(&mut twice);
        assert_eq!(twice, fast, "and writes the same again");
    }
});
