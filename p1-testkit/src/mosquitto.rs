//! A real Mosquitto broker (Debian's `mosquitto`) on 127.0.0.1 with a generated
//! configuration, and real subscribers (`mosquitto_sub`, from `mosquitto-clients`).

use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fs::{TempDir, free_port};
use crate::proc::Proc;

/// A running broker, killed with the test. Its sessions and queued QoS 1 messages survive a
/// [`Mosquitto::stop`] and [`Mosquitto::resume`] (persistence on), as a real one's do.
#[derive(Debug)]
pub struct Mosquitto {
    pub dir: TempDir,
    pub port: u16,
    config: std::path::PathBuf,
    process: Option<Proc>,
}

impl Mosquitto {
    /// Starts one (needs mosquitto: see [`crate::skip_without`]).
    pub fn start() -> Mosquitto {
        Self::start_with(|_| String::new())
    }

    /// Starts one whose listener has the lines `listener` gives for its directory (TLS).
    pub fn start_with(listener: impl Fn(&TempDir) -> String) -> Mosquitto {
        let dir = TempDir::new("mosquitto");
        let port = free_port();
        let config = dir.path("mosquitto.conf");
        // Started as root, mosquitto would become the user mosquitto, who cannot read the
        // test's files.
        let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
            status
                .lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        });
        std::fs::write(
            &config,
            format!(
                "{}listener {port} 127.0.0.1\n{}allow_anonymous true\npersistence true\n\
                 persistence_location {}/\nlog_dest stderr\nlog_type all\n",
                if root { "user root\n" } else { "" },
                listener(&dir),
                dir.root().display()
            ),
        )
        .expect("write the mosquitto config");
        let mut broker = Mosquitto {
            dir,
            port,
            config,
            process: None,
        };
        broker.resume();
        broker
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Where a TLS listener is.
    pub fn tls_url(&self) -> String {
        format!("mqtts://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port and data, and waits until it accepts connections.
    pub fn resume(&mut self) {
        self.process = Some(Proc::spawn(
            Command::new(crate::tools::find("mosquitto").unwrap_or_else(|| "mosquitto".into()))
                .arg("-c")
                .arg(&self.config)
                .stdout(Stdio::null()),
        ));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen in 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until no QoS 1 message is in flight between the broker and any of `clients`
    /// (its log says so): each one a client published is acknowledged by the broker, and
    /// each one the broker sent a client is acknowledged by that client. A broker stopped
    /// then loses nothing and delivers nothing twice.
    pub fn wait_settled(&mut self, clients: &[&str]) {
        // The log is read as it is waited for: a message of its own, once logged, says every
        // line before it has been read.
        let barrier = "p1-test-barrier";
        let mut command = Command::new("mosquitto_pub");
        command
            .args(["-h", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .args(["-i", barrier, "-t", barrier, "-m", "", "-q", "1"]);
        assert!(crate::run(&mut command, b"").status.success(), "{barrier}");
        let process = self.process.as_mut().expect("the broker runs");
        let deadline = Instant::now() + WAIT;
        let logged = format!("Received PUBLISH from {barrier} ");
        while !process.stderr_seen.iter().any(|l| l.contains(&logged)) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(process.next_stderr(left).is_some(), "{barrier} not logged");
        }
        loop {
            let count = |needle: &str, qos1: bool| {
                process
                    .stderr_seen
                    .iter()
                    .filter(|l| l.contains(needle) && (!qos1 || l.contains(", q1,")))
                    .count()
            };
            let unsettled: Vec<String> = clients
                .iter()
                .filter_map(|client| {
                    let published = count(&format!("Received PUBLISH from {client} ("), true);
                    let taken = count(&format!("Sending PUBACK to {client} "), false);
                    let sent = count(&format!("Sending PUBLISH to {client} ("), true);
                    let acknowledged = count(&format!("Received PUBACK from {client} "), false);
                    (published != taken || sent != acknowledged).then(|| {
                        format!(
                            "{client}: {taken} of {published} received and \
                             {acknowledged} of {sent} sent acknowledged"
                        )
                    })
                })
                .collect();
            if unsettled.is_empty() {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                process.next_stderr(left).is_some(),
                "within {WAIT:?}: {}",
                unsettled.join("; ")
            );
        }
    }

    /// SIGTERM, as a broker going down (it saves its sessions).
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.terminate(Duration::from_secs(10));
        }
    }

    /// A subscriber to `filter` with a session of its own (`id`, QoS 1, kept across its
    /// reconnections). Returns once it is subscribed (a retained probe of its own has come
    /// back).
    pub fn subscribe(&self, id: &str, filter: &str) -> Subscriber {
        let probe = format!("p1-test-probe/{id}");
        crate::wait_until("the broker takes a publication", || {
            try_publish(self.port, &probe, "ready", true)
        });
        let mut proc = Proc::spawn(
            Command::new("stdbuf")
                .args(["-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p"])
                .arg(self.port.to_string())
                .args([
                    "-t", filter, "-t", &probe, "-F", "%r %t %p", "-q", "1", "-c", "-i", id,
                ]),
        );
        proc.close_stdin();
        proc.wait_stdout(&probe, WAIT);
        Subscriber { proc }
    }
}

/// How long a subscriber waits for a message.
const WAIT: Duration = Duration::from_secs(15);

/// A `mosquitto_sub`, each message a line `RETAIN TOPIC PAYLOAD`.
#[derive(Debug)]
pub struct Subscriber {
    pub proc: Proc,
}

impl Subscriber {
    /// Every message so far: (retained copy, topic, payload). A retained copy is one the
    /// broker sends at a (re)subscription; a live message is not one.
    pub fn seen(&self) -> Vec<(bool, String, String)> {
        self.proc
            .stdout_seen
            .iter()
            .filter_map(|line| {
                let mut parts = line.splitn(3, ' ');
                let retained = parts.next()? == "1";
                let topic = parts.next()?.to_string();
                Some((retained, topic, parts.next().unwrap_or("").to_string()))
            })
            .collect()
    }

    /// The live payloads on `topic` so far, waiting until there are `n`.
    pub fn payloads(&mut self, topic: &str, n: usize) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let got: Vec<String> = self
                .seen()
                .into_iter()
                .filter(|(retained, t, _)| !retained && t == topic)
                .map(|(_, _, payload)| payload)
                .collect();
            if got.len() >= n {
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                self.proc.next_stdout(left).is_some(),
                "{topic}: {} of {n} messages within {WAIT:?}",
                got.len()
            );
        }
    }

    /// The next message on `topic`, retained or not, as JSON.
    pub fn next_json(&mut self, topic: &str) -> serde_json::Value {
        let line = self.proc.wait_stdout(&format!(" {topic} "), WAIT);
        let payload = line.splitn(3, ' ').nth(2).unwrap_or("");
        serde_json::from_str(payload).unwrap_or_else(|e| panic!("{topic}: {e}: {payload}"))
    }
}

/// One message, with `mosquitto_pub`.
#[track_caller]
pub fn publish(port: u16, topic: &str, payload: &str, retain: bool) {
    assert!(
        try_publish(port, topic, payload, retain),
        "mosquitto_pub {topic}: refused"
    );
}

/// One message, with `mosquitto_pub`; false when the broker did not take it.
fn try_publish(port: u16, topic: &str, payload: &str, retain: bool) -> bool {
    let mut command = Command::new("mosquitto_pub");
    command
        .args(["-h", "127.0.0.1", "-p"])
        .arg(port.to_string())
        .args(["-t", topic, "-m", payload, "-q", "1"]);
    if retain {
        command.arg("-r");
    }
    crate::run(&mut command, b"").status.success()
}
