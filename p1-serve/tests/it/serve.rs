//! p1-serve as a process on 127.0.0.1 (issue 15): the HomeWizard API and p1's JSON from the
//! reading fed in, stale data as an error, the limits against misbehaving clients while
//! stdin keeps being read, and the raw telegram fan-out with a client that never reads.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use p1_common::contract::live::Prices;
use p1_testkit::{Proc, free_port, wait_until};
use serde_json::Value;

use crate::common::{FLUVIUS_V171_DATA, fixtures, reading_line};

const WAIT: Duration = Duration::from_secs(15);

/// An envelope of a fixture telegram, as p1-read writes it.
fn envelope(name: &str) -> String {
    let telegram =
        std::fs::read_to_string(fixtures().join("telegrams").join(format!("{name}.txt")))
            .expect("telegram");
    serde_json::json!({
        "type": "telegram",
        "received": "2020-05-12T13:54:10.012+02:00",
        "source": "test",
        "telegram": telegram,
    })
    .to_string()
}

pub(crate) struct Server {
    proc: Proc,
    pub(crate) port: u16,
    raw: Option<u16>,
}

impl Server {
    pub(crate) fn start(extra: &[&str], raw: bool) -> Server {
        let port = free_port();
        let raw_port = raw.then(free_port);
        let mut command = Command::new(env!("CARGO_BIN_EXE_p1-serve"));
        command
            .args(["--listen", &format!("127.0.0.1:{port}"), "--no-mdns"])
            .args(extra);
        if let Some(raw) = raw_port {
            command.args(["--raw-listen", &format!("127.0.0.1:{raw}")]);
        }
        let server = Server {
            proc: Proc::spawn(&mut command),
            port,
            raw: raw_port,
        };
        wait_until("p1-serve listens", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        server
    }

    pub(crate) fn feed(&mut self, line: &str) {
        self.proc.write(format!("{line}\n").as_bytes());
    }

    /// A GET's status and body.
    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").expect("request");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer");
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (status, body.to_string())
    }

    pub(crate) fn json(&self, path: &str) -> (u16, Value) {
        let (status, body) = self.get(path);
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// Waits until `path` answers `status`.
    pub(crate) fn wait_status(&self, path: &str, status: u16) {
        wait_until(&format!("{path} answering {status}"), || {
            self.get(path).0 == status
        });
    }
}

#[test]
fn the_homewizard_api_gives_the_reading_fed_in_and_an_error_when_stale_regression_15() {
    let mut server = Server::start(&["--stale-after", "2", "--rate", "1000"], false);
    let (status, body) = server.json("/api/v1/data");
    assert_eq!(status, 503, "no reading yet: {body}");
    assert!(body["error"]["description"].is_string(), "{body}");

    server.feed(&reading_line("fluvius_v171"));
    server.wait_status("/api/v1/data", 200);
    let (_, api) = server.json("/api");
    assert_eq!(api["product_type"], "HWE-P1");
    assert_eq!(api["api_version"], "v1");
    assert_eq!(api["serial"].as_str().map(str::len), Some(12));
    let (_, data) = server.json("/api/v1/data");
    assert_eq!(data["total_power_import_t1_kwh"], 0.034);
    for (key, _, value) in FLUVIUS_V171_DATA {
        assert_eq!(data[key], value, "{key}");
    }
    assert_eq!(data["montly_power_peak_timestamp"], 200_509_134_558_u64);
    assert_eq!(data["total_gas_m3"], 112.384);
    assert_eq!(data["external"][0]["type"], "gas_meter");
    assert_eq!(data["smr_version"], 50);
    assert!(data["wifi_ssid"].is_string());

    let (status, reading) = server.json("/p1/reading");
    assert_eq!(status, 200);
    assert_eq!(reading["energy_import_t1_kwh"], 0.034);
    let (status, _) = server.json("/api/v1/state");
    assert_eq!(status, 404);
    assert_eq!(server.json("/api/v1/system").1["cloud_enabled"], false);
    let (status, _) = server.get("/nowhere");
    assert_eq!(status, 404);

    // No reading for --stale-after: consumers fail safe instead of acting on old power.
    server.wait_status("/api/v1/data", 503);
    let (_, stale) = server.json("/api/v1/data");
    assert!(
        stale["error"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("stale")),
        "{stale}"
    );
    server.proc.close_stdin();
    assert!(server.proc.wait(WAIT).success());
}

