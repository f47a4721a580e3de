//! A live source (a serial device, a TCP connection), opened again with backoff whenever it
//! is lost, for ever. Each connection is read on a thread of its own (`reading`); the loop
//! blocks on what it hands over, on a signal or on the next health check that is due, so an
//! idle p1-read does not wake up.

use std::fmt;
use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use p1_common::Error;
use p1_common::runtime::error::IoCause;
use p1_common::runtime::signals::Signals;

use crate::decoder::Decoder;
use crate::emit::Emitter;
use crate::health::Health;
use crate::reading::{Connection, Gather, Lost, ReadBy, Wake, woken_by};

/// Why a live source cannot be opened.
#[derive(Debug)]
pub(crate) enum ConnectError {
    Serial(serialport::Error),
    Resolve(io::Error),
    NoAddress,
    Tcp {
        address: std::net::SocketAddr,
        source: io::Error,
    },
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Serial(e) => f.write_str(&describe_serial_error(e)),
            ConnectError::Resolve(e) => write!(f, "cannot resolve: {}", IoCause(e)),
            ConnectError::NoAddress => f.write_str("no address"),
            ConnectError::Tcp { address, source } => write!(f, "{address}: {}", IoCause(source)),
        }
    }
}

/// A serial error as a user can act on it.
fn describe_serial_error(e: &serialport::Error) -> String {
    let text = e.description.to_lowercase();
    if text.contains("busy") || text.contains("lock") {
        return format!("in use by another program (another p1-read?): {text}");
    }
    match e.kind {
        serialport::ErrorKind::NoDevice | serialport::ErrorKind::Io(io::ErrorKind::NotFound) => {
            "no such device (is the P1 cable plugged in? see ls /dev/serial/by-id/)".into()
        }
        serialport::ErrorKind::Io(io::ErrorKind::PermissionDenied) => {
            "permission denied (add the user to the 'dialout' group)".into()
        }
        _ => text,
    }
}

/// A live source that can be (re)opened.
pub(crate) trait Connector {
    type Conn: Read + Send + 'static;
    fn connect(&self) -> Result<Self::Conn, ConnectError>;
    /// Line settings, for the log (" at 115200 8N1").
    fn settings(&self) -> String;
    /// Reconnect after this much silence, for sources that can die silently.
    fn idle_reconnect(&self) -> Option<Duration>;
    /// A handle that ends a read blocked on `conn` when shut down (TCP); without one, the
    /// reading thread sees that it must end at its read's timeout.
    fn unblocker(&self, conn: &Self::Conn) -> Option<TcpStream>;
    /// Bytes a second, for a source whose telegrams come at a line's pace (serial).
    fn line_rate(&self) -> Option<u32>;
}

/// A live read's bytes at most: a telegram and more (they come a line's pace).
const LIVE_READ: usize = 4096;

/// Exponential backoff, 0.5 s doubling up to 10 s.
#[derive(Debug)]
struct Backoff(Duration);

impl Backoff {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(10);

    fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(Self::MAX);
        wait
    }
}

/// Reads a live source until a stop is asked for or `--count` is reached.
pub(crate) fn live<C: Connector>(
    connector: &C,
    mut decoder: Decoder,
    mut health: Health,
    signals: &Signals,
    emitter: &mut Emitter,
    fatal_at_start: bool,
) -> Result<(), Error> {
    let source = decoder.source().to_string();
    let (wake, woken) = woken_by(signals);
    let mut opened = 0;
    let mut open = |conn: C::Conn| {
        opened += 1;
        let by = ReadBy {
            buffer_bytes: LIVE_READ,
            unblocker: connector.unblocker(&conn),
            gather: connector.line_rate().map(Gather::new),
        };
        Connection::start(opened, conn, by, wake.clone())
    };
    let mut connection = match connector.connect() {
        Ok(conn) => {
            info!("{source}: open{}", connector.settings());
            Some(open(conn))
        }
        Err(e) if fatal_at_start => return Err(Error::no_input(format!("{source}: {e}"))),
        Err(e) => {
            warn!("{source}: {e}; retrying with backoff");
            None
        }
    };
    let mut backoff = Backoff(Backoff::FIRST);
    let mut lost_at: Option<Instant> = connection.is_none().then(Instant::now);
    while !signals.stop_requested() && !emitter.done() {
        if signals.take_hangup() {
            info!("{source}: SIGHUP: reopening");
            if let Some(given_up) = connection.take() {
                given_up.end();
            }
            lost_at = Some(Instant::now());
        }
        let Some(open_now) = &connection else {
            if !signals.sleep_until(Instant::now() + backoff.next()) {
                break;
            }
            match connector.connect() {
                Ok(conn) => {
                    let gone = lost_at.take().map_or(0, |t| t.elapsed().as_secs());
                    info!("{source}: open again after {gone} s");
                    connection = Some(open(conn));
                    backoff = Backoff(Backoff::FIRST);
                    decoder.restart();
                    health.reset_idle();
                }
                Err(e) => debug!("{source}: {e}"),
            }
            continue;
        };
        let due = health.next_check(connector.idle_reconnect());
        let lost = match woken.recv_timeout(due.saturating_duration_since(Instant::now())) {
            Ok(Wake::Bytes {
                connection: number,
                mut buffer,
                len,
            }) if number == open_now.number => {
                health.bytes(len);
                decoder.push(&mut buffer[..len], |event, frame| {
                    emitter.on_event(event, frame)
                })?;
                open_now.recycle(buffer);
                decoder.check_key(false)?;
                None
            }
            Ok(Wake::Lost {
                connection: number,
                why,
            }) if number == open_now.number => Some(why),
            // A signal, a message of a connection given up, or a check due.
            Ok(_) | Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        };
        health.check(decoder.stats());
        let lost = lost.or_else(|| {
            connector
                .idle_reconnect()
                .filter(|limit| health.idle_for() >= *limit)
                .map(Lost::Silent)
        });
        if let Some(why) = lost {
            warn!("{source}: {why}; reopening with backoff until it is back");
            if let Some(given_up) = connection.take() {
                given_up.end();
            }
            lost_at = Some(Instant::now());
        }
    }
    decoder.summarise();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_seconds() {
        let mut b = Backoff(Backoff::FIRST);
        let waits: Vec<u64> = (0..7).map(|_| b.next().as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 10000, 10000]);
    }
}
