//! The rules, through the real binary on scripted reading streams.

use std::path::PathBuf;

use crate::common::*;

const BOILER: &str = "name = \"boiler\"\npower_kw = 2.0\non_export_kw = 2.2\noff_import_kw = 0.1\non_delay = \"60s\"\noff_delay = \"180s\"";
const NOON: &str = "2024-06-12T12:00:00+02:00";

/// A directory named `name` and the config of the boiler alone, acting at once.
fn boiler_only(name: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(name);
    let config = config(&dir, QUICK, &[BOILER]);
    (dir, config)
}

#[test]
fn on_after_the_delay_and_its_own_draw_does_not_switch_it_off() {
    let (dir, config) = boiler_only("hysteresis");
    let mut s = Stream::starting(NOON);
    s.hold(61, 0.0, 2.41); // export held: on at 12:01:00
    s.hold(600, 0.0, 0.41); // the boiler's 2 kW now comes off the export
    let output = run(&config, &s);
    output.success();
    assert_eq!(switches(&output), ["12:01:00 boiler on"]);
    // Issue 25: the line on stderr carries the reading's time, not only the record.
    output.stderr_contains(
        "p1-relay: 2024-06-12 12:01:00 boiler: on (export 2.41 kW >= 2.20 kW for 60 s)",
    );
    let on = events(&output)
        .into_iter()
        .find(|e| e.state.is_on())
        .expect("on");
    assert_eq!(on.reason, "export 2.41 kW >= 2.20 kW for 60 s");
    assert_eq!(
        switched(&dir).last().map(String::as_str),
        Some("boiler off"),
        "off at the end of input"
    );
}

#[test]
fn one_contrary_reading_resets_a_pending_delay() {
    let (_dir, config) = boiler_only("reset");
    let mut s = Stream::starting(NOON);
    s.hold(50, 0.0, 2.5)
        .hold(1, 0.0, 2.0)
        .hold(59, 0.0, 2.5)
        .hold(2, 0.0, 2.5);
    let output = run(&config, &s);
    // Reset at 12:00:50; export again from 12:00:51, held 60 s at 12:01:51.
    assert_eq!(switches(&output), ["12:01:51 boiler on"]);
}

#[test]
fn off_after_off_delay_and_min_on_then_min_off_before_on_again() {
    let dir = TempDir::new("minonoff");
    let load = format!("{BOILER}\nmin_on = \"5m\"\nmin_off = \"10m\"");
    let config = config(&dir, QUICK, &[&load]);
    let mut s = Stream::starting(NOON);
    s.hold(61, 0.0, 2.5); // on at 12:01:00
    s.hold(60, 0.5, 0.0); // import from 12:01:01: off_delay (180 s) until 12:04:01, min_on until 12:06:00
    s.hold(300, 0.5, 0.0);
    s.hold(900, 0.0, 2.5); // export from 12:08:01: on_delay done 12:09:01, min_off until 12:16:00
    let output = run(&config, &s);
    assert_eq!(
        switches(&output),
        [
            "12:01:00 boiler on",
            "12:06:00 boiler off",
            "12:16:00 boiler on"
        ]
    );
    let off = &events(&output)[2];
    assert_eq!(off.reason, "import 0.50 kW >= 0.10 kW for 299 s");
}

#[test]
fn loads_are_staged_by_priority_one_per_settle_and_shed_last_on_first_off() {
    let dir = TempDir::new("staging");
    let heat_pump = "name = \"heatpump\"\npriority = 2\npower_kw = 1.0\non_export_kw = 1.2\noff_import_kw = 0.1\non_delay = \"30s\"\noff_delay = \"30s\"";
    let boiler = "name = \"boiler\"\npriority = 1\npower_kw = 2.0\non_export_kw = 2.2\noff_import_kw = 0.1\non_delay = \"30s\"\noff_delay = \"30s\"";
    let config = config(
        &dir,
        "settle = \"60s\"\nstartup_grace = \"0s\"",
        &[heat_pump, boiler],
    );
    let mut s = Stream::starting(NOON);
    s.hold(31, 0.0, 4.0); // both qualify at 12:00:30: the boiler first (priority 1)
    s.hold(120, 0.0, 2.0); // the heat pump still qualifies; settle lets it on at 12:01:30
    s.hold(29, 0.0, 0.5); // until 12:02:59
    s.hold(200, 1.5, 0.0); // import from 12:03:00: both qualify at 12:03:30; the heat pump (last on) first
    let output = run(&config, &s);
    output.success();
    assert_eq!(
        switches(&output),
        [
            "12:00:30 boiler on",
            "12:01:30 heatpump on",
            "12:03:30 heatpump off",
            "12:04:30 boiler off"
        ]
    );
}