#[test]
fn the_last_valid_telegram_is_served_as_it_came_and_invalid_ones_are_counted_regression_15() {
    let mut server = Server::start(&["--rate", "1000"], false);
    server.feed(&reading_line("fluvius_v171"));
    server.feed(&envelope("fluvius_v171"));
    let mut invalid: Value = serde_json::from_str(&envelope("v5")).expect("json");
    invalid["invalid"] = "CRC mismatch".into();
    server.feed(&invalid.to_string());
    server.wait_status("/api/v1/telegram", 200);
    let (_, telegram) = server.get("/api/v1/telegram");
    let expected =
        std::fs::read_to_string(fixtures().join("telegrams/fluvius_v171.txt")).expect("telegram");
    assert_eq!(telegram, expected, "byte for byte, CRLF kept");
    let mut metrics = String::new();
    wait_until("the invalid telegram counted", || {
        metrics = server.get("/metrics").1;
        metrics.contains("p1_crc_errors_total 1") || metrics.contains("p1_crc_errors_total{} 1")
    });
    assert!(
        metrics.contains("p1_telegrams_received_total{} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("p1_energy_import_t1_joules_total{meter=\"1SAG3101021605\"} 122400"),
        "0.034 kWh in joules: {metrics}"
    );
}

/// Issue 15: a client that connects and sends nothing, one that sends 1 MB of headers, and
/// 1,000 rapid connections: the others are still served, and stdin is still read.
#[test]
fn misbehaving_clients_neither_starve_others_nor_stop_stdin_regression_15() {
    let mut server = Server::start(&[], false);
    server.feed(&reading_line("fluvius_v171"));
    server.wait_status("/api/v1/data", 200);
    let port = server.port;
    let silent = TcpStream::connect(("127.0.0.1", port)).expect("silent client");
    let big = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
        let _ = stream.write_all(b"GET /api HTTP/1.1\r\n");
        let header = format!("X-Big: {}\r\n", "a".repeat(1 << 20));
        let _ = stream.write_all(header.as_bytes());
        let mut answer = String::new();
        let _ = stream.set_read_timeout(Some(WAIT));
        let _ = stream.read_to_string(&mut answer);
        answer
    });
    // Answered before the storm: from one address the storm would take its connection slot.
    let answer = big.join().expect("big client");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "1 MB of headers: {}",
        &answer[..answer.len().min(80)]
    );
    let rapid = std::thread::spawn(move || {
        let mut refused = 0;
        for _ in 0..1000 {
            if TcpStream::connect(("127.0.0.1", port)).is_err() {
                refused += 1;
            }
        }
        refused
    });
    // Meanwhile stdin is read: a new reading shows at once.
    server.feed(&reading_line("v5"));
    wait_until("the new reading served", || {
        let (status, reading) = server.json("/p1/reading");
        status == 200 && reading["header"] == "ISk5\\2MT382-1000"
    });
    assert_eq!(
        rapid.join().expect("rapid client"),
        0,
        "connections accepted"
    );
    // Served after the storm, once this address's request rate has come down: asked at
    // 5 a second, below the limit.
    wait_until("/api answering 200 after the storm", || {
        let answered = server.json("/api").0 == 200;
        if !answered {
            std::thread::sleep(Duration::from_millis(200));
        }
        answered
    });
    drop(silent);
}

