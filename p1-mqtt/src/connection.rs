//! The connection as p1-mqtt sees it: started under the meter's id (its status topic the
//! last will), up or down, and what is wrong with it said at most once a minute.

use std::time::{Duration, Instant};

use log::{debug, error, info};
use p1_common::runtime::stage::Events;
use rumqttc::QoS;

use crate::broker::{Broker, Endpoint, Event};
use crate::topics::Topics;

/// Complaints about the broker at most this often.
const COMPLAIN_EVERY: Duration = Duration::from_mins(1);

/// How long a connection in progress may take at the end.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

pub(crate) struct Connection {
    endpoint: Endpoint,
    events: Events<Event>,
    broker: Option<Broker>,
    topics: Option<Topics>,
    connected: bool,
    /// Whether the meter's data is fresh: the status says `online` only then.
    fresh: bool,
    last_complaint: Option<Instant>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("connected", &self.connected)
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub(crate) fn new(endpoint: Endpoint, events: Events<Event>) -> Self {
        Connection {
            endpoint,
            events,
            broker: None,
            topics: None,
            connected: false,
            fresh: true,
            last_complaint: None,
        }
    }

    pub(crate) fn is_started(&self) -> bool {
        self.broker.is_some()
    }

    /// The broker and the meter's topics while connected.
    pub(crate) fn up(&self) -> Option<(&Broker, &Topics)> {
        match (&self.broker, &self.topics) {
            (Some(broker), Some(topics)) if self.connected => Some((broker, topics)),
            _ => None,
        }
    }

    /// Connects under the meter's id, its status topic the last will.
    pub(crate) fn start(&mut self, topics: Topics) {
        let client_id = self
            .endpoint
            .client_id
            .clone()
            .unwrap_or_else(|| format!("p1-mqtt-{}", topics.meter_id()));
        info!(
            "publishing meter {} to {}:{} under {}",
            topics.meter_id(),
            self.endpoint.host,
            self.endpoint.port,
            topics.state().trim_end_matches("/state")
        );
        self.broker = Some(Broker::start(
            &self.endpoint,
            &client_id,
            &topics.status(),
            self.events.clone(),
        ));
        self.topics = Some(topics);
    }

    /// The broker took the connection: says so, and that the meter is online.
    pub(crate) fn connected(&mut self) {
        if self.last_complaint.take().is_some() {
            info!("connected to the broker again");
        } else {
            info!("connected to the broker");
        }
        self.connected = true;
        self.publish_status();
    }

    /// Whether readings come: the status (Home Assistant's availability) follows, so that
    /// stale data never looks live.
    pub(crate) fn set_fresh(&mut self, fresh: bool) {
        if self.fresh != fresh {
            self.fresh = fresh;
            self.publish_status();
        }
    }

    pub(crate) fn is_fresh(&self) -> bool {
        self.fresh
    }

    fn publish_status(&self) {
        if let Some((broker, topics)) = self.up() {
            let status = if self.fresh { "online" } else { "offline" };
            let _ = broker.publish(&topics.status(), status, QoS::AtLeastOnce, true);
        }
    }

    /// The connection failed or dropped (it is retried).
    pub(crate) fn lost(&mut self, why: &str) {
        self.connected = false;
        if self
            .last_complaint
            .is_none_or(|at| at.elapsed() >= COMPLAIN_EVERY)
        {
            error!(
                "broker {}:{}: {why}; retrying, states keep only the latest meanwhile",
                self.endpoint.host, self.endpoint.port
            );
            self.last_complaint = Some(Instant::now());
        } else {
            debug!("broker: {why}");
        }
    }

    /// Waits (a few seconds at most) for a connection still being made, so that a short
    /// input is published too; `next` takes the broker's events meanwhile.
    pub(crate) fn await_connection(&mut self, mut next: impl FnMut(Duration) -> Option<Event>) {
        let until = Instant::now() + CLOSE_WAIT;
        while self.broker.is_some() && !self.connected {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match next(left) {
                Some(Event::Connected) => self.connected(),
                Some(Event::Lost(why)) => self.lost(&why),
                Some(Event::Message { .. }) => {}
                None => return,
            }
        }
    }

    /// Says offline and disconnects.
    pub(crate) fn close(&mut self) {
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
