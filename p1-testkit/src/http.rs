//! A local HTTP server whose answers a test scripts: plugs, `InfluxDB` 2.x and 3.x, faults.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// One request as the server read it, and the status it answered (0: none).
#[derive(Debug, Clone)]
pub struct Request {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub status: u16,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body's text lines, gunzipped when it says it is gzip.
    pub fn lines(&self) -> Vec<String> {
        let mut text = String::new();
        if self.header("content-encoding") == Some("gzip") {
            flate2::read::GzDecoder::new(&self.body[..])
                .read_to_string(&mut text)
                .expect("a gzip body");
        } else {
            text = String::from_utf8_lossy(&self.body).into_owned();
        }
        text.lines().map(str::to_string).collect()
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status, extra header lines (each ending in CRLF) and a body.
    Status(u16, String, String),
    /// No answer for this long, then the connection closes.
    Hang(Duration),
}

impl Reply {
    pub fn ok(body: &str) -> Reply {
        Reply::Status(200, String::new(), body.to_string())
    }
}

type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync;

/// The requests so far, and a wake-up for whoever waits for more.
#[derive(Debug, Default)]
struct Seen {
    requests: Mutex<Vec<Request>>,
    more: Condvar,
}

/// A server on 127.0.0.1, a thread per connection, one request per connection.
#[derive(Debug, Clone)]
pub struct HttpServer {
    pub url: String,
    seen: Arc<Seen>,
}

impl HttpServer {
    /// `reply` gets each request and its index (0 for the first).
    pub fn start(reply: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> HttpServer {
        Self::start_on("127.0.0.1:0", reply)
    }

    /// One on `address` (a port that was free, where a server was down).
    pub fn start_on(
        address: &str,
        reply: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> HttpServer {
        let listener = TcpListener::bind(address).expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let seen = Arc::new(Seen::default());
        let server_seen = Arc::clone(&seen);
        let reply: Arc<Handler> = Arc::new(reply);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let (seen, reply) = (Arc::clone(&server_seen), Arc::clone(&reply));
                std::thread::spawn(move || handle(stream, &seen, &*reply));
            }
        });
        HttpServer { url, seen }
    }

    /// Every request so far, in the order they came.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.requests.lock().expect("lock").clone()
    }

    /// Waits (within `deadline`) until the requests so far satisfy `done`; the test fails,
    /// naming `what`, if they do not in time.
    #[track_caller]
    pub fn wait_for(&self, what: &str, deadline: Duration, done: impl Fn(&[Request]) -> bool) {
        let until = Instant::now() + deadline;
        let mut requests = self.seen.requests.lock().expect("lock");
        while !done(&requests) {
            let left = until.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "{what}: not within {deadline:?}");
            requests = self.seen.more.wait_timeout(requests, left).expect("lock").0;
        }
    }

    /// The body lines of the requests answered with a 2xx status, in order.
    pub fn delivered_lines(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .flat_map(Request::lines)
            .collect()
    }
}

fn handle(stream: TcpStream, seen: &Seen, reply: &Handler) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(mut request) = read_request(&stream) else {
        return;
    };
    let index = {
        let mut requests = seen.requests.lock().expect("lock");
        requests.push(request.clone());
        requests.len() - 1
    };
    seen.more.notify_all();
    let answer = reply(&request, index);
    let mut stream = stream;
    match answer {
        Reply::Hang(duration) => std::thread::sleep(duration),
        Reply::Status(code, headers, body) => {
            request.status = code;
            seen.requests.lock().expect("lock")[index].status = code;
            seen.more.notify_all();
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    if reader.read_line(&mut first).ok()? == 0 {
        return None;
    }
    let mut words = first.split_whitespace();
    let method = words.next()?.to_string();
    let path = words.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        at: Instant::now(),
        method,
        path,
        headers,
        body,
        status: 0,
    })
}

/// The whole answer (status line, headers and body) to `GET path` on 127.0.0.1:`port`, read
/// to the server's close within 10 s, or `None` when nothing answers there.
pub fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}
