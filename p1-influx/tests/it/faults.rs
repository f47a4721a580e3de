//! p1-influx against a scripted local HTTP server: the 2.x and 3.x APIs, and faults.

use std::time::{Duration, Instant};

use p1_testkit::{wait_until, wait_within};

use crate::common::*;
use p1_testkit::http::{HttpServer, Reply, Request};

fn serve(reply: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> HttpServer {
    HttpServer::start(reply)
}

/// A server that answers the first `n` requests with `failure`, the others with 204.
fn failing_first(n: usize, failure: Reply) -> HttpServer {
    serve(move |_, i| {
        if i < n {
            failure.clone()
        } else {
            status(204, "", "")
        }
    })
}

fn status(code: u16, headers: &str, body: &str) -> Reply {
    Reply::Status(code, headers.to_string(), body.to_string())
}

fn readings(n: usize) -> String {
    numbered_readings(n, 1_700_000_000)
}

fn run(
    server: &HttpServer,
    extra: &[&str],
    input: &str,
    envs: &[(&str, &str)],
) -> (Finished, TempDir) {
    let spool = TempDir::new("spool");
    let mut args = vec!["--url", &server.url, "--spool-dir"];
    let spool_dir = spool.root().to_string_lossy().into_owned();
    args.push(&spool_dir);
    args.extend_from_slice(extra);
    (p1_influx(&args, input, envs), spool)
}

#[test]
fn v2_with_a_token_gzip_and_a_429_retry_after() {
    let server = failing_first(1, status(429, "Retry-After: 1\r\n", ""));
    let (output, _spool) = run(
        &server,
        &["--org", "home", "--bucket", "p1"],
        &readings(20),
        &[("INFLUX_TOKEN", "s3cret-token")],
    );
    output.success();
    let requests = server.requests();
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
    assert_eq!(server.delivered_lines().len(), 20);
    output.stderr_contains("waiting 1 s as it asks");
    assert!(
        !output.stderr().contains("s3cret"),
        "the token never appears in a log line"
    );
}

#[test]
fn v3_with_a_bearer_token_and_a_503() {
    let server = failing_first(1, status(503, "Retry-After: 1\r\n", "busy"));
    let dir = TempDir::new("token");
    let token = dir.path("token");
    std::fs::write(&token, "tok3n\n").expect("token file");
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
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
    output.success();
    let requests = server.requests();
    assert_eq!(
        requests[0].path,
        "/api/v3/write_lp?db=house&precision=second"
    );
    assert_eq!(requests[0].header("Authorization"), Some("Bearer tok3n"));
    assert_eq!(server.delivered_lines().len(), 3);
}

#[test]
fn a_v1_partial_write_drops_the_rejected_lines_and_is_not_resent() {
    let server = serve(|_, _| {
        status(
            400,
            "",
            "{\"error\":\"partial write: field type conflict: input field \\\"tariff\\\" is type float dropped=1\"}",
        )
    });
    let (output, spool) = run(&server, &["--db", "p1"], &readings(10), &[]);
    assert!(output.status.success());
    assert_eq!(server.requests().len(), 1);
    assert!(output.stderr().contains("rejected some lines, which are dropped: {\"error\":\"partial write: field type conflict"), "{}", output.stderr());
    assert_eq!(spooled_lines(spool.root()), 0);
}

#[test]
fn v2_rejecting_a_whole_batch_is_split_to_find_the_bad_line() {
    let server = serve(|r, _| {
        if r.lines().iter().any(|l| l.contains("meter_id=BAD")) {
            status(
                400,
                "",
                "{\"code\":\"invalid\",\"message\":\"failure writing points\"}",
            )
        } else {
            status(204, "", "")
        }
    });
    let mut input = readings(15);
    input.push_str("{\"type\":\"reading\",\"meter_id\":\"BAD\",\"time\":\"2024-01-01T00:00:00Z\",\"power_import_kw\":1}\n");
    input.push_str(&numbered_readings(15, 1_800_000_000));
    let (output, _spool) = run(&server, &["--org", "o", "--bucket", "b"], &input, &[]);
    assert!(output.status.success());
    let delivered = server.delivered_lines();
    assert_eq!(delivered.len(), 30);
    assert!(!delivered.iter().any(|l| l.contains("BAD")));
    output
        .stderr_contains("line rejected and dropped: p1,meter_id=BAD power_import_kw=1 1704067200");
}

#[test]
fn too_large_batches_are_split() {
    let server = serve(|r, _| {
        if r.lines().len() > 4 {
            status(413, "", "too large")
        } else {
            status(204, "", "")
        }
    });
    let (output, _spool) = run(&server, &["--db", "p1"], &readings(13), &[]);
    assert!(output.status.success());
    let delivered = server.delivered_lines();
    assert_eq!(delivered.len(), 13);
    assert_eq!(
        delivered,
        p1_testkit::finished::readings(p1_testkit::finished::records(&readings(13)))
            .iter()
            .map(|r| {
                let t = r.time.and_then(|t| t.timestamp()).expect("time");
                let kw = r.power_import_kw.expect("power");
                format!("p1,meter_id=M1 power_import_kw={kw},tariff=1i {t}")
            })
            .collect::<Vec<_>>()
    );
}

#[test]
fn an_unauthorised_write_is_kept_retried_and_explained() {
    let server = failing_first(2, status(401, "", "{\"error\":\"authorization failed\"}"));
    let (output, _spool) = run(
        &server,
        &["--db", "p1", "--user", "meter"],
        &readings(4),
        &[("INFLUX_PASSWORD", "pw")],
    );
    assert!(output.status.success());
    assert_eq!(server.delivered_lines().len(), 4);
    let requests = server.requests();
    assert_eq!(
        requests[0].header("Authorization"),
        Some("Basic bWV0ZXI6cHc=")
    );
    output.stderr_contains("401: authentication failed");
}

#[test]
fn a_server_that_never_answers_does_not_slow_the_reading_of_stdin() {
    let server = serve(|_, _| Reply::Hang(Duration::from_mins(1)));
    let spool = TempDir::new("spool");
    let mut influx = spawn_p1_influx(
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
        spool.root(),
    );
    // 2.4 MB: far more than a pipe holds, so a stalled reader would block this write (and tee).
    let input = readings(20_000);
    let started = Instant::now();
    influx.write_taken_within(input, Duration::from_secs(10), "while the server hangs");
    let took = started.elapsed();
    wait_until("20,000 lines in the spool", || {
        spooled_lines(spool.root()) >= 20_000
    });
    let stop = Instant::now();
    let status = influx.terminate(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    assert!(
        stop.elapsed() < Duration::from_secs(6),
        "SIGTERM: drain 1 s, request timeout 2 s"
    );
    assert_eq!(
        spooled_lines(spool.root()),
        20_000,
        "nothing lost: all left in the spool"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
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

/// Issue 13 (1, 3): a segment that cannot be read is moved aside and reported, not retried in
/// a spin; a damaged line and a line cut off by a power cut are dropped, and the rest is sent.
#[test]
fn damaged_and_unreadable_segments_neither_spin_nor_send_bad_lines_regression_13() {
    let server = serve(|_, _| status(204, "", ""));
    let spool = p1_testkit::TempDir::new("damaged");
    let dir = spool.root().to_string_lossy().into_owned();
    let args = ["--url", &server.url, "--db", "p1", "--spool-dir", &dir];
    assert!(p1_influx(&args, "", &[]).status.success(), "a first run");
    let target = target_dir(spool.root());
    std::fs::write(
        target.join("00000000000000000001.lp"),
        b"p1 a=1 1700000000\np1 a=\xff2 1700000001\np1 a=3 1700000002\n",
    )
    .expect("segment");
    // A power cut mid-write: the last line has no end.
    std::fs::write(
        target.join("00000000000000000002.lp"),
        b"p1 a=4 1700000003\np1 a=5",
    )
    .expect("segment");
    // Unreadable even for root: a directory where a segment should be.
    std::fs::create_dir(target.join("00000000000000000003.lp")).expect("dir");
    let started = Instant::now();
    let output = p1_influx(&args, "", &[]);
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(
        server.delivered_lines(),
        [
            "p1 a=1 1700000000",
            "p1 a=3 1700000002",
            "p1 a=4 1700000003"
        ]
    );
    assert_eq!(
        stderr.matches("1 lines that are not whole points").count(),
        2,
        "{stderr}"
    );
    assert!(
        stderr.contains("cannot be read") && stderr.contains("moved aside"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("cannot be read").count(),
        1,
        "reported once: {stderr}"
    );
    assert!(target.join("00000000000000000003.bad").exists());
}

/// Segment files (`.lp`, `.open`) in a spool directory, by name.
fn segment_names(dir: &std::path::Path) -> Vec<String> {
    segment_files(dir)
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// Issue 13 (5): while the database keeps up, the spool stays in memory: the directory on
/// disk is not written at all (its modification time does not change, no segment appears).
#[test]
fn while_the_database_keeps_up_the_disk_is_not_written_regression_13() {
    let server = serve(|_, _| status(204, "", ""));
    let cold = TempDir::new("cold");
    let hot = TempDir::new("hot");
    let hot_dir = hot.root().to_string_lossy().into_owned();
    let args = [
        "--url",
        &server.url,
        "--db",
        "p1",
        "--flush",
        "1",
        "--spool-hot",
        &hot_dir,
    ];
    // A first run creates the spool's lock; after it, the disk is left alone.
    let mut first = spawn_p1_influx(&args, cold.root());
    first.close_stdin();
    assert!(first.wait(Duration::from_secs(10)).success());
    let before = std::fs::metadata(cold.root())
        .and_then(|m| m.modified())
        .expect("mtime");

    let mut influx = spawn_p1_influx(&args, cold.root());
    let input = readings(30);
    let lines: Vec<&str> = input.split_inclusive('\n').collect();
    for (i, chunk) in lines.chunks(10).enumerate() {
        influx.write(chunk.concat().as_bytes());
        wait_within("delivered", Duration::from_secs(10), || {
            server.delivered_lines().len() == 10 * (i + 1)
        });
        assert!(segment_names(cold.root()).is_empty(), "nothing on disk");
    }
    influx.close_stdin();
    assert!(influx.wait(Duration::from_secs(10)).success());
    let after = std::fs::metadata(cold.root())
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(before, after, "the spool directory on disk was written");
    assert!(segment_names(hot.root()).is_empty(), "everything sent");
    assert_eq!(server.delivered_lines().len(), 30);
}

/// Issue 13 (5): once the sender falls behind (an unreachable database), what comes moves
/// to disk; a SIGKILL loses nothing (the memory spool is a tmpfs, which outlives the
/// process), a SIGTERM puts everything on disk, and a later run sends it all once.
/// Issue 23 (15): a run for another database, with the same spool, sends none of it.
#[test]
fn behind_the_spool_moves_to_disk_and_nothing_is_lost_regression_13_regression_23() {
    let address = format!("127.0.0.1:{}", p1_testkit::free_port());
    let down = format!("http://{address}");
    let cold = TempDir::new("cold");
    let hot = TempDir::new("hot");
    let hot_dir = hot.root().to_string_lossy().into_owned();
    let args = |url: &str| {
        [
            "--url",
            url,
            "--db",
            "p1",
            "--flush",
            "1",
            "--sync",
            "1",
            "--spool-hot",
        ]
        .iter()
        .map(ToString::to_string)
        .chain([hot_dir.clone()])
        .collect::<Vec<String>>()
    };
    let down_args = args(&down);
    let down_args: Vec<&str> = down_args.iter().map(String::as_str).collect();
    let input = readings(25);
    let lines: Vec<&str> = input.split_inclusive('\n').collect();

    let mut influx = spawn_p1_influx(&down_args, cold.root());
    influx.write(lines[..10].concat().as_bytes());
    wait_within("moved to disk", Duration::from_secs(10), || {
        spooled_lines(cold.root()) == 10
    });
    influx.write(lines[10..20].concat().as_bytes());
    wait_within("spooled", Duration::from_secs(10), || {
        spooled_lines(cold.root()) + spooled_lines(hot.root()) == 20
    });
    influx.signal(Signal::SIGKILL);
    influx.wait(Duration::from_secs(10));
    assert_eq!(spooled_lines(cold.root()) + spooled_lines(hot.root()), 20);

    let mut influx = spawn_p1_influx(&down_args, cold.root());
    influx.write(lines[20..].concat().as_bytes());
    wait_within("spooled", Duration::from_secs(10), || {
        spooled_lines(cold.root()) + spooled_lines(hot.root()) == 25
    });
    assert_eq!(influx.terminate(Duration::from_secs(20)).code(), Some(0));
    assert!(
        segment_names(hot.root()).is_empty(),
        "put away on disk at exit"
    );
    assert_eq!(spooled_lines(cold.root()), 25);

    let other = serve(|_, _| status(204, "", ""));
    let other_args = args(&other.url);
    let other_args: Vec<&str> = other_args.iter().map(String::as_str).collect();
    let mut influx = spawn_p1_influx(&other_args, cold.root());
    influx.close_stdin();
    assert!(influx.wait(Duration::from_secs(20)).success());
    assert_eq!(
        other.requests().len(),
        0,
        "another database gets none of it"
    );
    assert_eq!(spooled_lines(cold.root()), 25);

    let server = HttpServer::start_on(&address, |_, _| status(204, "", ""));
    let mut influx = spawn_p1_influx(&down_args, cold.root());
    influx.close_stdin();
    assert!(influx.wait(Duration::from_secs(20)).success());
    let mut delivered = server.delivered_lines();
    delivered.sort();
    let mut expected: Vec<String> = p1_influx(&["--print"], &input, &[])
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    expected.sort();
    assert_eq!(delivered, expected, "every reading once");
    assert!(segment_names(cold.root()).is_empty() && segment_names(hot.root()).is_empty());
}

/// Issue 23 (4): a URL without a scheme (or without a host, or with a bad port) was
/// accepted, then every send failed and was retried for ever. It is a configuration error
/// at start, naming the flag and the form expected.
#[test]
fn a_url_that_cannot_work_is_refused_at_start_regression_23() {
    for url in [
        "127.0.0.1:8086",
        "192.168.1.50",
        "http://:8086",
        "http://db:99999",
    ] {
        let output = p1_influx(&["--url", url, "--db", "p1"], "", &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(78), "{url}: {stderr}");
        assert!(
            stderr.starts_with(&format!("p1-influx: --url \"{url}\": "))
                && stderr.contains("expected http://HOST[:PORT] or https://HOST[:PORT]"),
            "{stderr}"
        );
    }
}
