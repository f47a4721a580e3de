//! `p1-relay ctl`: one request to a running p1-relay through its control socket, the answer
//! on stdout as one JSON line.

use std::path::Path;
use std::time::Duration;

use p1_common::Error;
use p1_common::contract::control::{self, ControlRequest};
use p1_common::runtime::error::{IoCause, Kind};
use p1_common::runtime::output::RecordWriter;

/// How long p1-relay may take to answer.
const TIMEOUT: Duration = Duration::from_secs(15);

pub(crate) fn ctl(socket: &Path, request: &ControlRequest) -> Result<(), Error> {
    let reply = control::ask(socket, request, TIMEOUT).map_err(|e| {
        let context = format!("control socket {}", socket.display());
        match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => Error::new(
                Kind::NoInput,
                format!(
                    "{context}: {} (is p1-relay running with --control?)",
                    IoCause(&e)
                ),
            ),
            _ => Error::io(context, e),
        }
    })?;
    let mut line = serde_json::to_string(&reply).unwrap_or_default();
    line.push('\n');
    RecordWriter::stdout().write_raw(line.as_bytes())?;
    match reply.error {
        Some(why) if !reply.ok => Err(Error::failure(why)),
        _ => Ok(()),
    }
}
