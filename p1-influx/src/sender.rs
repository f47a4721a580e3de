//! Posting sealed spool segments to `InfluxDB`, oldest first, and deciding what each answer
//! means: done, some lines rejected, too large, come back later, or wrong settings.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use log::{debug, error, info, warn};

use p1_common::error::IoCause;

use crate::spool::{
    Segment, SegmentLines, SpoolDirs, SpoolSettings, Syncer, quarantine, read_segment,
    sealed_segments, spill,
};

p1_common::named_enum! {
    /// Which write API, with its endpoint and credentials.
    pub(crate) enum Api ("an API") {
        V1 = "v1",
        V2 = "v2",
        V3 = "v3",
    }
}

/// Where and how to write.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) api: Api,
    /// The write URL with its query.
    pub(crate) url: String,
    pub(crate) authorization: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        f.debug_struct("Target")
            .field("api", &self.api)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Percent-encodes a query value.
pub(crate) fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Standard base64, for HTTP Basic authentication.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// How a batch went.
enum Outcome {
    Done,
    /// A stop was requested and the drain time is over: the data stays in the spool.
    Stopped,
}

/// One server answer.
enum Answer {
    Status {
        code: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    Unreachable(ureq::Error),
}

pub(crate) struct Sender {
    pub(crate) target: Target,
    pub(crate) dirs: SpoolDirs,
    /// The age of a segment's oldest line when it is sealed, at most.
    batch_age: Duration,
    /// Syncs what is spilled to disk.
    syncer: Syncer,
    pub(crate) agent: ureq::Agent,
    /// Set when the input has ended: send everything, then return.
    pub(crate) input_done: Arc<AtomicBool>,
    /// Set with the drain deadline on SIGTERM.
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) drain: Duration,
    pub(crate) wake: Receiver<()>,
    pub(crate) sent_lines: u64,
    stop_seen: Option<Instant>,
    /// Segments that could not be read, removed or moved aside: not tried again.
    given_up: std::collections::HashSet<u64>,
    backoff: Duration,
    last_complaint: Option<Instant>,
    rng: u64,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Sender {
    pub(crate) fn new(
        target: Target,
        spool: &SpoolSettings,
        timeout: Duration,
        input_done: Arc<AtomicBool>,
        stop: Arc<AtomicBool>,
        drain: Duration,
        wake: Receiver<()>,
    ) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        Sender {
            target,
            dirs: spool.dirs.clone(),
            batch_age: spool.max_age,
            syncer: Syncer::new(&spool.dirs.cold, spool.sync),
            agent,
            input_done,
            stop,
            drain,
            wake,
            sent_lines: 0,
            stop_seen: None,
            given_up: std::collections::HashSet::new(),
            backoff: Duration::from_secs(1),
            last_complaint: None,
            rng: seed,
        }
    }

    fn stopped(&mut self) -> bool {
        if !self.stop.load(Ordering::Relaxed) {
            return false;
        }
        let seen = *self.stop_seen.get_or_insert_with(Instant::now);
        seen.elapsed() >= self.drain
    }

    /// Sleeps up to `pause`, or less when the drain time runs out; false when stopped.
    /// Waiting, the sender is behind: what is in memory goes to disk, as it comes.
    fn pause(&mut self, pause: Duration) -> bool {
        let until = Instant::now() + pause;
        self.spill();
        while Instant::now() < until {
            if self.stopped() {
                return false;
            }
            let nap = (until - Instant::now()).min(Duration::from_millis(50));
            if self.wake.recv_timeout(nap).is_ok() {
                self.spill();
            }
            self.sync_if_due();
        }
        !self.stopped()
    }

    /// Moves the sealed segments in memory to disk.
    fn spill(&mut self) {
        match spill(&self.dirs) {
            Ok(0) => {}
            Ok(moved) => {
                debug!("behind: {moved} batches moved to disk");
                self.syncer.written(self.batch_age);
            }
            Err(e) => error!(
                "spool {}: cannot move batches to disk ({}); they stay in memory",
                self.dirs.cold.display(),
                IoCause(&e)
            ),
        }
    }

    fn sync_if_due(&mut self) {
        if let Err(e) = self.syncer.sync_if_due() {
            error!(
                "spool {}: cannot sync ({})",
                self.dirs.cold.display(),
                IoCause(&e)
            );
        }
    }

    /// Waits a while for a new segment.
    fn idle(&mut self) {
        let _ = self.wake.recv_timeout(Duration::from_millis(500));
        self.sync_if_due();
    }

