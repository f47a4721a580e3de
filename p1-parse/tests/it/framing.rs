//! Framing through the real binary: whatever surrounds the telegrams, every valid one comes
//! out, in order, and nothing else.

use p1_testkit::Finished;

use crate::common::*;

fn meter_ids(output: &Finished) -> Vec<String> {
    output
        .readings()
        .into_iter()
        .map(|r| r.meter_id.unwrap_or_default())
        .collect()
}

const A: &str = "fluvius_v171.txt"; // meter 1SAG3101021605
const B: &str = "fluvius_v171_alt.txt"; // meter 1SAG3100721326

#[test]
fn a_stream_that_starts_mid_telegram() {
    let a = telegram(A);
    let mut input = a[500..].to_vec();
    input.extend(telegram(B));
    let output = p1_parse(&[], &input);
    assert_eq!(meter_ids(&output), ["1SAG3100721326"]);
    output.stderr_contains("1 telegrams read, 1 emitted");
}

#[test]
fn telegrams_glued_with_and_without_line_ends() {
    let mut input = telegram(A);
    input.extend(telegram(B));
    let mut b_without_crlf = telegram(B);
    b_without_crlf.truncate(b_without_crlf.len() - 2);
    input.extend(&b_without_crlf);
    input.extend(telegram(A));
    let output = p1_parse(&[], &input);
    assert_eq!(
        meter_ids(&output),
        [
            "1SAG3101021605",
            "1SAG3100721326",
            "1SAG3100721326",
            "1SAG3101021605"
        ]
    );
}

#[test]
fn garbage_between_telegrams_is_skipped_and_counted() {
    let mut input = b"\x00\xff noise \r\n".to_vec();
    input.extend(telegram(A));
    input.extend(b"more noise without a slash\r\n\x7f\x80");
    input.extend(telegram(B));
    let output = p1_parse(&[], &input);
    assert_eq!(meter_ids(&output), ["1SAG3101021605", "1SAG3100721326"]);
    output.stderr_contains("41 bytes of garbage skipped");
}

#[test]
fn a_truncated_telegram_is_reported_and_the_next_is_read() {
    let a = telegram(A);
    let mut input = a[..600].to_vec();
    input.extend(telegram(B));
    let output = p1_parse(&[], &input);
    assert_eq!(meter_ids(&output), ["1SAG3100721326"]);
    let err = output.stderr();
    assert!(err.contains("stdin: byte 0: truncated telegram"), "{err}");
    assert!(err.contains("rejected: 1 truncated"), "{err}");
    // Truncated at the end of input too.
    let output = p1_parse(&[], &a[..600]);
    assert!(output.readings().is_empty());
    output.stderr_contains("truncated");
}

#[test]
fn a_capture_saved_with_lf_line_ends_is_checked_in_its_crlf_form() {
    let lf: Vec<u8> = telegram(A).into_iter().filter(|&b| b != b'\r').collect();
    let mut input = lf.clone();
    input.extend(telegram(B).into_iter().filter(|&b| b != b'\r'));
    let output = p1_parse(&[], &input);
    assert_eq!(meter_ids(&output), ["1SAG3101021605", "1SAG3100721326"]);
    let crlf = p1_parse(&[], &telegram(A)).readings();
    assert_eq!(
        p1_parse(&[], &lf).readings(),
        crlf,
        "same values either way"
    );
}

#[test]
fn an_oversize_frame_is_dropped_and_memory_stays_bounded() {
    let mut input = b"/XXX5\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'a', 40_000));
    input.extend(b"\r\n");
    input.extend(telegram(A));
    let output = p1_parse(&[], &input);
    assert_eq!(meter_ids(&output), ["1SAG3101021605"]);
    output.stderr_contains("1 oversize");
}

#[test]
fn a_corrupted_telegram_names_where_and_both_crcs() {
    let mut bad = telegram(A);
    let at = bad.windows(7).position(|w| w == b"015.758").expect("value");
    bad[at + 2] = b'6';
    let mut input = telegram(B);
    let offset = input.len();
    input.extend(&bad);
    input.extend(telegram(A));
    let output = p1_parse(&[], &input);
    output.success();
    assert_eq!(meter_ids(&output), ["1SAG3100721326", "1SAG3101021605"]);
    let err = output.stderr();
    let expected =
        format!("p1-parse: stdin: byte {offset}: CRC mismatch: telegram says 3AD7, computed ");
    assert!(err.contains(&expected), "{err}");
    assert!(
        err.contains("3 telegrams read, 2 emitted, rejected: 1 crc mismatch"),
        "{err}"
    );
}

