//! p1-serve: the Pi beside the meter as a network meter. The stage loop keeps the latest
//! reading, telegram, peak record and load states in a snapshot and hands each valid
//! telegram to the raw fan-out; HTTP workers answer from the snapshot. Neither side waits
//! on the other but for the snapshot's lock, held for a copy or a store.
//!
//! - `settings`: the command line;
//! - `stream`: the records into the `snapshot`, the telegrams to the raw `fanout`, the
//!   `mdns` advertisement;
//! - `http`: the bounded HTTP server, answering by `routes` with the `homewizard` API,
//!   Prometheus `metrics`, p1's JSON, the `history` of the last day and the web `page`.

mod fanout;
mod history;
mod homewizard;
mod http;
mod mdns;
mod metrics;
mod routes;
mod settings;
mod snapshot;
mod stream;

use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::sync::Arc;

use log::info;
use p1_common::Error;
use p1_common::runtime::error::{Context as _, IoCause};
use p1_common::runtime::stage::{Runtime, Stdout};

use crate::fanout::Fanout;
use crate::routes::Routes;
pub use crate::settings::Cli;
use crate::settings::{PROG, Settings};
use crate::snapshot::Shared;
use crate::stream::Stream;

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    p1_common::runtime::cli::main(PROG, |cli: Cli| run(Settings::from_cli(cli)?))
}

fn run(settings: Settings) -> Result<(), Error> {
    let mut runtime = Runtime::start(settings.passthrough)?;
    let shared: Shared = Arc::default();
    let listener = TcpListener::bind(&settings.listen[..])
        .map_err(|e| bind_error("--listen", &settings.listen, &e))?;
    let listening = listener.local_addr().context("--listen")?;
    let fanout = match &settings.raw_listen {
        Some(addresses) => Some(
            Fanout::start(&addresses[..], settings.max_clients)
                .map_err(|e| bind_error("--raw-listen", addresses, &e))?,
        ),
        None => None,
    };
    let routes = Routes {
        shared: Arc::clone(&shared),
        stale_after: settings.stale_after,
        serial: settings.serial.clone(),
    };
    let handler: Arc<http::Handler> = Arc::new(move |method, path: &str| match method {
        http::Method::Get => routes.answer(path),
        http::Method::Put => Routes::change(path),
    });
    http::serve(listener, settings.limits, &handler);
    info!("serving on {listening}");
    let mut stream = Stream {
        shared,
        fanout,
        mdns_at: settings.mdns.then_some(listening),
        serial: settings.serial,
        mdns: None,
        prices: settings.prices,
    };
    stream.advertise(None);
    let end = runtime.run(&mut stream, &mut Stdout::stdout());
    if let Ok(end) = end {
        info!("{}", end.describe());
    }
    stream.close();
    end.map(|_| ())
}

fn bind_error(what: &str, addresses: &[SocketAddr], e: &std::io::Error) -> Error {
    let low_port = addresses.iter().any(|a| a.port() < 1024);
    let hint = if e.kind() == std::io::ErrorKind::PermissionDenied && low_port {
        " (a port below 1024 needs root or CAP_NET_BIND_SERVICE: give another with --listen)"
    } else {
        ""
    };
    let shown: Vec<String> = addresses.iter().map(ToString::to_string).collect();
    Error::config(format!("{what} {}: {}{hint}", shown.join(", "), IoCause(e)))
}
