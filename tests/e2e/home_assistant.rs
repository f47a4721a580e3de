//! Home Assistant itself (Core from PyPI, in a venv cached outside the clone), set up as a
//! user does: its MQTT, HomeWizard and DSMR integrations through their config flows against
//! p1-mqtt, p1-serve's API and p1-serve's raw telegram stream. Every entity's value is
//! compared with the records fed, and its log must hold no error (issue 23).

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use p1_common::contract::reading::Reading;
use p1_testkit::mosquitto::Mosquitto;
use p1_testkit::telegram::TelegramBuilder;
use p1_testkit::{Proc, Signal, TempDir, free_port, home_assistant_python, skip_without};
use serde::Deserialize;

use crate::common::binaries;

/// One entity of the three integrations, as the driver saw it.
#[derive(Debug, Deserialize)]
struct Seen {
    entity_id: String,
    platform: String,
    unique_id: String,
    state: Option<String>,
}

/// What an entity should show.
#[derive(Debug)]
enum Value {
    Number(f64),
    Text(String),
}

impl Value {
    fn matches(&self, shown: &str) -> bool {
        match self {
            Value::Number(n) => shown
                .parse::<f64>()
                .is_ok_and(|s| (s - n).abs() <= 1e-6 * n.abs().max(1.0)),
            Value::Text(t) => shown == t,
        }
    }
}

fn number(n: Option<f64>) -> Option<Value> {
    n.map(Value::Number)
}

fn watts(kw: Option<f64>) -> Option<Value> {
    kw.map(|kw| Value::Number(kw * 1000.0))
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "an arm of expected(), as number() and watts() are"
)]
fn text(t: impl Into<String>) -> Option<Value> {
    Some(Value::Text(t.into()))
}

fn sum(values: &[Option<f64>]) -> Option<f64> {
    values.iter().copied().sum()
}

fn difference(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? - b?)
}

/// The price of the slot fed to p1-mqtt, EUR a kWh, and its record.
const PRICE: f64 = -0.0123;
const PRICE_RECORD: &str = "{\"type\":\"price\",\"start\":\"2024-06-01T12:00:00+02:00\",\"end\":\"2024-06-01T12:15:00+02:00\",\"value\":-0.0123}\n";

