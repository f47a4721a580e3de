//! Helpers for running the real p1-parse binary on fixtures.

use std::path::{Path, PathBuf};
use std::process::Command;

use p1_common::contract::reading::Reading;
use p1_common::contract::record::Record;
use p1_common::protocol::meter_time::MeterTime;
use p1_testkit::Finished;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

pub fn telegram(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("telegrams").join(name)).expect("fixture")
}

pub fn all_telegram_names() -> Vec<String> {
    telegram_names(&fixtures().join("telegrams"))
}

/// The `.txt` files of `dir`, sorted.
pub fn telegram_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures dir")
        .map(|e| {
            e.expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8 name")
        })
        .filter(|n| {
            std::path::Path::new(n)
                .extension()
                .is_some_and(|e| e == "txt")
        })
        .collect();
    names.sort();
    names
}

/// Runs p1-parse with `args`, feeding `stdin`.
pub fn p1_parse(args: &[&str], stdin: &[u8]) -> Finished {
    p1_testkit::run(
        Command::new(env!("CARGO_BIN_EXE_p1-parse")).args(args),
        stdin,
    )
}

/// A timestamp as a reading holds it.
pub fn time(text: &str) -> MeterTime {
    MeterTime::parse_rfc3339(text).unwrap_or_else(|| panic!("not RFC 3339: {text}"))
}

/// The expected reading of telegram `name` in `dir`: `dir/expected/<name>.json`.
#[track_caller]
pub fn expected_reading(dir: &Path, name: &str) -> Reading {
    let path = dir.join("expected").join(name.replace(".txt", ".json"));
    let text = std::fs::read_to_string(&path).expect("the expected reading");
    match Record::from_json(text.trim()) {
        Ok(Record::Reading(expected)) => expected.into_owned(),
        _ => panic!("{}: not a reading", path.display()),
    }
}
