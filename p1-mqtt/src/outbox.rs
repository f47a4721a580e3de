//! What waits to be published: the latest reading (coalesced, at most every `--interval`),
//! its M-Bus devices and keys, the latest peak record and price slot, the last telegram, relay events in
//! order (bounded while the broker is away), and discovery whenever the stream holds
//! something new. Publishing never waits: what the client does not take stays due.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use log::warn;
use p1_common::contract::field::FieldTable as _;
use p1_common::contract::json::WriteJson as _;
use p1_common::contract::reading::Reading;
use p1_common::contract::record::Record;
use rumqttc::QoS;

use crate::broker::Broker;
use crate::discovery;
use crate::topics::Topics;

/// What is published, and how.
#[derive(Debug, Clone)]
pub(crate) struct Publishing {
    /// Home Assistant's discovery prefix, if discovery is published.
    pub(crate) discovery: Option<String>,
    /// A meter's state at most this often.
    pub(crate) interval: Duration,
    /// One topic per key too.
    pub(crate) split: bool,
    /// The raw telegram of each envelope too.
    pub(crate) telegrams: bool,
    /// Relay events kept while the broker is away.
    pub(crate) queue: usize,
    /// Loads get a mode select (a control socket is there).
    pub(crate) modes: bool,
}

/// A message that must arrive: a relay event, in order.
#[derive(Debug)]
struct Queued {
    load: String,
    payload: String,
}

#[derive(Debug)]
pub(crate) struct Outbox {
    publishing: Publishing,
    /// The latest reading read, and the latest reading's JSON as it came (read only when it
    /// is published: with an interval, most readings are only counted in), and whether it is
    /// published.
    reading: Option<Reading>,
    state: Option<String>,
    state_read: bool,
    state_due: bool,
    last_state: Option<Instant>,
    /// The latest peak record's JSON, and whether it is published.
    peak: Option<String>,
    peak_due: bool,
    /// The latest price slot's payload, and whether it is published.
    price: Option<String>,
    price_due: bool,
    telegram: Option<String>,
    events: VecDeque<Queued>,
    dropped_events: u64,
    /// Every load seen, for discovery and commands.
    pub(crate) loads: BTreeSet<String>,
    /// Discovery to publish (again): at connection, when Home Assistant comes online, and
    /// when a meter, a key or a load is first seen.
    pub(crate) discovery_due: bool,
}

impl Outbox {
    pub(crate) fn new(publishing: Publishing) -> Self {
        Outbox {
            publishing,
            reading: None,
            state: None,
            state_read: false,
            state_due: false,
            last_state: None,
            peak: None,
            peak_due: false,
            price: None,
            price_due: false,
            telegram: None,
            events: VecDeque::new(),
            dropped_events: 0,
            loads: BTreeSet::new(),
            discovery_due: false,
        }
    }

    /// A reading's line, kept (in the room of the one before) until its state is published;
    /// the first is read at once, for discovery.
    pub(crate) fn reading(&mut self, line: &str) {
        let state = self.state.get_or_insert_with(String::new);
        state.clear();
        state.push_str(line);
        self.state_read = false;
        self.state_due = true;
        if self.reading.is_none() {
            self.read_state();
        }
    }

    /// Reads the kept line; new keys or devices make discovery due.
    fn read_state(&mut self) {
        if self.state_read {
            return;
        }
        self.state_read = true;
        let Some(Ok(Record::Reading(reading))) = self.state.as_deref().map(Record::from_json)
        else {
            return;
        };
        let new_keys = self.reading.as_ref().is_none_or(|old| {
            old.line_values().count() != reading.line_values().count()
                || old.mbus.len() != reading.mbus.len()
        });
        self.discovery_due |= new_keys;
        self.reading = Some(reading.into_owned());
    }

    /// The latest peak record; the first makes discovery due, whenever it comes (p1-relay
    /// joined late, or was restarted), so that its sensors are announced.
    pub(crate) fn peak(&mut self, json: &str) {
        self.discovery_due |= self.peak.is_none();
        let peak = self.peak.get_or_insert_with(String::new);
        peak.clear();
        peak.push_str(json);
        self.peak_due = true;
    }

