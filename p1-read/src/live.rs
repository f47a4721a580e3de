//! A live source (a serial device, a TCP connection), opened again with backoff whenever it
//! is lost, for ever. Each connection is read on a thread of its own, which hands over what
//! it read; the loop blocks on that, on a signal or on the next health check that is due,
//! so an idle p1-read does not wake up. Buffers go to the thread and back: reading
//! allocates nothing once a connection is open.

use std::fmt;
use std::io::{self, Read};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use p1_common::Error;
use p1_common::runtime::signals::Signals;

use crate::decoder::Decoder;
use crate::emit::Emitter;
use crate::health::Health;
use crate::source::ConnectError;

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
}

/// Why a live connection was given up.
#[derive(Debug)]
enum Lost {
    Closed,
    Failed(io::Error),
    Silent(Duration),
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lost::Closed => f.write_str("connection closed"),
            Lost::Failed(e) => p1_common::runtime::error::IoCause(e).fmt(f),
            Lost::Silent(limit) => write!(f, "nothing for {} s", limit.as_secs()),
        }
    }
}

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

/// What the loop is woken by: a connection's reading thread (by its number), or a signal.
enum Wake {
    Bytes {
        connection: u64,
        buffer: Vec<u8>,
        len: usize,
    },
    Lost {
        connection: u64,
        why: Lost,
    },
    Signal,
}

/// Buffers a connection's thread may hold at once: a few reads ahead of the decoder.
const BUFFERS: usize = 4;
const BUFFER_BYTES: usize = 4096;

/// One open connection, read on its thread.
struct Connection {
    number: u64,
    give_back: SyncSender<Vec<u8>>,
    ending: Arc<AtomicBool>,
    unblocker: Option<TcpStream>,
    thread: JoinHandle<()>,
}

impl Connection {
    fn start<R: Read + Send + 'static>(
        number: u64,
        mut conn: R,
        unblocker: Option<TcpStream>,
        wake: Sender<Wake>,
    ) -> Connection {
        let (give_back, buffers) = mpsc::sync_channel(BUFFERS);
        for _ in 0..BUFFERS {
            let _ = give_back.try_send(vec![0; BUFFER_BYTES]);
        }
        let ending = Arc::new(AtomicBool::new(false));
        let thread = {
            let ending = Arc::clone(&ending);
            std::thread::spawn(move || read_into(&mut conn, number, &buffers, &ending, &wake))
        };
        Connection {
            number,
            give_back,
            ending,
            unblocker,
            thread,
        }
    }

    /// A buffer the loop is done with, back to the reading thread.
    fn recycle(&self, buffer: Vec<u8>) {
        let _ = self.give_back.try_send(buffer);
    }

    /// Ends the reading thread and waits for it, so that the device is closed before it is
    /// opened again (a serial port is opened exclusively): at once for TCP, within the
    /// serial read's timeout otherwise.
    fn end(self) {
        self.ending.store(true, Ordering::Relaxed);
        if let Some(stream) = &self.unblocker {
            let _ = stream.shutdown(Shutdown::Both);
        }
        drop(self.give_back);
        let _ = self.thread.join();
    }
}

/// The reading thread: fills each buffer it is given and hands it over, until the
/// connection ends or the loop lets it go.
fn read_into(
    conn: &mut impl Read,
    connection: u64,
    buffers: &Receiver<Vec<u8>>,
    ending: &AtomicBool,
    wake: &Sender<Wake>,
) {
    while let Ok(mut buffer) = buffers.recv() {
        let message = loop {
            if ending.load(Ordering::Relaxed) {
                return;
            }
            match conn.read(&mut buffer) {
                Ok(0) => {
                    break Wake::Lost {
                        connection,
                        why: Lost::Closed,
                    };
                }
                Ok(len) => {
                    break Wake::Bytes {
                        connection,
                        buffer,
                        len,
                    };
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut
                            | io::ErrorKind::WouldBlock
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => {
                    break Wake::Lost {
                        connection,
                        why: Lost::Failed(e),
                    };
                }
            }
        };
        let lost = matches!(message, Wake::Lost { .. });
        if wake.send(message).is_err() || lost {
            return;
        }
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
    let (wake, woken) = mpsc::channel();
    {
        let wake = wake.clone();
        signals.listen(move |_| {
            let _ = wake.send(Wake::Signal);
        });
    }
    let mut opened = 0;
    let mut open = |conn: C::Conn| {
        opened += 1;
        let unblocker = connector.unblocker(&conn);
        Connection::start(opened, conn, unblocker, wake.clone())
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
