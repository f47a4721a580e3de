//! A day's prices fetched, made all in and merged into the price file; and every way a
//! fetch can fail, each with its exit status and the old file kept.

use std::path::Path;
use std::process::Command;

use p1_common::contract::price::{PriceSlot, read_price_file};
use p1_testkit::http::{HttpServer, Reply};
use p1_testkit::{Finished, TempDir, run};

/// A day-ahead document for 2026-12-07 in Belgium: hourly, positions 2 to 12 and 14 to 24
/// left out (A03: equal to the one before).
const DOCUMENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Publication_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3">
  <mRID>5a1b</mRID><revisionNumber>1</revisionNumber><type>A44</type>
  <period.timeInterval><start>2026-12-06T23:00Z</start><end>2026-12-07T23:00Z</end></period.timeInterval>
  <TimeSeries>
    <mRID>1</mRID><businessType>A62</businessType>
    <in_Domain.mRID codingScheme="A01">10YBE----------2</in_Domain.mRID>
    <currency_Unit.name>EUR</currency_Unit.name><price_Measure_Unit.name>MWH</price_Measure_Unit.name>
    <curveType>A03</curveType>
    <Period>
      <timeInterval><start>2026-12-06T23:00Z</start><end>2026-12-07T23:00Z</end></timeInterval>
      <resolution>PT60M</resolution>
      <Point><position>1</position><price.amount>100.00</price.amount></Point>
      <Point><position>13</position><price.amount>-20.00</price.amount></Point>
    </Period>
  </TimeSeries>
</Publication_MarketDocument>"#;

const NO_DATA: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Acknowledgement_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0">
  <mRID>c1</mRID><createdDateTime>2026-12-07T10:00:00Z</createdDateTime>
  <Reason><code>999</code><text>No matching data found for Data item Day-ahead Prices [12.1.D] (10YBE----------2, 10YBE----------2) and interval 2026-12-06T23:00:00.000Z/2026-12-07T23:00:00.000Z.</text></Reason>
</Acknowledgement_MarketDocument>"#;

/// An old file: a slot long over (dropped) and one far ahead (kept).
const OLD: &str = concat!(
    r#"{"type":"price","start":"2020-01-01T00:00:00+01:00","end":"2020-01-01T01:00:00+01:00","value":0.5}"#,
    "\n",
    r#"{"type":"price","start":"2030-01-01T00:00:00+01:00","end":"2030-01-01T01:00:00+01:00","value":0.25}"#,
    "\n"
);

fn prices(args: &[&str]) -> Finished {
    run(
        Command::new(env!("CARGO_BIN_EXE_p1-prices")).args(args),
        b"",
    )
}

/// A server that answers every request with `status`, `headers` and `body`.
fn answering(status: u16, headers: &str, body: impl Into<String>) -> HttpServer {
    let (headers, body) = (headers.to_string(), body.into());
    HttpServer::start(move |_, _| Reply::Status(status, headers.clone(), body.clone()))
}

/// p1-prices energyzero from `server` into `out` for `day`, with `extra` flags.
fn energyzero(server: &HttpServer, out: &Path, day: &str, extra: &[&str]) -> Finished {
    let out = out.to_str().unwrap();
    let args = [
        "energyzero",
        "--out",
        out,
        "--url",
        &server.url,
        "--day",
        day,
    ];
    prices(&[&args[..], extra].concat())
}

fn entsoe(server: &HttpServer, dir: &TempDir, out: &Path) -> Finished {
    let token = dir.path("token");
    std::fs::write(&token, "secret-token-123\n").unwrap();
    let mut perms = std::fs::metadata(&token).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
    std::fs::set_permissions(&token, perms).unwrap();
    prices(&[
        "entsoe",
        "--zone",
        "BE",
        "--token-file",
        token.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--url",
        &server.url,
        "--day",
        "2026-12-07",
        "--add",
        "0.1",
        "--multiply",
        "1.06",
    ])
}

fn slots(path: &Path) -> Vec<PriceSlot> {
    let file = read_price_file(&std::fs::read_to_string(path).unwrap());
    assert!(file.bad.is_empty(), "{:?}", file.bad);
    file.slots
}

