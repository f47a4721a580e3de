//! The binary as a Unix filter: files, exit statuses, closed pipes, full disks, help.

mod common;

use std::process::{Command, Stdio};

use common::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_p1-parse"))
}

#[test]
fn files_are_read_in_turn_and_a_missing_one_is_named() {
    let dir = fixtures().join("telegrams");
    let output = bin()
        .arg(dir.join("v5.txt"))
        .arg("/nonexistent/capture.txt")
        .arg(dir.join("v4_2.txt"))
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let ids: Vec<_> = readings(&output)
        .iter()
        .map(|r| r["header"].clone())
        .collect();
    assert_eq!(ids, ["ISk5\\2MT382-1000", "KFM5KAIFA-METER"]);
    assert!(
        stderr(&output).contains("p1-parse: /nonexistent/capture.txt: No such file or directory")
    );
}

#[test]
fn usage_errors_exit_2() {
    let output = bin().arg("--no-such-flag").output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    let output = bin().args(["--utc-offset", "CET"]).output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("is not a UTC offset like +01:00"));
}

#[test]
fn a_closed_stdout_is_a_quiet_success() {
    let dir = std::env::temp_dir().join(format!("p1-parse-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let capture = dir.join("capture.txt");
    std::fs::write(&capture, telegram("fluvius_v171.txt").repeat(5000)).expect("write");
    let mut child = bin()
        .arg(&capture)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 64];
    std::io::Read::read_exact(&mut stdout, &mut first).expect("some output");
    drop(stdout);
    let output = child.wait_with_output().expect("wait");
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(output.status.code(), Some(0));
    assert!(
        !stderr(&output).contains("Broken pipe"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_full_disk_is_an_error() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let output = bin()
        .arg(fixtures().join("telegrams/v5.txt"))
        .stdout(full)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("p1-parse: stdout: No space left on device"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn each_reading_is_flushed_before_more_input_arrives() {
    use std::io::{BufRead, BufReader, Write};
    let mut child = bin()
        .arg("-q")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    for name in ["v5.txt", "v4_2.txt"] {
        stdin.write_all(&telegram(name)).expect("write");
        stdin.flush().expect("flush");
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("a reading while stdin stays open");
        assert!(line.contains("\"type\":\"reading\""), "{line}");
    }
    drop(stdin);
    assert!(child.wait().expect("wait").success());
}

#[test]
fn help_documents_the_schema_and_exit_statuses() {
    let output = bin().arg("--help").output().expect("run");
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "demand_max_history",
        "0-0:98.1.0",
        "power_failure_log",
        "EXIT STATUS",
        "65",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn empty_input_says_no_telegram_was_found() {
    let output = p1_parse(&[], b"");
    assert!(output.status.success());
    assert!(stderr(&output).contains("no telegram found"));
}
