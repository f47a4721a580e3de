//! p1-relay as a long-running process: signals, wall-clock staleness, restarts, reloads,
//! configuration errors, and smart plugs over HTTP.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

const WAIT: Duration = Duration::from_secs(10);
const BOILER: &str = "name = \"boiler\"\npower_kw = 2.0\non_export_kw = 2.2\noff_import_kw = 0.1\non_delay = \"5s\"\noff_delay = \"5s\"";

struct Live {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<String>,
    stream: Stream,
}

impl Live {
    fn start(config: &std::path::Path, extra: &[&str]) -> Live {
        let mut child = Command::new(env!("CARGO_BIN_EXE_p1-relay"))
            .arg("--config")
            .arg(config)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, events) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stdin = child.stdin.take();
        let now = chrono::Local::now()
            .fixed_offset()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        Live {
            child,
            stdin,
            events,
            stream: Stream::starting(&now),
        }
    }

    /// Feeds `seconds` readings (with current timestamps, as a live meter would).
    fn feed(&mut self, seconds: u32, import_kw: f64, export_kw: f64) {
        let from = self.stream.lines.len();
        self.stream.hold(seconds, import_kw, export_kw);
        let text: String = self.stream.lines[from..]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(text.as_bytes()).expect("write");
        stdin.flush().expect("flush");
    }

    fn wait_event(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let line = self
                .events
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no event with {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    }

    fn signal(&self, name: &str) {
        Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "p1-relay did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the switch log's latest line for the load in `line` ("boiler on") is `line`.
fn wait_for_file_line(dir: &TempDir, line: &str) {
    let load = line.split(' ').next().unwrap_or(line);
    let deadline = Instant::now() + WAIT;
    loop {
        let log = switched(dir);
        if log
            .iter()
            .rfind(|l| l.starts_with(&format!("{load} ")))
            .map(String::as_str)
            == Some(line)
        {
            return;
        }
        assert!(Instant::now() < deadline, "switch log: {log:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_switches_everything_off_and_exits_0() {
    let dir = TempDir::new("sigterm");
    let keeper = "name = \"keeper\"\npower_kw = 0.1\non_export_kw = 0.5\noff_import_kw = 5\non_delay = \"1s\"\nkeep_on_exit = true";
    let config = config(
        &dir,
        "settle = \"0s\"\nstartup_grace = \"0s\"",
        &[BOILER, keeper],
    );
    let mut live = Live::start(&config, &[]);
    live.feed(7, 0.0, 3.0);
    live.wait_event("\"load\":\"boiler\",\"state\":\"on\"");
    wait_for_file_line(&dir, "boiler on");
    live.signal("TERM");
    let status = live.wait_exit();
    assert_eq!(status.code(), Some(0));
    let log = switched(&dir);
    assert_eq!(
        log.iter()
            .rfind(|l| l.starts_with("boiler"))
            .map(String::as_str),
        Some("boiler off")
    );
    assert_eq!(
        log.iter()
            .rfind(|l| l.starts_with("keeper"))
            .map(String::as_str),
        Some("keeper on"),
        "{log:?}"
    );
    live.wait_event("exit: stop requested");
}

#[test]
fn no_reading_on_the_wall_clock_switches_everything_off() {
    let dir = TempDir::new("stale");
    let config = config(
        &dir,
        "settle = \"0s\"\nstartup_grace = \"0s\"\nstale_after = \"2s\"",
        &[BOILER],
    );
    let mut live = Live::start(&config, &[]);
    live.feed(7, 0.0, 3.0);
    wait_for_file_line(&dir, "boiler on");
    let event = live.wait_event("stale: no reading for 2 s");
    assert!(event.contains("\"state\":\"off\""), "{event}");
    wait_for_file_line(&dir, "boiler off");
}

#[test]
fn a_restart_honours_min_off_from_the_state_file() {
    let dir = TempDir::new("restart");
    let state = dir.path("state.json");
    let load = format!("{BOILER}\nmin_off = \"10m\"");
    let globals = format!(
        "settle = \"0s\"\nstartup_grace = \"0s\"\nstate_file = \"{}\"",
        state.display()
    );
    let config = config(&dir, &globals, &[&load]);
    let mut s = Stream::starting("2024-06-12T12:00:00+02:00");
    s.hold(10, 0.0, 3.0).hold(10, 1.0, 0.0); // on at 12:00:05, off at 12:00:15
    let output = run(&config, &s);
    assert_eq!(
        switches(&output),
        ["12:00:05 boiler on", "12:00:15 boiler off"]
    );
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state saved")).expect("json");
    assert_eq!(
        saved["loads"]["boiler"]["last_off"],
        "2024-06-12T12:00:15+02:00"
    );

    // Restarted at 12:05 with export: min_off holds it off until 12:10:15.
    let mut s = Stream::starting("2024-06-12T12:05:00+02:00");
    s.hold(600, 0.0, 3.0);
    let output = run(&config, &s);
    assert_eq!(switches(&output), ["12:10:15 boiler on"]);
}

#[test]
fn sighup_reloads_the_configuration_keeping_switch_times() {
    let dir = TempDir::new("sighup");
    let config_path = config(&dir, "settle = \"0s\"\nstartup_grace = \"0s\"", &[BOILER]);
    let mut live = Live::start(&config_path, &[]);
    live.feed(7, 0.0, 3.0);
    wait_for_file_line(&dir, "boiler on");
    let text = std::fs::read_to_string(&config_path).expect("config");
    std::fs::write(
        &config_path,
        text.replace("off_delay = \"5s\"", "off_delay = \"5s\"\nmode = \"off\""),
    )
    .expect("write");
    live.signal("HUP");
    std::thread::sleep(Duration::from_millis(500));
    live.feed(1, 0.0, 3.0);
    let event = live.wait_event("mode off");
    assert!(event.contains("\"state\":\"off\""), "{event}");
    wait_for_file_line(&dir, "boiler off");
    // A broken configuration is refused and the running one kept.
    std::fs::write(&config_path, "stale_after = \"soon\"").expect("write");
    live.signal("HUP");
    std::thread::sleep(Duration::from_millis(300));
    live.stdin.take();
    assert_eq!(live.wait_exit().code(), Some(0));
}

#[test]
fn configuration_errors_exit_78_naming_the_key_and_line() {
    let dir = TempDir::new("config");
    let path = dir.path("relay.toml");
    std::fs::write(&path, format!("settle = \"60s\"\n\n[[load]]\n{BOILER}\nsurprise = 1\n[load.switch]\ntype = \"dry-run\"\n")).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_p1-relay"))
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(78));
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "p1-relay: {}: line 10: unknown field `surprise`",
            path.display()
        )),
        "{err}"
    );

    std::fs::write(
        &path,
        format!(
            "[[load]]\n{}\n[load.switch]\ntype = \"dry-run\"\n",
            BOILER.replace("2.2", "1.5")
        ),
    )
    .expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_p1-relay"))
        .arg("--config")
        .arg(&path)
        .arg("--check")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("load 'boiler' will oscillate"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn gpio_off_a_raspberry_pi_names_dry_run_and_dry_run_works() {
    let dir = TempDir::new("gpio");
    let path = dir.path("relay.toml");
    std::fs::write(&path, format!("settle = \"0s\"\nstartup_grace = \"0s\"\n[[load]]\n{BOILER}\n[load.switch]\ntype = \"gpio\"\npin = 17\nactive_low = true\n")).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_p1-relay"))
        .arg("--config")
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("load 'boiler': GPIO is not available here"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("--dry-run"));
    let mut s = Stream::starting("2024-06-12T12:00:00+02:00");
    s.hold(10, 0.0, 3.0);
    let output = p1_relay(
        &[
            "--config",
            path.to_str().expect("path"),
            "--dry-run",
            "--passthrough",
        ],
        &s.text(),
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(switches(&output), ["12:00:05 boiler on"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains("\"type\":\"reading\""))
            .count(),
        10,
        "passthrough"
    );
}

/// A plug: a local HTTP server that records the request paths.
fn plug_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            if let Some(path) = request.split_whitespace().nth(1) {
                seen.lock().expect("lock").push(path.to_string());
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (url, requests)
}

fn plug_scenario(switch: &str) {
    let dir = TempDir::new("plug");
    let path = dir.path("relay.toml");
    std::fs::write(
        &path,
        format!(
            "settle = \"0s\"\nstartup_grace = \"0s\"\n[[load]]\n{BOILER}\n[load.switch]\n{switch}\n"
        ),
    )
    .expect("write");
    let mut live = Live::start(&path, &[]);
    live.feed(7, 0.0, 3.0);
    live.wait_event("\"state\":\"on\"");
    std::thread::sleep(Duration::from_millis(2600)); // auto_off 3 s: re-sent every second
    live.stdin.take();
    assert_eq!(live.wait_exit().code(), Some(0));
}

#[test]
fn shelly_and_tasmota_plugs_get_on_with_an_auto_off_re_sent_and_off_at_exit() {
    for (kind, on, off) in [
        (
            "type = \"shelly\"\ngeneration = 1",
            "/relay/0?turn=on&timer=3",
            "/relay/0?turn=off",
        ),
        (
            "type = \"shelly\"\ngeneration = 2\nid = 1",
            "/rpc/Switch.Set?id=1&on=true&toggle_after=3",
            "/rpc/Switch.Set?id=1&on=false",
        ),
        (
            "type = \"tasmota\"",
            "/cm?cmnd=Backlog%20PulseTime1%2030%3BPower1%20On",
            "/cm?cmnd=Power1%20Off",
        ),
    ] {
        let (url, requests) = plug_server();
        plug_scenario(&format!("{kind}\nurl = \"{url}\"\nauto_off = \"3s\""));
        let requests = requests.lock().expect("lock").clone();
        assert_eq!(
            requests.first().map(String::as_str),
            Some(off),
            "{kind}: off at start: {requests:?}"
        );
        assert_eq!(
            requests.last().map(String::as_str),
            Some(off),
            "{kind}: off at exit: {requests:?}"
        );
        let ons = requests.iter().filter(|r| r.as_str() == on).count();
        assert!(ons >= 2, "{kind}: ON re-sent while on: {requests:?}");
    }
}
