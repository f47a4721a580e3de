//! Noise through p1-read and p1-parse (issue 23): no reading comes of it, and the warnings
//! about it are few, each with its count so far, and a summary.

use std::process::Command;

use crate::common::binaries;

/// `n` bytes of noise, the same every run (xorshift).
fn noise(n: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[3]
        })
        .collect()
}

/// Issue 23 (11, 12): 100 KB of random bytes gave a reading (a frame without a CRC whose
/// header and lines are control characters), and 10 MB gave 39,358 warning lines.
#[test]
fn noise_gives_no_reading_and_few_warnings_regression_23() {
    let bin = binaries();
    let dir = p1_testkit::TempDir::new("noise");
    let capture = dir.path("noise.bin");
    // With, in the middle, a frame without a CRC of control characters, which was read.
    let mut bytes = noise(4_000_000);
    bytes.splice(
        2_000_000..2_000_000,
        *b"\r\n/\x01\x02\x03\x04\r\n\x05(\x06)\r\n!\r\n",
    );
    std::fs::write(&capture, bytes).expect("noise");
    let read = p1_testkit::run(Command::new(bin.join("p1-read")).arg(&capture), b"");
    let told = read.stderr();
    let dropped: Vec<&str> = told.lines().filter(|l| l.contains(": dropped (")).collect();
    assert!(
        (11..=40).contains(&dropped.len()),
        "{} warnings: {told}",
        dropped.len()
    );
    assert!(dropped[0].ends_with("(1 so far)"), "{}", dropped[0]);
    assert!(dropped.last().is_some_and(|l| l.contains("so far)")));
    let summary = told
        .lines()
        .find(|l| l.contains("telegrams written,"))
        .expect("a summary");
    let count: u64 = summary
        .split(", ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(count > 10_000, "{summary}");
    assert!(told.lines().count() < 50, "{told}");

    // The raw capture straight into p1-parse too: no reading, few lines.
    let parsed = p1_testkit::run(
        &mut Command::new(bin.join("p1-parse")),
        &std::fs::read(&capture).expect("noise"),
    );
    assert_eq!(parsed.readings().len(), 0, "{}", parsed.stderr());
    assert!(parsed.stderr().lines().count() < 50, "{}", parsed.stderr());
    // And p1-read's envelopes through p1-parse.
    let envelopes = p1_testkit::run(&mut Command::new(bin.join("p1-parse")), &read.stdout);
    assert_eq!(envelopes.readings().len(), 0);
}
