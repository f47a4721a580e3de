//! Helpers for running the real p1-parse binary on fixtures.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

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
pub fn p1_parse(args: &[&str], stdin: &[u8]) -> Output {
    p1_testkit::run(
        Command::new(env!("CARGO_BIN_EXE_p1-parse")).args(args),
        stdin,
    )
}

/// The readings on stdout, parsed.
pub fn readings(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(output.stdout.clone())
        .expect("utf-8 stdout")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each stdout line is JSON"))
        .collect()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
