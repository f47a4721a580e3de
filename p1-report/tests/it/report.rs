//! Two days of readings across a month boundary, every 10 s, from a meter whose registers
//! count whole watt-hours: 1 kW all the time but a 3 kW quarter hour on the 31st at 18:00
//! and a 2 kW one on the 1st at 07:30, and a silence of 120 s on the 1st at 10:05.

use std::path::Path;
use std::process::Command;

use p1_common::contract::report::{DayReport, MonthReport};
use p1_testkit::{Finished, TempDir, run};
use serde_json::json;

const START: i64 = 1_780_178_400; // 2026-05-31T00:00:00+02:00
const END: i64 = START + 2 * 86_400; // 2026-06-02T00:00:00+02:00

fn watts(t: i64) -> i64 {
    let into_day = (t - START).rem_euclid(86_400);
    if t < START + 86_400 && (18 * 3600..18 * 3600 + 900).contains(&into_day) {
        3000
    } else if t >= START + 86_400 && (7 * 3600 + 1800..7 * 3600 + 2700).contains(&into_day) {
        2000
    } else {
        1000
    }
}

/// The readings, one a line, with the silence left out.
fn readings() -> String {
    let silence = START + 86_400 + 10 * 3600 + 300..START + 86_400 + 10 * 3600 + 420;
    let (mut t1_ws, mut t2_ws) = (5_000_000 * 3600_i64, 1_000_000 * 3600_i64);
    let mut lines = String::new();
    let mut t = START;
    while t <= END {
        if !silence.contains(&t) || t == silence.start {
            let kwh = |ws: i64| (ws / 3_600_000) as f64 + (ws / 3600 % 1000) as f64 / 1000.0;
            let time = chrono::DateTime::from_timestamp(t, 0)
                .unwrap()
                .with_timezone(&chrono::FixedOffset::east_opt(7200).unwrap());
            lines.push_str(
                &json!({"type": "reading", "time": time.to_rfc3339(),
                    "energy_import_t1_kwh": kwh(t1_ws), "energy_import_t2_kwh": kwh(t2_ws),
                    "energy_export_t1_kwh": 0.0, "energy_export_t2_kwh": 0.0,
                    "power_import_kw": watts(t) as f64 / 1000.0, "power_export_kw": 0.0})
                .to_string(),
            );
            lines.push('\n');
        }
        // Night tariff (2) before 07:00, day tariff (1) after.
        let into_day = (t - START).rem_euclid(86_400);
        if into_day < 7 * 3600 {
            t2_ws += watts(t) * 10;
        } else {
            t1_ws += watts(t) * 10;
        }
        t += 10;
    }
    lines
}

fn report(args: &[&str], stdin: &str) -> Finished {
    run(
        Command::new(env!("CARGO_BIN_EXE_p1-report")).args(args),
        stdin.as_bytes(),
    )
}

#[test]
fn days_and_months_have_the_energy_the_peak_and_the_capacity_tariff() {
    let done = report(&["--format", "json"], &readings());
    done.success().stderr_lacks("warning");
    let stdout = done.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    let may31: DayReport = serde_json::from_str(lines[0]).unwrap();
    let may: MonthReport = serde_json::from_str(lines[1]).unwrap();
    let june1: DayReport = serde_json::from_str(lines[2]).unwrap();
    let june: MonthReport = serde_json::from_str(lines[3]).unwrap();

    assert_eq!(may31.date, "2026-05-31");
    assert_eq!(
        (may31.import_kwh, may31.import_t1_kwh, may31.import_t2_kwh),
        (24.5, 17.5, 7.0)
    );
    assert_eq!(may31.export_kwh, 0.0);
    assert_eq!(may31.peak_kw, Some(3.0));
    assert_eq!(
        may31.peak_start.unwrap().to_string(),
        "2026-05-31T18:00:00+02:00"
    );
    assert_eq!((may31.quarters, may31.incomplete_quarters), (96, 0));
    assert_eq!(may.month, "2026-05");
    assert_eq!(
        (may.import_kwh, may.peak_kw, may.capacity_kw),
        (24.5, Some(3.0), 3.0)
    );

    assert_eq!(june1.date, "2026-06-01");
    assert_eq!(
        (june1.import_kwh, june1.import_t1_kwh, june1.import_t2_kwh),
        (24.25, 17.25, 7.0)
    );
    assert_eq!(june1.peak_kw, Some(2.0));
    assert_eq!(
        june1.peak_start.unwrap().to_string(),
        "2026-06-01T07:30:00+02:00"
    );
    // The silence at 10:05 leaves that quarter incomplete; the reading at 00:00 of the 2nd
    // closes the 1st, so no day of the 2nd is written.
    assert_eq!((june1.quarters, june1.incomplete_quarters), (96, 1));
    // The capacity tariff counts June's 2 kW peak as 2.5: (3.0 + 2.5) / 2.
    assert_eq!((june.peak_kw, june.capacity_kw), (Some(2.0), 2.75));
}

