//! The whole pipeline as the README wires it, end to end, one stream of records:
//!
//!   p1-read PTY | p1-parse | p1-relay --passthrough --config relay.toml | p1-influx ...
//!
//! (with a `tee` before p1-influx to keep a copy of the stream for the assertions; it ignores
//! SIGTERM, to pass on what the stages write as they stop).
//! Telegrams are written into a real pseudo-terminal (socat), corrupted ones among them and a
//! pause long enough for the stale-data rule; a real influxd on 127.0.0.1 receives the
//! readings; a `command` switch records what the relay really did. The pipeline is stopped
//! with SIGTERM to all its processes, as systemd does.

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use crate::common::binaries;
use chrono::{Duration as Span, NaiveDate, NaiveDateTime};
use p1_testkit::finished::{records, relay_events};
use p1_testkit::influxd::Influxd;
use p1_testkit::pty::PtyPair;
use p1_testkit::telegram::TelegramBuilder;
use p1_testkit::{Proc, Signal, TempDir, skip_without, wait_until};

const WAIT: Duration = Duration::from_secs(20);

/// A Fluvius telegram with the given meter time (local, summer) and powers.
fn telegram(time: NaiveDateTime, import_kw: f64, export_kw: f64, import_kwh: f64) -> String {
    TelegramBuilder::new("FLU5\\253769484_A")
        .line("0-0:96.1.4(50217)")
        .line("0-0:96.1.1(3153414733313031303231363035)")
        .line(&format!("0-0:1.0.0({}S)", time.format("%y%m%d%H%M%S")))
        .line(&format!("1-0:1.8.1({import_kwh:010.3}*kWh)"))
        .line("1-0:1.8.2(000100.000*kWh)")
        .line("1-0:2.8.1(000200.000*kWh)")
        .line("1-0:2.8.2(000050.000*kWh)")
        .line("0-0:96.14.0(0001)")
        .line(&format!("1-0:1.7.0({import_kw:06.3}*kW)"))
        .line(&format!("1-0:2.7.0({export_kw:06.3}*kW)"))
        .line("1-0:32.7.0(231.0*V)")
        .build()
}

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, step by step")]
fn the_whole_pipeline_from_a_pty_to_influxdb_and_the_relay() {
    if skip_without(&["socat", "influxd"]) {
        return;
    }
    let bin = binaries();
    let dir = TempDir::new("e2e");
    let d = dir.root().to_path_buf();
    let influxd = Influxd::start();
    influxd.create_database("p1");
    let url = influxd.url();
    let pty = PtyPair::new(&d);
    let (device, feed) = (pty.device.clone(), pty.feed_path.clone());

    let switched = d.join("switched");
    let config = d.join("relay.toml");
    std::fs::write(
        &config,
        format!(
            "stale_after = \"3s\"\nsettle = \"0s\"\nstartup_grace = \"0s\"\n[[load]]\nname = \"boiler\"\npower_kw = 2.0\n\
             on_export_kw = 2.2\noff_import_kw = 0.1\non_delay = \"5s\"\noff_delay = \"5s\"\n[load.switch]\ntype = \"command\"\n\
             on = \"echo on >> {0}\"\noff = \"echo off >> {0}\"\n",
            switched.display()
        ),
    )
    .expect("config");
    let (events, log) = (d.join("events.ndjson"), d.join("stderr.log"));
    let b = bin.display();
    let pipeline = format!(
        "exec > {events} 2> {log} < /dev/null; set -o pipefail; \
         {b}/p1-read {dev} | {b}/p1-parse | {b}/p1-relay --passthrough --config {config} | (trap '' TERM; exec tee {events}) \
         | {b}/p1-influx --url {url} --db p1 --flush 1 --spool-dir {d}/spool > /dev/null",
        events = events.display(),
        log = log.display(),
        dev = device.display(),
        d = d.display(),
        config = config.display()
    );
    let mut pipeline = Proc::spawn(Command::new("bash").arg("-c").arg(&pipeline));
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until("p1-read to open the pty", || {
        read_log().contains("open at 115200 8N1")
    });

    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .open(&feed)
        .expect("feed");
    let start = NaiveDate::from_ymd_opt(2024, 6, 12)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("time");
    let mut kwh = 1000.0;
    let mut valid = Vec::new();
    let mut send =
        |out: &mut std::fs::File, second: i64, import: f64, export: f64, corrupt: bool| {
            kwh += import / 3600.0;
            let mut t = telegram(start + Span::seconds(second), import, export, kwh).into_bytes();
            if corrupt {
                let at = t.len() / 2;
                t[at] ^= 0x02;
            } else {
                valid.push(second);
            }
            out.write_all(&t).expect("write to pty");
            out.flush().expect("flush");
            // A meter's pace, faster: a telegram at a time through the pty.
            std::thread::sleep(Duration::from_millis(30));
        };
    for s in 0..10 {
        send(&mut out, s, 0.0, 3.0, s == 4); // export: on at 12:00:05 (12:00:04 is lost to a bad CRC)
    }
    for s in 10..18 {
        send(&mut out, s, 0.5, 0.0, s == 12); // import: off at 12:00:15
    }
    for s in 18..28 {
        send(&mut out, s, 0.0, 3.0, false); // export: on at 12:00:23
    }
    wait_until("the third switch", || {
        std::fs::read_to_string(&switched)
            .unwrap_or_default()
            .lines()
            .count()
            >= 4
    });
    // Silence: stale after 3 s.
    wait_until("stale data to switch it off", || {
        std::fs::read_to_string(&events)
            .unwrap_or_default()
            .contains("stale: no reading")
    });
    for s in 40..48 {
        send(&mut out, s, 0.0, 3.0, false); // export again: on at 12:00:45
    }
    wait_until("the relay to act on the last readings", || {
        std::fs::read_to_string(&switched)
            .unwrap_or_default()
            .lines()
            .count()
            >= 6
    });
    wait_until("every valid reading in influxd", || {
        influxd.count("p1", "SELECT count(power_export_kw) FROM p1") == valid.len() as u64
    });

    // SIGTERM to every process of the pipeline, as systemd stops a service.
    pipeline.signal_group(Signal::SIGTERM);
    let status = pipeline.wait(WAIT);
    // bash itself dies of the signal; the stages shut down on their own: wait for their last words.
    let by_signal = std::os::unix::process::ExitStatusExt::signal(&status) == Some(15);
    assert!(
        status.success() || by_signal,
        "pipeline: {status:?}\n{}",
        read_log()
    );
    // Each stops on the signal or on the end of its input, whichever it sees first.
    wait_until("every stage to finish", || !pipeline.group_alive());
    let log_text = read_log();
    assert!(
        log_text.contains("p1-relay: stopped: ") && log_text.contains(" lines read, "),
        "p1-relay and p1-influx did not finish:\n{log_text}"
    );
    let stderr = read_log();
    assert!(stderr.contains("p1-read: /"), "{stderr}");

    let switch_log = std::fs::read_to_string(&switched).expect("switch log");
    assert_eq!(
        switch_log.lines().collect::<Vec<_>>(),
        ["off", "on", "off", "on", "off", "on", "off"],
        "start, rules, stale, rules, exit"
    );
    let events = std::fs::read_to_string(&events).expect("events");
    let relay = relay_events(records(&events));
    let timeline: Vec<String> = relay
        .iter()
        .map(|e| {
            let state = if e.state.is_on() { "on" } else { "off" };
            format!("{state} {}", e.reason)
        })
        .collect();
    let time = |i: usize| relay[i].time.to_string();
    assert_eq!(time(1), "2024-06-12T12:00:05+02:00", "{timeline:?}");
    assert_eq!(time(2), "2024-06-12T12:00:15+02:00", "{timeline:?}");
    assert_eq!(time(3), "2024-06-12T12:00:23+02:00", "{timeline:?}");
    assert!(
        timeline[4].starts_with("off stale: no reading for 3 s"),
        "{timeline:?}"
    );
    assert_eq!(time(5), "2024-06-12T12:00:45+02:00", "{timeline:?}");
    assert!(timeline[6].starts_with("off exit: "), "{timeline:?}");
    assert_eq!(
        timeline.iter().filter(|t| t.contains("stale")).count(),
        1,
        "one stale event (regression: the readings' gap repeated it)"
    );
    assert!(stderr.contains("CRC mismatch"), "{stderr}");

    // Every valid telegram in InfluxDB, exactly once, nothing left unsent.
    let answer = influxd.query("p1", "SELECT power_export_kw FROM p1");
    let times: Vec<i64> = answer["results"][0]["series"][0]["values"]
        .as_array()
        .expect("points")
        .iter()
        .map(|row| row[0].as_i64().expect("time"))
        .collect();
    let first = 1_718_186_400; // 2024-06-12T12:00:00+02:00
    let expected: Vec<i64> = valid.iter().map(|s| first + s).collect();
    assert_eq!(times, expected);
    // The spool holds the database's directory (issue 23), and that holds its lock alone.
    let entries = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .expect("spool")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect()
    };
    let targets = entries(&d.join("spool"));
    assert_eq!(targets.len(), 1, "one database: {targets:?}");
    let unsent: Vec<_> = entries(&targets[0])
        .into_iter()
        .filter(|p| !p.ends_with("lock"))
        .collect();
    assert!(unsent.is_empty(), "nothing unsent: {unsent:?}");

    // Every relay event in InfluxDB too (issue 11: behind `tee` p1-influx never saw them).
    let stored: Vec<(i64, String)> = influxd.query("p1", "SELECT reason FROM p1_relay")["results"]
        [0]["series"][0]["values"]
        .as_array()
        .expect("relay points")
        .iter()
        .map(|row| {
            (
                row[0].as_i64().expect("time"),
                row[1].as_str().expect("reason").to_string(),
            )
        })
        .collect();
    let printed: Vec<(i64, String)> = relay
        .iter()
        .map(|e| (e.time.timestamp().expect("a time"), e.reason.clone()))
        .collect();
    assert_eq!(stored, printed);
}
