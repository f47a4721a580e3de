//! A real `InfluxDB` 1.x (Debian's `influxd`) on 127.0.0.1, its data in a temporary directory.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::fs::{TempDir, free_port};
use crate::proc::Proc;

/// A running influxd, killed with the test.
#[derive(Debug)]
pub struct Influxd {
    pub dir: TempDir,
    pub port: u16,
    config: std::path::PathBuf,
    process: Option<Proc>,
}

impl Influxd {
    /// One with database `db`; `None` when influxd is missing (the test is skipped, as by
    /// [`crate::skip_without`]).
    pub fn with_database(db: &str) -> Option<Influxd> {
        if crate::skip_without(&["influxd"]) {
            return None;
        }
        let influxd = Influxd::start();
        influxd.create_database(db);
        Some(influxd)
    }

    /// Starts one (needs influxd: see [`crate::skip_without`]).
    pub fn start() -> Influxd {
        let dir = TempDir::new("influxd");
        let (port, rpc) = (free_port(), free_port());
        let config = dir.path("influxdb.conf");
        let d = dir.root().display();
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
        .expect("write the influxd config");
        let mut influxd = Influxd {
            dir,
            port,
            config,
            process: None,
        };
        influxd.resume();
        influxd
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same data and port, and waits for `/ping`.
    pub fn resume(&mut self) {
        let mut command = Command::new("influxd");
        command
            .args(["run", "-config"])
            .arg(&self.config)
            .stdout(Stdio::null());
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("INFLUXDB_")) {
            command.env_remove(key);
        }
        self.process = Some(Proc::spawn(&mut command));
        let deadline = Instant::now() + Duration::from_secs(20);
        let ping = format!("{}/ping", self.url());
        loop {
            if ureq::get(&ping)
                .call()
                .is_ok_and(|r| r.status().as_u16() == 204)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "influxd did not answer /ping in 20 s"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// SIGTERM, as a server going down.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.terminate(Duration::from_secs(20));
        }
    }

    /// An `InfluxQL` query's answer, timestamps in seconds.
    pub fn query(&self, db: &str, q: &str) -> Value {
        let mut response = ureq::post(&format!("{}/query", self.url()))
            .query("db", db)
            .query("epoch", "s")
            .query("q", q)
            .send_empty()
            .unwrap_or_else(|e| panic!("query {q}: {e}"));
        let text = response.body_mut().read_to_string().expect("query body");
        serde_json::from_str(&text).expect("a query answer is JSON")
    }

    pub fn create_database(&self, db: &str) {
        let answer = self.query(db, &format!("CREATE DATABASE \"{db}\""));
        assert!(answer["results"][0].get("error").is_none(), "{answer}");
    }

    /// The rows of a query, every series: tags and columns by name.
    pub fn rows(&self, db: &str, q: &str) -> Vec<Map<String, Value>> {
        let answer = self.query(db, q);
        let Some(series) = answer["results"][0]["series"].as_array() else {
            return Vec::new();
        };
        let mut rows = Vec::new();
        for s in series {
            let columns: Vec<&str> = s["columns"]
                .as_array()
                .map(|c| c.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for values in s["values"].as_array().into_iter().flatten() {
                let mut row = s["tags"].as_object().cloned().unwrap_or_default();
                for (c, v) in columns.iter().zip(values.as_array().into_iter().flatten()) {
                    row.insert((*c).to_string(), v.clone());
                }
                rows.push(row);
            }
        }
        rows
    }

    /// The `count` of a `SELECT count(...)` query, 0 when there is none.
    pub fn count(&self, db: &str, q: &str) -> u64 {
        self.rows(db, q)
            .first()
            .and_then(|r| r.get("count"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }
}

/// The queries of the Grafana dashboard the project ships (`scripts/grafana-p1.json`), as
/// (panel title, InfluxQL); its template variables' queries with the title "variable".
pub fn dashboard_queries() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/grafana-p1.json");
    let dashboard: Value =
        serde_json::from_slice(&std::fs::read(path).expect("the dashboard")).expect("json");
    let text = |v: &Value| v.as_str().expect("a string").to_string();
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            queries.push((text(&panel["title"]), text(&target["query"])));
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .expect("variables")
    {
        queries.push(("variable".to_string(), text(&variable["query"])));
    }
    queries
}

/// A dashboard query as Grafana sends it: `$timeFilter` from `from` to `to` (RFC 3339),
/// `$__interval`, and `$meter` the meter-id pattern.
pub fn as_grafana_sends(
    query: &str,
    (from, to): (&str, &str),
    interval: &str,
    meter: &str,
) -> String {
    query
        .replace(
            "$timeFilter",
            &format!("time >= '{from}' AND time <= '{to}'"),
        )
        .replace("$__interval", interval)
        .replace("$meter", meter)
}
