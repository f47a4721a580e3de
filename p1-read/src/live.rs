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
use p1_common::runtime::error::IoCause;
use p1_common::runtime::signals::Signals;

use crate::decoder::Decoder;
use crate::emit::Emitter;
use crate::health::Health;

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
            Lost::Failed(e) => IoCause(e).fmt(f),
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
        (unblocker, gather): (Option<TcpStream>, Option<Gather>),
        wake: Sender<Wake>,
    ) -> Connection {
        let (give_back, buffers) = mpsc::sync_channel(BUFFERS);
        for _ in 0..BUFFERS {
            let _ = give_back.try_send(vec![0; BUFFER_BYTES]);
        }
        let ending = Arc::new(AtomicBool::new(false));
        let thread = {
            let ending = Arc::clone(&ending);
            std::thread::spawn(move || {
                read_into(&mut conn, number, &buffers, &ending, gather, &wake);
            })
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
/// connection ends or the loop lets it go. With a [`Gather`], the pieces of a burst go into
/// one buffer, handed over once the burst is in.
fn read_into(
    conn: &mut impl Read,
    connection: u64,
    buffers: &Receiver<Vec<u8>>,
    ending: &AtomicBool,
    mut gather: Option<Gather>,
    wake: &Sender<Wake>,
) {
    while let Ok(mut buffer) = buffers.recv() {
        let mut len = 0;
        let lost = loop {
            if ending.load(Ordering::Relaxed) {
                return;
            }
            match conn.read(&mut buffer[len..]) {
                Ok(0) => break Some(Lost::Closed),
                Ok(n) => {
                    len += n;
                    let pause = gather.as_mut().and_then(|gather| {
                        gather.read(n);
                        gather.pause()
                    });
                    match pause {
                        Some(pause) if len < buffer.len() => std::thread::sleep(pause),
                        _ => break None,
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut
                            | io::ErrorKind::WouldBlock
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    if len > 0 {
                        break None;
                    }
                }
                Err(e) => break Some(Lost::Failed(e)),
            }
        };
        // What was read before a loss is handed over first.
        if len > 0
            && wake
                .send(Wake::Bytes {
                    connection,
                    buffer,
                    len,
                })
                .is_err()
        {
            return;
        }
        if let Some(why) = lost {
            let _ = wake.send(Wake::Lost { connection, why });
            return;
        }
    }
}

/// A serial line's reads gathered into few. A telegram comes as one burst at the line's
/// pace, handed over a piece at a time (a USB packet, a UART's FIFO): after the first piece
/// of a burst the reading thread waits until a burst as long as the last one has come, and
/// reads the rest at once, so that a telegram costs two or three wake-ups, not twenty. The
/// wait ends as the last byte is due: it delays no telegram.
#[derive(Debug)]
struct Gather {
    bytes_per_second: u32,
    /// When the current burst began, and its bytes so far.
    burst: Option<(Instant, usize)>,
    last_burst: usize,
    last_read: Option<Instant>,
}

/// Silence that ends a burst: telegrams come a second apart (or ten), and a line does not
/// pause within one.
const BETWEEN_BURSTS: Duration = Duration::from_millis(200);

/// The last piece of a burst comes a little after its bytes were due (the writer's and the
/// kernel's timing): waiting this much longer reads it with the rest.
const LATE_PIECE: Duration = Duration::from_millis(5);

impl Gather {
    fn new(bytes_per_second: u32) -> Gather {
        Gather {
            bytes_per_second: bytes_per_second.max(1),
            burst: None,
            last_burst: 0,
            last_read: None,
        }
    }

    /// How long to wait before the next read: until a burst as long as the last is in.
    fn pause(&self) -> Option<Duration> {
        let (began, so_far) = self.burst?;
        if so_far >= self.last_burst {
            return None;
        }
        let due = began + self.transfer(self.last_burst) + LATE_PIECE;
        due.checked_duration_since(Instant::now())
    }

    /// `len` bytes were read now.
    fn read(&mut self, len: usize) {
        let now = Instant::now();
        let new_burst = self
            .last_read
            .is_none_or(|last| now.duration_since(last) >= BETWEEN_BURSTS);
        match &mut self.burst {
            Some((_, so_far)) if !new_burst => *so_far += len,
            _ => {
                if let Some((_, bytes)) = self.burst {
                    self.last_burst = bytes;
                }
                // The first bytes took their time on the line.
                let began = now.checked_sub(self.transfer(len)).unwrap_or(now);
                self.burst = Some((began, len));
            }
        }
        self.last_read = Some(now);
    }

    fn transfer(&self, bytes: usize) -> Duration {
        Duration::from_secs_f64(bytes as f64 / f64::from(self.bytes_per_second))
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
        let gather = connector.line_rate().map(Gather::new);
        Connection::start(opened, conn, (unblocker, gather), wake.clone())
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
    fn a_burst_as_long_as_the_last_is_waited_for_then_read_at_once() {
        let mut gather = Gather::new(11_520);
        assert_eq!(gather.pause(), None, "nothing known yet");
        gather.read(64);
        assert_eq!(gather.pause(), None, "the first burst is read as it comes");
        gather.read(1088);
        std::thread::sleep(BETWEEN_BURSTS);
        gather.read(64); // the next telegram's first piece
        let pause = gather.pause().expect("a wait for the rest");
        // 1,152 bytes at 11,520 a second take 100 ms from the burst's start.
        assert!(
            pause <= Duration::from_millis(100) + LATE_PIECE,
            "{pause:?}"
        );
        assert!(pause >= Duration::from_millis(80), "{pause:?}");
        gather.read(1088);
        assert_eq!(
            gather.pause(),
            None,
            "the burst is in: the next read waits for data"
        );
    }

    #[test]
    fn backoff_doubles_up_to_ten_seconds() {
        let mut b = Backoff(Backoff::FIRST);
        let waits: Vec<u64> = (0..7).map(|_| b.next().as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 10000, 10000]);
    }
}
