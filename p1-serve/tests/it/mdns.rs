//! The mDNS advertisement, browsed for as HomeWizard's clients do (issue 15).

use std::io::{Read as _, Write as _};
use std::process::Command;
use std::time::{Duration, Instant};

use mdns_sd::{ServiceDaemon, ServiceEvent};
use p1_testkit::{Proc, free_port};

#[test]
fn the_api_is_advertised_as_hwenergy_with_the_txt_keys_clients_read_regression_15() {
    let browser = ServiceDaemon::new().expect("an mDNS daemon");
    let events = browser.browse("_hwenergy._tcp.local.").expect("browse");
    let port = free_port();
    let mut serve = Proc::spawn(Command::new(env!("CARGO_BIN_EXE_p1-serve")).args([
        "--listen",
        &format!("0.0.0.0:{port}"),
        "--serial",
        "3c39e7aabbcc",
    ]));
    serve.write(b"{\"type\":\"reading\",\"meter_id\":\"M1\",\"power_import_kw\":0.5}\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "not seen over mDNS within 20 s");
        let Ok(event) = events.recv_timeout(left) else {
            continue;
        };
        if let ServiceEvent::ServiceResolved(info) = event {
            if !info.get_fullname().starts_with("p1meter-aabbcc.") {
                continue;
            }
            assert_eq!(info.get_port(), port);
            let txt = |key: &str| info.get_property_val_str(key).map(str::to_string);
            assert_eq!(txt("api_enabled").as_deref(), Some("1"));
            assert_eq!(txt("path").as_deref(), Some("/api/v1"));
            assert_eq!(txt("serial").as_deref(), Some("3c39e7aabbcc"));
            assert_eq!(txt("product_type").as_deref(), Some("HWE-P1"));
            break;
        }
    }
    let _ = browser.shutdown();
    serve.close_stdin();
    assert!(serve.wait(Duration::from_secs(10)).success());
}

/// Issue 23 (6, 16): `--listen localhost:PORT` is taken (host names resolve), the API answers
/// there, and it is not advertised over mDNS: no other host could reach it.
#[test]
fn a_loopback_listener_by_name_answers_and_is_not_advertised_regression_23() {
    let port = free_port();
    let mut serve = Proc::spawn(Command::new(env!("CARGO_BIN_EXE_p1-serve")).args([
        "--listen",
        &format!("localhost:{port}"),
        "--serial",
        "3c39e7aabbcc",
    ]));
    serve.write(b"{\"type\":\"reading\",\"meter_id\":\"M1\",\"power_import_kw\":0.5}\n");
    serve.wait_stderr("mDNS: not advertised: ", Duration::from_secs(10));
    let mut connection = std::net::TcpStream::connect(("localhost", port)).expect("localhost");
    connection
        .write_all(b"GET /api HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("ask");
    let mut answer = String::new();
    connection.read_to_string(&mut answer).expect("answered");
    assert!(answer.contains("\"product_type\":\"HWE-P1\""), "{answer}");
    serve.close_stdin();
    assert!(serve.wait(Duration::from_secs(10)).success());
    assert!(
        !serve
            .stderr_seen
            .iter()
            .any(|l| l.contains("mDNS: advertising")),
        "{:?}",
        serve.stderr_seen
    );
    let unknown = p1_testkit::run(
        Command::new(env!("CARGO_BIN_EXE_p1-serve")).args(["--listen", "no-such-host.invalid:80"]),
        b"",
    );
    assert_eq!(unknown.code(), 78);
    assert!(
        unknown
            .stderr()
            .contains("--listen \"no-such-host.invalid:80\": a host name that does not resolve")
    );
}
