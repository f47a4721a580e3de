//! p1-watch's integration tests (issue 25): the real binary in a real terminal (tmux), what
//! its screen shows compared with the records fed, and its plain line when stdout is a pipe.

mod plain;
mod screen;

use std::path::PathBuf;

/// The records both views are fed: a reading at 14:03:10 exporting 1.987 kW, a quarter
/// hour's peak record, two loads' events.
pub fn live_fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/live.ndjson")
}
