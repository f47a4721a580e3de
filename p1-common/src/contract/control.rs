//! p1-relay's control socket: a Unix socket taking one JSON request a line and answering
//! each with one JSON line. Declared here because p1-relay serves it and p1-mqtt and
//! `p1-relay ctl` speak it.
//!
//! ```json
//! {"cmd":"status"}
//! {"cmd":"set","load":"boiler","mode":"on","for_s":7200}
//! {"ok":true,"loads":[{"load":"boiler","on":true,"mode":"on","manual":true,"until":"2024-06-12T12:31:00+02:00","reason":"manual mode on"}]}
//! {"ok":false,"error":"no load 'pool'"}
//! ```

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A request to p1-relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase", deny_unknown_fields)]
pub enum ControlRequest {
    /// Every load's state.
    Status,
    /// A load's mode from the next reading on, for `for_s` seconds or until changed.
    Set {
        /// The load's name, as configured.
        load: String,
        /// Its new mode.
        mode: ControlMode,
        /// How long the mode holds; until changed when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_s: Option<u64>,
    },
}

crate::named_enum! {
    /// A mode set from outside: on, off, or back to automatic.
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum ControlMode ("a mode") {
        /// Switched by its rules.
        Auto = "auto",
        /// Held on.
        On = "on",
        /// Held off.
        Off = "off",
    }
}

/// p1-relay's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlReply {
    /// Whether the request was done.
    pub ok: bool,
    /// Every load's state, after the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loads: Vec<LoadStatus>,
    /// Why the request was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ControlReply {
    /// A request done: the loads as they now are.
    pub fn loads(loads: Vec<LoadStatus>) -> Self {
        ControlReply {
            ok: true,
            loads,
            error: None,
        }
    }

    /// A request refused, and why.
    pub fn error(why: impl Into<String>) -> Self {
        ControlReply {
            ok: false,
            loads: Vec::new(),
            error: Some(why.into()),
        }
    }
}

/// One load as p1-relay sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadStatus {
    /// Its name, as configured.
    pub load: String,
    /// Whether it is switched on.
    pub on: bool,
    /// Its mode.
    pub mode: ControlMode,
    /// Whether the mode was set through the socket (else it is the configuration's).
    pub manual: bool,
    /// When a manual mode ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Why it was last switched.
    pub reason: String,
}

/// A request's longest line, either way.
pub const MAX_LINE: usize = 64 * 1024;

/// Sends one request to the socket at `path` and waits (at most `timeout`) for the answer.
///
/// # Errors
/// The socket cannot be reached, or the answer is not a reply.
pub fn ask(path: &Path, request: &ControlRequest, timeout: Duration) -> io::Result<ControlReply> {
    let mut stream = UnixStream::connect(path)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut line = serde_json::to_vec(request).map_err(io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut answer = String::new();
    let mut reader = BufReader::new(stream).take(MAX_LINE as u64);
    reader.read_line(&mut answer)?;
    serde_json::from_str(&answer).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not a p1-relay answer: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_read_as_documented() {
        let set: ControlRequest =
            serde_json::from_str(r#"{"cmd":"set","load":"boiler","mode":"on","for_s":7200}"#)
                .unwrap();
        assert_eq!(
            set,
            ControlRequest::Set {
                load: "boiler".into(),
                mode: ControlMode::On,
                for_s: Some(7200)
            }
        );
        assert_eq!(
            serde_json::to_string(&ControlRequest::Status).unwrap(),
            r#"{"cmd":"status"}"#
        );
        assert!(serde_json::from_str::<ControlRequest>(r#"{"cmd":"set","load":"b"}"#).is_err());
        assert!(serde_json::from_str::<ControlRequest>(r#"{"cmd":"reboot"}"#).is_err());
        assert_eq!(
            serde_json::to_string(&ControlReply::error("no load 'pool'")).unwrap(),
            r#"{"ok":false,"error":"no load 'pool'"}"#
        );
    }
}
