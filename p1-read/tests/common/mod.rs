//! Test harness: a linked pseudo-terminal pair from socat (the meter's end and ours), and the
//! real p1-read binary with its stdout and stderr read line by line as they come.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

#[path = "../../../tests/support/shared.rs"]
mod shared;
#[allow(unused_imports)]
pub use shared::*;

/// Two linked ptys: p1-read opens `device`, the test writes into `feed`.
pub struct PtyPair {
    pub device: PathBuf,
    pub feed_path: PathBuf,
    socat: Child,
}

impl PtyPair {
    pub fn new(dir: &Path) -> Self {
        let device = dir.join("meter");
        let feed_path = dir.join("feed");
        let socat = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", device.display()))
            .arg(format!("pty,raw,echo=0,link={}", feed_path.display()))
            .stderr(Stdio::null())
            .spawn()
            .expect("socat (scripts/test installs it)");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !(device.exists() && feed_path.exists()) {
            assert!(Instant::now() < deadline, "socat made no ptys");
            std::thread::sleep(Duration::from_millis(10));
        }
        PtyPair {
            device,
            feed_path,
            socat,
        }
    }

    pub fn feed(&self) -> std::fs::File {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&self.feed_path)
            .expect("open feed side")
    }

    /// The device vanishes, as when a USB adapter is unplugged.
    pub fn unplug(&mut self) {
        let _ = Command::new("kill")
            .arg(self.socat.id().to_string())
            .status();
        let _ = self.socat.wait();
        let _ = std::fs::remove_file(&self.device);
        let _ = std::fs::remove_file(&self.feed_path);
    }
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        let _ = self.socat.kill();
        let _ = self.socat.wait();
    }
}

/// A running binary whose output lines arrive on channels.
pub struct Running {
    pub child: Child,
    pub stdout: Receiver<String>,
    pub stderr: Receiver<String>,
    pub stderr_seen: Vec<String>,
}

pub fn spawn(binary: &str, args: &[&str]) -> Running {
    let mut child = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = lines(child.stdout.take().expect("stdout"));
    let stderr = lines(child.stderr.take().expect("stderr"));
    Running {
        child,
        stdout,
        stderr,
        stderr_seen: Vec::new(),
    }
}

pub fn p1_read(args: &[&str]) -> Running {
    spawn(env!("CARGO_BIN_EXE_p1-read"), args)
}

fn lines(pipe: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Running {
    /// Waits for a stderr line containing `needle`.
    pub fn wait_stderr(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.stderr_seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "no stderr line with {needle:?}; saw {:#?}",
                        self.stderr_seen
                    )
                }
            }
        }
    }

    /// The next `n` stdout lines.
    pub fn stdout_lines(&mut self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => out.push(line),
                Err(_) => panic!(
                    "got {} of {n} lines: {out:#?}\nstderr: {:#?}",
                    out.len(),
                    self.stderr_seen
                ),
            }
        }
        out
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait")
    }

    pub fn rest_of_stderr(&mut self) -> Vec<String> {
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(500)) {
            self.stderr_seen.push(line);
        }
        self.stderr_seen.clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `telegram` of an envelope line.
pub fn telegram_of(line: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).expect("envelope is JSON");
    assert_eq!(v["type"], "telegram");
    v["telegram"].as_str().expect("telegram text").to_string()
}

/// Telegrams from the simulated meter, deterministic.
pub fn sim_telegrams(n: usize, seed: u64) -> Vec<String> {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 6, 15)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("date");
    let mut sim = p1_read::sim::SimMeter::new(seed, start);
    (0..n).map(|_| sim.next_telegram().to_string()).collect()
}

/// A tiny deterministic generator for fragment sizes and garbage.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Writes `bytes` in fragments of 1 to `max` bytes, pausing now and then.
pub fn write_fragmented(out: &mut impl Write, bytes: &[u8], rng: &mut Lcg, max: u64) {
    let mut at = 0;
    while at < bytes.len() {
        let n = (1 + rng.below(max) as usize).min(bytes.len() - at);
        out.write_all(&bytes[at..at + n]).expect("write to pty");
        out.flush().expect("flush");
        at += n;
        if rng.below(8) == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}
