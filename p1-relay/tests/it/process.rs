//! p1-relay as a long-running process: signals, wall-clock staleness, restarts, reloads,
//! configuration errors, and smart plugs over HTTP.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use p1_common::contract::control::{ControlMode, ControlReply};
use p1_testkit::http::{HttpServer, Reply};
use p1_testkit::{Proc, Signal};

const WAIT: Duration = Duration::from_secs(10);
const BOILER: &str = "name = \"boiler\"\npower_kw = 2.0\non_export_kw = 2.2\noff_import_kw = 0.1\non_delay = \"5s\"\noff_delay = \"5s\"";

struct Live {
    proc: Proc,
    stream: Stream,
}

impl Live {
    fn start(config: &std::path::Path, extra: &[&str]) -> Live {
        let proc = Proc::spawn(
            Command::new(env!("CARGO_BIN_EXE_p1-relay"))
                .arg("--config")
                .arg(config)
                .args(extra),
        );
        let now = chrono::Local::now()
            .fixed_offset()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        Live {
            proc,
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
        self.proc.write(text.as_bytes());
    }

    fn wait_event(&mut self, needle: &str) -> String {
        self.proc.wait_stdout(needle, WAIT)
    }

    fn signal(&self, signal: Signal) {
        self.proc.signal(signal);
    }

    fn end_input(&mut self) {
        self.proc.close_stdin();
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        self.proc.wait(WAIT)
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
    let config = config(&dir, QUICK, &[BOILER, keeper]);
    let mut live = Live::start(&config, &[]);
    live.feed(7, 0.0, 3.0);
    live.wait_event("\"load\":\"boiler\",\"state\":\"on\"");
    wait_for_file_line(&dir, "boiler on");
    live.signal(Signal::SIGTERM);
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
    let config = config(&dir, &format!("{QUICK}\nstale_after = \"2s\""), &[BOILER]);
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
    let config_path = config(&dir, QUICK, &[BOILER]);
    let mut live = Live::start(&config_path, &[]);
    live.feed(7, 0.0, 3.0);
    wait_for_file_line(&dir, "boiler on");
    let text = std::fs::read_to_string(&config_path).expect("config");
    std::fs::write(
        &config_path,
        text.replace("off_delay = \"5s\"", "off_delay = \"5s\"\nmode = \"off\""),
    )
    .expect("write");
    live.signal(Signal::SIGHUP);
    live.proc
        .wait_stderr("SIGHUP: configuration reloaded", WAIT);
    live.feed(1, 0.0, 3.0);
    let event = live.wait_event("mode off");
    assert!(event.contains("\"state\":\"off\""), "{event}");
    wait_for_file_line(&dir, "boiler off");
    // A broken configuration is refused, naming what is wrong, and the running one kept.
    std::fs::write(&config_path, "stale_after = \"soon\"").expect("write");
    live.signal(Signal::SIGHUP);
    let refused = live
        .proc
        .wait_stderr("SIGHUP: configuration not reloaded", WAIT);
    assert!(
        refused.contains("'soon' is not a duration"),
        "says why: {refused}"
    );
    // The relay goes on with the configuration it had.
    live.feed(1, 0.0, 3.0);
    live.wait_event("\"type\":\"peak\"");
    live.end_input();
    assert_eq!(live.wait_exit().code(), Some(0));
}

#[test]
fn configuration_errors_exit_78_naming_the_key_and_line() {
    let dir = TempDir::new("config");
    let surprise = format!("{BOILER}\nsurprise = 1");
    let path = one_load_config(&dir, "settle = \"60s\"\n", &surprise, DRY_RUN);
    let config = path.to_str().expect("path");
    p1_relay(&["--config", config], "")
        .status_is(78)
        .stderr_contains(&format!(
            "p1-relay: {config}: line 10: unknown field `surprise`"
        ));

    one_load_config(&dir, "", &BOILER.replace("2.2", "1.5"), DRY_RUN);
    p1_relay(&["--config", config, "--check"], "")
        .success()
        .stderr_contains("load 'boiler' will oscillate");
}

#[test]
fn gpio_off_a_raspberry_pi_names_dry_run_and_dry_run_works() {
    let dir = TempDir::new("gpio");
    let gpio = "type = \"gpio\"\npin = 17\nactive_low = true";
    let path = one_load_config(&dir, QUICK, BOILER, gpio);
    p1_relay(&["--config", path.to_str().expect("path")], "")
        .status_is(1)
        .stderr_contains("load 'boiler': GPIO is not available here")
        .stderr_contains("--dry-run");
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

/// A plug: a local HTTP server answering every request with 200.
fn plug_server() -> HttpServer {
    HttpServer::start(|_, _| Reply::ok("ok"))
}

/// A load on a plug, on for a while: `on` is the path of an ON request.
fn plug_scenario(plug: &HttpServer, switch: &str, on: &str) {
    let dir = TempDir::new("plug");
    let path = one_load_config(&dir, QUICK, BOILER, switch);
    let mut live = Live::start(&path, &[]);
    live.feed(7, 0.0, 3.0);
    live.wait_event("\"state\":\"on\"");
    // auto_off 3 s: ON is sent again every second while the load is on.
    plug.wait_for("ON sent three times", WAIT, |requests| {
        requests.iter().filter(|r| r.path == on).count() >= 3
    });
    live.end_input();
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
        let plug = plug_server();
        let switch = format!("{kind}\nurl = \"{}\"\nauto_off = \"3s\"", plug.url);
        plug_scenario(&plug, &switch, on);
        let requests: Vec<String> = plug.requests().into_iter().map(|r| r.path).collect();
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
        assert!(ons >= 3, "{kind}: ON re-sent while on: {requests:?}");
    }
}

/// `p1-relay ctl SOCKET ARGS`: its status, and the reply it printed (none when it failed
/// before asking).
fn ctl(socket: &std::path::Path, args: &[&str]) -> (Option<i32>, Option<ControlReply>) {
    let output = p1_testkit::run(
        Command::new(env!("CARGO_BIN_EXE_p1-relay"))
            .arg("ctl")
            .arg(socket)
            .args(args),
        b"",
    );
    (
        output.status.code(),
        serde_json::from_slice(&output.stdout).ok(),
    )
}

/// Issue 14: a load set on through the control socket (owner-only) goes on at the next
/// reading whatever the export, shows as manual in `status`, and stale data still turns it
/// off; `auto` gives it back to the rules.
#[test]
fn the_control_socket_sets_a_mode_and_stale_data_still_wins() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = TempDir::new("control");
    let config = config(&dir, &format!("{QUICK}\nstale_after = \"2s\""), &[BOILER]);
    let socket = dir.path("relay.sock");
    let socket_arg = socket.to_string_lossy().into_owned();
    let mut live = Live::start(&config, &["--control", &socket_arg]);
    live.feed(2, 1.0, 0.0);
    live.wait_event("\"reason\":\"start\"");
    let mode = std::fs::metadata(&socket)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "owner only");

