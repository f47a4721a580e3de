//! The binary as a Unix filter: files, exit statuses, closed pipes, full disks, help.

use std::process::Command;
use std::time::Duration;

use p1_testkit::{Finished, Proc, run};

use crate::common::*;

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
    let ids: Vec<_> = output
        .readings()
        .into_iter()
        .map(|r| r.header.unwrap_or_default())
        .collect();
    assert_eq!(ids, ["ISk5\\2MT382-1000", "KFM5KAIFA-METER"]);
    output
        .status_is(1)
        .stderr_contains("p1-parse: /nonexistent/capture.txt: no such file or directory")
        .stderr_lacks("os error");
}

#[test]
fn usage_errors_exit_2() {
    p1_parse(&["--no-such-flag"], b"").status_is(2);
    p1_parse(&["--utc-offset", "CET"], b"")
        .status_is(2)
        .stderr_contains("is not a UTC offset like +01:00");
}

/// Runs `p1-parse ARGS REDIRECT` under bash; stdout says p1-parse's exit status.
fn in_shell(args: &str, redirect: &str) -> Finished {
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
    assert_eq!(output.stdout().trim(), "0");
    output.stderr_lacks("Broken pipe");
}

#[test]
fn a_full_disk_is_an_error() {
    let v5 = fixtures().join("telegrams/v5.txt");
    let output = in_shell(&v5.display().to_string(), "> /dev/full");
    assert_eq!(output.stdout().trim(), "1");
    output.stderr_contains("p1-parse: stdout: no space left on device");
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
    let help = p1_parse(&["--help"], b"").stdout();
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
    p1_parse(&[], b"")
        .success()
        .stderr_contains("no telegram found");
}

/// Issue 10: a missing input is named, without a hint that the input's format is wrong.
#[test]
fn a_missing_input_is_not_called_a_capture_without_telegrams() {
    p1_parse(&["/nonexistent/capture.txt"], b"")
        .status_is(1)
        .stderr_contains("/nonexistent/capture.txt: no such file or directory")
        .stderr_lacks("no telegram found");
    // An input that opens and holds no telegram still gets the hint.
    p1_parse(&[], b"hello\n").stderr_contains("no telegram found");
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
    let readings = output.readings();
    assert_eq!(readings.len(), 1, "{}", output.stderr());
    assert_eq!(readings[0].message.as_deref().map(str::len), Some(40_000));
    assert_eq!(
        readings[0].received.as_deref(),
        Some("2024-06-01T12:00:00.100+02:00")
    );
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
    output.success();
    let kinds: Vec<String> = output
        .records()
        .iter()
        .map(|r| r.kind().to_string())
        .collect();
    assert_eq!(
        kinds,
        ["telegram", "reading", "telegram", "reading", "relay"]
    );
    let out = output.stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        [lines[0], lines[2], lines[4]],
        input.lines().collect::<Vec<_>>()[..],
        "the input's records as they came"
    );
    // Without it, a relay record is reported and not written.
    let output = p1_parse(&[], input.as_bytes());
    assert_eq!(output.readings().len(), 2);
    output.stderr_contains("a relay record, not a telegram envelope");
}