/// The value an entity of the three integrations should show for the records fed: by its
/// unique id, from the reading (or the peak record), in the entity's unit.
fn expected(entity: &Seen, r: &Reading, peak: &serde_json::Value) -> Option<Value> {
    let gas = r.mbus.first().and_then(|m| m.value);
    let imported = sum(&[r.energy_import_t1_kwh, r.energy_import_t2_kwh]);
    let exported = sum(&[r.energy_export_t1_kwh, r.energy_export_t2_kwh]);
    let id = entity.unique_id.as_str();
    match entity.platform.as_str() {
        "mqtt" => {
            let key = id.strip_prefix(&format!("p1_{}_", r.meter_id.as_deref()?))?;
            if let Some(field) = key.strip_prefix("peak_") {
                return watts(peak[field].as_f64());
            }
            match key {
                // Issue 26: the price slot fed after the peak record.
                "price" => number(Some(PRICE)),
                "tariff" => text(r.tariff?.to_string()),
                "breaker_state" => text(
                    ["disconnected", "connected", "ready for reconnection"]
                        [usize::try_from(r.breaker_state?).ok()?],
                ),
                "energy_import_kwh" => number(imported),
                "energy_export_kwh" => number(exported),
                "power_net_w" => watts(difference(r.power_import_kw, r.power_export_kw)),
                "mbus1" => number(gas),
                _ => {
                    let value: serde_json::Value = serde_json::to_value(r).ok()?[key].clone();
                    let value = value.as_f64()?;
                    if key.ends_with("_kw") {
                        watts(Some(value))
                    } else {
                        number(Some(value))
                    }
                }
            }
        }
        "homewizard" => {
            if id.starts_with("homewizard_gas_meter_") {
                return number(gas);
            }
            let key = id.strip_prefix("HWE-P1_3c39e7aabbcc_")?;
            let phase = |n: usize| {
                let import = [
                    r.power_import_l1_kw,
                    r.power_import_l2_kw,
                    r.power_import_l3_kw,
                ][n];
                let export = [
                    r.power_export_l1_kw,
                    r.power_export_l2_kw,
                    r.power_export_l3_kw,
                ][n];
                watts(difference(import, export))
            };
            match key {
                "smr_version" => text(r.version.as_deref()?.get(..2)?),
                "meter_model" => text(r.header.as_deref()?),
                "unique_meter_id" => text(r.meter_id.as_deref()?),
                "wifi_ssid" => text(""),
                "cloud_connection" => text("off"),
                "active_tariff" => text(r.tariff?.to_string()),
                "total_power_import_kwh" => number(imported),
                "total_power_import_t1_kwh" => number(r.energy_import_t1_kwh),
                "total_power_import_t2_kwh" => number(r.energy_import_t2_kwh),
                "total_power_export_kwh" => number(exported),
                "total_power_export_t1_kwh" => number(r.energy_export_t1_kwh),
                "total_power_export_t2_kwh" => number(r.energy_export_t2_kwh),
                "active_power_w" => watts(difference(r.power_import_kw, r.power_export_kw)),
                "active_power_l1_w" => phase(0),
                "active_power_l2_w" => phase(1),
                "active_power_l3_w" => phase(2),
                "active_voltage_l1_v" => number(r.voltage_l1_v),
                "active_voltage_l2_v" => number(r.voltage_l2_v),
                "active_voltage_l3_v" => number(r.voltage_l3_v),
                "active_current_l1_a" => number(r.current_l1_a),
                "active_current_l2_a" => number(r.current_l2_a),
                "active_current_l3_a" => number(r.current_l3_a),
                "active_power_average_w" => watts(r.demand_avg_kw),
                "monthly_power_peak_w" => watts(r.demand_max_month_kw),
                _ => None,
            }
        }
        "dsmr" => {
            if !id.contains('_') {
                return number(gas);
            }
            let (_, key) = id.split_once('_')?;
            match key {
                "current_electricity_usage" => number(r.power_import_kw),
                "current_electricity_delivery" => number(r.power_export_kw),
                // DSMR's tariff 2 is its "low" one.
                "electricity_active_tariff" => text(if r.tariff? == 2 { "low" } else { "normal" }),
                "electricity_used_tariff_1" => number(r.energy_import_t1_kwh),
                "electricity_used_tariff_2" => number(r.energy_import_t2_kwh),
                "electricity_delivered_tariff_1" => number(r.energy_export_t1_kwh),
                "electricity_delivered_tariff_2" => number(r.energy_export_t2_kwh),
                "belgium_current_average_demand" => number(r.demand_avg_kw),
                "belgium_maximum_demand_current_month" => number(r.demand_max_month_kw),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The entities that show another value than the records fed, or one with none expected.
fn wrong_values(entities: &[Seen], reading: &Reading, peak: &serde_json::Value) -> Vec<String> {
    let mut wrong = Vec::new();
    for entity in entities {
        let shown = entity.state.as_deref().unwrap_or("(none)");
        match expected(entity, reading, peak) {
            Some(value) if value.matches(shown) => {}
            Some(value) => wrong.push(format!("{}: {shown}, expected {value:?}", entity.entity_id)),
            None if entity.entity_id.starts_with("button.") => {}
            None => wrong.push(format!(
                "{} ({} {}): no expected value",
                entity.entity_id, entity.platform, entity.unique_id
            )),
        }
    }
    wrong
}

/// A Belgian meter's telegram, every value distinct (a value read from the wrong key shows),
/// stamped now.
fn telegram() -> String {
    let now = chrono::Local::now()
        .with_timezone(&chrono::FixedOffset::east_opt(3600).expect("CET"))
        .format("%y%m%d%H%M%S")
        .to_string();
    TelegramBuilder::new("FLU5\\253769484_A")
        .line("0-0:96.1.4(50217)")
        .line("0-0:96.1.1(3153414733313031303231363035)")
        .line(&format!("0-0:1.0.0({now}W)"))
        .line("1-0:1.8.1(001234.567*kWh)")
        .line("1-0:1.8.2(002345.678*kWh)")
        .line("1-0:2.8.1(000345.123*kWh)")
        .line("1-0:2.8.2(000456.234*kWh)")
        .line("0-0:96.14.0(0002)")
        .line("1-0:1.4.0(01.234*kW)")
        .line(&format!("1-0:1.6.0({now}W)(03.456*kW)"))
        .line("1-0:1.7.0(01.111*kW)")
        .line("1-0:2.7.0(00.000*kW)")
        .line("1-0:21.7.0(00.333*kW)")
        .line("1-0:41.7.0(00.444*kW)")
        .line("1-0:61.7.0(00.334*kW)")
        .line("1-0:22.7.0(00.000*kW)")
        .line("1-0:42.7.0(00.000*kW)")
        .line("1-0:62.7.0(00.000*kW)")
        .line("1-0:32.7.0(231.1*V)")
        .line("1-0:52.7.0(232.2*V)")
        .line("1-0:72.7.0(233.3*V)")
        .line("1-0:31.7.0(001.10*A)")
        .line("1-0:51.7.0(002.20*A)")
        .line("1-0:71.7.0(003.30*A)")
        .line("0-0:96.3.10(1)")
        .line("0-0:17.0.0(999.9*kW)")
        .line("1-0:31.4.0(999*A)")
        .line("0-0:96.13.0()")
        .line("0-1:24.1.0(003)")
        .line("0-1:96.1.1(37464C4F32313139303333373333)")
        .line("0-1:24.4.0(1)")
        .line(&format!("0-1:24.2.3({now}W)(00112.384*m3)"))
        .build()
}

/// Writes `lines` to each process every second until `stop`, then gives the processes back.
fn feed(
    mut procs: Vec<(Proc, String)>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<(Proc, String)>> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            for (proc, lines) in &mut procs {
                proc.write(lines.as_bytes());
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        procs
    })
}

/// Home Assistant with a configuration of its own, on a free port of 127.0.0.1, once it
/// answers: the process, its port and its configuration directory.
fn start_home_assistant(
    python: &std::path::Path,
    dir: &TempDir,
) -> (Proc, u16, std::path::PathBuf) {
    let ha_port = free_port();
    let config = dir.path("config");
    std::fs::create_dir(&config).expect("config dir");
    std::fs::write(
        config.join("configuration.yaml"),
        format!(
            "homeassistant:\n  name: p1\n  latitude: 50.85\n  longitude: 4.35\n  elevation: 0\n  \
             unit_system: metric\n  time_zone: Europe/Brussels\n  country: BE\n\
             http:\n  server_host: 127.0.0.1\n  server_port: {ha_port}\n\
             api:\nconfig:\nonboarding:\nlogger:\n  default: info\n"
        ),
    )
    .expect("configuration.yaml");
    let hass = Proc::spawn(
        Command::new(python)
            .args(["-m", "homeassistant", "--skip-pip", "-c"])
            .arg(&config),
    );
    p1_testkit::wait_within("Home Assistant answers", Duration::from_mins(3), || {
        std::net::TcpStream::connect(("127.0.0.1", ha_port)).is_ok()
    });

    (hass, ha_port, config)
}

#[test]
fn home_assistant_shows_every_value_fed_and_logs_no_error_regression_23() {
    if skip_without(&["mosquitto", "mosquitto_sub"]) {
        return;
    }
    let Some(python) = home_assistant_python() else {
        return;
    };
    let bin = binaries();
    let dir = TempDir::new("home-assistant");
    let broker = Mosquitto::start();

    // The records: an envelope of the telegram, its reading, a peak record.
    let capture = dir.path("meter.txt");
    std::fs::write(&capture, telegram()).expect("capture");
    let envelope = p1_testkit::run(Command::new(bin.join("p1-read")).arg(&capture), b"");
    let envelope = envelope.stdout();
    let reading_line =
        p1_testkit::run(&mut Command::new(bin.join("p1-parse")), envelope.as_bytes());
    let reading: Reading = reading_line.readings().remove(0);
    let reading_line = reading_line.stdout();
    let peak = "{\"type\":\"peak\",\"time\":\"2024-06-01T12:00:05+02:00\",\"quarter_start\":\"2024-06-01T12:00:00+02:00\",\"elapsed_s\":5,\"average_kw\":1.25,\"projected_kw\":1.5,\"month_peak_kw\":3.456,\"budget_kw\":3.256,\"headroom_kw\":2.145,\"allowed_kw\":3.256}\n";

    let (serve_port, raw_port) = (free_port(), free_port());
    let serve = Proc::spawn(Command::new(bin.join("p1-serve")).args([
        "--listen",
        &format!("127.0.0.1:{serve_port}"),
        "--raw-listen",
        &format!("127.0.0.1:{raw_port}"),
        "--no-mdns",
        "--serial",
        "3c39e7aabbcc",
    ]));
    let mqtt = Proc::spawn(Command::new(bin.join("p1-mqtt")).args([
        "--broker",
        &broker.url(),
        "--interval",
        "0",
    ]));
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed(
        vec![
            (serve, format!("{envelope}{reading_line}{peak}")),
            (mqtt, format!("{reading_line}{peak}{PRICE_RECORD}")),
        ],
        Arc::clone(&stop),
    );

    let (mut hass, ha_port, config) = start_home_assistant(&python, &dir);
    let url = format!("http://127.0.0.1:{ha_port}");

    let driver =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/clients/home_assistant.py");
    let started = Instant::now();
    let output = p1_testkit::run_with(
        Command::new(&python).arg(driver).args([
            url.as_str(),
            &broker.port.to_string(),
            &format!("127.0.0.1:{serve_port}"),
            &raw_port.to_string(),
            "60",
        ]),
        b"",
        Duration::from_mins(4),
    );
    stop.store(true, Ordering::Relaxed);
    let log = std::fs::read_to_string(config.join("home-assistant.log")).unwrap_or_default();
    assert!(output.status.success(), "{}\n{log}", output.stderr());
    let entities: Vec<Seen> = serde_json::from_str(&output.stdout()).expect("the driver's JSON");
    eprintln!("{} entities in {:?}", entities.len(), started.elapsed());
    let peak: serde_json::Value = serde_json::from_str(peak).expect("the peak record");
    let wrong = wrong_values(&entities, &reading, &peak);
    let price = |e: &&Seen| e.platform == "mqtt" && e.unique_id.ends_with("_price");
    assert!(entities.iter().any(|e| price(&e)), "the price sensor");
    let count = |platform: &str| entities.iter().filter(|e| e.platform == platform).count();
    assert!(
        count("mqtt") >= 30 && count("homewizard") >= 18 && count("dsmr") >= 10,
        "mqtt {}, homewizard {}, dsmr {}",
        count("mqtt"),
        count("homewizard"),
        count("dsmr")
    );
    assert!(
        wrong.is_empty(),
        "{} of {} entities:\n{}",
        wrong.len(),
        entities.len(),
        wrong.join("\n")
    );

    hass.signal(Signal::SIGTERM);
    hass.wait(Duration::from_mins(1));
    for (mut proc, _) in feeder.join().expect("the feeder") {
        proc.close_stdin();
        proc.wait(Duration::from_secs(10));
    }
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