/// Issue 15: 20 raw clients, one of which never reads: every reading one gets every valid
/// telegram byte for byte, in order, and the never-reading one is dropped rather than
/// slowing the others or the pipeline.
#[test]
fn raw_clients_get_every_valid_telegram_and_one_that_never_reads_is_dropped_regression_15() {
    let mut server = Server::start(&["-v"], true);
    let raw = server.raw.expect("raw port");
    let names = ["fluvius_v171", "v5", "v4_2", "iskra_ie"];
    let texts: Vec<String> = names
        .iter()
        .map(|n| {
            std::fs::read_to_string(fixtures().join(format!("telegrams/{n}.txt")))
                .expect("telegram")
        })
        .collect();
    let count = 4000;
    let expected: String = (0..count)
        .map(|i| texts[i % texts.len()].as_str())
        .collect();
    let readers: Vec<_> = (0..19)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", raw)).expect("raw client");
            let want = expected.len();
            std::thread::spawn(move || {
                stream.set_read_timeout(Some(WAIT)).expect("timeout");
                let mut got = vec![0u8; want];
                stream.read_exact(&mut got).map(|()| (got, stream))
            })
        })
        .collect();
    let stuck = TcpStream::connect(("127.0.0.1", raw)).expect("stuck client");
    server.proc.wait_stderr("(20 clients)", WAIT);
    // Enough telegrams (3.4 MB) that the one that never reads fills its socket and queue.
    let started = Instant::now();
    for i in 0..count {
        server.feed(&envelope(names[i % names.len()]));
    }
    let took = started.elapsed();
    let mut open = Vec::new();
    for (n, reader) in readers.into_iter().enumerate() {
        let (got, stream) = reader.join().expect("reader").expect("every telegram");
        assert!(got == expected.as_bytes(), "client {n}: not byte for byte");
        // Still connected: only the stuck one may be dropped.
        open.push(stream);
    }
    // The stuck one's socket is full and its writer gives up: the next telegram drops it.
    let deadline = Instant::now() + WAIT;
    let dropped = loop {
        server.feed(&envelope(names[0]));
        if let Some(line) = server.proc.next_stderr(Duration::from_millis(100))
            && line.contains("dropped")
        {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "the stuck client was never dropped"
        );
    };
    assert!(dropped.contains("raw: 1 client(s) dropped"), "{dropped}");
    assert!(
        took < Duration::from_secs(10),
        "4,000 telegrams taken in {took:?} with a client that never reads"
    );
    drop(stuck);
}

/// Issue 26: `/p1/prices` gives the slot p1-relay last wrote and the next 24 hours of the
/// price file; `/p1/now` carries the slot; Prometheus the price.
#[test]
fn prices_are_served_with_the_next_24_hours_of_the_file_regression_26() {
    let dir = p1_testkit::TempDir::new("serve-prices");
    let file = dir.path("prices.ndjson");
    let slots: String = (0..30_u32)
        .map(|h| {
            let (day, hour) = (7 + (13 + h) / 24, (13 + h) % 24);
            format!(
                "{{\"time\":\"2026-12-{day:02}T{hour:02}:00:00+01:00\",\"price\":{}}}\n",
                f64::from(h) / 100.0
            )
        })
        .collect();
    std::fs::write(&file, slots).expect("write prices");
    let mut server = Server::start(&["--prices", file.to_str().expect("path")], false);
    let (_, empty) = server.get("/p1/prices");
    let empty: Prices = serde_json::from_str(&empty).expect("Prices");
    assert_eq!(empty, Prices::default());
    server.feed(r#"{"type":"price","start":"2026-12-07T14:00:00+01:00","end":"2026-12-07T15:00:00+01:00","value":0.01}"#);
    p1_testkit::wait_until("the price is in", || {
        server.get("/p1/prices").1.contains("0.01")
    });
    let (status, body) = server.get("/p1/prices");
    assert_eq!(status, 200);
    let prices: Prices = serde_json::from_str(&body).expect("Prices");
    assert_eq!(prices.current.as_ref().map(|p| p.value), Some(0.01));
    assert_eq!(prices.next_24h.len(), 24);
    assert_eq!(
        prices.next_24h[0].start.to_string(),
        "2026-12-07T14:00:00+01:00"
    );
    assert_eq!(
        prices.next_24h[23].start.to_string(),
        "2026-12-08T13:00:00+01:00"
    );
    assert_eq!(prices.next_24h[23].value, 0.24);
    let (_, now) = server.get("/p1/now");
    let now: p1_common::contract::live::Now = serde_json::from_str(&now).expect("Now");
    assert_eq!(now.price, prices.current);
    let (_, metrics) = server.get("/metrics");
    assert!(
        metrics.contains("\np1_price_euros_per_kwh{} 0.01\n"),
        "{metrics}"
    );
}
