//! External programs some tests need, and skipping without them.
//!
//! Plain `cargo test` skips a test whose tool is missing, saying on the terminal what to
//! install; `scripts/test` installs every tool and sets `P1_TEST_REQUIRE_ALL=1`, under which a
//! missing tool fails the test instead, so nothing is skipped there unnoticed.

use std::io::Write;

/// The Debian package that brings `tool`.
fn package(tool: &str) -> &str {
    match tool {
        "influxd" => "influxdb",
        "mosquitto" => "mosquitto",
        "promtool" => "prometheus",
        "systemd-analyze" => "systemd",
        other => other,
    }
}

/// Whether `tool` is on the PATH.
pub fn have(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .any(|dir| std::fs::metadata(dir.join(tool)).is_ok_and(|m| m.is_file()))
    })
}

/// `true` when an optional `tool` is missing (one the issue asks to use only "when it is
/// installed"): the test is skipped with a line on stderr, also under `P1_TEST_REQUIRE_ALL`.
pub fn skip_without_optional(tool: &str) -> bool {
    if have(tool) {
        return false;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: needs {tool} (optional; apt-get install {})",
        package(tool)
    );
    true
}

/// `true` when the calling test must be skipped because one of `tools` is missing: the skip
/// is written straight to stderr (not captured by the test harness). Under
/// `P1_TEST_REQUIRE_ALL` a missing tool panics instead.
pub fn skip_without(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !have(t)).collect();
    if missing.is_empty() {
        return false;
    }
    let packages: Vec<&str> = missing.iter().map(|t| package(t)).collect();
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let message = format!(
        "skipped {test}: needs {} (apt-get install {}, or run scripts/test)",
        missing.join(", "),
        packages.join(" ")
    );
    assert!(
        std::env::var_os("P1_TEST_REQUIRE_ALL").is_none(),
        "{message}; P1_TEST_REQUIRE_ALL is set, so nothing may be skipped"
    );
    let _ = writeln!(std::io::stderr(), "{message}");
    true
}
