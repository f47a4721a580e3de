//! Test harness: a real InfluxDB 1.x (Debian's influxd) on 127.0.0.1 in a temporary directory,
//! readings made from the real-world telegram fixtures, and the real p1-influx binary.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use p1_common::decode::decode;
use p1_common::meter_time::ClockZone;
use p1_common::reading::Reading;

#[path = "../../../tests/support/shared.rs"]
mod shared;
#[allow(unused_imports)]
pub use shared::*;

/// A real influxd, on loopback ports, with its data in a temporary directory.
pub struct Influxd {
    pub dir: TempDir,
    pub port: u16,
    config: PathBuf,
    child: Option<Child>,
}

impl Influxd {
    pub fn start() -> Influxd {
        let dir = TempDir::new("influxd");
        let port = free_port();
        let rpc = free_port();
        let config = dir.path("influxdb.conf");
        let d = dir.0.display();
        std::fs::write(
            &config,
            format!(
                "reporting-enabled = false\nbind-address = \"127.0.0.1:{rpc}\"\n\
                 [meta]\n  dir = \"{d}/meta\"\n\
                 [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
                 [http]\n  bind-address = \"127.0.0.1:{port}\"\n  log-enabled = false\n\
                 [monitor]\n  store-enabled = false\n[logging]\n  level = \"error\"\n"
            ),
        )
        .expect("config");
        let mut influxd = Influxd {
            dir,
            port,
            config,
            child: None,
        };
        influxd.resume();
        influxd
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same data and port.
    pub fn resume(&mut self) {
        let mut command = Command::new("influxd");
        command
            .args(["run", "-config"])
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("INFLUXDB_")) {
            command.env_remove(key);
        }
        self.child = Some(
            command
                .spawn()
                .expect("influxd (scripts/test installs the influxdb package)"),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = ureq::get(&format!("{}/ping", self.url())).call()
                && response.status().as_u16() == 204
            {
                return;
            }
            assert!(Instant::now() < deadline, "influxd did not answer /ping");
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// SIGTERM, as a server going down.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    pub fn query(&self, db: &str, q: &str) -> serde_json::Value {
        let url = format!("{}/query", self.url());
        let mut response = ureq::post(&url)
            .query("db", db)
            .query("epoch", "s")
            .query("q", q)
            .send_empty()
            .unwrap_or_else(|e| panic!("query {q}: {e}"));
        let text = response.body_mut().read_to_string().expect("body");
        serde_json::from_str(&text).expect("query answer is JSON")
    }

    pub fn create_database(&self, db: &str) {
        let answer = self.query(db, &format!("CREATE DATABASE \"{db}\""));
        assert!(answer["results"][0].get("error").is_none(), "{answer}");
    }

    /// The rows of a query's first series: column name to value, per row.
    pub fn rows(&self, db: &str, q: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
        let answer = self.query(db, q);
        let Some(series) = answer["results"][0]["series"].as_array() else {
            return Vec::new();
        };
        let mut rows = Vec::new();
        for s in series {
            let columns: Vec<String> = s["columns"]
                .as_array()
                .expect("columns")
                .iter()
                .map(|c| c.as_str().unwrap_or("").to_string())
                .collect();
            for values in s["values"].as_array().expect("values") {
                let mut row = serde_json::Map::new();
                if let Some(tags) = s["tags"].as_object() {
                    row.extend(tags.clone());
                }
                for (c, v) in columns.iter().zip(values.as_array().expect("row")) {
                    row.insert(c.clone(), v.clone());
                }
                rows.push(row);
            }
        }
        rows
    }

    pub fn count(&self, db: &str, q: &str) -> u64 {
        self.rows(db, q)
            .first()
            .and_then(|r| r.get("count"))
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn fixture_reading(name: &str) -> Reading {
    let path = format!(
        "{}/../tests/fixtures/telegrams/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(path).expect("fixture");
    let mut reading = Reading::default();
    let mut issues = Vec::new();
    decode(&bytes, ClockZone::default(), &mut reading, &mut issues);
    reading
}

/// `n` distinct readings, one a second from `start_secs`, the import changing with i.
pub fn numbered_readings(n: usize, start_secs: i64) -> String {
    (0..n)
        .map(|i| {
            let time = chrono::DateTime::from_timestamp(start_secs + i as i64, 0).expect("time").to_rfc3339();
            format!(
                "{{\"type\":\"reading\",\"meter_id\":\"M1\",\"time\":\"{time}\",\"power_import_kw\":{}.5,\"tariff\":1}}\n",
                i % 7
            )
        })
        .collect()
}

pub fn p1_influx(args: &[&str], stdin: &str, envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_p1-influx"));
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
        .env_remove("INFLUX_TOKEN")
        .env_remove("INFLUX_PASSWORD");
    for (k, v) in envs {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    let text = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(text.as_bytes());
    });
    let output = child.wait_with_output().expect("wait");
    writer.join().expect("writer");
    output
}

/// A long-running p1-influx with `args` and its own spool, stdin piped, stderr piped.
pub fn spawn_p1_influx(args: &[&str], spool: &Path) -> (Child, std::process::ChildStdin) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_p1-influx"))
        .args(args)
        .arg("--spool-dir")
        .arg(spool)
        .env_remove("INFLUX_TOKEN")
        .env_remove("INFLUX_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn p1-influx");
    let stdin = child.stdin.take().expect("stdin");
    (child, stdin)
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Lines waiting in a spool directory.
pub fn spooled_lines(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| {
                    e.file_name().to_string_lossy().ends_with(".lp")
                        || e.file_name().to_string_lossy().ends_with(".open")
                })
                .map(|e| {
                    std::fs::read(e.path())
                        .unwrap_or_default()
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count()
                })
                .sum()
        })
        .unwrap_or(0)
}