    let (code, reply) = ctl(&socket, &["boiler", "on", "--for", "2h"]);
    assert_eq!(code, Some(0), "{reply:?}");
    let boiler = &reply.expect("a reply").loads[0];
    assert_eq!((boiler.mode, boiler.manual), (ControlMode::On, true));
    assert!(boiler.until.is_some(), "{boiler:?}");
    live.feed(1, 1.0, 0.0);
    live.wait_event("\"reason\":\"manual mode on\"");
    wait_for_file_line(&dir, "boiler on");
    let (_, status) = ctl(&socket, &["status"]);
    assert!(status.expect("a reply").loads[0].on);

    // No reading for stale_after: off, whatever the mode.
    live.wait_event("stale: no reading for 2 s");
    wait_for_file_line(&dir, "boiler off");

    let (code, reply) = ctl(&socket, &["pool", "on"]);
    assert_eq!(
        (code, reply.and_then(|r| r.error).as_deref()),
        (Some(1), Some("no load 'pool'"))
    );
    let (code, _) = ctl(&socket, &["boiler", "sideways"]);
    assert_eq!(code, Some(2));
    let (code, reply) = ctl(&socket, &["boiler", "auto"]);
    assert_eq!(
        (code, reply.map(|r| r.loads[0].manual)),
        (Some(0), Some(false))
    );

    live.end_input();
    assert!(live.wait_exit().success());
    assert!(!socket.exists(), "the socket is removed at exit");
    let (code, _) = ctl(&socket, &["status"]);
    assert_eq!(code, Some(66), "no p1-relay: the source is unavailable");
}

