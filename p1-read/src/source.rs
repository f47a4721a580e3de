//! Byte sources: serial devices and TCP (live: reconnected with backoff, forever), captures and
//! stdin (replayed, optionally at the meter's pace).

use std::fs::File;
use std::io::{self, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use p1_common::Error;
use p1_common::protocol::frame::Event;
use p1_common::protocol::meter_time::{ClockZone, MeterTime};
use p1_common::runtime::address::{BadAddress, ServerUrl};
use p1_common::runtime::error::IoCause;
use p1_common::runtime::signals::Signals;
use serialport::{DataBits, FlowControl, SerialPort, StopBits, TTYPort};

use crate::decoder::Decoder;
use crate::emit::Emitter;
use crate::health::Health;
use crate::live::{self, ConnectError, Connector};
use crate::reading::{Connection, Lost, ReadBy, Wake, woken_by};

/// How long a serial read blocks before its thread looks whether it must end (when the
/// source is reopened); the meter's telegrams end a read every second anyway.
const SERIAL_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A TCP source that sends nothing for this long is reconnected: network dongles and ser2net
/// connections can die silently.
const TCP_IDLE_RECONNECT: Duration = Duration::from_mins(1);

/// A byte source, by its name on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Tcp(String),
    Stdin,
    Path(PathBuf),
}

impl Source {
    /// A source by its name: `-`, `tcp://HOST:PORT` (checked: a host and a port, so that a
    /// mistake is said at start, not retried for ever), or a path.
    pub(crate) fn parse(text: &str) -> Result<Source, BadAddress> {
        if text == "-" {
            return Ok(Source::Stdin);
        }
        if !text.starts_with("tcp://") {
            return Ok(Source::Path(PathBuf::from(text)));
        }
        let url = ServerUrl::parse(text, &[("tcp", 0)]).map_err(|e| BadAddress {
            expected: "tcp://HOST:PORT".into(),
            ..e
        })?;
        let why = if url.port == 0 {
            "no port"
        } else if !url.path.trim_end_matches('/').is_empty() {
            "a path"
        } else {
            return Ok(Source::Tcp(
                url.origin().trim_start_matches("tcp://").to_string(),
            ));
        };
        Err(BadAddress {
            text: text.to_string(),
            why,
            expected: "tcp://HOST:PORT".into(),
        })
    }
}

p1_common::named_enum! {
    /// A serial line's parity.
    pub(crate) enum Parity ("a parity") {
        None = "none",
        Even = "even",
        Odd = "odd",
    }
}

impl Parity {
    /// The letter of "8N1".
    fn letter(self) -> char {
        match self {
            Parity::None => 'N',
            Parity::Even => 'E',
            Parity::Odd => 'O',
        }
    }
}

/// A serial line's settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SerialSettings {
    pub(crate) baud: u32,
    pub(crate) data_bits: u8,
    pub(crate) parity: Parity,
}

/// A byte source, and how it is read.
#[derive(Debug)]
pub(crate) struct Reader {
    pub(crate) source: Source,
    pub(crate) serial: SerialSettings,
    /// Replays: pace telegrams by their timestamps.
    pub(crate) realtime: bool,
    pub(crate) decoder: Decoder,
    /// Live sources: watched for silence, drops and a wrong line setting.
    pub(crate) health: Health,
}

impl Reader {
    /// Reads the source until it ends, `--count` is reached or a stop is asked for.
    pub(crate) fn run(self, signals: &Signals, emitter: &mut Emitter) -> Result<(), Error> {
        let Reader {
            source,
            serial,
            realtime,
            decoder,
            health,
        } = self;
        match source {
            Source::Tcp(address) => {
                let connector = TcpConnector { address };
                live::live(&connector, decoder, health, signals, emitter, false)
            }
            Source::Stdin => replay(Box::new(io::stdin()), realtime, decoder, signals, emitter),
            Source::Path(path) if is_serial_device(&path) => {
                let connector = SerialConnector {
                    path,
                    settings: serial,
                };
                live::live(&connector, decoder, health, signals, emitter, true)
            }
            Source::Path(path) => {
                let file = File::open(&path)
                    .map_err(|e| Error::no_input(format!("{}: {}", path.display(), IoCause(&e))))?;
                replay(Box::new(file), realtime, decoder, signals, emitter)
            }
        }
    }
}

