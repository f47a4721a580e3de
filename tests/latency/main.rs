//! `p1-latency [BIN_DIR] [PER_SECOND] [DAY]` (`scripts/bench` runs it): end-to-end latency of
//! the real pipeline,
//! from a telegram's last byte written into a pseudo-terminal to the relay event it causes:
//!
//!   p1-read PTY | p1-parse | tee >(p1-influx --print > /dev/null) | p1-relay --dry-run
//!
//! Each telegram flips a load (no delays), so each makes one event. Measured at one telegram a
//! second, and at full speed (the next telegram as soon as the event is out) over a day of
//! telegrams, whose first and last minutes show whether anything drifts. Prints one
//! `key value` line per figure, with each stage's peak memory (`VmHWM`).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Duration as Span, NaiveDate};
use p1_common::protocol::crc::crc16;
use p1_common::{Context as _, Error};
use serialport::{SerialPort, TTYPort};

fn telegram(second: i64, flip_on: bool) -> Vec<u8> {
    let start = NaiveDate::from_ymd_opt(2024, 6, 12)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    let (import, export) = if flip_on { (0.0, 3.0) } else { (1.0, 0.0) };
    let mut t = format!(
        "/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n0-0:96.1.1(3153414733313031303231363035)\r\n0-0:1.0.0({}S)\r\n\
         1-0:1.8.1(001000.000*kWh)\r\n1-0:1.8.2(000100.000*kWh)\r\n1-0:2.8.1(000200.000*kWh)\r\n1-0:2.8.2(000050.000*kWh)\r\n\
         0-0:96.14.0(0001)\r\n1-0:1.7.0({import:06.3}*kW)\r\n1-0:2.7.0({export:06.3}*kW)\r\n!",
        (start + Span::seconds(second)).format("%y%m%d%H%M%S")
    );
    let crc = crc16(t.as_bytes());
    t.push_str(&format!("{crc:04X}\r\n"));
    t.into_bytes()
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1))]
}

fn median(values: &[u64]) -> u64 {
    let mut v = values.to_vec();
    v.sort_unstable();
    percentile(&v, 0.5)
}

/// Peak resident memory of each stage, in kB, from /proc.
fn peak_memory(pids: &[u32]) -> Vec<(String, u64)> {
    pids.iter()
        .filter_map(|pid| {
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .ok()?
                .trim()
                .to_string();
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let kb = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            name.starts_with("p1-").then_some((name, kb))
        })
        .collect()
}

fn descendants(root: u32) -> Vec<u32> {
    let mut all = vec![root];
    let mut i = 0;
    while i < all.len() {
        let children =
            std::fs::read_to_string(format!("/proc/{}/task/{}/children", all[i], all[i]))
                .unwrap_or_default();
        all.extend(
            children
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok()),
        );
        i += 1;
    }
    all
}

fn run(bin: &Path, per_second: usize, day: usize) -> Result<(), Error> {
    let dir = std::env::temp_dir().join(format!("p1-latency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("the work directory")?;
    let config = dir.join("flip.toml");
    std::fs::write(
        &config,
        "settle = \"0s\"\nstartup_grace = \"0s\"\nstale_after = \"1h\"\n[[load]]\nname = \"flip\"\npower_kw = 0.5\n\
         on_export_kw = 1.0\noff_import_kw = 0.1\non_delay = \"0s\"\noff_delay = \"0s\"\n[load.switch]\ntype = \"dry-run\"\n",
    )
    .context("the relay's configuration")?;
    let (mut master, slave) =
        TTYPort::pair().map_err(|e| Error::failure(format!("a pseudo-terminal: {e}")))?;
    let device = slave.name().ok_or_else(|| Error::failure("no pty name"))?;
    drop(slave);
    let b = bin.display();
    let pipeline = format!(
        "{b}/p1-read -q {device} | {b}/p1-parse -q | tee >({b}/p1-influx --print -q > /dev/null) | {b}/p1-relay -q --dry-run --config {}",
        config.display()
    );
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&pipeline)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .context("bash")?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::failure("no stdout"))?;
    let mut events = BufReader::new(stdout);
    let mut line = String::new();
    events.read_line(&mut line).context("the events")?; // the start event
    std::thread::sleep(Duration::from_millis(500)); // p1-read opens the pty

    let mut second = 0i64;
    let mut measure = |master: &mut TTYPort, second: &mut i64| -> Result<u64, Error> {
        master
            .write_all(&telegram(*second, *second % 2 == 0))
            .and_then(|()| master.flush())
            .context("the pseudo-terminal")?;
        let written = Instant::now();
        line.clear();
        events.read_line(&mut line).context("the events")?;
        *second += 1;
        Ok(written.elapsed().as_micros() as u64)
    };
    let mut slow = Vec::with_capacity(per_second);
    for _ in 0..per_second {
        slow.push(measure(&mut master, &mut second)?);
        std::thread::sleep(Duration::from_secs(1));
    }
    let mut fast = Vec::with_capacity(day);
    let started = Instant::now();
    for _ in 0..day {
        fast.push(measure(&mut master, &mut second)?);
    }
    let day_secs = started.elapsed().as_secs_f64();
    let memory = peak_memory(&descendants(child.id()));
    // The stages are bash's children: signal them, then bash.
    let _ = Command::new("pkill")
        .args(["-TERM", "-P", &child.id().to_string()])
        .status();
    let _ = child.kill();
    let _ = child.wait();
    let _ = master.clear(serialport::ClearBuffer::All);
    let _ = std::fs::remove_dir_all(&dir);

    let mut sorted_slow = slow.clone();
    sorted_slow.sort_unstable();
    let mut sorted_fast = fast.clone();
    sorted_fast.sort_unstable();
    let minute = 60.min(fast.len());
    println!("per_second_count {}", slow.len());
    println!("per_second_median_us {}", percentile(&sorted_slow, 0.5));
    println!("per_second_p99_us {}", percentile(&sorted_slow, 0.99));
    println!("full_speed_count {}", fast.len());
    println!("full_speed_seconds {day_secs:.1}");
    println!("full_speed_median_us {}", percentile(&sorted_fast, 0.5));
    println!("full_speed_p99_us {}", percentile(&sorted_fast, 0.99));
    println!("first_minute_median_us {}", median(&fast[..minute]));
    println!(
        "last_minute_median_us {}",
        median(&fast[fast.len() - minute..])
    );
    for (name, kb) in memory {
        println!("peak_kb_{name} {kb}");
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let bin = std::path::PathBuf::from(args.next().unwrap_or_else(|| "target/release".into()));
    let per_second = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let day = args.next().and_then(|a| a.parse().ok()).unwrap_or(86_400);
    p1_common::runtime::cli::exit_code("p1-latency", run(&bin, per_second, day))
}
