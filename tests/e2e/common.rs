//! What the end-to-end tests share.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The workspace's binaries, built if this test runs alone.
pub fn binaries() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf();
    if ![
        "p1-read",
        "p1-parse",
        "p1-relay",
        "p1-influx",
        "p1-mqtt",
        "p1-serve",
        "p1-watch",
        "p1-report",
        "p1-prices",
    ]
    .iter()
    .all(|b| dir.join(b).exists())
    {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = p1_testkit::run_with(
            Command::new(cargo).args(["build", "--bins", "-q"]),
            b"",
            Duration::from_mins(10),
        );
        assert!(output.status.success(), "cargo build failed");
    }
    dir
}