/// Character devices, and anything under /dev (a missing USB adapter is still a serial port).
fn is_serial_device(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Ok(meta) => meta.file_type().is_char_device(),
        Err(_) => path.starts_with("/dev"),
    }
}

struct SerialConnector {
    path: PathBuf,
    settings: SerialSettings,
}

impl Connector for SerialConnector {
    type Conn = TTYPort;

    fn connect(&self) -> Result<TTYPort, ConnectError> {
        let s = self.settings;
        let path = self.path.to_string_lossy();
        let port = serialport::new(path.as_ref(), s.baud)
            .data_bits(if s.data_bits == 7 {
                DataBits::Seven
            } else {
                DataBits::Eight
            })
            .parity(match s.parity {
                Parity::None => serialport::Parity::None,
                Parity::Even => serialport::Parity::Even,
                Parity::Odd => serialport::Parity::Odd,
            })
            .stop_bits(StopBits::One)
            .flow_control(FlowControl::None)
            .timeout(SERIAL_READ_TIMEOUT)
            .open_native()
            .map_err(ConnectError::Serial)?;
        // Bytes queued before we opened may be from long ago.
        let _ = port.clear(serialport::ClearBuffer::Input);
        Ok(port)
    }

    fn settings(&self) -> String {
        let s = self.settings;
        format!(" at {} {}{}1", s.baud, s.data_bits, s.parity.letter())
    }

    fn idle_reconnect(&self) -> Option<Duration> {
        None
    }

    fn unblocker(&self, _: &TTYPort) -> Option<TcpStream> {
        None
    }

    fn line_rate(&self) -> Option<u32> {
        // A start bit, the data bits, the parity bit if any, a stop bit.
        let bits = 2
            + u32::from(self.settings.data_bits)
            + u32::from(self.settings.parity != Parity::None);
        Some(self.settings.baud / bits)
    }
}

struct TcpConnector {
    address: String,
}

impl Connector for TcpConnector {
    type Conn = TcpStream;

    fn connect(&self) -> Result<TcpStream, ConnectError> {
        let addresses = self
            .address
            .to_socket_addrs()
            .map_err(ConnectError::Resolve)?;
        let mut last = ConnectError::NoAddress;
        for address in addresses {
            match TcpStream::connect_timeout(&address, Duration::from_secs(5)) {
                Ok(stream) => return Ok(stream),
                Err(source) => last = ConnectError::Tcp { address, source },
            }
        }
        Err(last)
    }

    fn settings(&self) -> String {
        String::new()
    }

    fn idle_reconnect(&self) -> Option<Duration> {
        Some(TCP_IDLE_RECONNECT)
    }

    fn unblocker(&self, conn: &TcpStream) -> Option<TcpStream> {
        conn.try_clone().ok()
    }

    fn line_rate(&self) -> Option<u32> {
        None
    }
}

/// A replay's read at most: captures are read in large blocks.
const REPLAY_READ: usize = 64 * 1024;

