//! p1-serve: the Pi beside the meter as a network meter. The stdin loop keeps the latest
//! reading, telegram, peak record and load states in a snapshot and hands each valid
//! telegram to the raw fan-out; HTTP workers answer from the snapshot. Neither side waits
//! on the other but for the snapshot's lock, held for a copy or a store.

mod fanout;
mod homewizard;
mod http;
mod mdns;
mod metrics;
mod settings;
mod snapshot;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use clap::Parser;
use log::info;
use p1_common::error::IoCause;
use p1_common::input::{Line, LineLog, spawn_stdin_lines};
use p1_common::output::RecordWriter;
use p1_common::record::Record;
use p1_common::signals::Signals;
use p1_common::{Error, logger};
use serde_json::json;

use crate::fanout::Fanout;
use crate::http::Response;
pub use crate::settings::{AFTER_HELP, Cli};
use crate::settings::{PROG, Settings};
use crate::snapshot::{Shared, Snapshot};

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::init(PROG, logger::level(cli.quiet, cli.verbose));
    p1_common::exit_code(PROG, Settings::from_cli(cli).and_then(run))
}

const MAX_LINE: usize = 1 << 20;

fn bind_error(what: &str, address: std::net::SocketAddr, e: &std::io::Error) -> Error {
    let hint = if e.kind() == std::io::ErrorKind::PermissionDenied && address.port() < 1024 {
        " (a port below 1024 needs root or CAP_NET_BIND_SERVICE: give another with --listen)"
    } else {
        ""
    };
    Error::Config(format!("{what} {address}: {}{hint}", IoCause(e)))
}