    /// Sends sealed segments until the input has ended and the spool is empty, or a stop.
    pub(crate) fn run(&mut self) {
        loop {
            let segments = match sealed_segments(&self.dirs) {
                Ok(segments) => segments,
                Err(e) => {
                    error!("spool {}: {}", self.dirs.cold.display(), IoCause(&e));
                    Vec::new()
                }
            };
            if segments.is_empty() {
                // The reader seals its last segment before it sets input_done.
                if self.input_done.load(Ordering::Acquire) || self.stopped() {
                    return;
                }
                self.idle();
                continue;
            }
            // A backlog: the newest batches wait behind it on disk, not in memory.
            if segments.len() > 1 {
                self.spill();
            }
            let mut sent_any = false;
            for segment in segments {
                if self.given_up.contains(&segment.seq) {
                    continue;
                }
                let Some(read) = self.load(&segment) else {
                    continue;
                };
                let lines: Vec<&str> = read.text.lines().collect();
                match self.deliver(&lines) {
                    Outcome::Done => {
                        self.sent_lines += lines.len() as u64;
                        sent_any = true;
                        if let Err(e) = self.remove(&segment) {
                            // Moved aside it might be renamed back and sent twice: kept.
                            error!(
                                "{}: sent, but cannot be removed ({}): not sent again; remove it",
                                segment.path.display(),
                                IoCause(&e)
                            );
                            self.given_up.insert(segment.seq);
                        }
                    }
                    Outcome::Stopped => return,
                }
            }
            // Only segments given up on are left: wait for new ones instead of spinning.
            if !sent_any {
                if self.input_done.load(Ordering::Acquire) || self.stopped() {
                    return;
                }
                self.idle();
            }
        }
    }

    /// Removes a sent segment, wherever it is now.
    fn remove(&self, segment: &Segment) -> std::io::Result<()> {
        std::fs::remove_file(segment.located(&self.dirs))
    }

