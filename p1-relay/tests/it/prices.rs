//! p1-relay's price rules through the binary: the plan of `--check --prices FILE --plan`, and
//! what `--check` says of the price keys.

use std::process::Command;

use crate::common::*;
use chrono::{DateTime, Local};

/// A price file from the quarter hour of now on, for 26 hours: 0.05 every fifth quarter hour,
/// 0.20 + a thousandth a quarter otherwise. Returns the (start, value) of each slot.
fn prices_from_now(dir: &TempDir) -> (std::path::PathBuf, Vec<(i64, f64)>) {
    let now = Local::now().fixed_offset();
    let first = now.timestamp() - now.timestamp().rem_euclid(900);
    let slots: Vec<(i64, f64)> = (0..104)
        .map(|i| {
            let value = if i % 5 == 0 {
                0.05
            } else {
                0.2 + f64::from(i) / 1000.0
            };
            (first + i64::from(i) * 900, value)
        })
        .collect();
    let at = |t: i64| {
        DateTime::from_timestamp(t, 0)
            .expect("a time")
            .with_timezone(now.offset())
            .to_rfc3339()
    };
    let text: String = slots
        .iter()
        .map(|&(start, value)| format!("{{\"time\":\"{}\",\"price\":{value}}}\n", at(start)))
        .collect();
    let path = dir.path("prices.ndjson");
    std::fs::write(&path, text).expect("write prices");
    (path, slots)
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanLine {
    load: String,
    start: String,
    price: Option<f64>,
    state: String,
    why: String,
}

/// Issue 26: the plan for the next 24 hours, a load and a quarter hour a line, as NDJSON and
/// as text; nothing is switched.
#[test]
fn the_plan_shows_each_quarter_hour_of_the_next_day_per_load_regression_26() {
    let dir = TempDir::new("relay-plan");
    let (prices, slots) = prices_from_now(&dir);
    let config = config(
        &dir,
        QUICK,
        &[
            "name = \"boiler\"\npower_kw = 2.0\non_export_kw = 2.2\noff_import_kw = 0.3\nprice_below = 0.1",
            "name = \"heat\"\npower_kw = 2.0\non_export_kw = 2.2\noff_import_kw = 0.3\nmode = \"off\"",
        ],
    );
    let args = |json: bool| {
        // As the issue writes it (--plan alone implies --check: the e2e test uses that).
        let mut args = vec![
            "--check",
            "--config",
            config.to_str().expect("path"),
            "--prices",
            prices.to_str().expect("path"),
            "--plan",
        ];
        if json {
            args.push("--json");
        }
        p1_relay(&args, "")
    };
    let json = args(true);
    json.success();
    let lines: Vec<PlanLine> = json
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2 * 96);
    for (line, &(start, value)) in lines[..96].iter().zip(&slots) {
        assert_eq!(line.load, "boiler");
        assert_eq!(
            DateTime::parse_from_rfc3339(&line.start)
                .expect("start")
                .timestamp(),
            start
        );
        assert_eq!(line.price, Some(value));
        let (state, why) = if value <= 0.1 {
            ("on", "price 0.050 <= 0.100 EUR/kWh".to_string())
        } else {
            ("off", "no price rule wants it".to_string())
        };
        assert_eq!(
            (line.state.as_str(), line.why.as_str()),
            (state, why.as_str()),
            "{line:?}"
        );
    }
    assert!(
        lines[96..]
            .iter()
            .all(|l| l.load == "heat" && l.state == "off" && l.why == "mode off")
    );
    assert!(switched(&dir).is_empty(), "the plan switches nothing");
    let text = args(false);
    text.success();
    let first = text.stdout().lines().next().unwrap_or_default().to_string();
    assert!(
        first.starts_with("boiler  ")
            && first.ends_with("  0.0500  on   price 0.050 <= 0.100 EUR/kWh"),
        "{first}"
    );
    assert_eq!(text.stdout().lines().count(), 2 * 96);
}

