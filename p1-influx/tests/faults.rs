//! p1-influx against a scripted local HTTP server: the 2.x and 3.x APIs, and faults.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

#[derive(Debug, Clone)]
struct Request {
    at: Instant,
    path: String,
    headers: Vec<(String, String)>,
    lines: Vec<String>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

enum Reply {
    Status(u16, &'static str, String),
    Hang,
}

struct Server {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    /// Lines of the requests answered with 2xx.
    delivered: Arc<Mutex<Vec<String>>>,
}

fn serve(reply: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let (seen, done) = (Arc::clone(&requests), Arc::clone(&delivered));
    let reply = Arc::new(reply);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let (seen, done, reply) = (Arc::clone(&seen), Arc::clone(&done), Arc::clone(&reply));
            std::thread::spawn(move || handle(stream, &seen, &done, &*reply));
        }
    });
    Server {
        url,
        requests,
        delivered,
    }
}

fn handle(
    stream: TcpStream,
    seen: &Mutex<Vec<Request>>,
    done: &Mutex<Vec<String>>,
    reply: &dyn Fn(&Request, usize) -> Reply,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut first = String::new();
    if reader.read_line(&mut first).unwrap_or(0) == 0 {
        return;
    }
    let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header");
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
    reader.read_exact(&mut body).expect("body");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .expect("gzip body");
    let request = Request {
        at: Instant::now(),
        path,
        headers,
        lines: text.lines().map(str::to_string).collect(),
    };
    let index = {
        let mut seen = seen.lock().expect("lock");
        seen.push(request.clone());
        seen.len() - 1
    };
    let mut stream = stream;
    match reply(&request, index) {
        Reply::Hang => std::thread::sleep(Duration::from_secs(60)),
        Reply::Status(code, extra_header, body) => {
            if (200..300).contains(&code) {
                done.lock().expect("lock").extend(request.lines.clone());
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\n{extra_header}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    }
}

fn readings(n: usize) -> String {
    numbered_readings(n, 1_700_000_000)
}

fn run(
    server: &Server,
    extra: &[&str],
    input: &str,
    envs: &[(&str, &str)],
) -> (std::process::Output, TempDir) {
    let spool = TempDir::new("spool");
    let mut args = vec!["--url", &server.url, "--spool-dir"];
    let spool_dir = spool.0.to_string_lossy().into_owned();
    args.push(&spool_dir);
    args.extend_from_slice(extra);
    (p1_influx(&args, input, envs), spool)
}

#[test]
fn v2_with_a_token_gzip_and_a_429_retry_after() {
    let server = serve(|_, i| {
        if i == 0 {
            Reply::Status(429, "Retry-After: 1\r\n", String::new())
        } else {
            Reply::Status(204, "", String::new())
        }
    });
    let (output, _spool) = run(
        &server,
        &["--org", "home", "--bucket", "p1"],
        &readings(20),
        &[("INFLUX_TOKEN", "s3cret-token")],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let requests = server.requests.lock().expect("lock").clone();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].path,
        "/api/v2/write?org=home&bucket=p1&precision=s"
    );
    assert_eq!(
        requests[0].header("Authorization"),
        Some("Token s3cret-token")
    );
    assert_eq!(requests[0].header("Content-Encoding"), Some("gzip"));
    assert!(
        requests[1].at - requests[0].at >= Duration::from_millis(950),
        "waited as Retry-After asks"
    );
    assert_eq!(server.delivered.lock().expect("lock").len(), 20);
    assert!(
        stderr(&output).contains("waiting 1 s as it asks"),
        "{}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains("s3cret"),
        "the token never appears in a log line"
    );
}

#[test]
fn v3_with_a_bearer_token_and_a_503() {
    let server = serve(|_, i| {
        if i == 0 {
            Reply::Status(503, "Retry-After: 1\r\n", "busy".into())
        } else {
            Reply::Status(204, "", String::new())
        }
    });
    let dir = TempDir::new("token");
    let token = dir.path("token");
    std::fs::write(&token, "tok3n\n").expect("token file");
    let (output, _spool) = run(
        &server,
        &[
            "--db",
            "house",
            "--token-file",
            token.to_str().expect("path"),
        ],
        &readings(3),
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let requests = server.requests.lock().expect("lock").clone();
    assert_eq!(
        requests[0].path,
        "/api/v3/write_lp?db=house&precision=second"
    );
    assert_eq!(requests[0].header("Authorization"), Some("Bearer tok3n"));
    assert_eq!(server.delivered.lock().expect("lock").len(), 3);
}

#[test]
fn a_v1_partial_write_drops_the_rejected_lines_and_is_not_resent() {
    let server = serve(|_, _| {
        Reply::Status(400, "", "{\"error\":\"partial write: field type conflict: input field \\\"tariff\\\" is type float dropped=1\"}".into())
    });
    let (output, spool) = run(&server, &["--db", "p1"], &readings(10), &[]);
    assert!(output.status.success());
    assert_eq!(server.requests.lock().expect("lock").len(), 1);
    assert!(stderr(&output).contains("rejected some lines, which are dropped: {\"error\":\"partial write: field type conflict"), "{}", stderr(&output));
    assert_eq!(spooled_lines(&spool.0), 0);
}

#[test]
fn v2_rejecting_a_whole_batch_is_split_to_find_the_bad_line() {
    let server = serve(|r, _| {
        if r.lines.iter().any(|l| l.contains("meter_id=BAD")) {
            Reply::Status(
                400,
                "",
                "{\"code\":\"invalid\",\"message\":\"failure writing points\"}".into(),
            )
        } else {
            Reply::Status(204, "", String::new())
        }
    });
    let mut input = readings(15);
    input.push_str("{\"type\":\"reading\",\"meter_id\":\"BAD\",\"time\":\"2024-01-01T00:00:00Z\",\"power_import_kw\":1}\n");
    input.push_str(&numbered_readings(15, 1_800_000_000));
    let (output, _spool) = run(&server, &["--org", "o", "--bucket", "b"], &input, &[]);
    assert!(output.status.success());
    let delivered = server.delivered.lock().expect("lock").clone();
    assert_eq!(delivered.len(), 30);
    assert!(!delivered.iter().any(|l| l.contains("BAD")));
    assert!(
        stderr(&output)
            .contains("line rejected and dropped: p1,meter_id=BAD power_import_kw=1 1704067200"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn too_large_batches_are_split() {
    let server = serve(|r, _| {
        if r.lines.len() > 4 {
            Reply::Status(413, "", "too large".into())
        } else {
            Reply::Status(204, "", String::new())
        }
    });
    let (output, _spool) = run(&server, &["--db", "p1"], &readings(13), &[]);
    assert!(output.status.success());
    let delivered = server.delivered.lock().expect("lock").clone();
    assert_eq!(delivered.len(), 13);
    assert_eq!(
        delivered,
        readings(13)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json");
                let t = chrono::DateTime::parse_from_rfc3339(v["time"].as_str().expect("time"))
                    .expect("time")
                    .timestamp();
                format!(
                    "p1,meter_id=M1 power_import_kw={},tariff=1i {t}",
                    v["power_import_kw"]
                )
            })
            .collect::<Vec<_>>()
    );
}

#[test]
fn an_unauthorised_write_is_kept_retried_and_explained() {
    let server = serve(|_, i| {
        if i < 2 {
            Reply::Status(401, "", "{\"error\":\"authorization failed\"}".into())
        } else {
            Reply::Status(204, "", String::new())
        }
    });
    let (output, _spool) = run(
        &server,
        &["--db", "p1", "--user", "meter"],
        &readings(4),
        &[("INFLUX_PASSWORD", "pw")],
    );
    assert!(output.status.success());
    assert_eq!(server.delivered.lock().expect("lock").len(), 4);
    let requests = server.requests.lock().expect("lock").clone();
    assert_eq!(
        requests[0].header("Authorization"),
        Some("Basic bWV0ZXI6cHc=")
    );
    assert!(
        stderr(&output).contains("401: authentication failed"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_server_that_never_answers_does_not_slow_the_reading_of_stdin() {
    let server = serve(|_, _| Reply::Hang);
    let spool = TempDir::new("spool");
    let (mut child, mut stdin) = spawn_p1_influx(
        &[
            "--url",
            &server.url,
            "--db",
            "p1",
            "--timeout",
            "2",
            "--drain",
            "1",
            "--flush",
            "1",
        ],
        &spool.0,
    );
    // 2.4 MB: far more than a pipe holds, so a stalled reader would block this write (and tee).
    let input = readings(20_000);
    let started = Instant::now();
    stdin.write_all(input.as_bytes()).expect("write");
    stdin.flush().expect("flush");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "stdin taken in {took:?} while the server hangs"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while spooled_lines(&spool.0) < 20_000 {
        assert!(
            Instant::now() < deadline,
            "{} spooled",
            spooled_lines(&spool.0)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let stop = Instant::now();
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
    assert!(
        stop.elapsed() < Duration::from_secs(6),
        "SIGTERM: drain 1 s, request timeout 2 s"
    );
    assert_eq!(
        spooled_lines(&spool.0),
        20_000,
        "nothing lost: all left in the spool"
    );
    drop(stdin);
}

#[test]
fn print_converts_offline() {
    let output = p1_influx(&["--print", "--tag", "site=home"], &readings(2), &[]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "p1,meter_id=M1,site=home power_import_kw=0.5,tariff=1i 1700000000\np1,meter_id=M1,site=home power_import_kw=1.5,tariff=1i 1700000001\n"
    );
}