#[test]
fn max_starts_per_hour_is_honoured() {
    let dir = TempDir::new("starts");
    let load = "name = \"pump\"\npower_kw = 0.5\non_export_kw = 1.0\noff_import_kw = 0.1\non_delay = \"10s\"\noff_delay = \"10s\"\nmax_starts_per_hour = 2";
    let config = config(&dir, QUICK, &[load]);
    let mut s = Stream::starting(NOON);
    for _ in 0..4 {
        s.hold(11, 0.0, 1.5).hold(11, 0.5, 0.0);
    }
    let output = run(&config, &s);
    assert_eq!(
        switches(&output),
        [
            "12:00:10 pump on",
            "12:00:21 pump off",
            "12:00:32 pump on",
            "12:00:43 pump off"
        ]
    );
}

#[test]
fn outside_its_window_a_load_is_off() {
    let dir = TempDir::new("window");
    let load = format!("{BOILER}\nwindow = \"08:00-20:00\"");
    let config = config(&dir, QUICK, &[&load]);
    let mut s = Stream::starting("2024-06-12T07:58:00+02:00");
    s.hold(240, 0.0, 3.0); // export all along: on only once the window opens, 60 s on
    let mut evening = Stream::starting("2024-06-12T19:58:00+02:00");
    evening.hold(180, 0.0, 3.0);
    let output = run(&config, &s);
    assert_eq!(switches(&output), ["08:00:00 boiler on"]);
    let output = run(&config, &evening);
    let events = events(&output);
    assert_eq!(
        switches(&output),
        ["19:59:00 boiler on", "20:00:00 boiler off"]
    );
    assert_eq!(
        events
            .iter()
            .find(|e| e.time.to_string().contains("20:00:00"))
            .map(|e| e.reason.as_str()),
        Some("outside window 08:00-20:00")
    );
}

#[test]
fn manual_mode_overrides_the_rules_but_not_stale_data() {
    let dir = TempDir::new("manual");
    let load = format!("{BOILER}\nmode = \"on\"");
    let config = config(
        &dir,
        "settle = \"0s\"\nstartup_grace = \"30s\"\nstale_after = \"15s\"",
        &[&load],
    );
    let mut s = Stream::starting(NOON);
    s.hold(40, 3.0, 0.0).gap(20).hold(40, 3.0, 0.0);
    let output = run(&config, &s);
    // On after the startup grace despite import; off when readings stop for 15 s
    // (12:00:39 + 15 s); on again after a new grace once readings come back at 12:01:00.
    assert_eq!(
        switches(&output),
        [
            "12:00:30 boiler on",
            "12:00:54 boiler off",
            "12:01:30 boiler on"
        ]
    );
    let stale = events(&output)
        .into_iter()
        .find(|e| e.reason.starts_with("stale"))
        .expect("stale");
    assert_eq!(stale.reason, "stale: no reading for 21 s");
}

#[test]
fn peak_shaving_sheds_before_the_quarter_average_crosses_the_limit() {
    let dir = TempDir::new("peak");
    let load = format!("{BOILER}\npeak_shed = true\nmin_on = \"1m\"");
    let config = config(
        &dir,
        &format!("{QUICK}\n[peak]\nlimit_kw = 2.5\nmargin_kw = 0.2"),
        &[&load],
    );
    let mut s = Stream::starting(NOON);
    s.hold(61, 0.0, 2.5); // boiler on at 12:01:00
    s.hold(119, 0.0, 0.4); // until 12:03:00
    // Cooking starts: 2.0 kW import. Projection: 2.0 kW for the 12 minutes left of the
    // quarter = (0 + 2.0 * 0.2 h) * 4 = 1.6 kW: fine. At 3.0 kW, 12:03:30: 0.017 kWh so far
    // (registers to the Wh) + 3.0 kW * 690 s = 0.592 kWh, * 4 = 2.37 kW > 2.3: shed at once.
    s.hold(30, 2.0, 0.0);
    s.hold(30, 3.0, 0.0);
    let output = run(&config, &s);
    assert_eq!(
        switches(&output),
        ["12:01:00 boiler on", "12:03:30 boiler off"]
    );
    let shed = events(&output)
        .into_iter()
        .find(|e| e.time.to_string().contains("12:03:30"))
        .expect("shed");
    assert_eq!(
        shed.reason,
        "peak: the quarter hour heads for 2.37 kW > 2.30 kW"
    );
}

