//! A small HTTP/1.1 server for GET requests, with the limits a LAN service needs: at most so
//! many connections (and so many per client address), requests a second per address, a
//! request head of 8 KiB read within 2 s, and every connection closed after its answer. An
//! acceptor thread applies the limits; a fixed pool of workers reads and answers. Written
//! here rather than taken from tiny_http, which has none of these limits (it reads headers
//! of any size, without a timeout, on a thread per connection).

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use log::debug;

/// An answer.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Response {
        Response {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
        }
    }

    pub(crate) fn text(
        status: u16,
        content_type: &'static str,
        body: impl Into<Vec<u8>>,
    ) -> Response {
        Response {
            status,
            content_type,
            body: body.into(),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// What one client may take of the HTTP server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) connections: usize,
    pub(crate) per_address: usize,
    pub(crate) rate: u32,
    pub(crate) head_bytes: usize,
    pub(crate) head_time: Duration,
}

/// What answers a path.
pub(crate) type Handler = dyn Fn(Method, &str) -> Response + Send + Sync;

/// What a request asks: to read, or to change something (HomeWizard's clients PUT to its
/// Identify button and Cloud switch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Put,
}

/// The most of a PUT body read (and ignored): HomeWizard's are a few bytes of JSON.
const MAX_BODY: usize = 4096;

/// Workers reading and answering requests.
const WORKERS: usize = 8;

/// Threads of the server get small stacks: they hold a request head and an answer.
const STACK: usize = 256 * 1024;

/// Serves `listener` until the process ends.
pub(crate) fn serve(listener: TcpListener, limits: Limits, handler: &Arc<Handler>) {
    let (jobs, queue) = mpsc::sync_channel::<Job>(limits.connections);
    let queue = Arc::new(Mutex::new(queue));
    for _ in 0..WORKERS {
        let (queue, handler) = (Arc::clone(&queue), Arc::clone(handler));
        let _ = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || work(&queue, &*handler, limits));
    }
    let _ = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || accept(&listener, &jobs, limits));
}

/// An accepted connection, and the counts it is part of.
struct Job {
    stream: TcpStream,
    /// Held while the connection is served.
    slot: Slot,
}

/// A connection's place in the counts, given back when it is dropped.
struct Slot {
    address: IpAddr,
    active: Arc<AtomicUsize>,
    per_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.active.fetch_sub(1, Ordering::AcqRel);
        let mut map = self
            .per_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.address);
            }
        }
    }
}

/// Requests a second per address: a token bucket each.
struct Rate {
    per_second: f64,
    buckets: HashMap<IpAddr, (f64, Instant)>,
}

impl Rate {
    fn allow(&mut self, address: IpAddr) -> bool {
        let now = Instant::now();
        let burst = self.per_second * 2.0;
        if self.buckets.len() > 4096 {
            // Forget the full ones: a flood of addresses cannot grow this for ever.
            self.buckets.retain(|_, (tokens, at)| {
                *tokens + at.elapsed().as_secs_f64() * self.per_second < burst
            });
        }
        let (tokens, at) = self.buckets.entry(address).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn accept(listener: &TcpListener, jobs: &SyncSender<Job>, limits: Limits) {
    let active = Arc::new(AtomicUsize::new(0));
    let per_address: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    let mut rate = Rate {
        per_second: f64::from(limits.rate),
        buckets: HashMap::new(),
    };
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        let address = peer.ip();
        if !rate.allow(address) {
            refuse(stream, 429, "too many requests: slow down");
            continue;
        }
        let mine = {
            let mut map = per_address
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mine = map.entry(address).or_insert(0);
            *mine += 1;
            *mine
        };
        active.fetch_add(1, Ordering::AcqRel);
        let slot = Slot {
            address,
            active: Arc::clone(&active),
            per_address: Arc::clone(&per_address),
        };
        if mine > limits.per_address || active.load(Ordering::Acquire) > limits.connections {
            drop(slot);
            refuse(stream, 503, "busy: too many connections");
            continue;
        }
        match jobs.try_send(Job { stream, slot }) {
            Ok(()) => {}
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => {
                let Job { stream, slot } = job;
                drop(slot);
                refuse(stream, 503, "busy");
            }
        }
    }
}

/// Answers at once, without reading: the acceptor must not wait on anyone.
fn refuse(mut stream: TcpStream, status: u16, why: &str) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = write_response(
        &mut stream,
        &Response::text(status, "text/plain", why),
        false,
    );
}