/// Issue 26: `--check` refuses a price key that cannot work, naming it and its line.
#[test]
fn check_refuses_price_rules_that_cannot_work_regression_26() {
    let dir = TempDir::new("relay-price-check");
    for (keys, says) in [
        (
            "cheapest = { slots = 30, within = \"00:00-07:00\" }",
            "line 8: load 'boiler': cheapest slots = 30 must be 1 to 28, the quarter hours in 00:00-07:00",
        ),
        (
            "fallback = \"cheapest\"",
            "line 8: load 'boiler': fallback is where a need goes: give need_kwh_per_day or need_hours",
        ),
        (
            "need_hours = 25",
            "line 8: load 'boiler': need_hours must be above 0 and at most 24",
        ),
        (
            "fallback = \"latest\"",
            "unknown variant `latest`, expected `cheapest`",
        ),
        ("cheapest = { slots = 4 }", "missing field `within`"),
    ] {
        let path = one_load_config(
            &dir,
            QUICK,
            &format!(
                "name = \"boiler\"\npower_kw = 2.0\non_export_kw = 2.2\noff_import_kw = 0.3\n{keys}"
            ),
            DRY_RUN,
        );
        let out = p1_testkit::run(
            Command::new(env!("CARGO_BIN_EXE_p1-relay")).args([
                "--check",
                "--config",
                path.to_str().expect("path"),
            ]),
            b"",
        );
        out.status_is(78).stderr_contains(says);
    }
    let good = one_load_config(
        &dir,
        QUICK,
        "name = \"boiler\"\npower_kw = 2.0\non_export_kw = 2.2\noff_import_kw = 0.3\nprice_below = 0.1",
        DRY_RUN,
    );
    p1_relay(&["--check", "--config", good.to_str().expect("path")], "")
        .success()
        .stderr_contains(
            "load 'boiler' has price rules: without --prices FILE they never keep it on",
        );
    let missing = dir.path("no-prices.ndjson");
    p1_relay(
        &[
            "--check",
            "--config",
            good.to_str().expect("path"),
            "--prices",
            missing.to_str().expect("path"),
        ],
        "",
    )
    .status_is(66)
    .stderr_contains("no-prices.ndjson");
}

/// Issue 26: a bad line of the price file is named with the file and its number and skipped
/// (the good ones are used); a quarter hour with no price is said once, not once a reading.
#[test]
fn a_bad_price_line_is_named_and_a_missing_price_said_once_regression_26() {
    let dir = TempDir::new("relay-price-lines");
    let prices = dir.path("prices.ndjson");
    std::fs::write(
        &prices,
        concat!(
            "{\"start\":\"2024-06-01T12:00:00+02:00\",\"end\":\"2024-06-01T12:15:00+02:00\",\"value\":-0.01}\n",
            "{\"start\":\"2024-06-01T12:15:00\",\"value\":0.2}\n",
        ),
    )
    .expect("write prices");
    let config = config(
        &dir,
        QUICK,
        &[
            "name = \"boiler\"\npower_kw = 2.0\non_export_kw = 9.0\noff_import_kw = 0.3\non_delay = \"0s\"\noff_delay = \"0s\"\nprice_below = 0.0",
        ],
    );
    let mut stream = Stream::starting("2024-06-01T12:00:00+02:00");
    stream.hold(40 * 60, 1.0, 0.0);
    let out = p1_relay(
        &[
            "--config",
            config.to_str().expect("path"),
            "--prices",
            prices.to_str().expect("path"),
        ],
        &stream.text(),
    );
    out.success().stderr_contains(
        "prices.ndjson: line 2: start \"2024-06-01T12:15:00\" is no RFC 3339 time with its offset; skipped",
    );
    // 900 readings in the one priced slot: its record once, at its start.
    let slots: Vec<String> = out
        .records()
        .iter()
        .filter(|r| r.kind() == "price")
        .map(|r| serde_json::to_string(r).expect("a record"))
        .collect();
    assert_eq!(
        slots,
        [
            r#"{"type":"price","start":"2024-06-01T12:00:00+02:00","end":"2024-06-01T12:15:00+02:00","value":-0.01}"#
        ]
    );
    let said = out
        .stderr()
        .matches("no price for the quarter hour from")
        .count();
    assert_eq!(said, 1, "{}", out.stderr());
    out.stderr_contains("no price for the quarter hour from 2024-06-01T12:15:00+02:00");
    assert_eq!(
        switches(&out),
        ["12:00:00 boiler on", "12:15:00 boiler off"],
        "on in the priced quarter, off after it"
    );
}