#[test]
fn the_months_peak_raises_the_target_and_switch_ons_that_would_cross_it_are_held_back() {
    let dir = TempDir::new("holdback");
    let load = "name = \"charger\"\npower_kw = 3.0\non_export_kw = 1.0\noff_import_kw = 2.5\non_delay = \"10s\"\noff_delay = \"60s\"";
    let config = config(
        &dir,
        &format!("{QUICK}\n[peak]\nlimit_kw = 2.5\nmargin_kw = 0.2"),
        &[load],
    );
    // Export 1.2 kW: switching the 3 kW charger on would import 1.8 kW for the rest of the
    // quarter: (1.8 * 14.5/60) * 4 = 1.74 kW. Under 2.3: allowed.
    let mut s = Stream::starting(NOON);
    s.hold(11, 0.0, 1.2);
    let output = run(&config, &s);
    assert_eq!(switches(&output), ["12:00:10 charger on"]);
    // After 7 minutes of 3.0 kW import the quarter holds 0.350 kWh; the charger's net 1.8 kW
    // for the 470 s left adds 0.235 kWh: (0.350 + 0.235) * 4 = 2.34 kW > 2.3: held back.
    let mut s = Stream::starting(NOON);
    s.hold(420, 3.0, 0.0).hold(11, 0.0, 1.2);
    let output = run(&config, &s);
    assert_eq!(switches(&output), Vec::<String>::new());
    // With a month's peak of 4 kW the target is 3.8 kW: allowed.
    let mut s = Stream::starting(NOON);
    s.month_peak_kw = Some(4.0);
    s.hold(420, 3.0, 0.0).hold(11, 0.0, 1.2);
    let output = run(&config, &s);
    assert_eq!(switches(&output), ["12:07:10 charger on"]);
}

#[test]
fn readings_that_are_not_json_or_lack_power_are_warned_about_and_never_acted_on() {
    let (_dir, config) = boiler_only("badinput");
    let mut s = Stream::starting(NOON);
    s.hold(30, 0.0, 2.5);
    let mut text = s.text();
    text.push_str("not json\n{\"type\":\"reading\",\"time\":\"2024-06-12T12:00:30+02:00\",\"power_export_kw\":9}\n");
    let mut rest = Stream::starting("2024-06-12T12:00:31+02:00");
    rest.hold(10, 0.0, 2.5);
    text.push_str(&rest.text());
    let output = p1_relay(&["--config", config.to_str().expect("path")], &text);
    assert!(output.status.success());
    assert_eq!(
        switches(&output),
        Vec::<String>::new(),
        "41 s of export is not 60 s"
    );
    let err = output.stderr();
    assert!(err.contains("stdin: line 31: not JSON"), "{err}");
    assert!(
        err.contains("stdin: line 32: the reading lacks power_import_kw or power_export_kw"),
        "{err}"
    );
}

/// Issue 11: a replay's events carry the readings' clock, the start events too (they once
/// carried today's wall clock, before the first 2024 reading), and envelopes passed on by
/// `p1-parse --passthrough` are no error.
#[test]
fn every_event_of_a_replay_carries_the_readings_clock() {
    let (_dir, config) = boiler_only("meter-time");
    let mut s = Stream::starting(NOON);
    s.hold(61, 0.0, 2.41);
    let envelope = r#"{"type":"telegram","received":"2024-06-12T12:00:00.100+02:00","source":"sim","telegram":"/X\r\n\r\n!\r\n"}"#;
    let input = format!("{envelope}\n{}", s.text());
    let output = p1_relay(&["--config", config.to_str().expect("path")], &input);
    output.success();
    let times: Vec<(String, String)> = events(&output)
        .into_iter()
        .map(|e| (e.time.to_string(), e.reason))
        .collect();
    assert_eq!(
        times.first(),
        Some(&("2024-06-12T12:00:00+02:00".into(), "start".into()))
    );
    assert!(
        times
            .iter()
            .all(|(time, _)| time.starts_with("2024-06-12T12:0")),
        "{times:?}"
    );
    assert!(!output.stderr().contains("envelope"), "{}", output.stderr());
}

