//! p1-serve read by the real clients of what it imitates (issue 15): Home Assistant's
//! HomeWizard library, the Python dsmr_parser's socket reader on the raw fan-out, and
//! Prometheus's own linter on /metrics.

use std::io::Write as _;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use p1_testkit::telegram::TelegramBuilder;
use p1_testkit::{Proc, free_port, skip_without, test_venv_python, wait_until};
use serde_json::Value;

use crate::common::{FLUVIUS_V171_DATA, reading_line};

const WAIT: Duration = Duration::from_secs(20);

fn client(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/it/clients/{name}"))
}

fn serve(extra: &[&str]) -> (Proc, u16) {
    let port = free_port();
    let proc = Proc::spawn(
        Command::new(env!("CARGO_BIN_EXE_p1-serve"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--no-mdns",
                "--rate",
                "1000",
            ])
            .args(extra),
    );
    wait_until("p1-serve listens", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    (proc, port)
}

/// The body of `GET path`.
fn get(port: u16, path: &str) -> String {
    p1_testkit::http::get(port, path)
        .expect("an answer")
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string())
}

#[test]
fn home_assistants_homewizard_library_reads_the_reading_and_presses_its_buttons_regression_15_regression_23()
 {
    let Some(python) = test_venv_python() else {
        return;
    };
    let (mut serve, port) = serve(&["--serial", "3c39e7aabbcc"]);
    serve.write(format!("{}\n", reading_line("fluvius_v171")).as_bytes());
    wait_until("data served", || {
        get(port, "/api/v1/data").contains("total_power_import_kwh")
    });
    let output = p1_testkit::run(
        Command::new(&python)
            .arg(client("homewizard.py"))
            .arg(format!("127.0.0.1:{port}")),
        b"",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let got: Value = serde_json::from_slice(&output.stdout).expect("the client's JSON");
    // fluvius_v171: 0-0:96.1.1(3153414733313031303231363035)
    assert_eq!(got["product_type"], "HWE-P1");
    assert_eq!(got["serial"], "3c39e7aabbcc");
    assert_eq!(got["unique_meter_id"], "1SAG3101021605");
    for (_, attribute, value) in FLUVIUS_V171_DATA {
        assert_eq!(got[attribute], value, "{attribute}");
    }
    assert_eq!(
        got["gas_unique_id"], "7FLO2119033733",
        "0-1:96.1.1(37464C4F32313139303333373333)"
    );
    // Issue 23 (14): the Identify button and the Cloud switch are taken (no 405, no
    // traceback in Home Assistant's log); there is no cloud to join; no Wi-Fi signal is
    // made up.
    assert_eq!(
        (&got["identified"], &got["cloud_set"], &got["cloud_enabled"]),
        (&Value::Bool(true), &Value::Bool(true), &Value::Bool(false))
    );
    assert_eq!(got["wifi_ssid"], "");
    assert_eq!(got["wifi_strength"], Value::Null);
}

/// A telegram whose import register is `n` Wh, so that each can be told apart.
fn numbered_telegram(n: u32) -> String {
    TelegramBuilder::new("FLU5\\253769484_A")
        .line("0-0:96.1.4(50217)")
        .line("0-0:96.1.1(3153414733313031303231363035)")
        .line("0-0:1.0.0(200512135409S)")
        .line(&format!("1-0:1.8.1({:06}.{:03}*kWh)", n / 1000, n % 1000))
        .line("1-0:1.7.0(00.000*kW)")
        .line("1-0:2.7.0(00.000*kW)")
        .build()
}

fn envelope(telegram: &str, invalid: bool) -> String {
    let mut value = serde_json::json!({
        "type": "telegram", "received": "2020-05-12T13:54:10.012+02:00",
        "source": "test", "telegram": telegram,
    });
    if invalid {
        value["invalid"] = "CRC mismatch".into();
    }
    format!("{value}\n")
}

/// Issue 15: the Python dsmr_parser's socket reader, as Home Assistant's DSMR integration in
/// network mode, gets every valid telegram from the raw fan-out, in order, and none of the
/// invalid ones.
#[test]
fn dsmr_parsers_socket_reader_gets_every_valid_telegram_regression_15() {
    let Some(python) = test_venv_python() else {
        return;
    };
    let raw = free_port();
    let (mut serve, _) = serve(&["--raw-listen", &format!("127.0.0.1:{raw}")]);
    let mut reader = Proc::spawn(
        Command::new(&python)
            .arg(client("dsmr_socket.py"))
            .args(["127.0.0.1", &raw.to_string(), "20"])
            .stdin(Stdio::null()),
    );
    // It connects when it starts reading: feed until it has 20, an invalid one between each.
    let deadline = Instant::now() + WAIT;
    let mut n = 1000;
    let mut values = Vec::new();
    while values.len() < 20 {
        assert!(Instant::now() < deadline, "the reader got {values:?}");
        serve.write(envelope(&numbered_telegram(n), false).as_bytes());
        serve.write(envelope(&numbered_telegram(999_999), true).as_bytes());
        n += 1;
        while let Some(line) = reader.next_stdout(Duration::from_millis(50)) {
            if line != "connected" {
                values.push(line);
            }
        }
    }
    let first: f64 = values[0].parse().expect("a number");
    for (i, value) in values.iter().enumerate() {
        let kwh: f64 = value.parse().expect("a number");
        assert!(
            (kwh - (first + i as f64 / 1000.0)).abs() < 1e-9,
            "telegram {i}: {kwh} after {first}: {values:?}"
        );
    }
    assert!(reader.wait(WAIT).success());
}

#[test]
fn promtool_finds_no_problem_in_the_metrics_regression_15() {
    if skip_without(&["promtool"]) {
        return;
    }
    let (mut serve, port) = serve(&[]);
    for name in ["fluvius_v171", "v5_two_mbus"] {
        serve.write(format!("{}\n", reading_line(name)).as_bytes());
    }
    serve.write(
        b"{\"type\":\"relay\",\"time\":\"2024-06-01T12:00:00+02:00\",\"load\":\"boiler\",\"state\":\"on\",\"reason\":\"r\"}\n\
          {\"type\":\"peak\",\"time\":\"2024-06-01T12:00:00+02:00\",\"quarter_start\":\"2024-06-01T12:00:00+02:00\",\"elapsed_s\":0,\
          \"average_kw\":0.5,\"projected_kw\":0.5,\"budget_kw\":2.3,\"headroom_kw\":1.8,\"allowed_kw\":2.3}\n",
    );
    serve.write(envelope(&numbered_telegram(1), false).as_bytes());
    let mut metrics = String::new();
    wait_until("the peak and the M-Bus metrics", || {
        metrics = get(port, "/metrics");
        metrics.contains("p1_peak_headroom_watts") && metrics.contains("p1_mbus_")
    });
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(metrics.as_bytes())
        .expect("write");
    let output = check.wait_with_output().expect("promtool output");
    assert!(
        output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
        "promtool: {}{}\n{metrics}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        metrics.contains("p1_load_on{load=\"boiler\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("p1_peak_headroom_watts{} 1800"),
        "{metrics}"
    );
}
