//! The web page (issue 25) in a real browser: headless Chromium loads it while records are
//! fed in, and what its scripts show is compared with the records; no request of the page
//! leaves 127.0.0.1; a screenshot is kept under target/; the page says STALE once the data
//! is old; and `/p1/history` is the minutes' averages.

use std::path::PathBuf;

use p1_common::contract::live::{History, Now};
use p1_testkit::{browser, skip_without, wait_until};
use serde_json::json;

use crate::serve::Server;

/// A reading of the power alone, at `time`.
fn reading(time: &str, import_kw: f64, export_kw: f64) -> String {
    json!({"type": "reading", "time": time, "power_import_kw": import_kw,
        "power_export_kw": export_kw})
    .to_string()
}

/// The records both live views are fed: a reading at 14:03:10 exporting 1.987 kW, a
/// quarter hour's peak record, two loads' events, the price slot.
fn live_fixture() -> String {
    let path = crate::common::fixtures().join("live.ndjson");
    std::fs::read_to_string(path).expect("the live fixture")
}

/// The text of the element carrying `attribute`, as the DOM dump writes it.
fn shown<'a>(dom: &'a str, attribute: &str) -> &'a str {
    let at = dom
        .find(attribute)
        .unwrap_or_else(|| panic!("no {attribute} in the page"));
    let rest = &dom[at..];
    let start = rest.find('>').expect("the element's text") + 1;
    let end = rest[start..].find('<').expect("its end") + start;
    &rest[start..end]
}

/// Issue 26: the price file of the next two hours: the fixture's slot (-0.012) and seven
/// more, 0.05 EUR/kWh apart.
fn two_hours_of_prices(dir: &p1_testkit::TempDir) -> PathBuf {
    let path = dir.path("prices.ndjson");
    let slots: String = (0..8)
        .map(|q| {
            let (from, to) = (14 * 60 + 15 * q, 14 * 60 + 15 * (q + 1));
            let value = if q == 0 { -0.012 } else { f64::from(q * 5) / 100.0 };
            format!(
                "{{\"start\":\"2026-12-07T{:02}:{:02}:00+01:00\",\"end\":\"2026-12-07T{:02}:{:02}:00+01:00\",\"value\":{value}}}\n",
                from / 60,
                from % 60,
                to / 60,
                to % 60,
            )
        })
        .collect();
    std::fs::write(&path, slots).expect("write prices");
    path
}

/// The price chart's bars in the DOM: each one's data-start and data-value.
fn price_bars(dom: &str) -> Vec<(&str, &str)> {
    dom.split("data-key=\"price\"")
        .skip(1)
        .map(|bar| {
            let attribute = |name: &str| {
                let at = bar.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
                &bar[at..at + bar[at..].find('"').expect("its end")]
            };
            (attribute("data-start"), attribute("data-value"))
        })
        .collect()
}

fn screenshot_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).expect("target/screenshots");
    dir.join(name)
}

