//! p1-mqtt: the record stream to an MQTT broker. One loop reads stdin and publishes what it
//! holds when the broker can take it: the latest state per meter (coalesced), relay events
//! in order (bounded), the peak record; commands from the broker go to p1-relay's control
//! socket. Nothing here waits on the broker.

mod broker;
mod command;
mod discovery;
mod settings;
mod topics;

use std::collections::{BTreeSet, VecDeque};
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use clap::Parser;
use log::{debug, error, info, warn};
use p1_common::control::{self, ControlReply, ControlRequest};
use p1_common::field::FieldTable as _;
use p1_common::input::{Line, LineLog, spawn_stdin_lines};
use p1_common::json::WriteJson as _;
use p1_common::output::RecordWriter;
use p1_common::reading::Reading;
use p1_common::record::Record;
use p1_common::signals::Signals;
use p1_common::{Error, logger};
use rumqttc::QoS;

use crate::broker::{Broker, Event};
pub use crate::settings::{AFTER_HELP, Cli};
use crate::settings::{PROG, Settings};
use crate::topics::Topics;

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::init(PROG, logger::level(cli.quiet, cli.verbose));
    p1_common::exit_code(PROG, Settings::from_cli(cli).and_then(run))
}

/// A record line is never longer.
const MAX_LINE: usize = 1 << 20;

fn run(settings: Settings) -> Result<(), Error> {
    let signals = Signals::install()?;
    let lines = spawn_stdin_lines(MAX_LINE, 64);
    let mut mqtt = Mqtt::new(settings);
    let result = mqtt.serve(&lines, &signals);
    mqtt.close();
    result
}

/// How long a control-socket request may take.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a connection in progress may take at the end.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Complaints about the broker at most this often.
const COMPLAIN_EVERY: Duration = Duration::from_mins(1);

/// A message that must arrive: a relay event, in order.
#[derive(Debug)]
struct Queued {
    topic: String,
    payload: String,
}

struct Mqtt {
    settings: Settings,
    log: LineLog,
    out: Option<RecordWriter<std::io::StdoutLock<'static>>>,
    topics: Option<Topics>,
    broker: Option<Broker>,
    connected: bool,
    /// The latest reading, its JSON as it came, and whether it is published.
    reading: Option<Reading>,
    state: Option<String>,
    state_due: bool,
    last_state: Option<Instant>,
    /// The latest peak record's JSON, and whether it is published.
    peak: Option<String>,
    peak_due: bool,
    telegram: Option<String>,
    events: VecDeque<Queued>,
    dropped_events: u64,
    loads: BTreeSet<String>,
    /// Discovery to publish (again): at connection, when Home Assistant comes online, and
    /// when a meter or a load is first seen.
    discovery_due: bool,
    modes_due: bool,
    last_complaint: Option<Instant>,
}

impl Mqtt {
    fn new(settings: Settings) -> Self {
        Mqtt {
            out: settings.passthrough.then(RecordWriter::stdout),
            settings,
            log: LineLog::default(),
            topics: None,
            broker: None,
            connected: false,
            reading: None,
            state: None,
            state_due: false,
            last_state: None,
            peak: None,
            peak_due: false,
            telegram: None,
            events: VecDeque::new(),
            dropped_events: 0,
            loads: BTreeSet::new(),
            discovery_due: false,
            modes_due: false,
            last_complaint: None,
        }
    }

