//! The record stream into the snapshot: the latest reading, telegram, peak record and load
//! states stored for the HTTP workers, each valid telegram handed to the raw fan-out, and
//! the mDNS advertisement started once a serial is known.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use mdns_sd::ServiceDaemon;
use p1_common::contract::envelope::TelegramEnvelope;
use p1_common::contract::events::RelayEvent;
use p1_common::contract::live::Prices;
use p1_common::contract::price::{PriceRecord, next_day};
use p1_common::contract::reading::{Reading, ReadingKey};
use p1_common::contract::select::Selection;
use p1_common::protocol::meter_time::MeterTime;
use p1_common::runtime::stage::{Handled, Out, Stage};

use crate::fanout::Fanout;
use crate::snapshot::{self, Shared};
use crate::{homewizard, mdns};

/// p1-serve's side of the stream.
pub(crate) struct Stream {
    pub(crate) shared: Shared,
    pub(crate) fanout: Option<Fanout>,
    /// Advertise the API at this address (the one listened on), once a serial is known.
    pub(crate) mdns_at: Option<SocketAddr>,
    /// The serial HomeWizard clients see, when given.
    pub(crate) serial: Option<String>,
    pub(crate) mdns: Option<ServiceDaemon>,
    /// The price file, read for the next 24 hours when a slot begins.
    pub(crate) prices: Option<PathBuf>,
}

impl Stream {
    /// Advertises the API once the serial is known: given, or derived from the meter id of
    /// the first reading.
    pub(crate) fn advertise(&mut self, reading: Option<&Reading>) {
        let Some(at) = self.mdns_at.take() else {
            return;
        };
        let serial = self.serial.clone().or_else(|| {
            reading
                .and_then(|r| r.meter_id.as_deref())
                .map(homewizard::serial_of)
        });
        match serial {
            Some(serial) => self.mdns = mdns::advertise(at, &serial),
            None => self.mdns_at = Some(at),
        }
    }

    /// Ends the advertisement.
    pub(crate) fn close(self) {
        if let Some(daemon) = self.mdns {
            let _ = daemon.shutdown();
        }
    }
}

impl Stage for Stream {
    type Event = ();

    /// The meter id (for the advertisement), the time and the power (for the history): the
    /// line is kept, and read when asked for.
    fn reading_keys(&self) -> Option<Selection<Reading>> {
        Some(ReadingKey::select(&[
            ReadingKey::meter_id,
            ReadingKey::time,
            ReadingKey::power_import_kw,
            ReadingKey::power_export_kw,
        ]))
    }

    fn on_reading(&mut self, reading: Reading, out: &mut Out<'_>) -> Handled {
        self.advertise(Some(&reading));
        let mut s = snapshot::write(&self.shared);
        s.keep_reading_line(out.line());
        s.reading_at = Some(Instant::now());
        let time = reading.time.as_ref().and_then(MeterTime::datetime);
        if let (Some(time), Some(import), Some(export)) =
            (time, reading.power_import_kw, reading.power_export_kw)
        {
            let offset = time.offset().local_minus_utc();
            s.history.add(time.timestamp(), offset, import, export);
        }
        Ok(())
    }

    fn on_telegram(&mut self, envelope: TelegramEnvelope<'_>, _: &mut Out<'_>) -> Handled {
        if envelope.invalid.is_some() {
            snapshot::write(&self.shared).crc_errors += 1;
            return Ok(());
        }
        let telegram = envelope.telegram.text().into_owned();
        if let Some(fanout) = &self.fanout {
            fanout.publish(&telegram);
        }
        let mut s = snapshot::write(&self.shared);
        s.telegrams += 1;
        s.telegram = Some(telegram);
        s.telegram_at = Some(Instant::now());
        Ok(())
    }

    fn on_relay(&mut self, event: RelayEvent, _: &mut Out<'_>) -> Handled {
        snapshot::write(&self.shared)
            .loads
            .insert(event.load.clone(), event);
        Ok(())
    }

    /// The slot that began, with the next 24 hours of the price file (read once a slot).
    fn on_price(&mut self, price: PriceRecord, _: &mut Out<'_>) -> Handled {
        let next_24h = self
            .prices
            .as_deref()
            .and_then(|path| next_day(path, &price))
            .unwrap_or_else(|| vec![price.clone()]);
        snapshot::write(&self.shared).prices = Prices {
            current: Some(price),
            next_24h,
        };
        Ok(())
    }

    /// Peak records are kept as their lines (`on_other`).
    fn unread_types(&self) -> &'static [&'static str] {
        &["peak"]
    }

    fn on_other(&mut self, kind: &str, out: &mut Out<'_>) -> Handled {
        if kind == "peak" {
            snapshot::write(&self.shared).keep_peak_line(out.line());
        }
        Ok(())
    }
}
