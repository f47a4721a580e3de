//! scripts/p1-pipeline as a supervisor runs it: one linear stream of records, every stage's
//! exit status kept, a failing stage taking the whole pipeline down, and the dashboard's
//! queries answered by what it wrote (issue 11).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::binaries;
use p1_testkit::influxd::{Influxd, as_grafana_sends, dashboard_queries};
use p1_testkit::{Proc, Signal, TempDir, skip_without};

const WAIT: Duration = Duration::from_secs(20);

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/p1-pipeline")
}

/// p1-pipeline with an environment file of `settings` (one `KEY=value` a line).
fn pipeline(dir: &TempDir, settings: &str, extra: &[&str]) -> Command {
    let env = dir.path("p1.env");
    std::fs::write(&env, settings).expect("env file");
    let mut command = Command::new("bash");
    command
        .arg(script())
        .arg("--env")
        .arg(&env)
        .args(extra)
        .env("P1_BIN_DIR", binaries())
        .env("TMPDIR", dir.root());
    command
}

/// A load that goes on a second after any reading (export >= 0) and off never by the rules:
/// it switches at any hour of the simulated day.
fn relay_config(dir: &TempDir, switch: &str) -> PathBuf {
    let path = dir.path("relay.toml");
    std::fs::write(
        &path,
        format!(
            "stale_after = \"1h\"\nsettle = \"0s\"\nstartup_grace = \"0s\"\n[[load]]\nname = \"boiler\"\n\
             power_kw = 2.0\non_export_kw = 0.0\noff_import_kw = 100.0\non_delay = \"1s\"\n[load.switch]\n{switch}\n"
        ),
    )
    .expect("relay config");
    path
}

