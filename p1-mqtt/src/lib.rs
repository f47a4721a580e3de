//! p1-mqtt: the record stream to an MQTT broker. The stage loop reads stdin and publishes
//! what it holds when the broker can take it: the latest state per meter (coalesced), relay
//! events in order (bounded), the peak record; commands from the broker go to p1-relay's
//! control socket. Nothing here waits on the broker.
//!
//! - `settings`: the command line;
//! - `publisher`: the stage, records into the `outbox`, published over the `connection`
//!   (rumqttc's client driven by the `broker` thread), under the meter's `topics`, with
//!   Home Assistant `discovery`;
//! - `price`: a price record with the next 24 hours of the price file;
//! - `bridge`: load commands (`command`) from MQTT to p1-relay's control socket.

mod bridge;
mod broker;
mod command;
mod connection;
mod discovery;
mod outbox;
mod price;
mod publisher;
mod settings;
mod topics;

use std::process::ExitCode;

use log::info;
use p1_common::Error;
use p1_common::runtime::stage::{Runtime, Stdout};

use crate::bridge::Bridge;
use crate::connection::Connection;
use crate::outbox::Outbox;
use crate::publisher::Publisher;
pub use crate::settings::Cli;
use crate::settings::{PROG, Settings};

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    p1_common::runtime::cli::main(PROG, |cli: Cli| run(Settings::from_cli(cli)?))
}

fn run(settings: Settings) -> Result<(), Error> {
    let mut runtime = Runtime::start(settings.passthrough)?;
    let mut publisher = Publisher {
        naming: settings.naming,
        connection: Connection::new(settings.endpoint, runtime.events()),
        outbox: Outbox::new(settings.publishing),
        bridge: settings.control.map(Bridge::new),
        stale_after: settings.stale_after,
        last_reading: None,
        prices: settings.prices,
    };
    publisher.connect_at_start();
    let result = runtime.run(&mut publisher, &mut Stdout::stdout());
    if let Ok(end) = &result {
        info!("{}", end.describe());
    }
    // A connection still being made gets a few seconds, so that a short input is published.
    publisher
        .connection
        .await_connection(|within| runtime.next_event(within));
    publisher.outbox.last_call();
    publisher.publish_due();
    publisher.connection.close();
    result.map(|_| ())
}
