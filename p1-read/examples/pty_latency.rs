//! Latency of p1-read from the last byte of a telegram written into a pseudo-terminal to its
//! envelope line on stdout. Used by scripts/bench-read, not by the tests.
//!
//!     cargo run --release -p p1-read --example pty_latency -- target/release/p1-read [COUNT] [GAP_MS]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use p1_read::sim::SimMeter;
use serialport::{SerialPort, TTYPort};

fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args
        .next()
        .expect("usage: pty_latency P1_READ [COUNT] [GAP_MS]");
    let count: usize = args.next().map_or(1000, |a| a.parse().expect("COUNT"));
    let gap = Duration::from_millis(args.next().map_or(20, |a| a.parse().expect("GAP_MS")));

    let (mut master, slave) = TTYPort::pair().expect("pty pair");
    let device = slave.name().expect("slave name");
    drop(slave);
    let mut child = Command::new(&binary)
        .arg(&device)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn p1-read");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    while !line.contains("open at") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).expect("stderr") > 0,
            "p1-read ended"
        );
    }
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let start = chrono::NaiveDate::from_ymd_opt(2024, 6, 15)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("date");
    let mut sim = SimMeter::new(1, start);
    let mut micros = Vec::with_capacity(count);
    for _ in 0..count {
        let telegram = sim.next_telegram().as_bytes().to_vec();
        master.write_all(&telegram).expect("write");
        master.flush().expect("flush");
        let written = Instant::now();
        line.clear();
        stdout.read_line(&mut line).expect("envelope");
        micros.push(written.elapsed().as_micros() as u64);
        std::thread::sleep(gap);
    }
    let _ = master.clear(serialport::ClearBuffer::All);
    let _ = child.kill();
    let _ = child.wait();
    micros.sort_unstable();
    let at = |q: f64| micros[((micros.len() as f64 * q) as usize).min(micros.len() - 1)];
    println!("{} {} {}", micros.len(), at(0.5), at(0.99));
}