/// Replays a capture or stdin. Reading happens on a thread (`reading`) so that a stop
/// request is seen even while stdin blocks: the loop blocks on the reader and the signals.
fn replay(
    reader: Box<dyn Read + Send>,
    realtime: bool,
    mut decoder: Decoder,
    signals: &Signals,
    emitter: &mut Emitter,
) -> Result<(), Error> {
    let (wake, woken) = woken_by(signals);
    let by = ReadBy {
        buffer_bytes: REPLAY_READ,
        unblocker: None,
        gather: None,
    };
    let input = Connection::start(0, reader, by, wake);
    let mut pacer = Pacer::default();
    while !signals.stop_requested() && !emitter.done() {
        match woken.recv() {
            Ok(Wake::Signal) => {}
            Ok(Wake::Bytes {
                mut buffer, len, ..
            }) => {
                decoder.push(&mut buffer[..len], |event, frame| {
                    if realtime
                        && let Event::Telegram { bytes, .. } = &event
                        && !pacer.wait(bytes, signals)
                    {
                        return Ok(());
                    }
                    emitter.on_event(event, frame)
                })?;
                input.recycle(buffer);
                decoder.check_key(false)?;
            }
            Ok(Wake::Lost {
                why: Lost::Failed(e),
                ..
            }) => return Err(Error::io(decoder.source().to_string(), e)),
            // The end of input (the reading thread never reports a silence).
            Ok(Wake::Lost { .. }) | Err(mpsc::RecvError) => {
                decoder.finish(|event, frame| emitter.on_event(event, frame))?;
                decoder.summarise();
                decoder.check_key(true)?;
                break;
            }
        }
    }
    Ok(())
}

/// Paces a replay as the meter sent it: by the telegrams' own timestamps (gaps capped at
/// 10 s), else one a second.
#[derive(Debug, Default)]
struct Pacer {
    last: Option<(Instant, Option<i64>)>,
}

impl Pacer {
    /// Waits until `telegram` is due; false when a stop was requested meanwhile.
    fn wait(&mut self, telegram: &[u8], signals: &Signals) -> bool {
        let stamp = meter_timestamp(telegram);
        let due = match self.last {
            None => Instant::now(),
            Some((at, previous)) => {
                let gap = match (previous, stamp) {
                    (Some(a), Some(b)) if b >= a => (b - a).min(10) as u64,
                    _ => 1,
                };
                at + Duration::from_secs(gap)
            }
        };
        let going_on = signals.sleep_until(due);
        self.last = Some((due, stamp));
        going_on
    }
}

/// The telegram's `0-0:1.0.0` as Unix seconds.
fn meter_timestamp(telegram: &[u8]) -> Option<i64> {
    const CODE: &[u8] = b"0-0:1.0.0(";
    let at = telegram.windows(CODE.len()).position(|w| w == CODE)? + CODE.len();
    let end = at + telegram[at..].iter().position(|&b| b == b')')?;
    MeterTime::parse(&telegram[at..end], ClockZone::default())
        .ok()?
        .timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_by_name() {
        assert_eq!(Source::parse("-"), Ok(Source::Stdin));
        assert_eq!(
            Source::parse("tcp://192.0.2.1:2001"),
            Ok(Source::Tcp("192.0.2.1:2001".into()))
        );
        assert_eq!(
            Source::parse("/dev/ttyUSB0"),
            Ok(Source::Path("/dev/ttyUSB0".into()))
        );
        // Issue 23 (4): an address that cannot work is said at start, not retried for ever.
        for (text, why) in [
            ("tcp://127.0.0.1", "no port"),
            ("tcp://:80", "no host"),
            ("tcp://127.0.0.1:99999", "a bad port"),
            ("tcp://host:2001/x", "a path"),
        ] {
            let e = Source::parse(text).expect_err(text);
            assert_eq!(
                (e.why, e.expected.as_str()),
                (why, "tcp://HOST:PORT"),
                "{text}"
            );
        }
        assert!(is_serial_device(Path::new("/dev/ttyUSB9-missing")));
        assert!(!is_serial_device(Path::new("capture.txt")));
    }

    #[test]
    fn meter_timestamps_for_pacing() {
        let t = b"/X\r\n\r\n0-0:1.0.0(200512135409S)\r\n!";
        assert_eq!(meter_timestamp(t), Some(1_589_284_449));
        assert_eq!(meter_timestamp(b"/X\r\n\r\n!"), None);
    }
}
