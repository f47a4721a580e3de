//! A real browser for the web page's tests: Debian's Chromium, headless, with a profile of
//! its own, run to its end within a deadline. What the page's scripts made of the page is
//! read from the DOM Chromium dumps once its virtual clock has run; what the page asked the
//! network for is read from Chromium's own network log.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::fs::TempDir;
use crate::proc::run_with;

/// A page as the browser left it.
#[derive(Debug)]
pub struct Loaded {
    /// The DOM after the page's scripts ran, as HTML.
    pub dom: String,
    /// Every URL the page requested (the browser's own background requests left out).
    pub requests: Vec<String>,
}

/// Chromium with the flags a headless test needs: no sandbox (tests may run as root), no
/// GPU, none of the browser's own traffic that can be turned off, a fresh profile.
fn chromium(profile: &Path) -> Command {
    let mut command = Command::new("chromium");
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// Loads `url`, lets the page's clock run `virtual_ms`, and returns the DOM and the page's
/// requests.
pub fn load(url: &str, virtual_ms: u32) -> Loaded {
    let dir = TempDir::new("chromium");
    let net_log = dir.path("net-log.json");
    let ran = run_with(
        chromium(&dir.path("profile"))
            .arg(format!("--virtual-time-budget={virtual_ms}"))
            .arg(format!("--log-net-log={}", net_log.display()))
            .args(["--dump-dom", url]),
        b"",
        Duration::from_secs(90),
    );
    let dom = ran.success().stdout();
    let log = std::fs::read_to_string(&net_log).expect("Chromium's network log");
    Loaded {
        dom,
        requests: page_requests(&log, &site(url)),
    }
}

/// Saves a picture of `url` as it looks after `virtual_ms`, `width` x `height` pixels.
pub fn screenshot(url: &str, virtual_ms: u32, (width, height): (u32, u32), to: &Path) {
    let dir = TempDir::new("chromium-shot");
    run_with(
        chromium(&dir.path("profile"))
            .arg(format!("--virtual-time-budget={virtual_ms}"))
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--screenshot={}", to.display()))
            .arg(url),
        b"",
        Duration::from_secs(90),
    )
    .success();
    assert!(
        std::fs::metadata(to).is_ok_and(|m| m.len() > 0),
        "no screenshot at {}",
        to.display()
    );
}

/// The site of a URL as the network log keys requests by: scheme and host, no port.
fn site(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("an absolute URL");
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    format!("{scheme}://{host}")
}

/// The URLs of the requests a page of `site` made, wherever they went: those of the network
/// log's jobs whose network isolation key is the page's site (the browser's own updates and
/// account checks have theirs).
fn page_requests(log: &str, site: &str) -> Vec<String> {
    let log: serde_json::Value = serde_json::from_str(log).expect("the network log is JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].as_u64();
    log["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"].as_u64() == start_job)
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|key| key.split(' ').next() == Some(site))
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .collect()
}
