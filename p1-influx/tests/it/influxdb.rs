//! p1-influx against a real `InfluxDB` 1.x: values and types written, outages survived.

use std::path::Path;
use std::time::Duration;

use p1_testkit::influxd::{as_grafana_sends, dashboard_queries};
use p1_testkit::wait_until;

use crate::common::*;

/// Database p1 of the influxd at `url`.
fn to_p1(url: &str) -> [&str; 4] {
    ["--url", url, "--db", "p1"]
}

fn args<'a>(influxd: &'a str, spool: &'a str) -> Vec<&'a str> {
    [&to_p1(influxd)[..], &["--spool-dir", spool]].concat()
}

/// A long-running p1-influx sending to database p1 of `influxd`, a batch every second or
/// `batch_lines`, giving up on a request after 2 s.
fn batching_to(influxd: &Influxd, batch_lines: &str, spool: &Path) -> Proc {
    let url = influxd.url();
    let batching = [
        "--flush",
        "1",
        "--batch-lines",
        batch_lines,
        "--timeout",
        "2",
    ];
    spawn_p1_influx(&[&to_p1(&url)[..], &batching].concat(), spool)
}

#[test]
fn readings_mbus_and_relay_events_land_with_their_values_and_types() {
    let Some(influxd) = Influxd::with_database("p1") else {
        return;
    };
    let spool = TempDir::new("spool");
    let mut input = String::new();
    for name in [
        "fluvius_v171.txt",
        "fluvius_v171_alt.txt",
        "v5_two_mbus.txt",
        "v4_2.txt",
    ] {
        input.push_str(&reading_line(name));
        input.push('\n');
    }
    input.push_str("{\"type\":\"relay\",\"time\":\"2024-06-12T12:01:00+02:00\",\"load\":\"boiler\",\"state\":\"on\",\"reason\":\"export 2.41 kW >= 2.20 kW for 60 s\"}\n");
    input.push_str("not json\n{\"type\":\"reading\",\"header\":\"X\"}\n");
    // Issue 26: the price slots p1-relay --prices writes.
    input.push_str("{\"type\":\"price\",\"start\":\"2026-12-07T14:00:00+01:00\",\"end\":\"2026-12-07T14:15:00+01:00\",\"value\":-0.012}\n");
    input.push_str("{\"type\":\"price\",\"start\":\"2026-12-07T14:15:00+01:00\",\"end\":\"2026-12-07T14:30:00+01:00\",\"value\":0}\n");
    let url = influxd.url();
    let spool_dir = spool.root().to_string_lossy().into_owned();
    let output = p1_influx(&args(&url, &spool_dir), &input, &[]);
    output.success();
    let err = output.stderr();
    assert!(err.contains("stdin: line 6: not JSON"), "{err}");
    assert!(
        err.contains("stdin: line 7: a reading with no numeric value to write"),
        "{err}"
    );

    let rows = influxd.rows("p1", "SELECT * FROM p1 WHERE meter_id = '1SAG3101021605'");
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["time"], 1_589_284_449);
    assert_eq!(r["energy_import_t2_kwh"], 15.758);
    assert_eq!(r["voltage_l1_v"], 234.7);
    assert_eq!(r["demand_max_month_kw"], 2.589);
    assert_eq!(r["tariff"], 1);
    let rows = influxd.rows("p1", "SELECT * FROM p1 WHERE meter_id = '1SAG3100721326'");
    assert_eq!(rows[0]["current_l1_a"], 0.27);
    assert_eq!(
        influxd.count("p1", "SELECT count(power_import_kw) FROM p1"),
        4
    );

    let types: Vec<(String, String)> = influxd
        .rows("p1", "SHOW FIELD KEYS FROM p1")
        .iter()
        .map(|r| {
            (
                r["fieldKey"].as_str().unwrap_or("").to_string(),
                r["fieldType"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (key, kind) in [
        ("tariff", "integer"),
        ("power_failures", "integer"),
        ("voltage_sags_l3", "integer"),
        ("voltage_l1_v", "float"),
        ("energy_import_t1_kwh", "float"),
        ("power_import_kw", "float"),
    ] {
        assert!(
            types.contains(&(key.to_string(), kind.to_string())),
            "{key} should be {kind}: {types:?}"
        );
    }

    let gas = influxd.rows("p1", "SELECT * FROM p1_mbus WHERE id = '7FLO2119033733'");
    assert_eq!(gas.len(), 1);
    assert_eq!(gas[0]["value"], 112.384);
    assert_eq!(gas[0]["kind"], "gas");
    assert_eq!(gas[0]["channel"], "1");
    assert_eq!(gas[0]["time"], 1_589_283_958);
    // v5_two_mbus: channel 1's placeholder time gives no point; channel 2 its own.
    assert_eq!(
        influxd.count(
            "p1",
            "SELECT count(value) FROM p1_mbus WHERE meter_id = 'E0044007382246019'"
        ),
        1
    );

    let relay = influxd.rows("p1", "SELECT * FROM p1_relay");
    assert_eq!(relay.len(), 1);
    assert_eq!(relay[0]["load"], "boiler");
    assert_eq!(relay[0]["on"], 1);
    assert_eq!(relay[0]["reason"], "export 2.41 kW >= 2.20 kW for 60 s");
    let prices = influxd.rows("p1", "SELECT value FROM p1_price");
    let prices: Vec<(i64, f64)> = prices
        .iter()
        .map(|r| {
            (
                r["time"].as_i64().unwrap_or(0),
                r["value"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    assert_eq!(prices, [(1_796_648_400, -0.012), (1_796_649_300, 0.0)]);
    let price_type = influxd.rows("p1", "SHOW FIELD KEYS FROM p1_price");
    assert_eq!(price_type[0]["fieldType"], "float");
    assert!(
        spooled_lines(spool.root()) == 0,
        "everything sent, nothing left"
    );
}

#[test]
fn a_server_that_goes_down_mid_stream_and_comes_back_gets_every_point_once() {
    let Some(mut influxd) = Influxd::with_database("p1") else {
        return;
    };
    let spool = TempDir::new("spool");
    let mut influx = batching_to(&influxd, "50", spool.root());
    let all = numbered_readings(600, 1_700_000_000);
    let lines: Vec<&str> = all.lines().collect();
    let feed = |influx: &mut Proc, part: &[&str]| {
        let text: String = part.iter().map(|l| format!("{l}\n")).collect();
        influx.write(text.as_bytes());
    };
    feed(&mut influx, &lines[..200]);
    wait_until("the first 200 points in influxd", || {
        influxd.count("p1", "SELECT count(power_import_kw) FROM p1") == 200
    });
    influxd.stop();
    feed(&mut influx, &lines[200..400]);
    influx.wait_stderr("cannot reach the server", Duration::from_secs(20));
    influxd.resume();
    feed(&mut influx, &lines[400..]);
    influx.close_stdin();
    let status = influx.wait(Duration::from_mins(1));
    assert!(status.success());
    assert_eq!(
        influxd.count("p1", "SELECT count(power_import_kw) FROM p1"),
        600
    );
    assert_eq!(influxd.count("p1", "SELECT count(tariff) FROM p1"), 600);
}

#[test]
fn killed_while_the_server_is_down_it_sends_the_spool_after_a_restart() {
    let Some(mut influxd) = Influxd::with_database("p1") else {
        return;
    };
    influxd.stop();
    let spool = TempDir::new("spool");
    let mut influx = batching_to(&influxd, "100", spool.root());
    influx.write(numbered_readings(450, 1_700_100_000).as_bytes());
    wait_until("450 lines in the spool", || {
        spooled_lines(spool.root()) >= 450
    });
    influx.signal(Signal::SIGKILL);
    influx.wait(Duration::from_secs(10));

    influxd.resume();
    let url = influxd.url();
    let spool_dir = spool.root().to_string_lossy().into_owned();
    let output = p1_influx(&args(&url, &spool_dir), "", &[]);
    output.success();
    assert_eq!(
        influxd.count("p1", "SELECT count(power_import_kw) FROM p1"),
        450
    );
    assert_eq!(spooled_lines(spool.root()), 0);
}

#[test]
fn an_unknown_database_keeps_the_data_and_says_what_to_fix() {
    if skip_without(&["influxd"]) {
        return;
    }
    let influxd = Influxd::start();
    let spool = TempDir::new("spool");
    let mut influx = spawn_p1_influx(
        &["--url", &influxd.url(), "--db", "nosuchdb", "--flush", "1"],
        spool.root(),
    );
    influx.write(numbered_readings(5, 1_700_200_000).as_bytes());
    influx.wait_stderr(
        "404: not found: check --url and --db",
        Duration::from_secs(20),
    );
    assert_eq!(influx.terminate(Duration::from_secs(20)).code(), Some(0));
    let err = influx.rest_of_stderr(Duration::from_secs(5)).join("\n");
    assert!(err.contains("CREATE DATABASE"), "{err}");
    assert_eq!(spooled_lines(spool.root()), 5, "kept for the next run");
}

#[test]
fn every_query_of_the_grafana_dashboard_runs() {
    let Some(influxd) = Influxd::with_database("p1") else {
        return;
    };
    let spool = TempDir::new("spool");
    let mut input = String::new();
    for name in ["fluvius_v171.txt", "fluvius_v171_alt.txt"] {
        input.push_str(&reading_line(name));
        input.push('\n');
    }
    input.push_str("{\"type\":\"relay\",\"time\":\"2020-05-12T13:55:00+02:00\",\"load\":\"boiler\",\"state\":\"on\",\"reason\":\"r\"}\n");
    input.push_str("{\"type\":\"price\",\"start\":\"2020-05-12T13:45:00+02:00\",\"end\":\"2020-05-12T14:00:00+02:00\",\"value\":0.21}\n");
    let url = influxd.url();
    let spool_dir = spool.root().to_string_lossy().into_owned();
    assert!(
        p1_influx(&args(&url, &spool_dir), &input, &[])
            .status
            .success()
    );

    let queries = dashboard_queries();
    assert!(queries.len() >= 6, "{queries:?}");
    let mut answered = 0;
    for (title, query) in queries {
        let years = ("2020-01-01T00:00:00Z", "2024-01-01T00:00:00Z");
        let q = as_grafana_sends(&query, years, "15m", "1SAG3101021605");
        let answer = influxd.query("p1", &q);
        let result = &answer["results"][0];
        assert!(result.get("error").is_none(), "{title}: {q}: {answer}");
        if result.get("series").is_some() {
            answered += 1;
        } else {
            assert!(!title.starts_with("Price"), "{title}: no price shown: {q}");
        }
    }
    assert!(answered >= 6, "most panels show data from these readings");
}
