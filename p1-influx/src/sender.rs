//! Posting sealed spool segments to `InfluxDB`, oldest first, and deciding what each answer
//! means: done, some lines rejected, too large, come back later, or wrong settings.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{debug, error, info, warn};
use p1_common::Error;
use p1_common::runtime::error::IoCause;
use p1_common::runtime::signals::Signals;

use crate::gzip::Gzip;
use crate::spool::layout::{Claim, Layout, SegmentLines, Syncer};

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

impl Target {
    /// The name of this target's spool in the spool directory: records spooled for one
    /// database never reach another (a demo's, a simulator's, the real one). The write URL
    /// (host, port, database or bucket, retention policy) names it; credentials do not.
    pub(crate) fn spool_name(&self) -> String {
        format!(
            "target-{:016x}",
            p1_common::runtime::id::fnv1a(self.url.as_bytes())
        )
    }
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

/// How often the sender looks for new segments when nothing wakes it (the writer wakes it
/// at every seal; this is only a safety net).
const IDLE: Duration = Duration::from_mins(1);

/// The sender's side: where it posts, and how it paces and syncs.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub(crate) target: Target,
    pub(crate) timeout: Duration,
    /// The age of a segment's oldest line when it is sealed, at most.
    pub(crate) batch_age: Duration,
    /// What is spilled to disk is `fsync`ed this long after it was read, at most.
    pub(crate) sync: Duration,
    /// After a stop request: how long it still sends.
    pub(crate) drain: Duration,
}

pub(crate) struct Sender {
    target: Target,
    layout: Arc<Layout>,
    /// The age of a segment's oldest line when it is sealed, at most.
    batch_age: Duration,
    /// Syncs what is spilled to disk.
    syncer: Syncer,
    agent: ureq::Agent,
    /// Set when the input has ended: send everything, then return.
    input_done: Arc<AtomicBool>,
    /// Set with the drain deadline on SIGTERM.
    stop: Arc<AtomicBool>,
    drain: Duration,
    wake: Receiver<()>,
    sent_lines: u64,
    stop_seen: Option<Instant>,
    /// Segments that could not be read, removed or moved aside: not tried again.
    given_up: std::collections::HashSet<u64>,
    backoff: Duration,
    last_complaint: Option<Instant>,
    rng: u64,
    gzip: Gzip,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// The sender thread and the flags it watches.
#[derive(Debug)]
pub(crate) struct Sending {
    thread: JoinHandle<u64>,
    input_done: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    wake: mpsc::Sender<()>,
}

impl Sending {
    /// Starts sending what `layout` holds.
    pub(crate) fn start(delivery: &Delivery, layout: Arc<Layout>) -> Sending {
        let input_done = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (wake, woken) = mpsc::channel();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(delivery.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        let mut sender = Sender {
            target: delivery.target.clone(),
            layout,
            batch_age: delivery.batch_age,
            syncer: Syncer::new(delivery.sync),
            agent,
            input_done: Arc::clone(&input_done),
            stop: Arc::clone(&stop),
            drain: delivery.drain,
            wake: woken,
            sent_lines: 0,
            stop_seen: None,
            given_up: std::collections::HashSet::new(),
            backoff: Duration::from_secs(1),
            last_complaint: None,
            rng: seed,
            gzip: Gzip::new(),
        };
        let thread = std::thread::spawn(move || {
            sender.run();
            sender.sent_lines
        });
        Sending {
            thread,
            input_done,
            stop,
            wake,
        }
    }

    /// A new segment is sealed.
    pub(crate) fn wake(&self) {
        let _ = self.wake.send(());
    }

    /// Starts the sender's drain time (it sends what it can, then leaves the rest).
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.wake();
    }

    /// Tells the sender the input is over and waits for it (a second SIGTERM stops it at
    /// once); how many points it sent.
    pub(crate) fn finish(self, stopped: bool, signals: &Signals) -> Result<u64, Error> {
        if stopped {
            self.stop();
        }
        self.input_done.store(true, Ordering::Release);
        self.wake();
        let stop = Arc::clone(&self.stop);
        let wake = self.wake.clone();
        signals.listen(move |_| {
            stop.store(true, Ordering::Relaxed);
            let _ = wake.send(());
        });
        self.thread.join().map_err(|_| {
            Error::failure("the sender failed (a bug): what it had not sent stays in the spool")
        })
    }
}

impl Sender {
    fn stopped(&mut self) -> bool {
        if !self.stop.load(Ordering::Relaxed) {
            return false;
        }
        let seen = *self.stop_seen.get_or_insert_with(Instant::now);
        seen.elapsed() >= self.drain
    }

