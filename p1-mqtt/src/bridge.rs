//! The control bridge: a load's mode set over MQTT (`<prefix>/<meter_id>/relay/<load>/set`)
//! goes to p1-relay's control socket, and the modes it answers with are published.

use std::path::PathBuf;
use std::time::Duration;

use log::warn;
use p1_common::contract::control::{self, ControlReply, ControlRequest};
use p1_common::runtime::error::IoCause;
use rumqttc::QoS;

use crate::broker::Broker;
use crate::command;
use crate::outbox::Outbox;
use crate::topics::{self, Topics};

/// How long a control-socket request may take.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug)]
pub(crate) struct Bridge {
    /// p1-relay's control socket.
    socket: PathBuf,
    /// The modes to ask for and publish (at each connection).
    modes_due: bool,
}

impl Bridge {
    pub(crate) fn new(socket: PathBuf) -> Self {
        Bridge {
            socket,
            modes_due: false,
        }
    }

    /// Connected: commands are listened for, and the modes are due.
    pub(crate) fn connected(&mut self, broker: &Broker, topics: &Topics) {
        broker.subscribe(&topics.relay_set_filter());
        self.modes_due = true;
    }

    /// Asks for the modes when due.
    pub(crate) fn publish_due(&mut self, broker: &Broker, topics: &Topics, outbox: &mut Outbox) {
        if std::mem::take(&mut self.modes_due) {
            self.ask(&ControlRequest::Status, broker, topics, outbox);
        }
    }

    /// A message on a load's command topic; false when `topic` is none.
    pub(crate) fn command(
        &mut self,
        topic: &str,
        payload: &str,
        broker: &Broker,
        topics: &Topics,
        outbox: &mut Outbox,
    ) -> bool {
        let Some(load) = topics.load_of_command(topic) else {
            return false;
        };
        let Some(name) = outbox
            .loads
            .iter()
            .find(|name| topics::safe(name) == load)
            .cloned()
        else {
            warn!("{topic}: no load of that name has switched yet; ignored");
            return true;
        };
        match command::parse(payload) {
            Ok((mode, for_s)) => {
                let request = ControlRequest::Set {
                    load: name,
                    mode,
                    for_s,
                };
                self.ask(&request, broker, topics, outbox);
            }
            Err(why) => warn!("{topic}: '{}': {why}", payload.trim()),
        }
        true
    }

    /// Sends a request to p1-relay, and publishes the modes it answers with.
    fn ask(&self, request: &ControlRequest, broker: &Broker, topics: &Topics, outbox: &mut Outbox) {
        match control::ask(&self.socket, request, CONTROL_TIMEOUT) {
            Ok(reply) if reply.ok => publish_modes(&reply, broker, topics, outbox),
            Ok(reply) => warn!("p1-relay refused: {}", reply.error.unwrap_or_default()),
            Err(e) => warn!("control socket {}: {}", self.socket.display(), IoCause(&e)),
        }
    }
}

fn publish_modes(reply: &ControlReply, broker: &Broker, topics: &Topics, outbox: &mut Outbox) {
    for load in &reply.loads {
        if outbox.loads.insert(load.load.clone()) {
            outbox.discovery_due = true;
        }
        let _ = broker.publish(
            &topics.relay_mode(&load.load),
            load.mode.name(),
            QoS::AtLeastOnce,
            true,
        );
    }
}
