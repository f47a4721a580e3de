//! Dynamic prices end to end (issue 26), as the README wires them: p1-prices fetches today's
//! prices from a local server answering in EnergyZero's format; the README's relay.toml
//! passes `--check` and plans the day with them; p1-relay `--prices` switches the boiler on
//! the negative hour and writes the slot into the stream; p1-influx stores both in a real
//! influxd.

use std::process::Command;

use chrono::{Duration, NaiveTime, Timelike as _, Utc};
use p1_common::protocol::meter_time::{ClockZone, MeterTime};
use p1_testkit::http::{HttpServer, Reply};
use p1_testkit::influxd::Influxd;
use p1_testkit::{Proc, TempDir, skip_without, wait_until};

use crate::common::binaries;

/// The README's relay.toml for dynamic contracts: the indented block from `[peak]` to the
/// line that says p1-relay reads the file.
fn readme_relay_toml() -> String {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("    [peak]\n    limit_kw = 4.0")
        .expect("the README's relay.toml");
    let end = start
        + readme[start..]
            .find("\nand p1-relay reads the file")
            .expect("its end");
    readme[start..end]
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Today's hours on Brussels' clock as EnergyZero lists them (UTC), the hour of `now`
/// at -0.05 EUR/kWh and the others at 0.30; and the UTC start of now's hour.
fn energyzero_today(now: chrono::DateTime<Utc>) -> (String, String, i64) {
    let zone = ClockZone::default();
    let (local, _) = zone.local_time(now.naive_utc());
    let midnight = zone
        .utc_of_local(local.date().and_time(NaiveTime::MIN))
        .and_utc();
    let next = zone
        .utc_of_local((local.date() + Duration::days(1)).and_time(NaiveTime::MIN))
        .and_utc();
    let hour = now
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .expect("the hour");
    let hour = hour.with_nanosecond(0).expect("the hour");
    let mut prices = Vec::new();
    let mut at = midnight;
    while at < next {
        let price = if at == hour { -0.05 } else { 0.30 };
        prices.push(format!(
            r#"{{"price":{price},"readingDate":"{}"}}"#,
            at.format("%Y-%m-%dT%H:%M:%SZ")
        ));
        at += Duration::hours(1);
    }
    let body = format!(r#"{{"Prices":[{}],"intervalType":4}}"#, prices.join(","));
    (body, local.date().to_string(), hour.timestamp())
}

#[test]
fn prices_from_p1_prices_through_the_relay_into_influxdb_regression_26() {
    if skip_without(&["influxd"]) {
        return;
    }
    let bin = binaries();
    let dir = TempDir::new("e2e-prices");
    let (prices, config) = (dir.path("prices.ndjson"), dir.path("relay.toml"));
    std::fs::write(&config, readme_relay_toml()).expect("relay.toml");
    let (body, today, hour) = energyzero_today(Utc::now());
    let server = HttpServer::start(move |_, _| Reply::ok(&body));
    let fetched = p1_testkit::run(
        Command::new(bin.join("p1-prices"))
            .args(["energyzero", "--out"])
            .arg(&prices)
            .args(["--url", &server.url, "--day", &today]),
        b"",
    );
    fetched.success();

    // The plan: the boiler on in the four quarter hours of the negative hour, and only then.
    let plan = p1_testkit::run(
        Command::new(bin.join("p1-relay"))
            .args(["--plan", "--json", "--config"])
            .arg(&config)
            .arg("--prices")
            .arg(&prices),
        b"",
    );
    plan.success();
    let boiler_on: Vec<i64> = plan
        .stdout()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a plan line"))
        .filter(|l| l["load"] == "boiler" && l["state"] == "on")
        .filter(|l| l["why"] == "price -0.050 <= 0.000 EUR/kWh")
        .filter_map(|l| MeterTime::parse_rfc3339(l["start"].as_str()?)?.timestamp())
        .collect();
    let quarters: Vec<i64> = (0..4)
        .map(|q| hour + q * 900)
        .filter(|&q| q >= Utc::now().timestamp() / 900 * 900)
        .collect();
    assert_eq!(boiler_on, quarters, "{}", plan.stdout());

    // Live: an hour of the house drawing nothing, from the negative hour's start, through
    // p1-relay into influxd.
    let influxd = Influxd::start();
    influxd.create_database("p1");
    let b = bin.display();
    let mut pipeline = Proc::spawn(Command::new("bash").arg("-c").arg(format!(
        "set -o pipefail; {b}/p1-relay --dry-run --config {c} --prices {p} \
         | {b}/p1-influx --url {u} --db p1 --flush 1 --spool-dir {d}/spool",
        c = config.display(),
        p = prices.display(),
        u = influxd.url(),
        d = dir.root().display()
    )));
    // The meter's clock in that hour: Brussels' offset then.
    let start = chrono::DateTime::from_timestamp(hour, 0)
        .expect("a time")
        .naive_utc();
    let offset = (ClockZone::default().local_time(start).0 - start).num_seconds();
    let offset = chrono::FixedOffset::east_opt(i32::try_from(offset).expect("an offset"))
        .expect("an offset");
    let mut lines = String::new();
    for t in 0..600 {
        let time = chrono::DateTime::from_timestamp(hour + t, 0)
            .expect("a time")
            .with_timezone(&offset);
        lines.push_str(&format!(
            "{{\"type\":\"reading\",\"time\":\"{}\",\"power_import_kw\":0.0,\"power_export_kw\":0.0,\
             \"energy_import_t1_kwh\":1000.0,\"energy_import_t2_kwh\":500.0,\"demand_max_month_kw\":3.0}}\n",
            time.to_rfc3339()
        ));
    }
    pipeline.write(lines.as_bytes());
    pipeline.close_stdin();
    assert!(pipeline.wait(std::time::Duration::from_secs(30)).success());
    wait_until("the relay event and the price in influxd", || {
        influxd.count("p1", "SELECT count(value) FROM p1_price") == 1
            && influxd.count("p1", "SELECT count(\"on\") FROM p1_relay WHERE \"on\" = 1") >= 1
    });
    let price = influxd.rows("p1", "SELECT value FROM p1_price");
    assert_eq!(
        (price[0]["time"].as_i64(), price[0]["value"].as_f64()),
        (Some(hour), Some(-0.05))
    );
    let on = influxd.rows(
        "p1",
        "SELECT reason, price FROM p1_relay WHERE \"load\" = 'boiler' AND \"on\" = 1",
    );
    assert_eq!(on[0]["reason"], "price -0.050 <= 0.000 EUR/kWh", "{on:?}");
    assert_eq!(on[0]["price"], -0.05, "{on:?}");
}