#[test]
fn entsoe_day_ahead_prices_are_made_all_in_and_merged_into_the_file_regression_26() {
    let server = answering(200, "Content-Type: text/xml\r\n", DOCUMENT);
    let dir = TempDir::new("p1-prices");
    let out = dir.path("prices.ndjson");
    std::fs::write(&out, OLD).unwrap();
    entsoe(&server, &dir, &out).success();

    let asked = &server.requests()[0].path;
    for part in [
        "/api?",
        "documentType=A44",
        "in_Domain=10YBE----------2",
        "out_Domain=10YBE----------2",
        "periodStart=202612062300",
        "periodEnd=202612072300",
        "securityToken=secret-token-123",
    ] {
        assert!(asked.contains(part), "{part} in {asked}");
    }
    let slots = slots(&out);
    assert_eq!(
        slots.len(),
        24 + 1,
        "the day's 24 hours and the slot still to come"
    );
    assert_eq!(slots[0].start.to_rfc3339(), "2026-12-07T00:00:00+01:00");
    assert_eq!(slots[0].end.to_rfc3339(), "2026-12-07T01:00:00+01:00");
    // (100 EUR/MWh + 0.1) x 1.06 for the first 12 hours, (-20 EUR/MWh + 0.1) x 1.06 after.
    assert!(
        slots[..12].iter().all(|s| s.value == 0.212),
        "{:?}",
        &slots[..12]
    );
    assert!(
        slots[12..24].iter().all(|s| s.value == 0.0848),
        "{:?}",
        &slots[12..24]
    );
    assert_eq!(slots[24].start.to_rfc3339(), "2030-01-01T00:00:00+01:00");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with(r#"{"type":"price","start":"2026-12-07T00:00:00+01:00","end":"2026-12-07T01:00:00+01:00","value":0.212}"#), "{text}");
}

#[test]
fn not_published_refused_or_unreadable_each_has_its_status_and_keeps_the_old_file_regression_26() {
    for (status, body, code, said) in [
        (400, NO_DATA, 75, "not published yet"),
        (200, NO_DATA, 75, "not published yet"),
        (401, "<html>Unauthorized</html>", 78, "refused the token"),
        (200, "<html>maintenance</html>", 1, "cannot be read"),
        (503, "busy", 75, "busy"),
    ] {
        let server = answering(status, "", body);
        let dir = TempDir::new("p1-prices-fail");
        let out = dir.path("prices.ndjson");
        std::fs::write(&out, OLD).unwrap();
        let done = entsoe(&server, &dir, &out);
        done.status_is(code)
            .stderr_contains(said)
            .stderr_lacks("secret-token-123");
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            OLD,
            "HTTP {status}: the old file kept"
        );
    }
    // Nobody there: temporary.
    let dir = TempDir::new("p1-prices-away");
    let out = dir.path("prices.ndjson");
    let nobody = format!("http://127.0.0.1:{}", p1_testkit::free_port());
    prices(&[
        "energyzero",
        "--out",
        out.to_str().unwrap(),
        "--url",
        &nobody,
    ])
    .status_is(75);
    assert!(!out.exists());
}

