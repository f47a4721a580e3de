//! The `decode_capture` example (#22) on a capture of two meters' telegrams with a corrupted
//! one between them: a line for each good telegram, the bad one counted.

use std::path::Path;
use std::process::Command;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/telegrams")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_example_decodes_a_capture_and_counts_what_it_drops() {
    let fluvius = fixture("fluvius_v171.txt");
    let mut corrupted = fixture("sagemcom_t210_d_r.txt");
    let digit = corrupted.iter().position(|&b| b == b'*').expect("a unit") - 1;
    corrupted[digit] = if corrupted[digit] == b'9' { b'8' } else { b'9' };
    let capture = [
        &fluvius[..],
        b"noise",
        &corrupted,
        &fixture("sagemcom_t210_d_r.txt"),
    ]
    .concat();
    let dir = std::env::temp_dir().join(format!("p1-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("capture");
    std::fs::write(&path, capture).unwrap();

    let build = Command::new(env!("CARGO"))
        .args([
            "build",
            "-q",
            "-p",
            "p1-common",
            "--example",
            "decode_capture",
        ])
        .status()
        .expect("cargo");
    assert!(build.success());
    // Beside this test's own directory (target/debug/deps), wherever the target is.
    let deps = std::env::current_exe().unwrap();
    let example = deps
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples/decode_capture");
    let output = Command::new(&example)
        .arg(&path)
        .output()
        .expect("the example");
    std::fs::remove_dir_all(&dir).unwrap();

    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("2020-05-12T13:54:09+02:00  import   0.000 kW"),
        "{stdout}"
    );
    assert!(lines[0].ends_with("24 values"), "{stdout}");
    assert!(!lines[1].contains("unread"), "{stdout}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(": CRC mismatch: telegram says "),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("decode_capture: 2 telegrams, 1 frames dropped\n"),
        "{stderr}"
    );
}