fn work(queue: &Mutex<Receiver<Job>>, handler: &Handler, limits: Limits) {
    loop {
        let job = {
            let queue = queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            queue.recv()
        };
        let Ok(mut job) = job else { return };
        if let Err(e) = answer(&mut job.stream, handler, limits) {
            debug!("http: a client: {}", p1_common::runtime::error::IoCause(&e));
        }
    }
}

/// Reads one request head and answers it.
fn answer(stream: &mut TcpStream, handler: &Handler, limits: Limits) -> io::Result<()> {
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let (head, body_read) = match read_head(stream, limits) {
        Ok(head) => head,
        Err(status) => {
            return write_response(
                stream,
                &Response::text(status, "text/plain", reason(status)),
                false,
            );
        }
    };
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) || !target.starts_with('/') {
        return write_response(
            stream,
            &Response::text(400, "text/plain", "Bad Request"),
            false,
        );
    }
    let path = target.split('?').next().unwrap_or(target);
    let response = match method {
        "GET" | "HEAD" => handler(Method::Get, path),
        "PUT" if skip_body(stream, &head, body_read) => handler(Method::Put, path),
        "PUT" => Response::text(413, "text/plain", reason(413)),
        _ => Response::text(405, "text/plain", "GET, or PUT to HomeWizard's buttons"),
    };
    write_response(stream, &response, method == "HEAD")
}

/// Reads the rest of a request's body (its Content-Length, `read` bytes of which came with
/// the head) and drops it, so that closing the connection does not reset it before the
/// client has the answer; false for a body too long to take.
fn skip_body(stream: &mut TcpStream, head: &str, read: usize) -> bool {
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    if length > MAX_BODY {
        return false;
    }
    let mut rest = length.saturating_sub(read);
    let mut buf = [0u8; 512];
    while rest > 0 {
        match stream.read(&mut buf[..rest.min(512)]) {
            Ok(0) | Err(_) => return true,
            Ok(n) => rest -= n,
        }
    }
    true
}

/// The request head (up to the blank line), and how many bytes of the body came with it,
/// within the size and time limits; the status to answer when it is not one.
fn read_head(stream: &mut TcpStream, limits: Limits) -> Result<(String, usize), u16> {
    let deadline = Instant::now() + limits.head_time;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(408);
        }
        stream.set_read_timeout(Some(left)).map_err(|_| 400_u16)?;
        let n = match stream.read(&mut buf) {
            Ok(0) => return Err(400),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(408);
            }
            Err(_) => return Err(400),
        };
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let body_read = head.len() - end - 4;
            head.truncate(end);
            return String::from_utf8(head)
                .map(|h| (h, body_read))
                .map_err(|_| 400);
        }
        if head.len() > limits.head_bytes {
            return Err(431);
        }
    }
}

fn write_response(stream: &mut TcpStream, response: &Response, head_only: bool) -> io::Result<()> {
    // A page may load nothing from anywhere else: it works offline, and leaks nothing.
    let policy = if response.content_type.starts_with("text/html") {
        "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; \
         style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:\r\n"
    } else {
        ""
    };
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n{policy}Connection: close\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(&response.body);
    }
    stream.write_all(&out)?;
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    // Let the client take the answer before the socket closes (an unread request body
    // would turn the close into a reset).
    let until = Instant::now() + Duration::from_millis(300);
    let mut rest = [0u8; 512];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return Ok(());
        }
        if !matches!(stream.read(&mut rest), Ok(n) if n > 0) {
            return Ok(());
        }
    }
}
