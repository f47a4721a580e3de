//! The broker connection: rumqttc's client, driven by a thread of its own that blocks on the
//! connection (no polling: an idle p1-mqtt sleeps until the keep-alive), reconnects with
//! backoff and reports what happens as [`Event`]s. Publishing never waits: a full request
//! queue is an error the caller handles. A stop sends DISCONNECT and ends the thread there,
//! so the broker drops the last will and nothing reconnects.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use log::debug;
use p1_common::runtime::stage::Events;
use rumqttc::{Client, ConnectionError, LastWill, MqttOptions, Outgoing, Packet, QoS, Transport};

/// How to reach the broker.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// TLS: the CA certificates, and the client certificate and key if any.
    pub(crate) tls: Option<Tls>,
    pub(crate) client_id: Option<String>,
    pub(crate) credentials: Option<(String, String)>,
}

#[derive(Clone)]
pub(crate) struct Tls {
    pub(crate) ca: Vec<u8>,
    pub(crate) client: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

/// What the connection thread reports.
#[derive(Debug)]
pub(crate) enum Event {
    Connected,
    /// The connection failed or dropped (why); it is retried.
    Lost(String),
    Message {
        topic: String,
        payload: Vec<u8>,
    },
}

/// Requests waiting for the connection thread, at most; past it publishing fails at once.
const REQUESTS: usize = 512;

/// The largest packet either way: a reading with its history is a few kB, a telegram too.
const MAX_PACKET: usize = 256 * 1024;

pub(crate) struct Broker {
    client: Client,
    stop: Arc<AtomicBool>,
    /// Wakes the thread from its backoff at a stop.
    wake: Sender<()>,
    /// Disconnected once the thread has ended.
    ended: Receiver<()>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker").finish_non_exhaustive()
    }
}

/// Why a message was not handed to the client.
#[derive(Debug)]
pub(crate) struct Full;

impl Broker {
    /// Starts connecting, with `will` published (retained) by the broker if this client
    /// vanishes; what happens is posted to `events`.
    pub(crate) fn start(
        settings: &Endpoint,
        client_id: &str,
        will: &str,
        events: Events<Event>,
    ) -> Broker {
        let mut options = MqttOptions::new(client_id, &settings.host, settings.port);
        options
            .set_keep_alive(Duration::from_secs(30))
            .set_clean_session(true)
            .set_max_packet_size(MAX_PACKET, MAX_PACKET)
            .set_last_will(LastWill::new(will, "offline", QoS::AtLeastOnce, true));
        if let Some((user, password)) = &settings.credentials {
            options.set_credentials(user, password);
        }
        if let Some(tls) = &settings.tls {
            options.set_transport(Transport::tls(tls.ca.clone(), tls.client.clone(), None));
        }
        let (client, mut connection) = Client::new(options, REQUESTS);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let (wake, naps) = mpsc::channel();
        let (end, ended) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            let _end = end;
            let mut backoff = Duration::from_secs(1);
            loop {
                match connection.recv() {
                    Err(_) => return,
                    // Once more, so that the DISCONNECT leaves the buffer: a socket closed
                    // without it would make the broker fire the last will.
                    Ok(Ok(rumqttc::Event::Outgoing(Outgoing::Disconnect))) => {
                        let _ = connection.recv_timeout(Duration::from_secs(1));
                        return;
                    }
                    Ok(Ok(event)) => {
                        if report(&events, event) {
                            backoff = Duration::from_secs(1);
                        }
                    }
                    Ok(Err(e)) => {
                        if stopping.load(Ordering::Acquire) {
                            return;
                        }
                        events.send(Event::Lost(describe(&e)));
                        // A stop ends the backoff at once.
                        if naps.recv_timeout(backoff) != Err(RecvTimeoutError::Timeout) {
                            return;
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                    }
                }
            }
        });
        Broker {
            client,
            stop,
            wake,
            ended,
        }
    }

    /// Hands a message to the client; `Full` when its queue is (the broker is slow or away).
    pub(crate) fn publish(
        &self,
        topic: &str,
        payload: impl Into<Vec<u8>>,
        qos: QoS,
        retain: bool,
    ) -> Result<(), Full> {
        self.client
            .try_publish(topic, qos, retain, payload.into())
            .map_err(|_| Full)
    }

    pub(crate) fn subscribe(&self, filter: &str) {
        if let Err(e) = self.client.try_subscribe(filter, QoS::AtLeastOnce) {
            debug!("subscribe {filter}: {e}");
        }
    }

    /// Sends what is queued, then disconnects (no last will, no reconnection); waits at most
    /// `deadline` for the thread to end.
    pub(crate) fn close(self, deadline: Duration) {
        self.stop.store(true, Ordering::Release);
        let _ = self.wake.send(());
        let _ = self.client.try_disconnect();
        let _ = self.ended.recv_timeout(deadline);
    }
}

/// Passes on what matters of an event; true on a connection acknowledged.
fn report(events: &Events<Event>, event: rumqttc::Event) -> bool {
    match event {
        rumqttc::Event::Incoming(Packet::ConnAck(_)) => {
            events.send(Event::Connected);
            true
        }
        rumqttc::Event::Incoming(Packet::Publish(publish)) => {
            events.send(Event::Message {
                topic: publish.topic,
                payload: publish.payload.to_vec(),
            });
            false
        }
        _ => false,
    }
}

fn describe(e: &ConnectionError) -> String {
    match e {
        ConnectionError::Io(e) => p1_common::runtime::error::IoCause(e).to_string(),
        ConnectionError::ConnectionRefused(code) => format!("refused by the broker: {code:?}"),
        other => other.to_string(),
    }
}
