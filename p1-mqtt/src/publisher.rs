//! The stage: each record into the outbox, published as the connection allows; the broker's
//! news (connected, lost, a message) come into the same loop as events.

use std::time::{Duration, Instant};

use log::{debug, info, warn};
use p1_common::contract::envelope::TelegramEnvelope;
use p1_common::contract::events::RelayEvent;
use p1_common::contract::price::PriceRecord;
use p1_common::contract::reading::{Reading, ReadingKey};
use p1_common::contract::select::Selection;
use p1_common::runtime::stage::{Handled, Out, Stage};

use crate::bridge::Bridge;
use crate::broker::Event;
use crate::connection::Connection;
use crate::outbox::Outbox;
use crate::price;
use crate::topics::Topics;

/// Where the meter's topics go, and under which id.
#[derive(Debug, Clone)]
pub(crate) struct Naming {
    /// The first level of every topic.
    pub(crate) prefix: String,
    /// The meter id to publish under, before (or instead of) the readings'.
    pub(crate) meter_id: Option<String>,
    /// Home Assistant's discovery prefix, whose status topic is followed.
    pub(crate) discovery: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Publisher {
    pub(crate) naming: Naming,
    pub(crate) connection: Connection,
    pub(crate) outbox: Outbox,
    pub(crate) bridge: Option<Bridge>,
    /// No reading for this long (wall clock): the status says offline until the next.
    pub(crate) stale_after: Duration,
    /// When the last reading came.
    pub(crate) last_reading: Option<Instant>,
    /// The price file, for the next 24 hours of prices.
    pub(crate) prices: Option<std::path::PathBuf>,
}

impl Publisher {
    /// Starts the connection under the meter's id, once there is one.
    fn start(&mut self, reading_id: Option<&str>) {
        if self.connection.is_started() {
            return;
        }
        let id = self
            .naming
            .meter_id
            .clone()
            .or_else(|| reading_id.filter(|id| !id.is_empty()).map(str::to_string));
        let id = match (id, reading_id) {
            (Some(id), _) => id,
            // A reading without an id: a name all the same.
            (None, Some(_)) => "meter".to_string(),
            (None, None) => return,
        };
        self.connection.start(Topics::new(&self.naming.prefix, &id));
    }

    /// With `--meter-id` the topics are known at once, and so is the last will: connects
    /// at start, so that the first reading goes straight out. Without, the id comes with the
    /// first reading.
    pub(crate) fn connect_at_start(&mut self) {
        self.start(None);
    }

    /// Publishes what is due while connected.
    pub(crate) fn publish_due(&mut self) {
        let Some((broker, topics)) = self.connection.up() else {
            return;
        };
        if let Some(bridge) = self.bridge.as_mut() {
            bridge.publish_due(broker, topics, &mut self.outbox);
        }
        self.outbox.publish_due(broker, topics);
    }

    /// The broker's news.
    pub(crate) fn on_broker(&mut self, event: Event) {
        match event {
            Event::Connected => {
                self.connection.connected();
                if let Some((broker, topics)) = self.connection.up() {
                    if let Some(prefix) = &self.naming.discovery {
                        broker.subscribe(&format!("{prefix}/status"));
                    }
                    if let Some(bridge) = self.bridge.as_mut() {
                        bridge.connected(broker, topics);
                    }
                }
                self.outbox.connected();
            }
            Event::Lost(why) => self.connection.lost(&why),
            Event::Message { topic, payload } => self.on_message(&topic, &payload),
        }
    }

    fn on_message(&mut self, topic: &str, payload: &[u8]) {
        let text = String::from_utf8_lossy(payload);
        if let Some(prefix) = &self.naming.discovery
            && topic == format!("{prefix}/status")
        {
            if text.trim() == "online" {
                debug!("Home Assistant is online: discovery again");
                self.outbox.discovery_due = true;
            }
            return;
        }
        if let (Some(bridge), Some((broker, topics))) = (self.bridge.as_mut(), self.connection.up())
        {
            bridge.command(topic, &text, broker, topics, &mut self.outbox);
        }
    }
}

impl Stage for Publisher {
    type Event = Event;

    /// The meter id only: the line is published as it is, and read when it is.
    fn reading_keys(&self) -> Option<Selection<Reading>> {
        Some(ReadingKey::select(&[ReadingKey::meter_id]))
    }

    fn on_reading(&mut self, reading: Reading, out: &mut Out<'_>) -> Handled {
        self.start(Some(reading.meter_id.as_deref().unwrap_or_default()));
        self.last_reading = Some(Instant::now());
        if !self.connection.is_fresh() {
            info!("readings again: status online");
            self.connection.set_fresh(true);
        }
        self.outbox.reading(out.line());
        Ok(())
    }

    fn on_relay(&mut self, event: RelayEvent, _: &mut Out<'_>) -> Handled {
        let mut payload = serde_json::to_value(&event).unwrap_or_default();
        if let Some(object) = payload.as_object_mut() {
            object.remove("type");
        }
        // No meter yet: its events go under the configured id, or wait for the first reading.
        self.start(None);
        self.outbox.relay(&event.load, payload.to_string());
        Ok(())
    }

    fn on_price(&mut self, price: PriceRecord, _: &mut Out<'_>) -> Handled {
        self.start(None);
        self.outbox
            .price(price::payload(&price, self.prices.as_deref()));
        Ok(())
    }

    /// Peak records are published as their lines came (`on_other`).
    fn unread_types(&self) -> &'static [&'static str] {
        &["peak"]
    }

    fn on_other(&mut self, kind: &str, out: &mut Out<'_>) -> Handled {
        if kind == "peak" {
            self.outbox.peak(out.line());
        }
        Ok(())
    }

    fn on_telegram(&mut self, envelope: TelegramEnvelope<'_>, _: &mut Out<'_>) -> Handled {
        self.outbox.telegram(&envelope.telegram.text());
        Ok(())
    }

    fn on_event(&mut self, event: Event, _: &mut Out<'_>) -> Handled {
        self.on_broker(event);
        self.publish_due();
        Ok(())
    }

    /// What the lines at hand led to goes out together: one wake-up of the connection's
    /// thread for a telegram's reading, peak record and telegram.
    fn on_caught_up(&mut self, _: &mut Out<'_>) -> Handled {
        self.publish_due();
        Ok(())
    }

    fn next_tick(&self) -> Option<Instant> {
        let due = self.connection.up().and(self.outbox.next_due());
        let stale = self
            .last_reading
            .filter(|_| self.connection.is_fresh())
            .map(|at| at + self.stale_after);
        due.into_iter().chain(stale).min()
    }

    fn on_tick(&mut self, _: &mut Out<'_>) -> Handled {
        if self.connection.is_fresh()
            && self
                .last_reading
                .is_some_and(|at| at.elapsed() >= self.stale_after)
        {
            warn!(
                "no reading for {} s: status offline (sensors unavailable) until the next one",
                self.stale_after.as_secs()
            );
            self.connection.set_fresh(false);
        }
        self.publish_due();
        Ok(())
    }
}
