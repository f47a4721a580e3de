//! The binary as a Unix filter: files, exit statuses, closed pipes, full disks, help.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use p1_testkit::{Proc, run};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_p1-parse"))
}

#[test]
fn files_are_read_in_turn_and_a_missing_one_is_named() {
    let dir = fixtures().join("telegrams");
    let output = run(
        bin()
            .arg(dir.join("v5.txt"))
            .arg("/nonexistent/capture.txt")
            .arg(dir.join("v4_2.txt")),
        b"",
    );
    assert_eq!(output.status.code(), Some(1));
    let ids: Vec<_> = readings(&output)
        .iter()
        .map(|r| r["header"].clone())
        .collect();
    assert_eq!(ids, ["ISk5\\2MT382-1000", "KFM5KAIFA-METER"]);
    assert!(
        stderr(&output).contains("p1-parse: /nonexistent/capture.txt: no such file or directory")
            && !stderr(&output).contains("os error")
    );
}

#[test]
fn usage_errors_exit_2() {
    let output = p1_parse(&["--no-such-flag"], b"");
    assert_eq!(output.status.code(), Some(2));
    let output = p1_parse(&["--utc-offset", "CET"], b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("is not a UTC offset like +01:00"));
}

/// Runs `p1-parse ARGS REDIRECT` under bash; stdout says p1-parse's exit status.
fn in_shell(args: &str, redirect: &str) -> std::process::Output {
    let script = format!(
        "{} {args} {redirect}; echo ${{PIPESTATUS[0]}}",
        env!("CARGO_BIN_EXE_p1-parse")
    );
    run(Command::new("bash").args(["-c", &script]), b"")
}

#[test]
fn a_closed_stdout_is_a_quiet_success() {
    let dir = p1_testkit::TempDir::new("parse-pipe");
    let capture = dir.path("capture.txt");
    std::fs::write(&capture, telegram("fluvius_v171.txt").repeat(5000)).expect("write");
    let output = in_shell(&capture.display().to_string(), "| head -c 64 > /dev/null");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "0");
    assert!(
        !stderr(&output).contains("Broken pipe"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_full_disk_is_an_error() {
    let v5 = fixtures().join("telegrams/v5.txt");
    let output = in_shell(&v5.display().to_string(), "> /dev/full");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1");
    assert!(
        stderr(&output).contains("p1-parse: stdout: no space left on device"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn each_reading_is_flushed_before_more_input_arrives() {
    let mut parse = Proc::spawn(bin().arg("-q"));
    for name in ["v5.txt", "v4_2.txt"] {
        parse.write(&telegram(name));
        let line = parse
            .next_stdout(Duration::from_secs(10))
            .expect("a reading while stdin stays open");
        assert!(line.contains("\"type\":\"reading\""), "{line}");
    }
    parse.close_stdin();
    assert!(parse.wait(Duration::from_secs(10)).success());
}

#[test]
fn help_documents_the_schema_and_exit_statuses() {
    let output = p1_parse(&["--help"], b"");
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

/// Issue 10: a missing input is named, without a hint that the input's format is wrong.
#[test]
fn a_missing_input_is_not_called_a_capture_without_telegrams() {
    let output = p1_parse(&["/nonexistent/capture.txt"], b"");
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr(&output);
    assert!(
        stderr.contains("/nonexistent/capture.txt: no such file or directory"),
        "{stderr}"
    );
    assert!(!stderr.contains("no telegram found"), "{stderr}");
    // An input that opens and holds no telegram still gets the hint.
    let output = p1_parse(&[], b"hello\n");
    assert!(stderr_of(&output).contains("no telegram found"));
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Issue 10: the envelope line limit follows --max-frame (it was 4 x the default frame).
#[test]
fn an_envelope_as_long_as_max_frame_allows_is_read() {
    let message: String = "41".repeat(40_000); // 80,000 hex digits, more than 4 x 16 KiB
    let telegram = p1_testkit::telegram::TelegramBuilder::new("FLU5\\253769484_A")
        .line("0-0:1.0.0(240601120000S)")
        .line(&format!("0-0:96.13.0({message})"))
        .line("1-0:1.7.0(00.512*kW)")
        .build();
    let envelope = serde_json::json!({
        "type": "telegram",
        "received": "2024-06-01T12:00:00.100+02:00",
        "source": "test",
        "telegram": telegram,
    });
    let line = format!("{envelope}\n");
    let output = p1_parse(&["--max-frame", "100000"], line.as_bytes());
    let readings = readings(&output);
    assert_eq!(readings.len(), 1, "{}", stderr_of(&output));
    assert_eq!(readings[0]["message"].as_str().map(str::len), Some(40_000));
    assert_eq!(readings[0]["received"], "2024-06-01T12:00:00.100+02:00");
}

/// Issue 11: with --passthrough the input's records come out too, each before its reading,
/// so that one stream runs through the whole pipeline.
#[test]
fn passthrough_copies_the_input_records_before_their_readings() {
    let envelopes: String = ["v5.txt", "v4_2.txt"]
        .iter()
        .map(|name| {
            let telegram = String::from_utf8(telegram(name)).expect("utf-8");
            let envelope = serde_json::json!({
                "type": "telegram", "received": "2024-06-01T10:00:00.100+02:00",
                "source": "test", "telegram": telegram,
            });
            format!("{envelope}\n")
        })
        .collect();
    let relay = r#"{"type":"relay","time":"2024-06-01T10:00:01+02:00","load":"boiler","state":"off","reason":"start"}"#;
    let input = format!("{envelopes}{relay}\n");
    let output = p1_parse(&["--passthrough"], input.as_bytes());
    assert!(output.status.success(), "{}", stderr_of(&output));
    let out = String::from_utf8(output.stdout).expect("utf-8");
    let kinds: Vec<&str> = out
        .lines()
        .map(|l| {
            if l.contains(r#""type":"telegram""#) {
                "telegram"
            } else if l.starts_with(r#"{"type":"reading""#) {
                "reading"
            } else {
                l
            }
        })
        .collect();
    assert_eq!(kinds, ["telegram", "reading", "telegram", "reading", relay]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        [lines[0], lines[2]],
        envelopes.lines().collect::<Vec<_>>()[..]
    );
    // Without it, a relay record is reported and not written.
    let output = p1_parse(&[], input.as_bytes());
    assert_eq!(readings(&output).len(), 2);
    assert!(stderr_of(&output).contains("a relay record, not a telegram envelope"));
}
