//! Encrypted meters (issue 16): every frame of the fixtures gives its documented result,
//! frames in fragments through a pseudo-terminal come out whole and in order, the simulator
//! plays an encrypted Smarty, and the keys are read from files others cannot read.

use std::io::Write;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::time::Duration;

use p1_common::contract::envelope::TelegramEnvelope;

use crate::common::*;

const WAIT: Duration = Duration::from_secs(10);
const T210_KEY: &str = "5A6B3C2D1E0F9A8B7C6D5E4F30211203";
const OWN_AUTH_KEY: &str = "A1B2C3D4E5F60718293A4B5C6D7E8F90";
const OPENHAB_KEY: &str = "D491470F47126332B07D1923B3504188";

fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../tests/fixtures/encrypted/{name}"))
}

/// A key file, owner-only.
fn key_file(dir: &TempDir, name: &str, key: &str) -> String {
    let path = dir.path(name);
    std::fs::write(&path, format!("{key}\n")).expect("key file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path.to_string_lossy().into_owned()
}

#[test]
fn the_stream_gives_three_telegrams_one_tag_failure_and_one_replay_regression_16() {
    let dir = TempDir::new("encrypted-stream");
    let key = key_file(&dir, "key", T210_KEY);
    let stream = fixture("stream.bin").to_string_lossy().into_owned();
    let output = p1_read_output(&["--key-file", &key, &stream], b"");
    output.success();
    let got = output.envelopes();
    let counters: Vec<u32> = got.iter().filter_map(|e| e.frame_counter).collect();
    assert_eq!(counters, [1000, 1001, 1002]);
    let plaintext = std::fs::read_to_string(fixture("t210dr_plaintext.txt")).expect("plaintext");
    for envelope in &got {
        assert_eq!(envelope.system_title.as_deref(), Some("5341474455667788"));
        assert_eq!(
            envelope.telegram,
            plaintext.as_str(),
            "the decrypted telegram"
        );
    }
    let log = output.stderr();
    assert!(log.contains("frame 1001: its tag does not verify"), "{log}");
    assert!(log.contains("--auth-key-file"), "says what to check: {log}");
    assert!(log.contains("frame 1001 after 1002: a replay"), "{log}");
    assert!(
        log.contains("3 frames decrypted, 1 failed their tag, 1 replayed"),
        "{log}"
    );
}

#[test]
fn the_real_smarty_frame_decrypts_to_its_plaintext_byte_for_byte_regression_16() {
    let dir = TempDir::new("encrypted-openhab");
    let key = key_file(&dir, "key", OPENHAB_KEY);
    let frame = fixture("openhab_smarty_frame.bin")
        .to_string_lossy()
        .into_owned();
    // Its plaintext was anonymised, so its CRC fails: --keep-invalid shows it anyway.
    let output = p1_read_output(
        &["--key-file", &key, "--raw", "--keep-invalid", &frame],
        b"",
    );
    let plaintext = std::fs::read(fixture("openhab_smarty_plaintext.txt")).expect("plaintext");
    assert!(output.stdout == plaintext, "{}", output.stderr());
    assert!(
        output.stderr().contains("CRC mismatch"),
        "the CRC is still checked"
    );
}

#[test]
fn a_meter_with_its_own_authentication_key_fails_without_it_and_decrypts_with_it_regression_16() {
    let dir = TempDir::new("encrypted-austria");
    let key = key_file(&dir, "key", T210_KEY);
    let auth = key_file(&dir, "auth", OWN_AUTH_KEY);
    let frame = fixture("austria_style_own_ak_fc77.bin")
        .to_string_lossy()
        .into_owned();
    let output = p1_read_output(&["--key-file", &key, &frame], b"");
    assert_eq!(
        output.status.code(),
        Some(78),
        "a key that fails every frame is fatal"
    );
    output.stderr_contains("none whose tag verifies");
    let output = p1_read_output(&["--key-file", &key, "--auth-key-file", &auth, &frame], b"");
    output.success();
    assert_eq!(output.envelopes()[0].frame_counter, Some(77));
    let bad = fixture("bad_tag_fc1001.bin").to_string_lossy().into_owned();
    let output = p1_read_output(&["--key-file", &key, &bad], b"");
    assert_eq!(output.status.code(), Some(78));
    assert!(output.stdout.is_empty());
}

#[test]
fn keys_come_from_files_others_cannot_read_regression_16() {
    let dir = TempDir::new("encrypted-keys");
    let key = key_file(&dir, "key", T210_KEY);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let stream = fixture("stream.bin").to_string_lossy().into_owned();
    let output = p1_read_output(&["--key-file", &key, &stream], b"");
    assert_eq!(output.status.code(), Some(78));
    assert!(output.stderr().contains("chmod 600"), "{}", output.stderr());
    let short = key_file(&dir, "short", "0011");
    let output = p1_read_output(&["--key-file", &short, &stream], b"");
    assert_eq!(output.status.code(), Some(78));
    output.stderr_contains("32 hexadecimal digits");
    assert!(!output.stderr().contains("0011"), "a key is never logged");
}

/// The simulated encrypted Smarty's `count` telegrams, with `extra` arguments.
fn run_encrypted_sim(key: &str, count: usize, extra: &[&str]) -> Finished {
    let count = count.to_string();
    let mut args = vec![
        "sim",
        "--encrypt-key-file",
        key,
        "--speed",
        "0",
        "--seed",
        "4",
    ];
    args.extend(["--start", "2024-06-15T10:00:00", "--count", &count]);
    args.extend_from_slice(extra);
    p1_read_output(&args, b"")
}

/// The simulator's encrypted Smarty: written raw it is a capture that p1-read reads back.
fn encrypted_sim(dir: &TempDir, count: usize) -> (String, Vec<u8>) {
    let key = key_file(dir, "sim-key", T210_KEY);
    let output = run_encrypted_sim(&key, count, &["--raw"]);
    output.success();
    (key, output.stdout.clone())
}

/// Splits a stream of whole frames at their lengths.
fn frames(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 13 <= bytes.len() {
        let len = usize::from(u16::from_be_bytes([bytes[at + 11], bytes[at + 12]]));
        out.push(&bytes[at..at + 13 + len]);
        at += 13 + len;
    }
    out
}

#[test]
fn the_simulator_plays_an_encrypted_smarty_regression_16() {
    let dir = TempDir::new("encrypted-sim");
    let (key, capture) = encrypted_sim(&dir, 5);
    assert_eq!(frames(&capture).len(), 5, "five frames");
    assert!(
        !capture.windows(4).any(|w| w == b"1-0:"),
        "nothing in the clear"
    );
    let output = p1_read_output(&["--key-file", &key, "-"], &capture);
    output.success();
    let got = output.envelopes();
    assert_eq!(got.len(), 5);
    assert_eq!(got[4].frame_counter, Some(5));
    let direct = run_encrypted_sim(&key, 5, &["--key-file", &key]);
    let telegrams = |envelopes: &[TelegramEnvelope<'_>]| -> Vec<String> {
        envelopes.iter().map(|e| e.telegram.to_string()).collect()
    };
    assert_eq!(telegrams(&direct.envelopes()), telegrams(&got));
    assert!(telegrams(&got)[0].starts_with('/'));
}

/// Issue 16: encrypted frames fed in 1-to-40-byte fragments through a pseudo-terminal, with
/// garbage between them, come out complete and in order.
#[test]
fn encrypted_frames_in_fragments_through_a_pty_come_out_whole_and_in_order_regression_16() {
    if skip_without(&["socat"]) {
        return;
    }
    let dir = TempDir::new("encrypted-pty");
    let (key, capture) = encrypted_sim(&dir, 20);
    let pty = PtyPair::new(dir.root());
    let device = pty.device_arg();
    let mut reader = p1_read(&["--key-file", &key, &device]);
    reader.wait_stderr("open at 115200 8N1", WAIT);
    let mut feed = pty.feed();
    let mut rng = Lcg(16);
    for frame in frames(&capture) {
        write_fragmented(&mut feed, frame, &mut rng, 40);
        let garbage: Vec<u8> = (0..rng.below(30)).map(|_| rng.below(256) as u8).collect();
        feed.write_all(&garbage).expect("garbage");
    }
    let counters: Vec<u32> = reader
        .stdout_lines(20, WAIT)
        .iter()
        .filter_map(|l| envelope(l).frame_counter)
        .collect();
    assert_eq!(counters, (1..=20).collect::<Vec<u32>>());
    assert_eq!(reader.terminate(WAIT).code(), Some(0));
}
