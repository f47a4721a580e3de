//! Linked pseudo-terminal pairs from socat: the meter's end and the reader's.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::proc::Proc;

/// Two linked ptys: the program under test opens `device`, the test writes into `feed`.
#[derive(Debug)]
pub struct PtyPair {
    pub device: PathBuf,
    pub feed_path: PathBuf,
    /// Killed with its group when dropped.
    socat: Option<Proc>,
}

impl PtyPair {
    /// Links `meter` and `feed` in `dir` (needs socat: see [`crate::skip_without`]).
    pub fn new(dir: &Path) -> Self {
        let device = dir.join("meter");
        let feed_path = dir.join("feed");
        let mut command = Command::new("socat");
        command
            .arg(format!("pty,raw,echo=0,link={}", device.display()))
            .arg(format!("pty,raw,echo=0,link={}", feed_path.display()))
            .stderr(Stdio::null());
        let socat = Proc::spawn(&mut command);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(device.exists() && feed_path.exists()) {
            assert!(Instant::now() < deadline, "socat made no ptys within 10 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        PtyPair {
            device,
            feed_path,
            socat: Some(socat),
        }
    }

    /// The meter's side, to write telegrams into.
    pub fn feed(&self) -> std::fs::File {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&self.feed_path)
            .expect("open the feed side of the pty")
    }

    /// The device vanishes, as when a USB adapter is unplugged.
    pub fn unplug(&mut self) {
        if let Some(mut socat) = self.socat.take() {
            socat.terminate(Duration::from_secs(10));
        }
        let _ = std::fs::remove_file(&self.device);
        let _ = std::fs::remove_file(&self.feed_path);
    }

    /// The device's path as a string argument.
    pub fn device_arg(&self) -> String {
        self.device.display().to_string()
    }
}
