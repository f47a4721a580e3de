//! Watching a live source: one warning when it goes quiet, a hint when bytes arrive but no
//! telegram does (wrong baud rate or parity), and from time to time what was dropped and why.

use std::time::{Duration, Instant};

use log::{info, warn};
use p1_common::protocol::frame::FrameStats;

/// Bytes without a single valid telegram after which a wrong line setting is the likely cause
/// (a telegram is under 2 KiB and comes every second).
const BYTES_WITHOUT_TELEGRAM: u64 = 8 * 1024;

#[derive(Debug)]
pub(crate) struct Health {
    source: String,
    idle_warning: Duration,
    report_every: Duration,
    last_byte: Instant,
    idle_warned: bool,
    bytes_since_telegram: u64,
    telegrams_seen: u64,
    line_hint_given: bool,
    last_report: Instant,
    reported: FrameStats,
}

impl Health {
    pub(crate) fn new(source: &str, idle_warning: Duration, report_every: Duration) -> Self {
        let now = Instant::now();
        Health {
            source: source.to_string(),
            idle_warning,
            report_every,
            last_byte: now,
            idle_warned: false,
            bytes_since_telegram: 0,
            telegrams_seen: 0,
            line_hint_given: false,
            last_report: now,
            reported: FrameStats::default(),
        }
    }

    /// How long nothing has arrived.
    pub(crate) fn idle_for(&self) -> Duration {
        self.last_byte.elapsed()
    }

    /// When the next check is due: the silence warning, `idle_reconnect` (a silence that
    /// ends the connection), or the report of what was dropped.
    pub(crate) fn next_check(&self, idle_reconnect: Option<Duration>) -> Instant {
        let mut due = self.last_report + self.report_every;
        if !self.idle_warned {
            due = due.min(self.last_byte + self.idle_warning);
        }
        if let Some(limit) = idle_reconnect {
            due = due.min(self.last_byte + limit);
        }
        due
    }

    /// After a reconnect: the silence so far does not count.
    pub(crate) fn reset_idle(&mut self) {
        self.last_byte = Instant::now();
    }

    pub(crate) fn bytes(&mut self, n: usize) {
        if self.idle_warned {
            info!(
                "{}: data again after {} s",
                self.source,
                self.last_byte.elapsed().as_secs()
            );
            self.idle_warned = false;
        }
        self.last_byte = Instant::now();
        self.bytes_since_telegram += n as u64;
    }

    /// Called after each push, with the framer's counts.
    pub(crate) fn check(&mut self, stats: &FrameStats) {
        if stats.telegrams > self.telegrams_seen {
            self.telegrams_seen = stats.telegrams;
            self.bytes_since_telegram = 0;
            self.line_hint_given = false;
        }
        if !self.idle_warned && self.last_byte.elapsed() >= self.idle_warning {
            self.idle_warned = true;
            warn!(
                "{}: no data for {} s: check the cable and that the meter's P1 port is enabled; still waiting",
                self.source,
                self.idle_warning.as_secs()
            );
        }
        if !self.line_hint_given && self.bytes_since_telegram >= BYTES_WITHOUT_TELEGRAM {
            self.line_hint_given = true;
            warn!(
                "{}: {} bytes without a valid telegram ({}): wrong baud rate or parity? \
                 DSMR 2.2/3 meters need --dsmr 2.2 (9600 7E1), DSMR 4/5 and Fluvius 115200 8N1",
                self.source,
                self.bytes_since_telegram,
                stats.rejected_by_reason()
            );
        }
        if self.last_report.elapsed() >= self.report_every {
            self.report(stats);
        }
    }

    fn report(&mut self, stats: &FrameStats) {
        let recent = stats.since(&self.reported);
        if recent.rejected() > 0 || recent.garbage_bytes > 0 {
            info!(
                "{}: in the last {} s: {} telegrams, dropped: {}, {} bytes of garbage",
                self.source,
                self.last_report.elapsed().as_secs(),
                recent.telegrams,
                recent.rejected_by_reason(),
                recent.garbage_bytes
            );
        }
        self.reported = stats.clone();
        self.last_report = Instant::now();
    }
}