#[test]
fn strict_stops_at_the_first_rejected_telegram_with_status_65() {
    let mut bad = telegram(A);
    let last = bad.len() - 3;
    bad[last] = if bad[last] == b'7' { b'8' } else { b'7' };
    let mut input = telegram(B);
    input.extend(&bad);
    input.extend(telegram(A));
    let output = p1_parse(&["--strict"], &input);
    output.status_is(65).stderr_contains("CRC mismatch");
    assert_eq!(meter_ids(&output), ["1SAG3100721326"]);
}

#[test]
fn envelopes_from_p1_read_mixed_with_raw_telegrams() {
    let envelope = serde_json::json!({
        "type": "telegram",
        "received": "2020-05-12T13:54:10.012+02:00",
        "source": "/dev/ttyUSB0",
        "telegram": String::from_utf8(telegram(A)).expect("utf-8"),
    });
    let mut input = format!("{envelope}\n").into_bytes();
    input.extend(telegram(B));
    input.extend(format!("{envelope}\n").into_bytes());
    input.extend(b"{not json\n");
    let output = p1_parse(&[], &input);
    let readings = output.readings();
    assert_eq!(readings.len(), 3);
    let received = Some("2020-05-12T13:54:10.012+02:00");
    assert_eq!(readings[0].received.as_deref(), received);
    assert_eq!(readings[0].meter_id.as_deref(), Some("1SAG3101021605"));
    assert!(readings[1].received.is_none());
    assert_eq!(readings[2].received.as_deref(), received);
    let bad_line = 3 + telegram(B).iter().filter(|&&b| b == b'\n').count();
    let err = output.stderr();
    assert!(
        err.contains(&format!("stdin: line {bad_line}: not a telegram envelope")),
        "{err}"
    );
}

#[test]
fn a_corrupted_telegram_inside_an_envelope_is_rejected() {
    let text = String::from_utf8(telegram(A))
        .expect("utf-8")
        .replace("234.7", "234.8");
    let envelope =
        serde_json::json!({"type": "telegram", "received": "x", "source": "s", "telegram": text});
    let output = p1_parse(&[], format!("{envelope}\n").as_bytes());
    assert!(output.readings().is_empty());
    output.stderr_contains("stdin: line 1: CRC mismatch");
}

#[test]
fn a_bad_line_inside_a_valid_telegram_keeps_the_telegram_regression_2() {
    // A CRC-valid telegram with an unreadable value: the value goes under "unknown".
    let body = "/TST5\\2TEST\r\n\r\n1-0:1.8.1(00x123.000*kWh)\r\n1-0:1.8.2(000002.000*kWh)\r\n1-0:1.7.0(01.500*kW)\r\n!";
    let crc = crc16_arc(body.as_bytes());
    let input = format!("{body}{crc:04X}\r\n");
    let output = p1_parse(&[], input.as_bytes());
    let r = &output.readings()[0];
    assert_eq!(r.energy_import_t2_kwh, Some(2.0));
    assert_eq!(r.power_import_kw, Some(1.5));
    assert_eq!(r.unknown["1-0:1.8.1"], ["00x123.000*kWh"]);
    assert!(r.energy_import_t1_kwh.is_none());
    output.stderr_contains("1-0:1.8.1(00x123.000*kWh): not a number");
}

/// CRC-16/ARC written out here so the test does not trust the code under test.
fn crc16_arc(bytes: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &b in bytes {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

#[test]
fn a_dsmr_5_telegram_without_its_crc_is_rejected() {
    let text = String::from_utf8(telegram("v5.txt")).expect("utf-8");
    let stripped = text.replace("!6EEE", "!");
    let output = p1_parse(&[], stripped.as_bytes());
    assert!(output.readings().is_empty());
    output.stderr_contains("no CRC, though the telegram's version");
    // DSMR 3 sends none, and is read.
    assert_eq!(p1_parse(&[], &telegram("v3.txt")).readings().len(), 1);
}