#[test]
fn by_month_as_csv_and_the_table_for_a_person() {
    let done = report(&["--by", "month", "--format", "csv"], &readings());
    let csv = done.success().stdout();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "type,period,import_kwh,export_kwh,import_t1_kwh,import_t2_kwh,export_t1_kwh,export_t2_kwh,peak_kw,peak_start,quarters,incomplete_quarters,capacity_kw"
    );
    assert_eq!(
        rows[1],
        "month,2026-05,24.5,0,17.5,7,0,0,3,2026-05-31T18:00:00+02:00,96,0,3"
    );
    assert_eq!(rows.len(), 3);

    let table = report(&["--by", "day"], &readings()).success().stdout();
    let day = table
        .lines()
        .find(|l| l.starts_with("2026-06-01"))
        .expect("the 1st");
    let cells: Vec<&str> = day.split_whitespace().collect();
    assert_eq!(&cells[..4], ["2026-06-01", "24.250", "17.250", "7.000"]);
    assert!(day.ends_with("(1 incomplete)"), "{day}");
}

#[test]
fn files_are_read_in_turn_and_a_bad_line_is_named_with_nothing_valid_lost() {
    let dir = TempDir::new("p1-report");
    let text = readings();
    let (first, second) = text.split_at(text.len() / 2);
    let cut = first.rfind('\n').unwrap() + 1;
    let (first, second) = (&text[..cut], format!("{}not json\n{second}", &first[cut..]));
    let a = dir.path("a.ndjson");
    let b = dir.path("b.ndjson");
    std::fs::write(&a, first).unwrap();
    std::fs::write(&b, second).unwrap();
    let done = report(
        &[
            "--format",
            "json",
            "--by",
            "day",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
        "",
    );
    done.success()
        .stderr_contains(&format!("{}: line 1:", b.display()));
    let days: Vec<DayReport> = done
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        days.iter().map(|d| d.import_kwh).collect::<Vec<_>>(),
        [24.5, 24.25]
    );

    report(&["/nonexistent/readings.ndjson"], "")
        .status_is(66)
        .stderr_contains("p1-report: /nonexistent/readings.ndjson: ");
}

#[test]
fn the_plot_is_an_svg_holding_the_series_and_the_month_peaks() {
    let dir = TempDir::new("p1-report-plot");
    let svg = dir.path("plot.svg");
    report(&["--plot", svg.to_str().unwrap()], &readings()).success();
    let (polylines, circles, texts) = read_svg(&svg);
    // Net power a point a minute (2,881 coarsened to one every 2 minutes, at most 2,400
    // kept), the complete quarter hours (192 less the incomplete one), a peak a month.
    let lengths: Vec<usize> = polylines.iter().map(Vec::len).collect();
    assert!(lengths.contains(&1441), "{lengths:?}");
    assert!(lengths.contains(&191), "{lengths:?}");
    assert_eq!(circles, 2 + 1, "two month peaks and the legend's mark");
    for label in [
        "net power",
        "quarter-hour average import",
        "month peak",
        "3.00 kW",
        "2.00 kW",
    ] {
        assert!(texts.iter().any(|t| t == label), "{label} in {texts:?}");
    }
    // The quarter series' highest point is the 3 kW quarter: the lowest y drawn.
    let quarters = polylines.iter().find(|p| p.len() == 191).unwrap();
    let top = quarters.iter().map(|p| p.1).fold(f64::MAX, f64::min);
    let three = quarters.iter().filter(|p| p.1 == top).count();
    assert_eq!(three, 1);
}

/// A polyline's points.
type Points = Vec<(f64, f64)>;

/// The SVG's polylines, circles and texts, read as XML.
fn read_svg(path: &Path) -> (Vec<Points>, usize, Vec<String>) {
    use quick_xml::events::Event;
    let text = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let (mut polylines, mut circles, mut texts) = (Vec::new(), 0, Vec::new());
    let mut in_text = false;
    loop {
        match reader.read_event().expect("the SVG is XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"polyline" => {
                    let points = e.try_get_attribute("points").unwrap().unwrap();
                    let points = String::from_utf8(points.value.to_vec()).unwrap();
                    polylines.push(
                        points
                            .split_whitespace()
                            .map(|p| {
                                let (x, y) = p.split_once(',').unwrap();
                                (x.parse().unwrap(), y.parse().unwrap())
                            })
                            .collect(),
                    );
                }
                b"circle" => circles += 1,
                b"text" => in_text = true,
                _ => {}
            },
            Event::Text(t) if in_text => {
                texts.push(t.decode().unwrap().trim().to_string());
                in_text = false;
            }
            _ => {}
        }
    }
    (polylines, circles, texts)
}

/// 2026-06-10T00:00:00+02:00.
const PRICED_DAY: i64 = 1_781_042_400;

