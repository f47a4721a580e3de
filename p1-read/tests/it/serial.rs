//! p1-read on a serial device, through real pseudo-terminals made by socat.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::common::*;

const WAIT: Duration = Duration::from_secs(10);

/// A pseudo-terminal pair in a directory of its own, and p1-read with `args` on its device,
/// which it has opened at DSMR 5's line settings (the default); `None` without socat (the
/// test is skipped).
fn reading_a_pty(name: &str, args: &[&str]) -> Option<(TempDir, PtyPair, Proc)> {
    if skip_without(&["socat"]) {
        return None;
    }
    let dir = TempDir::new(name);
    let pty = PtyPair::new(dir.root());
    let device = pty.device.to_string_lossy().into_owned();
    let mut reader = p1_read(&[&[device.as_str()], args].concat());
    reader.wait_stderr("open at 115200 8N1", WAIT);
    Some((dir, pty, reader))
}

#[test]
fn fragments_with_garbage_between_come_out_whole_and_in_order_and_a_corrupted_one_is_dropped() {
    let Some((_dir, pty, mut reader)) = reading_a_pty("fragments", &[]) else {
        return;
    };
    let device = pty.device.to_string_lossy().into_owned();

    let telegrams = sim_telegrams(30, 11);
    let corrupted = 17;
    let mut feed = pty.feed();
    let mut rng = Lcg(5);
    for (i, telegram) in telegrams.iter().enumerate() {
        let mut bytes = telegram.clone().into_bytes();
        if i == corrupted {
            let at = bytes.len() / 2;
            bytes[at] ^= 0x04;
        }
        write_fragmented(&mut feed, &bytes, &mut rng, 40);
        let garbage: Vec<u8> = (0..rng.below(30))
            .map(|_| b"xyz\r\n 0123()*"[rng.below(13) as usize])
            .collect();
        feed.write_all(&garbage).expect("garbage");
    }
    let expected: Vec<&String> = telegrams
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != corrupted)
        .map(|(_, t)| t)
        .collect();
    let got = telegrams_out(&mut reader, expected.len(), WAIT);
    assert_eq!(got.iter().collect::<Vec<_>>(), expected);
    let warning = reader.wait_stderr("CRC mismatch", WAIT);
    assert!(warning.contains(&format!("{device}: byte ")), "{warning}");
    assert!(warning.ends_with(": dropped (1 so far)"), "{warning}");

    let status = reader.terminate(WAIT);
    assert_eq!(status.code(), Some(0));
    let stderr = reader.rest_of_stderr(Duration::from_millis(500));
    assert!(
        stderr
            .iter()
            .any(|l| l.contains("29 telegrams written, 1 frames dropped")),
        "{stderr:#?}"
    );
}

#[test]
fn a_device_that_vanishes_and_comes_back_is_read_again_without_a_restart() {
    let Some((dir, mut pty, mut reader)) = reading_a_pty("vanish", &["-v"]) else {
        return;
    };
    let telegrams = sim_telegrams(4, 3);
    send(&mut pty.feed(), &telegrams[..1]);
    assert_eq!(telegrams_out(&mut reader, 1, WAIT), telegrams[..1]);

    pty.unplug();
    reader.wait_stderr("reopening with backoff", WAIT);
    // A reopening that finds no device, before the device comes back.
    reader.wait_stderr("no such device", WAIT);
    let pty = PtyPair::new(dir.root());
    reader.wait_stderr("open again after", Duration::from_secs(20));
    send(&mut pty.feed(), &telegrams[1..]);
    assert_eq!(telegrams_out(&mut reader, 3, WAIT), telegrams[1..]);
    assert_eq!(reader.terminate(WAIT).code(), Some(0));
}

#[test]
fn a_second_reader_on_the_same_device_fails_at_once_with_status_66() {
    let Some((_dir, pty, mut first)) = reading_a_pty("exclusive", &[]) else {
        return;
    };
    let device = pty.device.to_string_lossy().into_owned();
    let started = Instant::now();
    let second = p1_read_output(&[&device], b"");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(second.status.code(), Some(66));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("in use by another program"), "{stderr}");
    assert_eq!(first.terminate(WAIT).code(), Some(0));
}

#[test]
fn a_missing_device_at_start_exits_66_naming_the_cable() {
    let output = p1_read_output(&["/dev/ttyUSB-p1-test-missing"], b"");
    assert_eq!(output.status.code(), Some(66));
    let stderr = output.stderr();
    assert!(
        stderr.starts_with("p1-read: /dev/ttyUSB-p1-test-missing: "),
        "{stderr}"
    );
    assert!(stderr.contains("is the P1 cable plugged in?"), "{stderr}");
}

#[test]
fn sigterm_ends_it_within_a_second_with_status_0() {
    let Some((_dir, _pty, mut reader)) = reading_a_pty("sigterm", &[]) else {
        return;
    };
    let started = Instant::now();
    let status = reader.terminate(WAIT);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status.code(), Some(0));
}

#[test]
fn silence_is_reported_once_and_data_again_noticed() {
    let Some((_dir, pty, mut reader)) = reading_a_pty("idle", &["--idle-warning", "1"]) else {
        return;
    };
    reader.wait_stderr("no data for 1 s: check the cable", WAIT);
    // The silence goes on past the warning period again: nothing more is said.
    assert_eq!(reader.next_stderr(Duration::from_millis(1500)), None);
    send(&mut pty.feed(), &sim_telegrams(1, 1));
    reader.wait_stderr("data again after", WAIT);
    reader.stdout_lines(1, WAIT);
    reader.terminate(WAIT);
    let warnings = reader
        .rest_of_stderr(Duration::from_millis(500))
        .iter()
        .filter(|l| l.contains("no data for"))
        .count();
    assert_eq!(warnings, 1);
}

#[test]
fn bytes_without_telegrams_suggest_checking_the_baud_rate() {
    let Some((_dir, pty, mut reader)) = reading_a_pty("baud", &[]) else {
        return;
    };
    // What a 9600 baud meter looks like read at 115200: noise, no '/'.
    let noise: Vec<u8> = (0..10_000u32)
        .map(|i| [0x80u8, 0x00, 0xF8, 0x78][(i % 4) as usize])
        .collect();
    pty.feed().write_all(&noise).expect("write");
    reader.wait_stderr("wrong baud rate or parity?", WAIT);
    assert_eq!(reader.terminate(WAIT).code(), Some(0));
}
