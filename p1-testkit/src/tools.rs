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
        "mosquitto_sub" | "mosquitto_pub" => "mosquitto-clients",
        "promtool" => "prometheus",
        "openssl" => "openssl",
        "systemd-analyze" => "systemd",
        "supervisord" | "supervisorctl" => "supervisor",
        "unshare" => "util-linux",
        "chromium" => "chromium",
        other => other,
    }
}

/// Where `tool` is: on the PATH, or in the sbin directories a user's PATH may lack (Debian
/// puts `mosquitto` in /usr/sbin).
pub fn find(tool: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(std::path::PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|file| std::fs::metadata(file).is_ok_and(|m| m.is_file()))
}

/// Whether `tool` is installed.
pub fn have(tool: &str) -> bool {
    find(tool).is_some()
}

/// `true` when an optional `tool` is missing (one the issue asks to use only "when it is
/// installed"): the test is skipped with a line on stderr, also under `P1_TEST_REQUIRE_ALL`.
pub fn skip_without_optional(tool: &str) -> bool {
    if have(tool) {
        return false;
    }
    let test = this_test();
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
    let test = this_test();
    skipped(&format!(
        "skipped {test}: needs {} (apt-get install {}, or run scripts/test)",
        missing.join(", "),
        packages.join(" ")
    ));
    true
}

/// The name of the calling test (its thread's).
fn this_test() -> String {
    std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string()
}

/// Skips the calling test, which `needs` what is missing, saying so on stderr; under
/// `P1_TEST_REQUIRE_ALL` it fails instead.
pub fn skip_for_want_of(needs: &str) {
    skipped(&format!("skipped {}: needs {needs}", this_test()));
}

/// Says on stderr that the calling test is skipped, and why; under `P1_TEST_REQUIRE_ALL`
/// it fails instead.
fn skipped(message: &str) {
    assert!(
        std::env::var_os("P1_TEST_REQUIRE_ALL").is_none(),
        "{message}; P1_TEST_REQUIRE_ALL is set, so nothing may be skipped"
    );
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// `true` when the calling test must be skipped because this process is not root (it needs
/// namespaces and mounts); said on stderr, also under `P1_TEST_REQUIRE_ALL`, since that
/// cannot be installed.
pub fn skip_unless_root() -> bool {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt as _;
        m.uid() == 0
    });
    if !root {
        let test = this_test();
        let _ = writeln!(std::io::stderr(), "skipped {test}: needs root");
    }
    !root
}

/// The test venv's python (`target/test-venv`, which scripts/test makes with the PyPI clients
/// the tests use), or `None` when it is missing: the test is then skipped as by
/// [`skip_without`] (and fails under `P1_TEST_REQUIRE_ALL`).
pub fn test_venv_python() -> Option<std::path::PathBuf> {
    let python =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    let test = this_test();
    skipped(&format!(
        "skipped {test}: needs the test venv with python-homewizard-energy and dsmr-parser (run scripts/test)"
    ));
    None
}

/// The Home Assistant Core release the tests run: the newest that installs on Python 3.13.0
/// (later ones need 3.13.2 or 3.14).
pub const HOME_ASSISTANT: &str = "2025.4.4";

/// Where `scripts/lib/home-assistant` keeps Home Assistant's venv: in the user's cache, so
/// that a fresh clone (CI) does not download its 600 MB again.
pub fn home_assistant_venv() -> std::path::PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| std::path::PathBuf::from("/var/cache"));
    cache
        .join("p1")
        .join(format!("home-assistant-{HOME_ASSISTANT}"))
}

/// A Python 3.13 on this machine that runs: on the PATH (a pyenv shim there may not), or
/// one pyenv installed.
pub fn python_3_13() -> Option<std::path::PathBuf> {
    let root = std::env::var_os("PYENV_ROOT")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".pyenv")));
    let mut pyenv: Vec<std::path::PathBuf> = root
        .map(|root| crate::fs::children(&root.join("versions"), "3.13"))
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.join("bin/python3.13"))
        .collect();
    pyenv.sort();
    find("python3.13")
        .into_iter()
        .chain(pyenv.into_iter().rev())
        .find(|python| {
            std::process::Command::new(python)
                .args(["-c", "import sys; assert sys.version_info[:2] == (3, 13)"])
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// The python of Home Assistant's venv, once `scripts/lib/home-assistant` finished it, or
/// `None`: the test is skipped, and named. Under `P1_TEST_REQUIRE_ALL` a missing venv fails
/// the test where Python 3.13 exists (scripts/test makes the venv then); with no Python 3.13
/// it is skipped all the same.
pub fn home_assistant_python() -> Option<std::path::PathBuf> {
    let venv = home_assistant_venv();
    if venv.join("ready").exists() {
        return Some(venv.join("bin/python"));
    }
    let test = this_test();
    let python = python_3_13();
    let message = match &python {
        Some(_) => format!(
            "skipped {test}: needs Home Assistant {HOME_ASSISTANT} in {} (run scripts/test, or scripts/lib/home-assistant)",
            venv.display()
        ),
        None => format!("skipped {test}: needs Python 3.13 for Home Assistant {HOME_ASSISTANT}"),
    };
    if python.is_some() {
        skipped(&message);
    } else {
        let _ = writeln!(std::io::stderr(), "{message}");
    }
    None
}