fn local(t: i64) -> String {
    let zone = chrono::FixedOffset::east_opt(7200).unwrap();
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .with_timezone(&zone)
        .to_rfc3339()
}

/// A day drawing 1 kW until noon and exporting 2 kW after, every 10 s, the registers in
/// whole watt-hours.
fn import_then_export() -> String {
    let day = PRICED_DAY;
    let (mut import_wh, mut export_wh) = (1_000_000.0_f64 * 3600.0, 0.0_f64);
    let mut readings = String::new();
    for t in (day..=day + 86_400).step_by(10) {
        readings.push_str(
            &json!({"type": "reading", "time": local(t),
                "energy_import_t1_kwh": (import_wh / 3600.0).floor() / 1000.0,
                "energy_import_t2_kwh": 0.0, "energy_export_t2_kwh": 0.0,
                "energy_export_t1_kwh": (export_wh / 3600.0).floor() / 1000.0})
            .to_string(),
        );
        readings.push('\n');
        if t < day + 43_200 {
            import_wh += 1000.0 * 10.0;
        } else {
            export_wh += 2000.0 * 10.0;
        }
    }
    readings
}

/// The day's prices in slots of `minutes`: 0.10 EUR/kWh until noon, -0.02 after; the slot
/// starting at `skip` left out.
fn price_file(minutes: i64, skip: Option<i64>) -> (TempDir, std::path::PathBuf) {
    let day = PRICED_DAY;
    let dir = TempDir::new("report-prices");
    let path = dir.path("prices.ndjson");
    let text: String = (0..86_400 / (minutes * 60))
        .map(|i| day + i * minutes * 60)
        .filter(|&start| Some(start) != skip)
        .map(|start| {
            let value = if start < day + 43_200 { 0.10 } else { -0.02 };
            let end = local(start + minutes * 60);
            format!(
                "{{\"start\":\"{}\",\"end\":\"{end}\",\"value\":{value}}}\n",
                local(start)
            )
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Issue 26: a day drawing 1 kW until noon and exporting 2 kW after, priced 0.10 EUR/kWh in
/// the morning and -0.02 in the afternoon: 12 kWh x 0.10 imported, 24 kWh x -0.02 exported.
/// Hourly and quarter-hourly files of the same prices give the same costs; a quarter hour
/// with no price is said and left out.
#[test]
fn prices_give_each_day_and_month_its_costs_regression_26() {
    let day = PRICED_DAY;
    let readings = import_then_export();
    let file = price_file;
    let costs = |path: &Path, format: &str| {
        let out = report(
            &["--prices", path.to_str().unwrap(), "--format", format],
            &readings,
        );
        out.success();
        out
    };
    let (_hourly_dir, hourly) = file(60, None);
    let (_quarterly_dir, quarterly) = file(15, None);
    let by_hour = costs(&hourly, "json");
    assert_eq!(by_hour.stdout(), costs(&quarterly, "json").stdout());
    let text = by_hour.stdout();
    let lines: Vec<&str> = text.lines().collect();
    let day_report: DayReport = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(day_report.date, "2026-06-10");
    assert_eq!((day_report.import_kwh, day_report.export_kwh), (12.0, 24.0));
    assert_eq!(
        (
            day_report.import_cost_eur,
            day_report.export_revenue_eur,
            day_report.net_cost_eur
        ),
        (Some(1.2), Some(-0.48), Some(1.68))
    );
    let month: MonthReport = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(
        (month.import_cost_eur, month.net_cost_eur),
        (Some(1.2), Some(1.68))
    );
    by_hour.stderr_lacks("no price");

    let table = costs(&hourly, "table").stdout();
    assert!(
        table
            .lines()
            .next()
            .unwrap()
            .ends_with("IMPORT EUR  EXPORT EUR     NET EUR"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap()
            .ends_with("1.20       -0.48        1.68"),
        "{table}"
    );
    let csv = costs(&hourly, "csv").stdout();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",import_cost_eur,export_revenue_eur,net_cost_eur")
    );
    assert!(
        csv.lines().nth(1).unwrap().ends_with(",1.2,-0.48,1.68"),
        "{csv}"
    );

    // 09:00 to 10:00 unpriced: 1 kWh less in the import cost, and said.
    let (_gap_dir, gap) = file(60, Some(day + 9 * 3600));
    let out = costs(&gap, "json");
    let day_report: DayReport = serde_json::from_str(out.stdout().lines().next().unwrap()).unwrap();
    assert_eq!(day_report.import_cost_eur, Some(1.1));
    out.stderr_contains("--prices: 4 quarter hours with energy have no price");
    // Without --prices, no cost keys.
    let bare = report(&["--format", "json"], &readings);
    assert!(!bare.stdout().contains("cost"), "{}", bare.stdout());
    report(&["--prices", "/nonexistent/prices.ndjson"], &readings).status_is(66);
}
