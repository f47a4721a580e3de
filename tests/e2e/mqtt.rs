//! p1-relay and p1-mqtt together: a load switched from an MQTT command topic through
//! p1-relay's control socket, against a real Mosquitto and a real subscriber (issue 14).

use std::process::Command;
use std::time::Duration;

use p1_testkit::mosquitto::{Mosquitto, publish};
use p1_testkit::{Proc, TempDir, skip_without, wait_until};

const WAIT: Duration = Duration::from_secs(15);

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A reading of meter M1 at `secs`, importing 0.2 kW.
fn reading(_: usize, secs: i64) -> String {
    let time = chrono::DateTime::from_timestamp(secs, 0)
        .expect("a time")
        .to_rfc3339();
    format!(
        "{{\"type\":\"reading\",\"meter_id\":\"M1\",\"time\":\"{time}\",\"energy_import_t1_kwh\":1000.5,\"energy_import_t2_kwh\":0.0,\"power_import_kw\":0.2,\"power_export_kw\":0.0}}\n"
    )
}

/// Issue 14: a command on a load's topic switches it through p1-relay's control socket (a
/// `command` switch logs it), its mode is published, and stale data still turns it off.
#[test]
fn a_command_topic_switches_a_load_through_p1_relay_regression_14() {
    if skip_without(&["mosquitto", "mosquitto_sub", "mosquitto_pub", "stdbuf"]) {
        return;
    }
    let bin = crate::common::binaries();
    let broker = Mosquitto::start();
    let mut sub = broker.subscribe("command", "p1/#");
    let dir = TempDir::new("mqtt-command");
    let log = dir.path("switched");
    let config = dir.path("relay.toml");
    std::fs::write(
        &config,
        format!(
            "settle = \"0s\"\nstartup_grace = \"0s\"\nstale_after = \"2s\"\n[[load]]\nname = \"boiler\"\n\
             power_kw = 2.0\non_export_kw = 2.2\noff_import_kw = 0.1\n[load.switch]\ntype = \"command\"\n\
             on = \"echo on >> {0}\"\noff = \"echo off >> {0}\"\n",
            log.display()
        ),
    )
    .expect("config");
    let socket = dir.path("relay.sock");
    let pipeline = format!(
        "'{}' --config '{}' --control '{}' --passthrough | '{}' --broker {} --control '{}' --interval 0",
        bin.join("p1-relay").display(),
        config.display(),
        socket.display(),
        bin.join("p1-mqtt").display(),
        broker.url(),
        socket.display()
    );
    let mut live = Proc::spawn(Command::new("sh").args(["-c", &pipeline]));
    let switched = || std::fs::read_to_string(&log).unwrap_or_default();
    let mut i = 0;
    let mut feed = |live: &mut Proc| {
        live.write(reading(i, now_secs()).as_bytes());
        i += 1;
    };
    feed(&mut live);
    let start = sub.next_json("p1/M1/relay/boiler");
    assert_eq!(start["state"], "off");

    publish(broker.port, "p1/M1/relay/boiler/set", "on 2h", false);
    // Readings go on coming (a mode holds from the next one) until the boiler is on.
    wait_until("the boiler switched on by the command", || {
        feed(&mut live);
        let on = switched().lines().last() == Some("on");
        if !on {
            std::thread::sleep(Duration::from_millis(200));
        }
        on
    });
    // The mode published at connection, then the one the command set.
    assert_eq!(sub.payloads("p1/M1/relay/boiler/mode", 2), ["auto", "on"]);
    let on = sub.payloads("p1/M1/relay/boiler", 2);
    assert!(
        on[1].contains("\"state\":\"on\"") && on[1].contains("manual mode on"),
        "{on:?}"
    );
    // No more readings: off after stale_after, whatever the mode.
    wait_until("the boiler off for stale data", || {
        switched().lines().last() == Some("off")
    });
    let off = sub.payloads("p1/M1/relay/boiler", 3);
    assert!(off[2].contains("stale"), "{off:?}");
    live.close_stdin();
    assert!(live.wait(WAIT).success());
}
