//! Waiting for something a test can observe (a file's growth, a server's count, a port that
//! listens), with a deadline: never a fixed sleep.

use std::time::{Duration, Instant};

/// How long a wait takes at the most, unless told otherwise.
pub const WAIT: Duration = Duration::from_secs(20);

/// How often a condition is looked at again.
const LOOK_EVERY: Duration = Duration::from_millis(20);

/// Waits until `done` holds, within [`WAIT`]; the test fails, naming `what`, if it does not.
#[track_caller]
pub fn wait_until(what: &str, done: impl FnMut() -> bool) {
    wait_within(what, WAIT, done);
}

/// Waits until `done` holds, within `deadline`.
#[track_caller]
pub fn wait_within(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !done() {
        assert!(
            Instant::now() < until,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(LOOK_EVERY);
    }
}