fn run(settings: Settings) -> Result<(), Error> {
    let signals = Signals::install()?;
    let shared: Shared = Arc::default();
    let listener = std::net::TcpListener::bind(settings.listen)
        .map_err(|e| bind_error("--listen", settings.listen, &e))?;
    let port = listener
        .local_addr()
        .map_or(settings.listen.port(), |a| a.port());
    let fanout = match settings.raw_listen {
        Some(address) => Some(
            Fanout::start(address, settings.max_clients)
                .map_err(|e| bind_error("--raw-listen", address, &e))?,
        ),
        None => None,
    };
    let mdns_serial = settings.serial.clone();
    let routes = Routes {
        shared: Arc::clone(&shared),
        stale_after: settings.stale_after,
        serial: settings.serial,
    };
    let handler: Arc<http::Handler> = Arc::new(move |path: &str| routes.answer(path));
    http::serve(listener, settings.limits, &handler);
    info!("serving on {}", settings.listen);
    let mut mdns = None;
    let mut log = LineLog::default();
    let mut out = settings.passthrough.then(RecordWriter::stdout);
    let lines = spawn_stdin_lines(MAX_LINE, 64);
    loop {
        if signals.stop_requested() {
            info!("stop requested");
            break;
        }
        match lines.recv_timeout(Duration::from_millis(200)) {
            Ok(Line::Text(text)) => {
                log.next();
                if let Some(out) = out.as_mut() {
                    out.write_raw_line(text.as_bytes())?;
                }
                take(&shared, fanout.as_ref(), &text, &mut log);
                if settings.mdns && mdns.is_none() {
                    let serial = mdns_serial.clone().or_else(|| {
                        snapshot::read(&shared)
                            .reading
                            .as_ref()
                            .and_then(|r| r.meter_id.as_deref().map(homewizard::serial_of))
                    });
                    if let Some(serial) = serial {
                        mdns = Some(mdns::advertise(port, &serial));
                    }
                }
            }
            Ok(Line::TooLong(bytes)) => log.too_long(bytes),
            Ok(Line::Failed(e)) => return Err(Error::io("stdin", e)),
            Ok(Line::End) | Err(RecvTimeoutError::Disconnected) => {
                info!("end of input");
                break;
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
    if let Some(Some(daemon)) = mdns {
        let _ = daemon.shutdown();
    }
    Ok(())
}

/// Stores what a line holds.
fn take(shared: &Shared, fanout: Option<&Fanout>, text: &str, log: &mut LineLog) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    let record = match Record::from_json(text) {
        Ok(record) => record,
        Err(e) => {
            log.bad(&format!("{e}: skipped"));
            return;
        }
    };
    let now = Instant::now();
    match record {
        Record::Reading(reading) => {
            let mut s = snapshot::write(shared);
            s.reading = Some(reading.into_owned());
            s.reading_line = Some(text.to_string());
            s.reading_at = Some(now);
        }
        Record::Telegram(envelope) if envelope.invalid.is_some() => {
            snapshot::write(shared).crc_errors += 1;
        }
        Record::Telegram(envelope) => {
            if let Some(fanout) = fanout {
                fanout.publish(&envelope.telegram);
            }
            let mut s = snapshot::write(shared);
            s.telegrams += 1;
            s.telegram = Some(envelope.telegram.into_owned());
            s.telegram_at = Some(now);
        }
        Record::Relay(event) => {
            let event = event.into_owned();
            snapshot::write(shared)
                .loads
                .insert(event.load.clone(), event);
        }
        Record::Peak(peak) => snapshot::write(shared).peak = Some(peak.into_owned()),
        Record::Other(_) => {}
    }
}

/// What each path answers.
struct Routes {
    shared: Shared,
    stale_after: Duration,
    serial: Option<String>,
}

impl Routes {
    fn serial(&self, s: &Snapshot) -> String {
        self.serial.clone().unwrap_or_else(|| {
            s.reading
                .as_ref()
                .and_then(|r| r.meter_id.as_deref())
                .map_or_else(|| "000000000000".into(), homewizard::serial_of)
        })
    }

    /// Why the latest reading cannot be given, if it cannot.
    fn stale(&self, s: &Snapshot) -> Option<Response> {
        let why = match s.reading_age() {
            None => "no reading yet".to_string(),
            Some(age) if age > self.stale_after => {
                format!("stale: no reading for {} s", age.as_secs())
            }
            Some(_) => return None,
        };
        Some(Response::json(503, &homewizard::error(503, &why)))
    }

    fn answer(&self, path: &str) -> Response {
        let s = snapshot::read(&self.shared);
        let json_or = |value: Option<serde_json::Value>, missing: &str| match value {
            Some(value) => Response::json(200, &value),
            None => Response::json(404, &homewizard::error(404, missing)),
        };
        match path.trim_end_matches('/') {
            "/api" => Response::json(200, &homewizard::device(&self.serial(&s))),
            "/api/v1/data" => self.stale(&s).unwrap_or_else(|| {
                let reading = s.reading.as_ref().map(homewizard::data);
                json_or(reading, "no reading yet")
            }),
            "/api/v1/telegram" => match (&s.telegram, self.stale(&s)) {
                (Some(telegram), None) => {
                    Response::text(200, "text/plain; charset=utf-8", telegram.clone())
                }
                (_, Some(stale)) => stale,
                (None, None) => Response::json(503, &homewizard::error(503, "no telegram yet")),
            },
            "/api/v1/system" => Response::json(200, &json!({"cloud_enabled": false})),
            "/api/v1/state" => Response::json(
                404,
                &homewizard::error(404, "a P1 meter has no state: it switches nothing"),
            ),
            "/metrics" => Response::text(
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                metrics::render(&s),
            ),
            "/p1/reading" => match &s.reading_line {
                Some(line) => Response::text(200, "application/json", line.clone()),
                None => Response::json(404, &homewizard::error(404, "no reading yet")),
            },
            "/p1/peak" => json_or(
                s.peak.as_ref().and_then(|p| serde_json::to_value(p).ok()),
                "no peak record yet (p1-relay writes them)",
            ),
            "/p1/loads" => Response::json(200, &serde_json::to_value(&s.loads).unwrap_or_default()),
            _ => Response::json(404, &homewizard::error(404, "unknown path")),
        }
    }
}
