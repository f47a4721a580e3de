//! A command that ran to its end, with assertions that read as the expectation they check,
//! and its output read as the typed records of the stream.

use std::ops::Deref;
use std::process::Output;

use p1_common::contract::envelope::TelegramEnvelope;
use p1_common::contract::events::{PeakRecord, RelayEvent};
use p1_common::contract::reading::Reading;
use p1_common::contract::record::Record;

/// What [`crate::run`] gives: the output of a finished command.
#[derive(Debug)]
pub struct Finished {
    output: Output,
}

impl Deref for Finished {
    type Target = Output;

    fn deref(&self) -> &Output {
        &self.output
    }
}

impl From<Output> for Finished {
    fn from(output: Output) -> Self {
        Finished { output }
    }
}

impl Finished {
    /// stdout as text.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// stderr as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// The exit status; -1 for a signal.
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    /// Asserts that it succeeded (showing stderr if not).
    #[track_caller]
    pub fn success(&self) -> &Self {
        self.status_is(0)
    }

    /// Asserts its exit status.
    #[track_caller]
    pub fn status_is(&self, code: i32) -> &Self {
        assert_eq!(self.code(), code, "exit status; stderr:\n{}", self.stderr());
        self
    }

    /// Asserts that stderr says `text`.
    #[track_caller]
    pub fn stderr_contains(&self, text: &str) -> &Self {
        let stderr = self.stderr();
        assert!(stderr.contains(text), "stderr lacks {text:?}:\n{stderr}");
        self
    }

    /// Asserts that stderr does not say `text`.
    #[track_caller]
    pub fn stderr_lacks(&self, text: &str) -> &Self {
        let stderr = self.stderr();
        assert!(!stderr.contains(text), "stderr says {text:?}:\n{stderr}");
        self
    }

    /// Every line of stdout as a typed record; a line that is none fails the test.
    #[track_caller]
    pub fn records(&self) -> Vec<Record<'static>> {
        records(&self.stdout())
    }

    /// The readings on stdout.
    #[track_caller]
    pub fn readings(&self) -> Vec<Reading> {
        readings(self.records())
    }

    /// The relay events on stdout.
    #[track_caller]
    pub fn relay_events(&self) -> Vec<RelayEvent> {
        relay_events(self.records())
    }

    /// The peak records on stdout.
    #[track_caller]
    pub fn peaks(&self) -> Vec<PeakRecord> {
        of_type(self.records(), |r| match r {
            Record::Peak(peak) => Some(peak.into_owned()),
            _ => None,
        })
    }

    /// The telegram envelopes on stdout.
    #[track_caller]
    pub fn envelopes(&self) -> Vec<TelegramEnvelope<'static>> {
        of_type(self.records(), |r| match r {
            Record::Telegram(envelope) => Some(envelope),
            _ => None,
        })
    }
}

/// Every non-empty line of `text` as a typed record; a line that is none fails the test.
#[track_caller]
pub fn records(text: &str) -> Vec<Record<'static>> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            Record::from_json(line)
                .unwrap_or_else(|e| panic!("not a record: {e}: {line}"))
                .into_owned()
        })
        .collect()
}

/// The readings among `records`.
pub fn readings(records: Vec<Record<'static>>) -> Vec<Reading> {
    of_type(records, |r| match r {
        Record::Reading(reading) => Some(reading.into_owned()),
        _ => None,
    })
}

/// The relay events among `records`.
pub fn relay_events(records: Vec<Record<'static>>) -> Vec<RelayEvent> {
    of_type(records, |r| match r {
        Record::Relay(event) => Some(event.into_owned()),
        _ => None,
    })
}

/// The records `pick` takes, as it gives them.
fn of_type<T>(
    records: Vec<Record<'static>>,
    pick: impl FnMut(Record<'static>) -> Option<T>,
) -> Vec<T> {
    records.into_iter().filter_map(pick).collect()
}