/// Issue 23 (1): killed with a load on and restarted at once with the same state file, the
/// load went off at start and on again 3.25 s later with `min_off = "4s"`: a reading stamped
/// a second late (whole seconds, or waiting in a pipe) moved the switch-off back. `min_off`
/// counts from the switch-off at start on the wall clock.
#[test]
fn min_off_counts_from_the_switch_off_at_a_restart_regression_23() {
    let dir = TempDir::new("kill-restart");
    let load = "name = \"boiler\"\npower_kw = 2.0\non_export_kw = 2.2\noff_import_kw = 0.1\n\
                on_delay = \"0s\"\noff_delay = \"5s\"\nmin_off = \"4s\"";
    let globals = format!(
        "{QUICK}\nstate_file = \"{}\"",
        dir.path("state.json").display()
    );
    let config = config(&dir, &globals, &[load]);
    let mut live = Live::start(&config, &[]);
    live.feed(1, 0.0, 3.0);
    live.wait_event("\"load\":\"boiler\",\"state\":\"on\"");
    wait_for_file_line(&dir, "boiler on");
    live.signal(Signal::SIGKILL);
    live.wait_exit();

    let restarted = Instant::now();
    let mut live = Live::start(&config, &[]);
    live.stream.time -= chrono::Duration::seconds(1);
    let deadline = restarted + WAIT;
    let on = loop {
        live.feed(1, 0.0, 3.0);
        let wall = chrono::Local::now().fixed_offset();
        live.stream.time =
            wall - chrono::Duration::nanoseconds(wall.timestamp_subsec_nanos().into());
        if let Some(line) = live.proc.next_stdout(Duration::from_millis(250))
            && line.contains("\"state\":\"on\"")
        {
            break restarted.elapsed();
        }
        assert!(Instant::now() < deadline, "not on again within {WAIT:?}");
    };
    assert!(
        on >= Duration::from_secs(4),
        "on again {on:?} after the restart"
    );
}

/// Price slots of 15 minutes at `value` from an hour before now to two hours after.
fn price_file(path: &std::path::Path, value: f64) {
    let now = chrono::Local::now().fixed_offset();
    let quarter = now.timestamp() - now.timestamp().rem_euclid(900);
    let text: String = (-4..8)
        .map(|i| {
            let at = |q: i64| {
                chrono::DateTime::from_timestamp(quarter + q * 900, 0)
                    .expect("a time")
                    .with_timezone(now.offset())
                    .to_rfc3339()
            };
            format!(
                "{{\"start\":\"{}\",\"end\":\"{}\",\"value\":{value}}}\n",
                at(i),
                at(i + 1)
            )
        })
        .collect();
    let new = path.with_extension("new");
    std::fs::write(&new, text).expect("write prices");
    std::fs::rename(&new, path).expect("rename prices");
}

/// Issue 26: a cron job renames a new price file over the old one; the next reading (one a
/// second from a meter) acts on it, the new slot written once as a price record before the
/// switch it leads to.
#[test]
fn a_price_file_replaced_while_running_is_taken_up_within_a_second_regression_26() {
    let dir = TempDir::new("relay-prices");
    let prices = dir.path("prices.ndjson");
    price_file(&prices, 0.3);
    let config = config(
        &dir,
        QUICK,
        &[
            "name = \"boiler\"\npower_kw = 2.0\non_export_kw = 9.0\noff_import_kw = 0.3\non_delay = \"0s\"\noff_delay = \"0s\"\nprice_below = 0.0",
        ],
    );
    let mut live = Live::start(&config, &["--prices", prices.to_str().expect("path")]);
    live.feed(2, 1.0, 0.0);
    let first = live.wait_event("\"type\":\"price\"");
    assert!(first.contains("\"value\":0.3"), "{first}");
    price_file(&prices, -0.05);
    let replaced = Instant::now();
    let mut seen = Vec::new();
    // A reading every 200 ms (a meter sends one a second), until the switch comes.
    let (on, took) = 'fed: loop {
        assert!(replaced.elapsed() < WAIT, "no switch on: {seen:#?}");
        live.feed(1, 1.0, 0.0);
        while let Some(line) = live.proc.next_stdout(Duration::from_millis(200)) {
            let switched = line.contains("\"state\":\"on\"");
            seen.push(line);
            if switched {
                break 'fed (seen.len() - 1, replaced.elapsed());
            }
        }
    };
    eprintln!("the new price file taken up after {took:?}");
    assert!(took < Duration::from_secs(1), "taken up after {took:?}");
    assert!(
        seen[on].contains("\"reason\":\"price -0.050 <= 0.000 EUR/kWh\"")
            && seen[on].contains("\"price\":-0.05"),
        "{seen:#?}"
    );
    let slot = seen
        .iter()
        .position(|l| l.contains("\"type\":\"price\""))
        .expect("the new slot");
    assert!(seen[slot].contains("\"value\":-0.05"), "{seen:#?}");
    let slots = seen
        .iter()
        .filter(|l| l.contains("\"type\":\"price\""))
        .count();
    assert!(slot < on && slots == 1, "{seen:#?}");
    live.end_input();
    assert!(live.wait_exit().success());
}
