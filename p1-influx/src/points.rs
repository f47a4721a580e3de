//! Records to points, as the stage p1-influx runs: readings, relay events and peak records
//! become line protocol, which goes to the spool (and the sender is woken for each sealed
//! segment) or, with `--print`, to stdout. Other records pass by.

use std::time::{Duration, Instant};

use log::debug;
use p1_common::Error;
use p1_common::contract::events::{PeakRecord, RelayEvent};
use p1_common::contract::price::PriceRecord;
use p1_common::contract::reading::Reading;
use p1_common::contract::select::Selection;
use p1_common::runtime::stage::{Handled, Out, Stage};

use crate::line_protocol::{NothingToWrite, Schema, reading_keys};
use crate::sender::Sending;
use crate::spool::Spool;

/// Where points go.
pub(crate) trait Sink {
    /// Takes `count` points, the lines of `text`.
    fn take(&mut self, text: &str, count: usize, out: &mut Out<'_>) -> Result<(), Error>;

    /// When [`Sink::tick`] has something to do.
    fn next_tick(&self) -> Option<Instant> {
        None
    }

    fn tick(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// A stop was asked for.
    fn stop(&mut self) {}
}

/// `--print`: line protocol to stdout.
#[derive(Debug)]
pub(crate) struct Print;

impl Sink for Print {
    fn take(&mut self, text: &str, _: usize, out: &mut Out<'_>) -> Result<(), Error> {
        out.write_raw(text.as_bytes())
    }
}

/// The spool, and the sender that posts it.
#[derive(Debug)]
pub(crate) struct Spooled {
    pub(crate) spool: Spool,
    pub(crate) sending: Sending,
}

impl Sink for Spooled {
    fn take(&mut self, text: &str, count: usize, _: &mut Out<'_>) -> Result<(), Error> {
        if self.spool.append(text, count)? {
            self.sending.wake();
        }
        Ok(())
    }

    fn next_tick(&self) -> Option<Instant> {
        self.spool.next_deadline()
    }

    fn tick(&mut self) -> Result<(), Error> {
        if self.spool.tick()? {
            self.sending.wake();
        }
        Ok(())
    }

    fn stop(&mut self) {
        self.sending.stop();
    }
}

/// The stage: records through the schema into a sink.
#[derive(Debug)]
pub(crate) struct Points<S> {
    schema: Schema,
    /// What the schema reads of a reading.
    keys: Selection<Reading>,
    buf: String,
    pub(crate) sink: S,
    /// After a stop request: how long the input is still read.
    drain: Duration,
}

impl<S: Sink> Points<S> {
    pub(crate) fn new(schema: Schema, sink: S, drain: Duration) -> Self {
        Points {
            schema,
            keys: reading_keys(),
            buf: String::with_capacity(4096),
            sink,
            drain,
        }
    }

    /// Hands what the schema wrote to the sink.
    fn give(
        &mut self,
        points: Result<usize, NothingToWrite>,
        out: &mut Out<'_>,
    ) -> Result<(), Error> {
        match points {
            Ok(count) if count > 0 => self.sink.take(&self.buf, count, out),
            Ok(_) => Ok(()),
            Err(why) => {
                out.bad_line(format_args!("{why}: skipped"));
                Ok(())
            }
        }
    }

    fn passes_by(kind: &str, out: &Out<'_>) {
        debug!(
            "{}: line {}: a {kind} record: not written",
            out.log().input,
            out.log().line
        );
    }
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

impl<S: Sink> Stage for Points<S> {
    type Event = ();

    fn reading_keys(&self) -> Option<Selection<Reading>> {
        Some(self.keys)
    }

    fn on_reading(&mut self, reading: Reading, out: &mut Out<'_>) -> Handled {
        self.buf.clear();
        let points = self.schema.reading(&reading, now_secs(), &mut self.buf);
        self.give(points, out)
    }

    fn on_relay(&mut self, event: RelayEvent, out: &mut Out<'_>) -> Handled {
        self.buf.clear();
        let points = Ok(self.schema.relay(&event, now_secs(), &mut self.buf));
        self.give(points, out)
    }

    fn on_peak(&mut self, peak: PeakRecord, out: &mut Out<'_>) -> Handled {
        self.buf.clear();
        let points = Ok(self.schema.peak(&peak, now_secs(), &mut self.buf));
        self.give(points, out)
    }

    fn on_price(&mut self, price: PriceRecord, out: &mut Out<'_>) -> Handled {
        self.buf.clear();
        let points = Ok(self.schema.price(&price, now_secs(), &mut self.buf));
        self.give(points, out)
    }

    fn on_other(&mut self, kind: &str, out: &mut Out<'_>) -> Handled {
        Self::passes_by(kind, out);
        Ok(())
    }

    fn next_tick(&self) -> Option<Instant> {
        self.sink.next_tick()
    }

    fn on_tick(&mut self, _: &mut Out<'_>) -> Handled {
        self.sink.tick()
    }

    fn on_stop(&mut self) {
        self.sink.stop();
    }

    fn drain(&self) -> Duration {
        self.drain
    }
}