    /// The lines of a segment that can be sent; `None` when there are none to send now (it
    /// is gone, or was moved aside because it cannot be read).
    fn load(&mut self, segment: &Segment) -> Option<SegmentLines> {
        match read_segment(&segment.located(&self.dirs)) {
            Ok(read) => {
                if read.dropped > 0 {
                    warn!(
                        "{}: {} lines that are not whole points (cut off by a power cut, or \
                         damaged) dropped; the other {} are sent",
                        segment.path.display(),
                        read.dropped,
                        read.kept
                    );
                }
                Some(read)
            }
            // Dropped meanwhile: the spool was full.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                self.give_up(segment, &e);
                None
            }
        }
    }

    /// Moves a segment that cannot be read aside, or failing that remembers not to try it
    /// again; says once what to do.
    fn give_up(&mut self, segment: &Segment, cause: &std::io::Error) {
        let path = segment.path.display();
        match quarantine(&segment.path) {
            Ok(aside) => error!(
                "{path}: cannot be read ({}); moved aside to {}: check its owner and permissions \
                 (a run as another user?), then rename it back to .lp to have it sent",
                IoCause(cause),
                aside.display()
            ),
            Err(e) => error!(
                "{path}: cannot be read ({}), and cannot be moved aside ({}): left alone until a restart",
                IoCause(cause),
                IoCause(&e)
            ),
        }
        self.given_up.insert(segment.seq);
    }

    /// Delivers `lines` whatever it takes: retries, waits, splits.
    fn deliver(&mut self, lines: &[&str]) -> Outcome {
        loop {
            if self.stopped() {
                return Outcome::Stopped;
            }
            let answer = self.post(lines);
            match answer {
                Answer::Status {
                    code: 200..=299, ..
                } => {
                    if self.last_complaint.take().is_some() {
                        info!("{}: writing again", self.target.url);
                    }
                    self.backoff = Duration::from_secs(1);
                    return Outcome::Done;
                }
                Answer::Status {
                    code: 400 | 422,
                    body,
                    ..
                } => {
                    // 1.x and 3.x write the good lines of a batch and say "partial write";
                    // 2.x OSS rejects the whole batch: split it to find the bad lines.
                    if self.target.api != Api::V2 && body.contains("partial write") {
                        warn!(
                            "{}: the server rejected some lines, which are dropped: {}",
                            self.target.url,
                            body.trim()
                        );
                        return Outcome::Done;
                    }
                    if lines.len() == 1 {
                        warn!(
                            "{}: line rejected and dropped: {} ({})",
                            self.target.url,
                            lines[0],
                            body.trim()
                        );
                        return Outcome::Done;
                    }
                    return self.split(lines);
                }
                Answer::Status { code: 413, .. } if lines.len() > 1 => {
                    debug!("413: splitting a batch of {} lines", lines.len());
                    return self.split(lines);
                }
                Answer::Status {
                    code: code @ (429 | 503),
                    retry_after,
                    body,
                } => {
                    let wait = retry_after
                        .unwrap_or(Duration::from_secs(30))
                        .min(Duration::from_mins(10));
                    self.complain(&format!(
                        "{code}: server busy, waiting {} s as it asks ({})",
                        wait.as_secs(),
                        body.trim()
                    ));
                    if !self.pause(wait) {
                        return Outcome::Stopped;
                    }
                }
                Answer::Status { code, body, .. } => {
                    self.complain(&diagnose(code, &body, self.target.api));
                    if !self.back_off() {
                        return Outcome::Stopped;
                    }
                }
                Answer::Unreachable(why) => {
                    let why = match &why {
                        ureq::Error::Io(e) => IoCause(e).to_string(),
                        other => other.to_string(),
                    };
                    self.complain(&format!(
                        "cannot reach the server ({why}); the data waits in the spool"
                    ));
                    if !self.back_off() {
                        return Outcome::Stopped;
                    }
                }
            }
        }
    }

    fn split(&mut self, lines: &[&str]) -> Outcome {
        let (a, b) = lines.split_at(lines.len() / 2);
        match self.deliver(a) {
            Outcome::Done => self.deliver(b),
            Outcome::Stopped => Outcome::Stopped,
        }
    }

    /// Exponential backoff (1 s doubling to 5 min) with jitter; false when stopped meanwhile.
    fn back_off(&mut self) -> bool {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let jitter = 0.5 + (self.rng % 1000) as f64 / 1000.0;
        let wait = self.backoff.mul_f64(jitter);
        self.backoff = (self.backoff * 2).min(Duration::from_mins(5));
        self.pause(wait)
    }

    /// Logs what is wrong at most once a minute.
    fn complain(&mut self, what: &str) {
        if self
            .last_complaint
            .is_none_or(|t| t.elapsed() >= Duration::from_mins(1))
        {
            error!("{}: {what}", self.target.url);
            self.last_complaint = Some(Instant::now());
        } else {
            debug!("{}: {what}", self.target.url);
        }
    }

    fn post(&mut self, lines: &[&str]) -> Answer {
        let mut gzip = GzEncoder::new(Vec::new(), Compression::fast());
        for line in lines {
            let _ = gzip.write_all(line.as_bytes());
            let _ = gzip.write_all(b"\n");
        }
        let body = match gzip.finish() {
            Ok(body) => body,
            Err(e) => return Answer::Unreachable(ureq::Error::Io(e)),
        };
        let mut request = self
            .agent
            .post(&self.target.url)
            .header("Content-Type", "text/plain; charset=utf-8")
            .header("Content-Encoding", "gzip");
        if let Some(auth) = &self.target.authorization {
            request = request.header("Authorization", auth);
        }
        match request.send(&body[..]) {
            Ok(mut response) => {
                let code = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("Retry-After")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let mut body = String::new();
                let _ = response
                    .body_mut()
                    .as_reader()
                    .take(64 * 1024)
                    .read_to_string(&mut body);
                Answer::Status {
                    code,
                    retry_after,
                    body,
                }
            }
            Err(e) => Answer::Unreachable(e),
        }
    }
}

/// What an error status means for the user, and what to fix.
fn diagnose(code: u16, body: &str, api: Api) -> String {
    let body = body.trim();
    let fix = match code {
        401 => {
            "authentication failed: check the token (--token-file or INFLUX_TOKEN) or --user and the password"
        }
        403 => "not allowed to write: give the token write permission on the database or bucket",
        404 if api == Api::V1 => {
            "not found: check --url and --db (1.x answers 404 for a database that does not exist: CREATE DATABASE)"
        }
        404 => "not found: check --url, --org, --bucket or --db, and --api",
        500 if body.contains("retention policy") => {
            "check --rp: the retention policy does not exist"
        }
        500..=599 => "server error",
        _ => "unexpected answer",
    };
    format!("{code}: {fix}; the data waits in the spool and is retried ({body})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_query_encoding() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b""), "");
        assert_eq!(encode_query("my db&x=1"), "my%20db%26x%3D1");
    }

    #[test]
    fn diagnoses_say_what_to_fix() {
        assert!(
            diagnose(
                404,
                "{\"error\":\"database not found: \\\"p1\\\"\"}",
                Api::V1
            )
            .contains("CREATE DATABASE")
        );
        assert!(diagnose(401, "", Api::V2).contains("--token-file"));
        assert!(diagnose(500, "retention policy not found: x", Api::V1).contains("--rp"));
    }
}
