//! The simulated meter through the real binary: deterministic, valid, and consistent.

use std::process::Command;

use crate::common::run;

use p1_common::contract::reading::Reading;
use p1_common::protocol::decode::decode;
use p1_common::protocol::frame::{Event, Framer};
use p1_common::protocol::meter_time::ClockZone;

fn sim(args: &[&str]) -> Vec<u8> {
    let output = run(
        Command::new(env!("CARGO_BIN_EXE_p1-read"))
            .args(["sim", "--speed", "0", "--raw", "-q"])
            .args(args),
        b"",
    );
    output.success();
    output.stdout.clone()
}

/// Frames and decodes as p1-parse does; every frame must be a valid telegram.
fn readings(capture: &[u8]) -> Vec<Reading> {
    let mut framer = Framer::default();
    let mut out = Vec::new();
    let mut issues = Vec::new();
    let Ok(()) = framer.push(capture, |event| -> Result<(), std::convert::Infallible> {
        match event {
            Event::Telegram { bytes, .. } => {
                let mut r = Reading::default();
                decode(bytes, ClockZone::default(), &mut r, &mut issues);
                out.push(r);
            }
            Event::Rejected { reason, offset, .. } => panic!("byte {offset}: {reason}"),
        }
        Ok(())
    });
    assert!(issues.is_empty(), "{issues:?}");
    assert!(framer.stats().garbage_bytes == 0);
    out
}

#[test]
fn the_same_seed_and_start_give_the_same_telegrams() {
    let seeded = |seed| {
        sim(&[
            "--seed",
            seed,
            "--start",
            "2024-03-31T01:00:00",
            "--count",
            "300",
        ])
    };
    let (a, b, c) = (seeded("9"), seeded("9"), seeded("10"));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(readings(&a).len(), 300);
}

fn total_import(r: &Reading) -> f64 {
    r.energy_import_t1_kwh.unwrap_or(f64::NAN) + r.energy_import_t2_kwh.unwrap_or(f64::NAN)
}

#[test]
fn a_day_is_valid_monotonic_exports_at_noon_imports_at_night_and_follows_the_tariff() {
    let rs = readings(&sim(&[
        "--seed",
        "4",
        "--start",
        "2024-06-12T00:00:00",
        "--count",
        "86400",
    ]));
    assert_eq!(rs.len(), 86400);
    for pair in rs.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        for (x, y) in [
            (a.energy_import_t1_kwh, b.energy_import_t1_kwh),
            (a.energy_import_t2_kwh, b.energy_import_t2_kwh),
            (a.energy_export_t1_kwh, b.energy_export_t1_kwh),
            (a.energy_export_t2_kwh, b.energy_export_t2_kwh),
            (a.mbus[0].value, b.mbus[0].value),
        ] {
            assert!(
                y >= x,
                "a counter went down: {x:?} -> {y:?} at {:?}",
                b.time
            );
        }
        // Power and energy agree: over one second the registers move by power/3600 (to the Wh).
        let moved = total_import(b) - total_import(a);
        let expected = b.power_import_kw.unwrap_or(0.0) / 3600.0;
        assert!(
            (moved - expected).abs() <= 0.0011,
            "{moved} vs {expected} at {:?}",
            b.time
        );
    }
    let at = |hh: usize| &rs[hh * 3600];
    assert!(
        at(13).power_export_kw.unwrap_or(0.0) > 0.5,
        "noon on a June day exports"
    );
    assert_eq!(at(2).power_export_kw, Some(0.0), "no sun at 2 am");
    assert!(at(2).power_import_kw.unwrap_or(0.0) > 0.0);
    // 12 June 2024 is a Wednesday: day tariff (1) from 07:00 to 22:00.
    assert_eq!(at(6).tariff, Some(2));
    assert_eq!(at(12).tariff, Some(1));
    assert_eq!(at(23).tariff, Some(2));
    assert_eq!(
        rs[0]
            .time
            .and_then(|t| t.datetime())
            .map(|t| t.to_rfc3339())
            .as_deref(),
        Some("2024-06-12T00:00:00+02:00")
    );
}

#[test]
fn capacity_registers_agree_with_the_integrated_import() {
    // The evening of the last day of a month, into the next: quarters close, a month ends.
    let rs = readings(&sim(&[
        "--seed",
        "12",
        "--start",
        "2024-01-31T18:00:00",
        "--count",
        "25200",
    ]));
    let mut quarter_start: Option<&Reading> = None;
    let mut peak_seen = rs[0].demand_max_month_kw.unwrap_or(0.0);
    let mut quarters = 0;
    for r in &rs {
        let time = r.time.and_then(|t| t.datetime()).expect("time");
        let at_boundary = time.timestamp() % 900 == 0;
        if at_boundary {
            if let Some(q) = quarter_start {
                let average = (total_import(r) - total_import(q)) * 4.0;
                quarters += 1;
                if time.format("%d %H:%M").to_string() == "01 00:00" {
                    // The month just ended: its peak went into the history, the new one is 0.
                    let last = r
                        .demand_max_history
                        .as_ref()
                        .and_then(|h| h.last())
                        .expect("history");
                    assert_eq!(
                        last.month.datetime().map(|t| t.to_rfc3339()).as_deref(),
                        Some("2024-02-01T00:00:00+01:00")
                    );
                    assert!(
                        (last.kw - peak_seen.max(average)).abs() < 0.01,
                        "{} vs {}",
                        last.kw,
                        peak_seen.max(average)
                    );
                    assert_eq!(r.demand_max_month_kw, Some(0.0));
                    peak_seen = 0.0;
                } else {
                    peak_seen = peak_seen.max(average);
                    let peak = r.demand_max_month_kw.expect("1.6.0");
                    assert!(
                        (peak - peak_seen).abs() < 0.01,
                        "month peak {peak} vs quarters {peak_seen} at {time}"
                    );
                }
            }
            quarter_start = Some(r);
        } else if let Some(q) = quarter_start {
            // 1-0:1.4.0: the average over the elapsed part of the quarter.
            let elapsed_h = (time.timestamp() - q.time.and_then(|t| t.timestamp()).expect("time"))
                as f64
                / 3600.0;
            let average = (total_import(r) - total_import(q)) / elapsed_h;
            let shown = r.demand_avg_kw.expect("1.4.0");
            assert!(
                (shown - average).abs() <= 0.002 / elapsed_h + 0.002,
                "{shown} vs {average} at {time}"
            );
        }
    }
    assert_eq!(quarters, 27);
    assert_eq!(
        rs.last()
            .and_then(|r| r.demand_max_history.as_ref())
            .map(Vec::len),
        Some(13)
    );
}

#[test]
fn speed_runs_the_clock_faster_and_count_stops() {
    let started = std::time::Instant::now();
    let output = run(
        Command::new(env!("CARGO_BIN_EXE_p1-read")).args([
            "sim", "--speed", "20", "--count", "21", "--seed", "1", "--raw",
        ]),
        b"",
    );
    let elapsed = started.elapsed();
    assert!(output.status.success());
    let rs = readings(&output.stdout);
    assert_eq!(rs.len(), 21);
    let span = rs[20].time.and_then(|t| t.datetime()).expect("time")
        - rs[0].time.and_then(|t| t.datetime()).expect("time");
    assert_eq!(
        span.num_seconds(),
        20,
        "the meter's clock runs a second a telegram"
    );
    // At speed 1 (--speed ignored) this would take 20 s; unpaced, no time at all.
    assert!(
        (0.95..10.0).contains(&elapsed.as_secs_f64()),
        "20 s of meter time at speed 20 take a second: {elapsed:?}"
    );
}