#[test]
fn energyzero_prices_fill_the_file_regression_26() {
    let body: String = {
        let prices: Vec<String> = (0..24)
            .map(|h| {
                let at = chrono::DateTime::parse_from_rfc3339("2026-12-06T23:00:00Z").unwrap()
                    + chrono::Duration::hours(h);
                format!(
                    r#"{{"price":{},"readingDate":"{}"}}"#,
                    f64::from(h as i32) / 100.0,
                    at.format("%Y-%m-%dT%H:%M:%SZ")
                )
            })
            .collect();
        format!(
            r#"{{"Prices":[{}],"intervalType":4,"average":0.115}}"#,
            prices.join(",")
        )
    };
    let server = answering(200, "Content-Type: application/json\r\n", body);
    let dir = TempDir::new("p1-prices-ez");
    let out = dir.path("prices.ndjson");
    energyzero(&server, &out, "2026-12-07", &["--add", "0.12"]).success();
    let asked = &server.requests()[0].path;
    assert!(
        asked.starts_with(
            "/v1/energyprices?fromDate=2026-12-06T23:00:00.000Z&tillDate=2026-12-07T22:59:59.999Z"
        ),
        "{asked}"
    );
    let slots = slots(&out);
    assert_eq!(slots.len(), 24);
    assert_eq!(
        (slots[5].start.to_rfc3339(), slots[5].value),
        ("2026-12-07T05:00:00+01:00".to_string(), 0.17)
    );
    assert_eq!(slots[23].end.to_rfc3339(), "2026-12-08T00:00:00+01:00");

    // An empty list: not published yet.
    let empty = answering(200, "", r#"{"Prices":[]}"#);
    energyzero(&empty, &out, "2026-12-08", &[]).status_is(75);
    assert_eq!(self::slots(&out).len(), 24);
}

/// A day's ENTSO-E document in 15-minute slots (as the market has them since 2025-10-01):
/// the quarter hours of 00:00 to 01:00 given, the rest of the day left out (A03: equal to
/// the one before).
const QUARTER_DOCUMENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Publication_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3">
  <mRID>5a1c</mRID><revisionNumber>1</revisionNumber><type>A44</type>
  <period.timeInterval><start>2026-12-06T23:00Z</start><end>2026-12-07T23:00Z</end></period.timeInterval>
  <TimeSeries>
    <mRID>1</mRID><businessType>A62</businessType>
    <currency_Unit.name>EUR</currency_Unit.name><price_Measure_Unit.name>MWH</price_Measure_Unit.name>
    <curveType>A03</curveType>
    <Period>
      <timeInterval><start>2026-12-06T23:00Z</start><end>2026-12-07T23:00Z</end></timeInterval>
      <resolution>PT15M</resolution>
      <Point><position>1</position><price.amount>80.00</price.amount></Point>
      <Point><position>2</position><price.amount>60.00</price.amount></Point>
      <Point><position>3</position><price.amount>-5.00</price.amount></Point>
      <Point><position>4</position><price.amount>40.00</price.amount></Point>
    </Period>
  </TimeSeries>
</Publication_MarketDocument>"#;

/// Issue 26: 15-minute slots from both sources: ENTSO-E's PT15M document (A03 filled to the
/// day's end) and EnergyZero's quarter-hour list.
#[test]
fn quarter_hour_prices_from_both_sources_regression_26() {
    let server = answering(200, "Content-Type: text/xml\r\n", QUARTER_DOCUMENT);
    let dir = TempDir::new("p1-prices-15");
    let out = dir.path("prices.ndjson");
    entsoe(&server, &dir, &out).success();
    let slots = slots(&out);
    assert_eq!(slots.len(), 96, "a day of quarter hours");
    let shown = |s: &PriceSlot| (s.start.to_rfc3339(), s.end.to_rfc3339(), s.value);
    // (EUR/MWh / 1000 + 0.1) x 1.06
    assert_eq!(
        shown(&slots[2]),
        (
            "2026-12-07T00:30:00+01:00".into(),
            "2026-12-07T00:45:00+01:00".into(),
            0.1007
        )
    );
    assert_eq!(
        shown(&slots[95]),
        (
            "2026-12-07T23:45:00+01:00".into(),
            "2026-12-08T00:00:00+01:00".into(),
            0.1484
        )
    );

    let body: String = {
        let prices: Vec<String> = (0..96)
            .map(|q| {
                let at = chrono::DateTime::parse_from_rfc3339("2026-12-06T23:00:00Z").unwrap()
                    + chrono::Duration::minutes(15 * q);
                format!(
                    r#"{{"price":{},"readingDate":"{}"}}"#,
                    f64::from(i32::try_from(q % 8).unwrap()) / 100.0 - 0.02,
                    at.format("%Y-%m-%dT%H:%M:%SZ")
                )
            })
            .collect();
        format!(r#"{{"Prices":[{}],"intervalType":4}}"#, prices.join(","))
    };
    let server = answering(200, "", body);
    let out = dir.path("energyzero.ndjson");
    energyzero(&server, &out, "2026-12-07", &[]).success();
    let slots = self::slots(&out);
    assert_eq!(slots.len(), 96);
    assert_eq!(
        shown(&slots[1]),
        (
            "2026-12-07T00:15:00+01:00".into(),
            "2026-12-07T00:30:00+01:00".into(),
            -0.01
        )
    );
    assert_eq!(slots[95].end.to_rfc3339(), "2026-12-08T00:00:00+01:00");
}

/// Issue 26: EnergyZero's failures as ENTSO-E's: an answer it cannot read is 1 with nothing
/// written (no file made, an old one kept), a refusal 78, not published 75.
#[test]
fn energyzero_failures_have_their_status_and_write_nothing_regression_26() {
    for (status, body, code, said) in [
        (200, "<html>maintenance</html>", 1, "cannot be read"),
        (200, r#"{"Prices":[{"price":"x"}]}"#, 1, "cannot be read"),
        (401, "{}", 78, "refused"),
        (200, r#"{"Prices":[]}"#, 75, "not published yet"),
    ] {
        let server = answering(status, "", body);
        let dir = TempDir::new("p1-prices-ez-fail");
        let (none, old) = (dir.path("none.ndjson"), dir.path("old.ndjson"));
        std::fs::write(&old, OLD).unwrap();
        for out in [&none, &old] {
            energyzero(&server, out, "2026-12-07", &[])
                .status_is(code)
                .stderr_contains(said);
        }
        assert!(!none.exists(), "{body}: nothing written");
        assert_eq!(
            std::fs::read_to_string(&old).unwrap(),
            OLD,
            "{body}: the old file kept"
        );
    }
}
