//! p1-influx's test helpers over the shared test kit: readings made from the fixtures, and
//! the real p1-influx binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use p1_common::contract::reading::Reading;
use p1_common::protocol::decode::decode;
use p1_common::protocol::meter_time::ClockZone;

pub use p1_testkit::influxd::Influxd;
pub use p1_testkit::{Finished, Proc, Signal, TempDir, skip_without};

pub fn fixture_reading(name: &str) -> Reading {
    let path = format!(
        "{}/../tests/fixtures/telegrams/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(path).expect("fixture");
    let mut reading = Reading::default();
    let mut issues = Vec::new();
    decode(&bytes, ClockZone::default(), &mut reading, &mut issues);
    reading
}

/// `n` distinct readings, one a second from `start_secs`, the import changing with i.
pub fn numbered_readings(n: usize, start_secs: i64) -> String {
    (0..n)
        .map(|i| {
            let time = chrono::DateTime::from_timestamp(start_secs + i as i64, 0).expect("time").to_rfc3339();
            format!(
                "{{\"type\":\"reading\",\"meter_id\":\"M1\",\"time\":\"{time}\",\"power_import_kw\":{}.5,\"tariff\":1}}\n",
                i % 7
            )
        })
        .collect()
}

pub fn p1_influx(args: &[&str], stdin: &str, envs: &[(&str, &str)]) -> Finished {
    let mut command = Command::new(env!("CARGO_BIN_EXE_p1-influx"));
    command
        .args(args)
        .env_remove("INFLUX_TOKEN")
        .env_remove("INFLUX_PASSWORD");
    without_runtime_dir(&mut command);
    if !envs.iter().any(|(k, _)| RUNTIME_DIRS.contains(k)) {
        disk_only_unless_given(&mut command, args);
    }
    for (k, v) in envs {
        command.env(k, v);
    }
    p1_testkit::run(&mut command, stdin.as_bytes())
}

/// A long-running p1-influx with `args` and its own spool.
pub fn spawn_p1_influx(args: &[&str], spool: &Path) -> Proc {
    let mut command = Command::new(env!("CARGO_BIN_EXE_p1-influx"));
    command
        .args(args)
        .arg("--spool-dir")
        .arg(spool)
        .env_remove("INFLUX_TOKEN")
        .env_remove("INFLUX_PASSWORD");
    without_runtime_dir(&mut command);
    disk_only_unless_given(&mut command, args);
    Proc::spawn(&mut command)
}

/// The variables that give p1-influx a runtime directory for its spool.
const RUNTIME_DIRS: [&str; 2] = ["RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR"];

fn without_runtime_dir(command: &mut Command) {
    for variable in RUNTIME_DIRS {
        command.env_remove(variable);
    }
}

/// The spool on disk only (p1-influx would take /dev/shm), unless the test gives
/// `--spool-hot` itself.
fn disk_only_unless_given(command: &mut Command, args: &[&str]) {
    if !args.contains(&"--spool-hot") {
        command.args(["--spool-hot", "none"]);
    }
}

/// The segment files (`.lp`, `.open`) of a spool directory: its targets' directories.
pub fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() && name.starts_with("target-") {
            files.extend(segment_files(&path));
        } else if path.extension().is_some_and(|x| x == "lp" || x == "open") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The directory of the one target p1-influx spooled for in `dir`.
pub fn target_dir(dir: &Path) -> PathBuf {
    let targets = p1_testkit::fs::children(dir, "target-");
    assert_eq!(
        targets.len(),
        1,
        "one target in {}: {targets:?}",
        dir.display()
    );
    targets[0].clone()
}

/// Lines waiting in a spool directory.
pub fn spooled_lines(dir: &Path) -> usize {
    segment_files(dir)
        .iter()
        .map(|path| {
            std::fs::read(path)
                .unwrap_or_default()
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
        })
        .sum()
}

/// A fixture's reading as the NDJSON line p1-parse writes, without its newline.
pub fn reading_line(name: &str) -> String {
    let reading = fixture_reading(name);
    let record = p1_common::contract::record::Record::Reading(std::borrow::Cow::Borrowed(&reading));
    serde_json::to_string(&record).expect("a reading serialises")
}