#[test]
fn a_configuration_error_in_p1_influx_ends_the_pipeline_with_78_regression_11() {
    let dir = TempDir::new("pipeline-78");
    let config = relay_config(&dir, "type = \"dry-run\"");
    let settings = format!(
        "P1_SOURCE=sim\nP1_READ_ARGS=\"--speed 1\"\nP1_RELAY_CONFIG={}\n\
         P1_INFLUX_ARGS=\"--url http://127.0.0.1:9 --db p1 --token-file {}/missing\"\n",
        config.display(),
        dir.root().display()
    );
    let started = Instant::now();
    let output = p1_testkit::run(&mut pipeline(&dir, &settings, &[]), b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains("p1-influx: ") && stderr.contains("missing: no such file"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_killed_stage_takes_the_pipeline_down_at_once_regression_11() {
    let bin = binaries();
    let dir = TempDir::new("pipeline-kill");
    let config = relay_config(&dir, "type = \"dry-run\"");
    let settings = format!(
        "P1_SOURCE=sim\nP1_RELAY_CONFIG={}\nP1_INFLUX_ARGS=\"--print\"\n",
        config.display()
    );
    let mut proc = Proc::spawn(&mut pipeline(&dir, &settings, &[]));
    // The relay's "on" a second after the first reading: every stage is up.
    proc.wait_stdout("p1_relay,load=boiler on=1i", WAIT);
    assert!(
        proc.signal_member(&bin.join("p1-relay"), Signal::SIGKILL),
        "p1-relay running"
    );
    let killed = Instant::now();
    let status = proc.wait(WAIT);
    let took = killed.elapsed();
    assert_eq!(status.code(), Some(137), "{:?}", proc.rest_of_stderr(WAIT));
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(!proc.group_alive(), "a stage outlived the pipeline");
}

#[test]
fn sigterm_stops_every_stage_and_dry_run_keeps_the_env_files_relay_args_regression_11() {
    let dir = TempDir::new("pipeline-term");
    let switched = dir.path("switched");
    let config = relay_config(
        &dir,
        &format!(
            "type = \"command\"\non = \"echo on >> {0}\"\noff = \"echo off >> {0}\"",
            switched.display()
        ),
    );
    // -q in the env file: p1-relay logs nothing but errors, --dry-run switches nothing.
    let settings = format!(
        "P1_SOURCE=sim\nP1_RELAY_CONFIG={}\nP1_RELAY_ARGS=\"-q\"\nP1_INFLUX_ARGS=\"--print\"\n",
        config.display()
    );
    let mut proc = Proc::spawn(&mut pipeline(&dir, &settings, &["--dry-run"]));
    proc.wait_stdout("p1_relay,load=boiler on=1i", WAIT);
    proc.signal(Signal::SIGTERM);
    let asked = Instant::now();
    let status = proc.wait(WAIT);
    let took = asked.elapsed();
    let rest = proc.rest_of_stderr(WAIT);
    assert_eq!(status.code(), Some(0), "{rest:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {rest:?}");
    assert!(!proc.group_alive(), "a stage outlived the pipeline");
    assert!(!switched.exists(), "--dry-run switched a load");
    assert!(
        !rest.iter().any(|l| l.starts_with("p1-relay: ")),
        "-q was dropped: {rest:?}"
    );
}

/// Under systemd stdout is the journal's socket: the last stage writes to it as it is given
/// (it reopened `/dev/stdout`, which a socket refuses, so every stage ended at start).
#[test]
fn the_last_stage_writes_to_the_journals_socket_regression_24() {
    use std::io::Read as _;
    let dir = TempDir::new("pipeline-socket");
    let settings =
        "P1_SOURCE=sim\nP1_READ_ARGS=\"--speed 0 --count 3\"\nP1_INFLUX_ARGS=\"--print\"\n";
    let (mut ours, theirs) = std::os::unix::net::UnixStream::pair().expect("a socket pair");
    ours.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut command = pipeline(&dir, settings, &[]);
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::os::fd::OwnedFd::from(theirs))
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("p1-pipeline");
    drop(command);
    let mut written = String::new();
    let read = ours.read_to_string(&mut written);
    let output = child.wait_with_output().expect("its end");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(read.is_ok(), "{read:?}: {stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        written.matches("p1,meter_id=").count(),
        3,
        "{written}\n{stderr}"
    );
}

/// 2024-06-12T00:00:00Z.
const MIDNIGHT: i64 = 1_718_150_400;

/// Issue 26: quarter-hour prices from 23:00 to 01:00 UTC (0.20, 0.21, ...), for the price
/// panel: p1-relay reads them and writes each slot into the stream.
fn prices_around_midnight(dir: &TempDir) -> PathBuf {
    let path = dir.path("prices.ndjson");
    let at = |q: i64| {
        chrono::DateTime::from_timestamp(MIDNIGHT - 3600 + q * 900, 0)
            .expect("a time")
            .to_rfc3339()
    };
    let slots: String = (0..8)
        .map(|q| {
            format!(
                "{{\"start\":\"{}\",\"end\":\"{}\",\"value\":0.2{q}}}\n",
                at(q),
                at(q + 1)
            )
        })
        .collect();
    std::fs::write(&path, slots).expect("prices");
    path
}

/// Every relay event lands in InfluxDB beside the readings, and every query of the Grafana
/// dashboard returns data (the "Loads switched" panel was always empty behind `tee`).
#[test]
fn the_linear_pipeline_fills_every_panel_of_the_dashboard_regression_11() {
    let dir = TempDir::new("pipeline-dashboard");
    let Some(influxd) = Influxd::with_database("p1") else {
        return;
    };
    let config = relay_config(&dir, "type = \"dry-run\"");
    let prices = prices_around_midnight(&dir);
    // An hour across midnight UTC (02:00 in Brussels in June): two days for "energy per day".
    let settings = format!(
        "P1_SOURCE=sim\nP1_READ_ARGS=\"--speed 0 --count 3600 --seed 7 --start 2024-06-12T01:30:00\"\n\
         P1_RELAY_CONFIG={}\nP1_RELAY_ARGS=\"--prices {}\"\n\
         P1_INFLUX_ARGS=\"--url {} --db p1 --flush 1 --spool-dir {}/spool\"\n",
        config.display(),
        prices.display(),
        influxd.url(),
        dir.root().display()
    );
    let output = p1_testkit::run_with(
        &mut pipeline(&dir, &settings, &[]),
        b"",
        Duration::from_mins(2),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let events: Vec<(i64, i64, String)> = influxd.query(
        "p1",
        "SELECT \"on\", reason FROM p1_relay WHERE load = 'boiler'",
    )["results"][0]["series"][0]["values"]
        .as_array()
        .expect("relay points")
        .iter()
        .map(|row| {
            (
                row[0].as_i64().expect("time"),
                row[1].as_i64().expect("on"),
                row[2].as_str().expect("reason").to_string(),
            )
        })
        .collect();
    let first = 1_718_148_600; // 2024-06-12T01:30:00+02:00, the first reading
    assert_eq!(
        events,
        [
            (first, 0, "start".to_string()),
            (
                first + 1,
                1,
                "export 0.00 kW >= 0.00 kW for 1 s".to_string()
            ),
            (first + 3599, 0, "exit: end of input".to_string()),
        ]
    );

    // The hour's four price slots, each once, at its start.
    let slots =
        influxd.query("p1", "SELECT value FROM p1_price")["results"][0]["series"][0]["values"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| (r[0].as_i64(), r[1].as_f64()))
                    .collect::<Vec<_>>()
            });
    assert_eq!(
        slots,
        Some(
            (2..6_i32)
                .map(|q| {
                    let start = MIDNIGHT - 3600 + i64::from(q) * 900;
                    (Some(start), Some(f64::from(20 + q) / 100.0))
                })
                .collect()
        )
    );

    let mut queries = 0;
    for (title, query) in dashboard_queries() {
        if title == "variable" {
            continue;
        }
        let days = ("2024-06-11T00:00:00Z", "2024-06-12T23:59:59Z");
        let query = as_grafana_sends(&query, days, "1m", ".*");
        let answer = influxd.query("p1", &query);
        let series = answer["results"][0]["series"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let values = series
            .iter()
            .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
            .filter(|row| {
                row.as_array()
                    .is_some_and(|r| r[1..].iter().any(|v| !v.is_null()))
            })
            .count();
        assert!(values > 0, "{title}: no data for {query}: {answer}");
        queries += 1;
    }
    assert_eq!(queries, 11, "every query of the dashboard");
}

/// Issue 14: with P1_MQTT_ARGS, p1-mqtt sits in the line between the relay and p1-influx:
/// the broker gets the states and the relay's events, and p1-influx still gets every record.
#[test]
fn p1_mqtt_takes_its_place_in_the_line_regression_14() {
    if skip_without(&["mosquitto", "mosquitto_sub", "mosquitto_pub", "stdbuf"]) {
        return;
    }
    let broker = p1_testkit::mosquitto::Mosquitto::start();
    let mut sub = broker.subscribe("pipeline", "p1/#");
    let dir = TempDir::new("pipeline-mqtt");
    let config = relay_config(&dir, "type = \"dry-run\"");
    let settings = format!(
        "P1_SOURCE=sim\nP1_RELAY_CONFIG={}\nP1_MQTT_ARGS=\"--broker {} --interval 0 --meter-id sim\"\n\
         P1_INFLUX_ARGS=\"--print\"\n",
        config.display(),
        broker.url()
    );
    let mut proc = Proc::spawn(&mut pipeline(&dir, &settings, &[]));
    proc.wait_stdout("p1_relay,load=boiler on=1i", WAIT);
    let state = sub.next_json("p1/sim/state");
    assert_eq!(state["type"], "reading");
    let relay = sub.payloads("p1/sim/relay/boiler", 2);
    assert!(relay[1].contains("\"state\":\"on\""), "{relay:?}");
    proc.wait_stdout("p1_peak ", WAIT);
    proc.signal(Signal::SIGTERM);
    assert_eq!(proc.wait(WAIT).code(), Some(0));
}

/// Issue 15: with P1_SERVE_ARGS, p1-serve takes its place in the line (p1-parse passing the
/// telegrams on): its HomeWizard API answers with the simulated meter's reading, its raw
/// server gives the telegrams, and p1-influx still gets every reading.
#[test]
fn p1_serve_takes_its_place_in_the_line_regression_15() {
    use std::io::Read as _;
    let dir = TempDir::new("pipeline-serve");
    let (http, raw) = (p1_testkit::free_port(), p1_testkit::free_port());
    let settings = format!(
        "P1_SOURCE=sim\nP1_SERVE_ARGS=\"--listen 127.0.0.1:{http} --raw-listen 127.0.0.1:{raw} --no-mdns\"\n\
         P1_INFLUX_ARGS=\"--print\"\n"
    );
    let mut proc = Proc::spawn(&mut pipeline(&dir, &settings, &[]));
    proc.wait_stdout("p1,meter_id=", WAIT);
    let mut data = String::new();
    p1_testkit::wait_until("data from p1-serve", || {
        data = p1_testkit::http::get(http, "/api/v1/data").unwrap_or_default();
        data.starts_with("HTTP/1.1 200")
    });
    assert!(data.contains("\"active_power_w\""), "{data}");
    let mut client = std::net::TcpStream::connect(("127.0.0.1", raw)).expect("raw");
    client.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut first = [0u8; 6];
    client.read_exact(&mut first).expect("a telegram");
    assert_eq!(&first, b"/FLU5\\");
    proc.signal(Signal::SIGTERM);
    assert_eq!(proc.wait(WAIT).code(), Some(0));
}

/// Issue 24 (2): the stop sent SIGTERM to every stage at once, and p1-mqtt and p1-influx had
/// stopped reading before p1-relay's exit event came: MQTT and InfluxDB said the load was
/// still on. The stop starts at the head; the last state in both is off.
#[test]
fn a_stop_leaves_mqtt_and_influxdb_with_the_load_off_regression_24() {
    if skip_without(&["mosquitto", "mosquitto_sub", "mosquitto_pub", "stdbuf"]) {
        return;
    }
    let broker = p1_testkit::mosquitto::Mosquitto::start();
    let mut sub = broker.subscribe("stop-order", "p1/#");
    let dir = TempDir::new("pipeline-stop-order");
    let config = relay_config(&dir, "type = \"dry-run\"");
    let settings = format!(
        "P1_SOURCE=sim\nP1_RELAY_CONFIG={}\nP1_MQTT_ARGS=\"--broker {} --interval 0 --meter-id sim\"\n\
         P1_INFLUX_ARGS=\"--print\"\n",
        config.display(),
        broker.url()
    );
    let mut proc = Proc::spawn(&mut pipeline(&dir, &settings, &[]));
    proc.wait_stdout("p1_relay,load=boiler on=1i", WAIT);
    assert!(sub.payloads("p1/sim/relay/boiler", 2)[1].contains("\"state\":\"on\""));
    proc.signal(Signal::SIGTERM);
    assert_eq!(proc.wait(WAIT).code(), Some(0));
    while proc.next_stdout(WAIT).is_some() {}
    let influx_last = proc
        .stdout_seen
        .iter()
        .rfind(|l| l.starts_with("p1_relay,load=boiler "))
        .cloned()
        .unwrap_or_default();
    assert!(influx_last.contains("on=0i"), "{influx_last}");
    publish_probe(&broker);
    assert_eq!(sub.payloads("p1/sim/probe", 1).len(), 1);
    let relay = sub.payloads("p1/sim/relay/boiler", 3);
    let last = relay.last().expect("an event");
    assert!(
        last.contains("\"state\":\"off\"") && last.contains("exit"),
        "{relay:?}"
    );
}

/// A message after everything the pipeline published: once it is in, all before it is.
fn publish_probe(broker: &p1_testkit::mosquitto::Mosquitto) {
    p1_testkit::mosquitto::publish(broker.port, "p1/sim/probe", "after the stop", false);
}