    /// The price slot that began; the first makes discovery due.
    pub(crate) fn price(&mut self, payload: String) {
        self.discovery_due |= self.price.is_none();
        self.price = Some(payload);
        self.price_due = true;
    }

    pub(crate) fn telegram(&mut self, telegram: &str) {
        if self.publishing.telegrams {
            self.telegram = Some(telegram.to_string());
        }
    }

    /// A load's event, kept in order until the broker takes it (the oldest go past the
    /// bound).
    pub(crate) fn relay(&mut self, load: &str, payload: String) {
        if self.loads.insert(load.to_string()) {
            self.discovery_due = true;
        }
        if self.events.len() >= self.publishing.queue {
            self.events.pop_front();
            self.dropped_events += 1;
            warn!(
                "the broker is away: the oldest relay event dropped ({} so far); raise --queue to keep more",
                self.dropped_events
            );
        }
        self.events.push_back(Queued {
            load: load.to_string(),
            payload,
        });
    }

    /// Connected (again): everything is due.
    pub(crate) fn connected(&mut self) {
        self.discovery_due = true;
        self.state_due = self.state.is_some();
        self.peak_due = self.peak.is_some();
        self.price_due = self.price.is_some();
    }

    /// When the coalesced state is due, if it waits for its interval.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        let waiting = self.state_due || self.peak_due;
        match self.last_state {
            Some(at) if waiting => Some(at + self.publishing.interval),
            _ => None,
        }
    }

    /// The state is due now, whatever the interval (at the end).
    pub(crate) fn last_call(&mut self) {
        self.last_state = None;
        if !self.events.is_empty() {
            warn!("{} relay events not published", self.events.len());
        }
    }

    /// Publishes what is due, as far as the client takes it.
    pub(crate) fn publish_due(&mut self, broker: &Broker, topics: &Topics) {
        let interval_over = self
            .last_state
            .is_none_or(|at| at.elapsed() >= self.publishing.interval);
        if interval_over && self.state_due {
            self.read_state();
        }
        if self.discovery_due {
            self.discovery_due = !self.publish_discovery(broker, topics);
        }
        self.flush_events(broker, topics);
        if self.price_due
            && let Some(price) = &self.price
        {
            self.price_due = broker
                .publish(&topics.price(), price.clone(), QoS::AtLeastOnce, true)
                .is_err();
        }
        if interval_over && (self.state_due || self.peak_due) {
            self.publish_state(broker, topics);
        }
        if let Some(telegram) = self.telegram.take() {
            let _ = broker.publish(&topics.telegram(), telegram, QoS::AtMostOnce, false);
        }
    }

    /// True when every discovery message was handed over.
    fn publish_discovery(&self, broker: &Broker, topics: &Topics) -> bool {
        let (Some(prefix), Some(reading)) = (&self.publishing.discovery, &self.reading) else {
            return self.publishing.discovery.is_none();
        };
        let mut configs = discovery::for_reading(topics, prefix, reading);
        if self.peak.is_some() {
            configs.extend(discovery::for_peak(topics, prefix, reading));
        }
        if self.price.is_some() {
            configs.push(discovery::for_price(topics, prefix, reading));
        }
        for load in &self.loads {
            configs.extend(discovery::for_load(
                topics,
                prefix,
                reading,
                load,
                self.publishing.modes,
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

    fn flush_events(&mut self, broker: &Broker, topics: &Topics) {
        while let Some(event) = self.events.front() {
            let topic = topics.relay(&event.load);
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
    fn publish_state(&mut self, broker: &Broker, topics: &Topics) {
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
        if self.publishing.split {
            for (key, value) in reading.line_values() {
                let _ = broker.publish(&topics.key(key), value.to_string(), QoS::AtMostOnce, false);
            }
        }
    }
}