    fn serve(&mut self, lines: &Receiver<Line>, signals: &Signals) -> Result<(), Error> {
        loop {
            if signals.stop_requested() {
                info!("stop requested");
                return Ok(());
            }
            match lines.recv_timeout(Duration::from_millis(100)) {
                Ok(Line::Text(text)) => self.on_line(&text)?,
                Ok(Line::TooLong(bytes)) => self.log.too_long(bytes),
                Ok(Line::Failed(e)) => return Err(Error::io("stdin", e)),
                Ok(Line::End) | Err(RecvTimeoutError::Disconnected) => {
                    info!("end of input");
                    return Ok(());
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.on_broker_events();
            self.publish_due();
        }
    }

    fn on_line(&mut self, text: &str) -> Result<(), Error> {
        self.log.next();
        if let Some(out) = self.out.as_mut() {
            out.write_raw_line(text.as_bytes())?;
        }
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        match Record::from_json(text) {
            Ok(Record::Reading(reading)) => self.on_reading(reading.into_owned(), text),
            Ok(Record::Relay(event)) => {
                let mut payload = serde_json::to_value(event.as_ref()).unwrap_or_default();
                if let Some(object) = payload.as_object_mut() {
                    object.remove("type");
                }
                self.on_relay(&event.load, payload.to_string());
            }
            Ok(Record::Peak(peak)) => {
                self.peak = serde_json::to_string(peak.as_ref()).ok();
                self.peak_due = true;
            }
            Ok(Record::Telegram(envelope)) if self.settings.telegrams => {
                self.telegram = Some(envelope.telegram.into_owned());
            }
            Ok(_) => {}
            Err(e) => self.log.bad(&format!("{e}: skipped")),
        }
        Ok(())
    }

    fn on_reading(&mut self, reading: Reading, text: &str) {
        if self.topics.is_none() {
            let id = self
                .settings
                .meter_id
                .clone()
                .or_else(|| reading.meter_id.clone().filter(|id| !id.is_empty()))
                .unwrap_or_else(|| "meter".into());
            self.start(&id);
        }
        let new_keys = self.reading.as_ref().is_none_or(|old| {
            old.line_values().count() != reading.line_values().count()
                || old.mbus.len() != reading.mbus.len()
        });
        self.discovery_due |= new_keys;
        self.state = Some(text.to_string());
        self.reading = Some(reading);
        self.state_due = true;
    }

    fn on_relay(&mut self, load: &str, payload: String) {
        if self.loads.insert(load.to_string()) {
            self.discovery_due = true;
        }
        // No meter yet: its events go under the configured id, or wait for the first reading.
        if self.topics.is_none()
            && let Some(id) = self.settings.meter_id.clone()
        {
            self.start(&id);
        }
        self.queue(load, payload);
    }

    fn queue(&mut self, load: &str, payload: String) {
        if self.events.len() >= self.settings.queue {
            self.events.pop_front();
            self.dropped_events += 1;
            warn!(
                "the broker is away: the oldest relay event dropped ({} so far); raise --queue to keep more",
                self.dropped_events
            );
        }
        self.events.push_back(Queued {
            topic: load.to_string(),
            payload,
        });
    }

    /// Connects under the meter's id, its status topic the last will.
    fn start(&mut self, meter_id: &str) {
        let topics = Topics::new(&self.settings.prefix, meter_id);
        let client_id = self
            .settings
            .broker
            .client_id
            .clone()
            .unwrap_or_else(|| format!("p1-mqtt-{}", topics.meter_id()));
        info!(
            "publishing meter {} to {}:{} under {}",
            topics.meter_id(),
            self.settings.broker.host,
            self.settings.broker.port,
            topics.state().trim_end_matches("/state")
        );
        self.broker = Some(Broker::start(
            &self.settings.broker,
            &client_id,
            &topics.status(),
        ));
        self.topics = Some(topics);
    }

    fn on_broker_events(&mut self) {
        loop {
            let Some(event) = self.broker.as_ref().and_then(|b| b.events.try_recv().ok()) else {
                return;
            };
            match event {
                Event::Connected => self.on_connected(),
                Event::Lost(why) => {
                    self.connected = false;
                    self.complain(&why);
                }
                Event::Message { topic, payload } => self.on_message(&topic, &payload),
            }
        }
    }

    fn on_connected(&mut self) {
        let (Some(broker), Some(topics)) = (&self.broker, &self.topics) else {
            return;
        };
        if self.last_complaint.take().is_some() {
            info!("connected to the broker again");
        } else {
            info!("connected to the broker");
        }
        self.connected = true;
        let _ = broker.publish(&topics.status(), "online", QoS::AtLeastOnce, true);
        if let Some(prefix) = &self.settings.discovery {
            broker.subscribe(&format!("{prefix}/status"));
        }
        if self.settings.control.is_some() {
            broker.subscribe(&topics.relay_set_filter());
            self.modes_due = true;
        }
        self.discovery_due = true;
        self.state_due = self.state.is_some();
        self.peak_due = self.peak.is_some();
    }

    fn on_message(&mut self, topic: &str, payload: &[u8]) {
        let text = String::from_utf8_lossy(payload);
        if let Some(prefix) = &self.settings.discovery
            && topic == format!("{prefix}/status")
        {
            if text.trim() == "online" {
                debug!("Home Assistant is online: discovery again");
                self.discovery_due = true;
            }
            return;
        }
        let Some(load) = self.topics.as_ref().and_then(|t| t.load_of_command(topic)) else {
            return;
        };
        let load = load.to_string();
        let Some(name) = self
            .loads
            .iter()
            .find(|name| topics::safe(name) == load)
            .cloned()
        else {
            warn!("{topic}: no load of that name has switched yet; ignored");
            return;
        };
        match command::parse(&text) {
            Ok((mode, for_s)) => self.ask(&ControlRequest::Set {
                load: name,
                mode,
                for_s,
            }),
            Err(why) => warn!("{topic}: '{}': {why}", text.trim()),
        }
    }

    /// Sends a request to p1-relay, and publishes the modes it answers with.
    fn ask(&mut self, request: &ControlRequest) {
        let Some(path) = &self.settings.control else {
            return;
        };
        match control::ask(path, request, CONTROL_TIMEOUT) {
            Ok(reply) if reply.ok => self.publish_modes(&reply),
            Ok(reply) => warn!("p1-relay refused: {}", reply.error.unwrap_or_default()),
            Err(e) => warn!(
                "control socket {}: {}",
                path.display(),
                p1_common::error::IoCause(&e)
            ),
        }
    }

    fn publish_modes(&mut self, reply: &ControlReply) {
        let (Some(broker), Some(topics)) = (&self.broker, &self.topics) else {
            return;
        };
        for load in &reply.loads {
            if self.loads.insert(load.load.clone()) {
                self.discovery_due = true;
            }
            let _ = broker.publish(
                &topics.relay_mode(&load.load),
                load.mode.name(),
                QoS::AtLeastOnce,
                true,
            );
        }
    }

    /// Publishes what is due, as far as the client takes it.
    fn publish_due(&mut self) {
        if !self.connected {
            return;
        }
        if self.modes_due {
            self.modes_due = false;
            self.ask(&ControlRequest::Status);
        }
        if self.discovery_due {
            self.discovery_due = !self.publish_discovery();
        }
        self.flush_events();
        let interval_over = self
            .last_state
            .is_none_or(|at| at.elapsed() >= self.settings.interval);
        if interval_over && (self.state_due || self.peak_due) {
            self.publish_state();
        }
        if let (Some(telegram), Some(broker), Some(topics)) =
            (self.telegram.take(), &self.broker, &self.topics)
        {
            let _ = broker.publish(&topics.telegram(), telegram, QoS::AtMostOnce, false);
        }
    }

    /// True when every discovery message was handed over.
    fn publish_discovery(&self) -> bool {
        let (Some(prefix), Some(broker), Some(topics), Some(reading)) = (
            &self.settings.discovery,
            &self.broker,
            &self.topics,
            &self.reading,
        ) else {
            return self.settings.discovery.is_none();
        };
        let mut configs = discovery::for_reading(topics, prefix, reading);
        if self.peak.is_some() {
            configs.extend(discovery::for_peak(topics, prefix, reading));
        }
        for load in &self.loads {
            configs.extend(discovery::for_load(
                topics,
                prefix,
                reading,
                load,
                self.settings.control.is_some(),
            ));
        }
        configs.iter().all(|config| {
            broker
                .publish(
                    &config.topic,
                    config.payload.to_string(),
                    QoS::AtLeastOnce,
                    true,
                )
                .is_ok()
        })
    }

    fn flush_events(&mut self) {
        let (Some(broker), Some(topics)) = (&self.broker, &self.topics) else {
            return;
        };
        while let Some(event) = self.events.front() {
            let topic = topics.relay(&event.topic);
            if broker
                .publish(&topic, event.payload.clone(), QoS::AtLeastOnce, true)
                .is_err()
            {
                return;
            }
            self.events.pop_front();
        }
    }

    /// The state, its M-Bus devices, the peak and (with --split) each key.
    fn publish_state(&mut self) {
        let (Some(broker), Some(topics)) = (&self.broker, &self.topics) else {
            return;
        };
        self.last_state = Some(Instant::now());
        if self.peak_due
            && let Some(peak) = &self.peak
        {
            self.peak_due = broker
                .publish(&topics.peak(), peak.clone(), QoS::AtMostOnce, true)
                .is_err();
        }
        if !self.state_due {
            return;
        }
        let (Some(state), Some(reading)) = (&self.state, &self.reading) else {
            return;
        };
        self.state_due = broker
            .publish(&topics.state(), state.clone(), QoS::AtMostOnce, false)
            .is_err();
        for device in &reading.mbus {
            let mut json = Vec::with_capacity(256);
            device.write_json(&mut json);
            let _ = broker.publish(&topics.mbus(device.channel), json, QoS::AtMostOnce, true);
        }
        if self.settings.split {
            for (key, value) in reading.line_values() {
                let _ = broker.publish(&topics.key(key), value.to_string(), QoS::AtMostOnce, false);
            }
        }
    }

    fn complain(&mut self, why: &str) {
        if self
            .last_complaint
            .is_none_or(|at| at.elapsed() >= COMPLAIN_EVERY)
        {
            error!(
                "broker {}:{}: {why}; retrying, states keep only the latest meanwhile",
                self.settings.broker.host, self.settings.broker.port
            );
            self.last_complaint = Some(Instant::now());
        } else {
            debug!("broker: {why}");
        }
    }

    /// Publishes what it can, says offline, and disconnects. A connection still being made
    /// gets a few seconds, so that a short input is published too.
    fn close(&mut self) {
        let until = Instant::now() + CLOSE_WAIT;
        while self.broker.is_some() && !self.connected && Instant::now() < until {
            self.on_broker_events();
            std::thread::sleep(Duration::from_millis(20));
        }
        // The latest state, whatever the interval.
        self.last_state = None;
        self.publish_due();
        if !self.events.is_empty() {
            warn!("{} relay events not published", self.events.len());
        }
        let Some(broker) = self.broker.take() else {
            return;
        };
        if !self.connected {
            return broker.close(Duration::ZERO);
        }
        if let Some(topics) = &self.topics {
            let _ = broker.publish(&topics.status(), "offline", QoS::AtLeastOnce, true);
        }
        broker.close(Duration::from_secs(3));
    }
}
