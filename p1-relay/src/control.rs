//! The control socket's server (`--control PATH`): a Unix socket, owner-only, whose requests
//! (see `p1_common::contract::control`) the relay loop answers between readings. A
//! connection thread reads a line, hands it to the loop, and writes the answer back; the
//! loop never waits on a client.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::time::Duration;

use log::{debug, warn};
use p1_common::contract::control::{ControlReply, ControlRequest, MAX_LINE};
use p1_common::runtime::error::{Fault, IoCause, Kind};

/// Clients served at once; more wait for the socket's backlog.
const MAX_CLIENTS: usize = 8;

/// A client that sends nothing for this long is dropped.
const IDLE: Duration = Duration::from_mins(1);

/// The socket cannot be served.
#[derive(Debug)]
pub(crate) enum ControlError {
    /// Another process answers on it.
    InUse(PathBuf),
    Io {
        path: PathBuf,
        source: io::Error,
    },
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::InUse(path) => write!(
                f,
                "control socket {}: another p1-relay answers on it",
                path.display()
            ),
            ControlError::Io { path, source } => {
                write!(f, "control socket {}: {}", path.display(), IoCause(source))
            }
        }
    }
}

impl std::error::Error for ControlError {}

impl Fault for ControlError {
    fn kind(&self) -> Kind {
        Kind::Config
    }
}

/// A line that is not a request.
#[derive(Debug)]
pub(crate) enum BadRequest {
    NotJson(serde_json::Error),
    TooLong,
}

impl fmt::Display for BadRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadRequest::NotJson(e) => write!(f, "not a request: {e}"),
            BadRequest::TooLong => {
                write!(f, "a request is one line of at most {MAX_LINE} bytes")
            }
        }
    }
}

/// A request waiting for the loop's answer.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The request, or why its line is not one.
    pub(crate) request: Result<ControlRequest, BadRequest>,
    reply: SyncSender<ControlReply>,
}

impl Pending {
    pub(crate) fn answer(self, reply: ControlReply) {
        // The client may be gone.
        let _ = self.reply.send(reply);
    }
}

/// Where the connection threads hand requests to the loop; false once it is gone.
pub(crate) trait Requests: Fn(Pending) -> bool + Send + Sync + 'static {}

impl<F: Fn(Pending) -> bool + Send + Sync + 'static> Requests for F {}

/// The listening socket, removed when dropped.
#[derive(Debug)]
pub(crate) struct ControlServer {
    path: PathBuf,
}

impl ControlServer {
    /// Binds `path` (a stale socket left by a crash is replaced), readable and writable by
    /// the owner only, and serves it from threads of its own, handing each request to
    /// `requests`.
    pub(crate) fn start(
        path: &Path,
        requests: impl Requests,
    ) -> Result<ControlServer, ControlError> {
        let fail = |source| ControlError::Io {
            path: path.to_path_buf(),
            source,
        };
        if UnixStream::connect(path).is_ok() {
            return Err(ControlError::InUse(path.to_path_buf()));
        }
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(fail(e)),
            _ => {}
        }
        let listener = UnixListener::bind(path).map_err(fail)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
        let requests = Arc::new(requests);
        std::thread::spawn(move || accept(&listener, &requests));
        Ok(ControlServer {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn accept(listener: &UnixListener, requests: &Arc<impl Requests>) {
    let clients = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if clients.load(Ordering::Acquire) >= MAX_CLIENTS {
            let _ = refuse(stream);
            continue;
        }
        clients.fetch_add(1, Ordering::AcqRel);
        let (requests, clients) = (Arc::clone(requests), Arc::clone(&clients));
        std::thread::spawn(move || {
            if let Err(e) = serve(stream, &*requests) {
                debug!("control socket: a client: {}", IoCause(&e));
            }
            clients.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

fn refuse(mut stream: UnixStream) -> io::Result<()> {
    let reply = ControlReply::error(format!("busy: {MAX_CLIENTS} clients already"));
    writeln!(stream, "{}", serde_json::to_string(&reply)?)
}

/// Answers one client's requests, a line each, until it closes.
fn serve(stream: UnixStream, requests: &impl Requests) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        let read = (&mut reader).take(MAX_LINE as u64).read_line(&mut line)?;
        if read == 0 {
            return Ok(());
        }
        let request = if line.ends_with('\n') {
            serde_json::from_str(line.trim()).map_err(BadRequest::NotJson)
        } else {
            Err(BadRequest::TooLong)
        };
        let (reply, answer) = mpsc::sync_channel(1);
        if !requests(Pending { request, reply }) {
            return Ok(());
        }
        let answer = answer
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| {
                warn!("control socket: p1-relay did not answer within 10 s");
                ControlReply::error("no answer within 10 s")
            });
        writeln!(writer, "{}", serde_json::to_string(&answer)?)?;
        if !line.ends_with('\n') {
            return Ok(());
        }
    }
}