    /// The end of the drain time, once a stop was asked for.
    fn drain_end(&mut self) -> Option<Instant> {
        if !self.stop.load(Ordering::Relaxed) {
            return None;
        }
        Some(*self.stop_seen.get_or_insert_with(Instant::now) + self.drain)
    }

    /// Waits until `until` (or less when the drain time runs out, or a wake-up comes when
    /// `woken` says to stop waiting): what is in memory goes to disk as it comes, and what
    /// is on disk is synced when due. False once stopped.
    fn wait(&mut self, until: Instant, return_when_woken: bool) -> bool {
        loop {
            if self.stopped() {
                return false;
            }
            let deadline = [Some(until), self.drain_end(), self.syncer.due()]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(until);
            let woken = self
                .wake
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .is_ok();
            self.sync_if_due();
            if woken && return_when_woken {
                return !self.stopped();
            }
            if woken {
                self.spill();
            }
            if Instant::now() >= until {
                return !self.stopped();
            }
        }
    }

    /// Sleeps up to `pause`, or less when the drain time runs out; false when stopped.
    /// Waiting, the sender is behind: what is in memory goes to disk, as it comes.
    fn pause(&mut self, pause: Duration) -> bool {
        self.spill();
        self.wait(Instant::now() + pause, false)
    }

    /// Moves the sealed segments in memory to disk.
    fn spill(&mut self) {
        match self.layout.spill() {
            Ok(0) => {}
            Ok(moved) => {
                debug!("behind: {moved} batches moved to disk");
                self.syncer.written(self.batch_age);
            }
            Err(e) => error!(
                "spool {}: cannot move batches to disk ({}); they stay in memory",
                self.layout.dirs().cold.display(),
                IoCause(&e)
            ),
        }
    }

    fn sync_if_due(&mut self) {
        if let Err(e) = self.syncer.sync_if_due(&self.layout) {
            error!(
                "spool {}: cannot sync ({})",
                self.layout.dirs().cold.display(),
                IoCause(&e)
            );
        }
    }

    /// Waits for a new segment (or a stop, or the time to look again).
    fn idle(&mut self) {
        let _ = self.wait(Instant::now() + IDLE, true);
    }

    /// Sends sealed segments until the input has ended and the spool is empty, or a stop.
    fn run(&mut self) {
        let layout = Arc::clone(&self.layout);
        loop {
            let segments = match layout.sealed() {
                Ok(segments) => segments,
                Err(e) => {
                    error!("spool {}: {}", layout.dirs().cold.display(), IoCause(&e));
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
                let Some((claim, read)) = self.load(layout.claim(segment)) else {
                    continue;
                };
                let lines: Vec<&str> = read.text.lines().collect();
                match self.deliver(&lines) {
                    Outcome::Done => {
                        self.sent_lines += lines.len() as u64;
                        sent_any = true;
                        let seq = claim.segment.seq;
                        let path = claim.segment.path.clone();
                        if let Err(e) = claim.remove() {
                            // Moved aside it might be renamed back and sent twice: kept.
                            error!(
                                "{}: sent, but cannot be removed ({}): not sent again; remove it",
                                path.display(),
                                IoCause(&e)
                            );
                            self.given_up.insert(seq);
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

    /// A claimed segment and the lines of it that can be sent; `None` when there are none
    /// to send now (it is gone, or cannot be read and was moved aside).
    fn load<'a>(&mut self, claim: Claim<'a>) -> Option<(Claim<'a>, SegmentLines)> {
        match claim.read() {
            Ok(read) => {
                if read.dropped > 0 {
                    warn!(
                        "{}: {} lines that are not whole points (cut off by a power cut, or \
                         damaged) dropped; the other {} are sent",
                        claim.segment.path.display(),
                        read.dropped,
                        read.kept
                    );
                }
                Some((claim, read))
            }
            // Dropped for the bound before it was claimed.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                self.give_up(claim, &e);
                None
            }
        }
    }

    /// Moves a segment that cannot be read aside, or failing that remembers not to try it
    /// again; says once what to do.
    fn give_up(&mut self, claim: Claim<'_>, cause: &std::io::Error) {
        let (seq, path) = (claim.segment.seq, claim.segment.path.clone());
        let path = path.display();
        match claim.quarantine() {
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
        self.given_up.insert(seq);
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
        let body = match self.gzip.of(lines) {
            Ok(body) => body,
            Err(e) => return Answer::Unreachable(ureq::Error::Io(std::io::Error::other(e))),
        };
        let mut request = self
            .agent
            .post(&self.target.url)
            .header("Content-Type", "text/plain; charset=utf-8")
            .header("Content-Encoding", "gzip");
        if let Some(auth) = &self.target.authorization {
            request = request.header("Authorization", auth);
        }
        match request.send(body) {
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
