//! p1-watch following a running p1-serve (issue 25): `--url` shows what the server was fed,
//! and an address nobody answers at is said, not fatal.

use std::process::Command;
use std::time::Duration;

use p1_testkit::{Proc, free_port, wait_until};

use crate::common::binaries;

const WAIT: Duration = Duration::from_secs(15);

#[test]
fn watch_follows_p1_serve_by_url_regression_25() {
    let bin = binaries();
    let port = free_port();
    let mut serve = Proc::spawn(Command::new(bin.join("p1-serve")).args([
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--no-mdns",
    ]));
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/live.ndjson");
    serve.write(&std::fs::read(fixture).expect("the fixture"));
    wait_until("p1-serve has the reading and the price", || {
        p1_testkit::http::get(port, "/p1/reading").is_some_and(|r| r.contains("14:03:10"))
            && p1_testkit::http::get(port, "/p1/prices").is_some_and(|r| r.contains("-0.012"))
    });

    let url = format!("http://127.0.0.1:{port}");
    let mut watch = Proc::spawn(Command::new(bin.join("p1-watch")).args(["--url", &url]));
    let line = watch.wait_stdout("net", WAIT);
    assert!(
        line.starts_with("14:03:10  net -1.987 kW  L1 -1.234  L2 +0.111  L3 -0.642  quarter 1.250 kW, projected 2.750, budget 3.200, headroom 0.410, month peak 3.456  price -0.0120 EUR/kWh  boiler on  car off  ("),
        "{line}"
    );
    watch.signal(p1_testkit::Signal::SIGTERM);
    assert_eq!(watch.wait(WAIT).code(), Some(0));

    // Nobody at the address: each line says so, and p1-watch goes on asking.
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let mut lost = Proc::spawn(Command::new(bin.join("p1-watch")).args(["--url", &nobody]));
    let first = lost.wait_stdout("/p1/now", WAIT);
    assert!(first.starts_with(&format!("{nobody}/p1/now: ")), "{first}");
    let again = lost.wait_stdout("/p1/now", WAIT);
    assert!(again.starts_with(&format!("{nobody}/p1/now: ")), "{again}");
    lost.signal(p1_testkit::Signal::SIGTERM);
    assert_eq!(lost.wait(WAIT).code(), Some(0));
}