#[test]
fn the_page_shows_the_records_fed_in_asks_nothing_of_the_internet_and_says_stale_regression_25() {
    if skip_without(&["chromium"]) {
        return;
    }
    let dir = p1_testkit::TempDir::new("page-prices");
    let prices = two_hours_of_prices(&dir);
    // Long enough for any browser start: these values must show.
    let prices = prices.to_str().expect("path");
    let args = ["--stale-after", "1m", "--rate", "1000", "--prices", prices];
    let mut server = Server::start(&args, false);
    for line in live_fixture().lines() {
        server.feed(line);
    }
    server.wait_status("/api/v1/data", 200);
    let url = format!("http://127.0.0.1:{}/", server.port);
    let page = browser::load(&url, 2500);
    let dom = &page.dom;

    assert_eq!(shown(dom, r#"id="net""#), "-1.987");
    for (key, value) in [
        ("power_import_kw", "0.000"),
        ("power_export_kw", "1.987"),
        ("power_export_l1_kw", "1.234"),
        ("power_import_l2_kw", "0.111"),
        ("voltage_l2_v", "229.9"),
        ("current_l1_a", "5.3"),
        ("average_kw", "1.250"),
        ("projected_kw", "2.750"),
        ("budget_kw", "3.200"),
        ("headroom_kw", "0.410"),
        ("month_peak_kw", "3.456"),
        ("gas_m3", "812.345 m3"),
        ("time", "2026-12-07T14:03:10+01:00"),
        ("price_eur_kwh", "-0.0120"),
        ("price_until", "until 14:15:00"),
    ] {
        assert_eq!(shown(dom, &format!(r#"data-key="{key}""#)), value, "{key}");
    }
    assert_eq!(shown(dom, r#"data-load="boiler""#), "on");
    assert_eq!(shown(dom, r#"data-load="car""#), "off");
    assert!(
        dom.contains("export 2.10 kW &gt;= 2.00 kW for 60 s"),
        "the boiler's reason"
    );

    // The price chart: a bar a slot, with its start and price.
    let bars = price_bars(dom);
    assert_eq!(bars.len(), 8, "{bars:?}");
    assert_eq!(bars[0], ("2026-12-07T14:00:00+01:00", "-0.012"));
    assert_eq!(bars[7], ("2026-12-07T15:45:00+01:00", "0.35"));
    assert!(dom.contains("id=\"prices\">"), "the price chart shows");
    assert!(
        page.requests.iter().any(|u| u.ends_with("/p1/prices")),
        "{:?}",
        page.requests
    );

    let local = format!("http://127.0.0.1:{}/", server.port);
    assert!(
        page.requests.iter().any(|u| u.ends_with("/p1/now")),
        "{:?}",
        page.requests
    );
    assert!(
        page.requests.iter().any(|u| u.ends_with("/p1/history")),
        "{:?}",
        page.requests
    );
    let away: Vec<&String> = page
        .requests
        .iter()
        .filter(|u| !u.starts_with(&local))
        .collect();
    assert!(away.is_empty(), "requests leaving 127.0.0.1: {away:?}");

    let shot = screenshot_path("p1-serve-page.png");
    browser::screenshot(&url, 2500, (1100, 1200), &shot);

    // Past --stale-after the values make way for STALE.
    let mut old = Server::start(&["--stale-after", "1", "--rate", "1000"], false);
    for line in live_fixture().lines() {
        old.feed(line);
    }
    wait_until("the reading is stale", || {
        let (_, now) = old.get("/p1/now");
        serde_json::from_str::<Now>(&now).is_ok_and(|n| n.age_s.is_some_and(|a| a > 1.0))
    });
    let stale = browser::load(&format!("http://127.0.0.1:{}/", old.port), 1500).dom;
    assert_eq!(shown(&stale, r#"id="net""#), "STALE");
    assert_eq!(shown(&stale, r#"data-key="power_export_kw""#), "STALE");
    assert!(shown(&stale, r#"id="status""#).starts_with("STALE: no reading for"));
}

#[test]
fn the_history_is_a_point_a_minute_averaged_regression_25() {
    let mut server = Server::start(&["--rate", "1000"], false);
    for (time, import, export) in [
        ("2026-12-07T14:00:10+01:00", 1.0, 0.0),
        ("2026-12-07T14:00:40+01:00", 2.0, 0.0),
        ("2026-12-07T14:01:00+01:00", 0.0, 3.0),
        ("2026-12-07T14:03:59+01:00", 0.5, 0.0),
    ] {
        server.feed(&reading(time, import, export));
    }
    wait_until("the last reading is in", || {
        server.get("/p1/reading").1.contains("14:03:59")
    });
    let (status, body) = server.get("/p1/history");
    assert_eq!(status, 200);
    let history: History = serde_json::from_str(&body).expect("a History");
    let points: Vec<(i64, f64, f64)> = history
        .minutes
        .iter()
        .map(|m| (m.t, m.net_kw, m.import_kw))
        .collect();
    let t0 = 1_796_648_400; // 2026-12-07T14:00:00+01:00
    assert_eq!(
        points,
        [(t0, 1.5, 1.5), (t0 + 60, -3.0, 0.0), (t0 + 180, 0.5, 0.5)]
    );
    assert!(history.minutes.iter().all(|m| m.offset_s == 3600));
}
