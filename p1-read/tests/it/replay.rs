//! p1-read on captures and stdin, and as a Unix filter.

use std::process::Command;
use std::time::Instant;

use crate::common::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_p1-read"))
}

fn capture(dir: &TempDir, telegrams: &[String]) -> std::path::PathBuf {
    let path = dir.path("capture.txt");
    std::fs::write(&path, telegrams.concat()).expect("write capture");
    path
}

#[test]
fn a_capture_is_replayed_as_envelopes_with_the_exact_text() {
    let dir = TempDir::new("replay");
    let telegrams = sim_telegrams(5, 8);
    let path = capture(&dir, &telegrams);
    let output = run(bin().arg(&path), b"");
    output.success();
    let envelopes = output.envelopes();
    assert_eq!(envelopes.len(), 5);
    for (envelope, telegram) in envelopes.iter().zip(&telegrams) {
        assert_eq!(envelope.telegram, telegram.as_str());
        assert_eq!(envelope.source, path.to_str().expect("utf-8 path"));
        let received: &str = &envelope.received;
        assert!(
            chrono::DateTime::parse_from_rfc3339(received).is_ok(),
            "{received}"
        );
        assert_eq!(
            received.len(),
            "2024-06-15T10:00:00.123+02:00".len(),
            "milliseconds: {received}"
        );
    }
}

#[test]
fn raw_output_is_a_capture_of_the_valid_telegrams() {
    let dir = TempDir::new("raw");
    let telegrams = sim_telegrams(4, 8);
    let mut input = b"noise before\r\n".to_vec();
    for (i, t) in telegrams.iter().enumerate() {
        let mut t = t.clone().into_bytes();
        if i == 2 {
            let at = t.len() / 3;
            t[at] ^= 1;
        }
        input.extend(t);
    }
    let path = dir.path("capture.txt");
    std::fs::write(&path, &input).expect("write");
    let output = run(bin().arg(&path).arg("--raw"), b"");
    let expected = [
        telegrams[0].as_str(),
        telegrams[1].as_str(),
        telegrams[3].as_str(),
    ]
    .concat();
    assert_eq!(output.stdout(), expected);
    assert!(output.stderr().contains("CRC mismatch"));
}

#[test]
fn keep_invalid_passes_a_corrupted_frame_on_marked() {
    let mut telegram = sim_telegrams(1, 8).remove(0).into_bytes();
    telegram[100] ^= 1;
    let output = run(bin().args(["-", "--keep-invalid"]), &telegram);
    let envelopes = output.envelopes();
    assert_eq!(envelopes.len(), 1);
    assert!(
        envelopes[0]
            .invalid
            .as_deref()
            .expect("marked")
            .starts_with("CRC mismatch: telegram says")
    );
    assert_eq!(envelopes[0].telegram.text().as_bytes(), &telegram[..]);
}

#[test]
fn realtime_paces_a_capture_by_the_telegrams_timestamps() {
    let dir = TempDir::new("realtime");
    // 3 s apart: the one-a-second pace of telegrams without a time would take 1 s, no pacing 0.
    let telegrams = sim_telegrams(4, 8);
    let path = capture(&dir, &[telegrams[0].clone(), telegrams[3].clone()]);
    let started = Instant::now();
    let output = run(bin().arg(&path).arg("--realtime"), b"");
    let elapsed = started.elapsed().as_secs_f64();
    assert!(output.status.success());
    assert_eq!(output.stdout.iter().filter(|&&b| b == b'\n').count(), 2);
    assert!(
        (2.8..6.0).contains(&elapsed),
        "two telegrams 3 s apart take 3 s: {elapsed}"
    );
}

#[test]
fn a_missing_capture_exits_66_and_bad_usage_2() {
    let output = run(bin().arg("no-such-capture.txt"), b"");
    assert_eq!(output.status.code(), Some(66));
    assert!(
        output
            .stderr()
            .starts_with("p1-read: no-such-capture.txt: no such file or directory\n")
    );
    let output = run(bin().args(["sim", "--data-bits", "9"]), b"");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_closed_stdout_ends_it_quietly() {
    let script = format!(
        "{} sim --speed 0 | head -c 4096 > /dev/null; echo ${{PIPESTATUS[0]}}",
        env!("CARGO_BIN_EXE_p1-read")
    );
    let output = run(Command::new("bash").args(["-c", &script]), b"");
    assert_eq!(output.stdout().trim(), "0");
    assert!(!output.stderr().contains("Broken pipe"));
}

#[test]
fn help_names_the_default_device_and_why_and_the_exit_statuses() {
    let output = run(bin().arg("--help"), b"");
    let help = output.stdout();
    assert!(
        help.contains("/dev/ttyUSB0, is what a USB P1 cable"),
        "{help}"
    );
    assert!(help.contains("66  the source cannot be opened at start"));
}
