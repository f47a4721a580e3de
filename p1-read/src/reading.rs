//! A byte source read on a thread of its own (a live connection, a capture, stdin): the
//! thread fills buffers and hands them to the loop that decodes, which gives them back, so
//! that reading allocates nothing once the source is open; the loop blocks on what the
//! thread hands over, on a signal, or on a deadline of its own, and never polls.

use std::fmt;
use std::io::{self, Read};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use p1_common::runtime::error::IoCause;
use p1_common::runtime::signals::Signals;

/// A channel the reading threads and `signals` wake the loop through.
pub(crate) fn woken_by(signals: &Signals) -> (Sender<Wake>, Receiver<Wake>) {
    let (wake, woken) = mpsc::channel();
    let on_signal = wake.clone();
    signals.listen(move |_| {
        let _ = on_signal.send(Wake::Signal);
    });
    (wake, woken)
}

/// Why a live connection was given up.
#[derive(Debug)]
pub(crate) enum Lost {
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

/// What the loop is woken by: a connection's reading thread (by its number), or a signal.
pub(crate) enum Wake {
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

/// How a source is read on its thread.
#[derive(Debug)]
pub(crate) struct ReadBy {
    /// Bytes a read takes at most: a live line's few, a capture's many.
    pub(crate) buffer_bytes: usize,
    /// A handle that ends a blocked read when shut down (TCP); without one, the thread sees
    /// that it must end at its read's timeout.
    pub(crate) unblocker: Option<TcpStream>,
    /// A serial line's bursts, read whole.
    pub(crate) gather: Option<Gather>,
}

/// One open source, read on its thread.
pub(crate) struct Connection {
    pub(crate) number: u64,
    give_back: SyncSender<Vec<u8>>,
    ending: Arc<AtomicBool>,
    unblocker: Option<TcpStream>,
    thread: JoinHandle<()>,
}

impl Connection {
    pub(crate) fn start<R: Read + Send + 'static>(
        number: u64,
        mut conn: R,
        by: ReadBy,
        wake: Sender<Wake>,
    ) -> Connection {
        let ReadBy {
            buffer_bytes,
            unblocker,
            gather,
        } = by;
        let (give_back, buffers) = mpsc::sync_channel(BUFFERS);
        for _ in 0..BUFFERS {
            let _ = give_back.try_send(vec![0; buffer_bytes]);
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
    pub(crate) fn recycle(&self, buffer: Vec<u8>) {
        let _ = self.give_back.try_send(buffer);
    }

    /// Ends the reading thread and waits for it, so that the device is closed before it is
    /// opened again (a serial port is opened exclusively): at once for TCP, within the
    /// serial read's timeout otherwise.
    pub(crate) fn end(self) {
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
pub(crate) struct Gather {
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
    pub(crate) fn new(bytes_per_second: u32) -> Gather {
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
}