/// Issue 13 (9): a line over the 1 MiB bound is dropped whole; its tail is not read as a
/// reading, and the lines after it keep their numbers.
#[test]
fn an_over_long_line_is_dropped_whole_and_the_lines_keep_their_numbers_regression_13() {
    let (_dir, config) = boiler_only("long-line");
    let mut s = Stream::starting(NOON);
    s.hold(61, 0.0, 2.41);
    let long = format!(
        "{{\"type\":\"reading\",\"pad\":\"{}\"}}",
        "x".repeat(1_500_000)
    );
    let input = format!("{long}\nnot json\n{}", s.text());
    let output = p1_relay(&["--config", config.to_str().expect("path")], &input);
    output.success();
    let stderr = output.stderr();
    let dropped = format!(
        "stdin: line 1: {} bytes, longer than any record: dropped",
        long.len() + 1
    );
    assert!(stderr.contains(&dropped), "{stderr}");
    assert!(stderr.contains("stdin: line 2: not JSON"), "{stderr}");
    assert_eq!(stderr.matches("stdin: line").count(), 2, "{stderr}");
    assert_eq!(switches(&output), ["12:01:00 boiler on"]);
}

/// Issue 23 (2): three readings stamped a year ahead among readings on time switched a load
/// on, on the jumped clock. They are warned about and not acted on; the readings on time
/// after them are.
#[test]
fn readings_a_year_ahead_switch_nothing_regression_23() {
    let dir = TempDir::new("year-ahead");
    let quick_boiler = BOILER.replace("\"60s\"", "\"2s\"");
    let config = config(&dir, QUICK, &[&quick_boiler]);
    let year = chrono::Duration::days(365);
    let mut s = Stream::starting(NOON);
    s.hold(5, 0.0, 0.0);
    s.time += year;
    s.hold(3, 0.0, 3.0);
    s.time -= year;
    s.hold(2, 0.0, 0.0).hold(4, 0.0, 3.0);
    let output = run(&config, &s);
    output.success();
    assert_eq!(switches(&output), ["12:00:12 boiler on"]);
    let stderr = output.stderr();
    let warned: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("off the stream's clock"))
        .collect();
    assert_eq!(warned.len(), 1, "{stderr}");
    assert!(
        warned[0].contains("a reading at 2025-06-12T12:00:05+02:00, 31536000 s off"),
        "{}",
        warned[0]
    );
}

/// Issue 23 (3): of 26 bad lines (an empty one, a key twice and a type's missing fields
/// among them), only 9 were warned about. Each of the first ten is, then the 16th, and the
/// count of all at the end.
#[test]
fn every_bad_line_counts_and_the_first_ten_are_told_regression_23() {
    let (_dir, config) = boiler_only("bad-lines");
    let bad = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/bad-lines.ndjson"
    ))
    .expect("fixture");
    assert_eq!(bad.lines().count(), 26);
    let output = p1_relay(&["--config", config.to_str().expect("path")], &bad);
    output.success();
    let stderr = output.stderr();
    let told: Vec<(u64, u64)> = stderr
        .lines()
        .filter_map(|l| {
            let line = l.split("line ").nth(1)?.split(':').next()?.parse().ok()?;
            let count = l
                .rsplit_once('(')?
                .1
                .strip_suffix(" so far)")?
                .parse()
                .ok()?;
            Some((line, count))
        })
        .collect();
    let expected: Vec<(u64, u64)> = (1..=10).map(|n| (n, n)).chain([(16, 16)]).collect();
    assert_eq!(told, expected, "{stderr}");
    assert!(
        stderr.contains("p1-relay: stdin: 26 bad lines in all"),
        "{stderr}"
    );
    assert!(events(&output).iter().all(|e| !e.state.is_on()));
}
