//! Latency of p1-relay from a reading line written to its stdin to the event line it causes.
//! Each reading flips a dry-run load (no delays), so every reading makes one event.
//! Used by the benchmark scripts, not by the tests.
//!
//!     cargo run --release -p p1-relay --example latency -- target/release/p1-relay [COUNT]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args.next().expect("usage: latency P1_RELAY [COUNT]");
    let count: usize = args.next().map_or(1000, |a| a.parse().expect("COUNT"));
    let dir = std::env::temp_dir().join(format!("p1-relay-latency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("relay.toml");
    std::fs::write(
        &config,
        "settle = \"0s\"\nstartup_grace = \"0s\"\n[[load]]\nname = \"flip\"\npower_kw = 0.5\non_export_kw = 1.0\n\
         off_import_kw = 0.1\non_delay = \"0s\"\noff_delay = \"0s\"\n[load.switch]\ntype = \"dry-run\"\n",
    )
    .expect("config");
    let mut child = Command::new(&binary)
        .arg("--config")
        .arg(&config)
        .arg("-q")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn p1-relay");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("start event");
    let start = chrono::DateTime::parse_from_rfc3339("2024-06-12T12:00:00+02:00").expect("time");
    let mut micros = Vec::with_capacity(count);
    for i in 0..count {
        let (import, export) = if i % 2 == 0 { (0.0, 2.0) } else { (1.0, 0.0) };
        let time = (start + chrono::Duration::seconds(i as i64)).to_rfc3339();
        let reading = format!(
            "{{\"type\":\"reading\",\"time\":\"{time}\",\"power_import_kw\":{import:.1},\"power_export_kw\":{export:.1}}}\n"
        );
        let sent = Instant::now();
        stdin.write_all(reading.as_bytes()).expect("write");
        stdin.flush().expect("flush");
        line.clear();
        stdout.read_line(&mut line).expect("event");
        micros.push(sent.elapsed().as_micros() as u64);
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(stdin);
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    micros.sort_unstable();
    let at = |q: f64| micros[((micros.len() as f64 * q) as usize).min(micros.len() - 1)];
    println!("{} {} {}", micros.len(), at(0.5), at(0.99));
}
