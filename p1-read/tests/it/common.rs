//! p1-read's test helpers over the shared test kit: the real binary, simulated telegrams,
//! fragmented writes.

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use p1_common::contract::envelope::TelegramEnvelope;
use p1_common::contract::record::Record;
pub use p1_testkit::pty::PtyPair;
pub use p1_testkit::{Finished, Proc, TempDir, accept, run, skip_without};

/// p1-read with `args`, running.
pub fn p1_read(args: &[&str]) -> Proc {
    let mut command = Command::new(env!("CARGO_BIN_EXE_p1-read"));
    command.args(args);
    Proc::spawn(&mut command)
}

/// p1-read with `args` run to its end on `stdin`.
pub fn p1_read_output(args: &[&str], stdin: &[u8]) -> Finished {
    let mut command = Command::new(env!("CARGO_BIN_EXE_p1-read"));
    command.args(args);
    run(&mut command, stdin)
}

/// An envelope line, read.
#[track_caller]
pub fn envelope(line: &str) -> TelegramEnvelope<'static> {
    match Record::from_json(line).map(Record::into_owned) {
        Ok(Record::Telegram(envelope)) => envelope,
        other => panic!("not an envelope: {other:?}: {line}"),
    }
}

/// The `telegram` of an envelope line.
#[track_caller]
pub fn telegram_of(line: &str) -> String {
    envelope(line).telegram.to_string()
}

/// The telegrams of the next `n` envelope lines on the reader's stdout.
#[track_caller]
pub fn telegrams_out(reader: &mut Proc, n: usize, within: Duration) -> Vec<String> {
    let lines = reader.stdout_lines(n, within);
    lines.iter().map(|l| telegram_of(l)).collect()
}

/// Writes each telegram whole.
pub fn send(out: &mut impl Write, telegrams: &[String]) {
    for telegram in telegrams {
        out.write_all(telegram.as_bytes()).expect("write");
    }
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
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
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
