//! The accounting of readings in time order into quarter hours, days and months, in the
//! meter's time zone (each reading's own UTC offset), in constant memory.
//!
//! A period's figures come from its boundaries: the registers of the last reading at or
//! before its end less those of the last reading at or before its start. So a reading at
//! exactly 00:00:00 closes the day before, and a quarter's average is 4 x the rise of the
//! import registers between its two boundary readings. A quarter hour with more than 60 s
//! between two readings of it (or with no reading at or before its start) is incomplete and
//! is no peak.

use std::ops::Sub;

use chrono::{DateTime, Datelike as _, FixedOffset, NaiveDate};
use p1_common::contract::price::{PriceSlot, slot_at};

/// Seconds in a quarter hour.
const QUARTER: i64 = 900;
/// The longest silence between two readings that leaves a quarter hour complete.
const MAX_GAP: i64 = 60;

/// The registers of one reading, in kWh.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Registers {
    pub(crate) import: f64,
    pub(crate) export: f64,
    pub(crate) import_t1: f64,
    pub(crate) import_t2: f64,
    pub(crate) export_t1: f64,
    pub(crate) export_t2: f64,
}

impl Sub for Registers {
    type Output = Registers;
    fn sub(self, start: Registers) -> Registers {
        Registers {
            import: self.import - start.import,
            export: self.export - start.export,
            import_t1: self.import_t1 - start.import_t1,
            import_t2: self.import_t2 - start.import_t2,
            export_t1: self.export_t1 - start.export_t1,
            export_t2: self.export_t2 - start.export_t2,
        }
    }
}

/// What the report takes from a reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    /// Seconds since the epoch.
    pub(crate) utc: i64,
    /// The meter's UTC offset then, in seconds.
    pub(crate) offset: i32,
    pub(crate) registers: Registers,
    /// Import less export power, when the reading has both.
    pub(crate) net_kw: Option<f64>,
}

impl Sample {
    /// The local date of the period `at` ends or lies in: a reading at exactly midnight
    /// closes the day before; `opening` (the first reading) takes the day it begins.
    fn day(&self, opening: bool) -> NaiveDate {
        let local = self.utc + i64::from(self.offset) - i64::from(!opening);
        local_date(local)
    }

    /// The quarter hour `at` ends or lies in, as `day` takes the day.
    fn quarter(&self, opening: bool) -> i64 {
        (self.utc - i64::from(!opening)).div_euclid(QUARTER)
    }

    fn time(&self, utc: i64) -> DateTime<FixedOffset> {
        let zone = FixedOffset::east_opt(self.offset).unwrap_or(FixedOffset::east_opt(0).unwrap());
        DateTime::from_timestamp(utc, 0)
            .unwrap_or_default()
            .with_timezone(&zone)
    }
}

fn local_date(local_secs: i64) -> NaiveDate {
    DateTime::from_timestamp(local_secs.div_euclid(86_400) * 86_400, 0)
        .unwrap_or_default()
        .date_naive()
}

/// A quarter hour, closed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Quarter {
    pub(crate) start: DateTime<FixedOffset>,
    /// The registers' rise over it (from the first reading when the readings begin in it).
    pub(crate) energy: Registers,
    /// 4 x the import registers' rise over it; none without a reading at or before its start.
    pub(crate) average_kw: Option<f64>,
    pub(crate) complete: bool,
}

impl Quarter {
    /// Its average, when it counts as a peak.
    pub(crate) fn peak_kw(&self) -> Option<f64> {
        self.average_kw.filter(|_| self.complete)
    }
}

/// A month as a key: its first day.
pub(crate) type Month = NaiveDate;

fn month_of(date: NaiveDate) -> Month {
    date.with_day(1).unwrap_or(date)
}

/// A day's or a month's figures so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Period {
    /// The day, or the month's first day.
    pub(crate) key: NaiveDate,
    /// The registers at its start.
    pub(crate) start: Registers,
    /// The registers at its end less at its start (set when it closes).
    pub(crate) energy: Registers,
    /// The highest complete quarter and when it began.
    pub(crate) peak: Option<(f64, DateTime<FixedOffset>)>,
    pub(crate) quarters: u32,
    pub(crate) incomplete_quarters: u32,
    /// What its energy cost, quarter hour by quarter hour, at the prices given.
    pub(crate) costs: Costs,
}

/// The energy of each quarter hour times its price (EUR a kWh).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Costs {
    pub(crate) import_eur: f64,
    pub(crate) export_eur: f64,
    /// Quarter hours with energy and no price: not in the sums.
    pub(crate) unpriced_quarters: u32,
}

impl Costs {
    fn add(&mut self, energy: Registers, price: Option<f64>) {
        match price {
            Some(price) => {
                self.import_eur += energy.import * price;
                self.export_eur += energy.export * price;
            }
            None if energy.import != 0.0 || energy.export != 0.0 => self.unpriced_quarters += 1,
            None => {}
        }
    }
}

impl Period {
    fn open(key: NaiveDate, start: Registers) -> Period {
        Period {
            key,
            start,
            energy: Registers::default(),
            peak: None,
            quarters: 0,
            incomplete_quarters: 0,
            costs: Costs::default(),
        }
    }

    fn count(&mut self, q: &Quarter, price: Option<f64>) {
        self.costs.add(q.energy, price);
        self.quarters += 1;
        match q.peak_kw() {
            Some(kw) if self.peak.is_none_or(|(peak, _)| kw > peak) => {
                self.peak = Some((kw, q.start));
            }
            Some(_) => {}
            None => self.incomplete_quarters += 1,
        }
    }
}

/// Where the ledger's figures go as they are known.
pub(crate) trait Sink {
    /// A reading, after the quarters and periods it closed.
    fn sample(&mut self, _sample: &Sample) {}
    fn quarter(&mut self, _quarter: &Quarter) {}
    fn day(&mut self, day: &Period) -> Result<(), p1_common::Error>;
    fn month(&mut self, month: &Period) -> Result<(), p1_common::Error>;
}

/// The quarter hour readings are coming in.
#[derive(Debug, Clone, Copy)]
struct OpenQuarter {
    /// Quarter hours since the epoch.
    index: i64,
    offset: i32,
    /// The registers at its start, from the last reading at or before it (or the first
    /// reading, when the readings begin in it).
    start: Registers,
    /// Whether there was a reading at or before its start.
    start_known: bool,
    gap: bool,
}

/// The readings so far, as the periods they close.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    last: Option<Sample>,
    quarter: Option<OpenQuarter>,
    day: Option<Period>,
    month: Option<Period>,
    /// The price slots the costs are counted at, in time order.
    prices: Vec<PriceSlot>,
}

impl Ledger {
    /// A ledger that counts the costs of each quarter hour at `prices`.
    pub(crate) fn priced(prices: Vec<PriceSlot>) -> Ledger {
        Ledger {
            prices,
            ..Ledger::default()
        }
    }

    /// Takes `s`, the next reading; one no later than the last is skipped (false).
    pub(crate) fn add(
        &mut self,
        s: Sample,
        sink: &mut impl Sink,
    ) -> Result<bool, p1_common::Error> {
        let Some(last) = self.last else {
            self.begin(s);
            sink.sample(&s);
            return Ok(true);
        };
        if s.utc <= last.utc {
            return Ok(false);
        }
        let gap = s.utc - last.utc > MAX_GAP;
        let now = s.quarter(false);
        while let Some(q) = self.quarter.filter(|q| q.index < now) {
            // The silence from `last` to `s` spans this quarter's end: its closing value
            // is older than a minute.
            self.close_quarter(q, &last, q.gap || gap, sink)?;
            self.quarter = Some(OpenQuarter {
                index: q.index + 1,
                offset: s.offset,
                start: last.registers,
                start_known: true,
                gap,
            });
        }
        if let Some(q) = &mut self.quarter {
            q.gap |= gap;
        }
        self.advance(s.day(false), last.registers, sink)?;
        self.last = Some(s);
        sink.sample(&s);
        Ok(true)
    }

    /// The end of the readings: the open quarter, day and month close at the last one.
    pub(crate) fn finish(&mut self, sink: &mut impl Sink) -> Result<(), p1_common::Error> {
        let Some(last) = self.last else {
            return Ok(());
        };
        if let Some(q) = self.quarter.take() {
            // Complete only when the last reading is its very end.
            let whole = (q.index + 1) * QUARTER == last.utc;
            self.close_quarter(q, &last, q.gap || !whole, sink)?;
        }
        if let Some(mut day) = self.day.take() {
            day.energy = last.registers - day.start;
            sink.day(&day)?;
        }
        if let Some(mut month) = self.month.take() {
            month.energy = last.registers - month.start;
            sink.month(&month)?;
        }
        Ok(())
    }

    fn begin(&mut self, s: Sample) {
        let index = s.quarter(true);
        let on_boundary = index * QUARTER == s.utc;
        self.quarter = Some(OpenQuarter {
            index,
            offset: s.offset,
            start: s.registers,
            start_known: on_boundary,
            gap: false,
        });
        let day = s.day(true);
        self.day = Some(Period::open(day, s.registers));
        self.month = Some(Period::open(month_of(day), s.registers));
        self.last = Some(s);
    }

    /// Closes quarter `q` at `last`, the last reading at or before its end.
    fn close_quarter(
        &mut self,
        q: OpenQuarter,
        last: &Sample,
        gap: bool,
        sink: &mut impl Sink,
    ) -> Result<(), p1_common::Error> {
        let at = Sample {
            offset: q.offset,
            ..*last
        };
        let energy = last.registers - q.start;
        let quarter = Quarter {
            start: at.time(q.index * QUARTER),
            energy,
            average_kw: q.start_known.then_some(4.0 * energy.import),
            complete: q.start_known && !gap,
        };
        self.advance(quarter.start.date_naive(), last.registers, sink)?;
        sink.quarter(&quarter);
        let price = slot_at(&self.prices, q.index * QUARTER).map(|slot| slot.value);
        for period in [&mut self.day, &mut self.month].into_iter().flatten() {
            period.count(&quarter, price);
        }
        Ok(())
    }

    /// Closes the days and months before `day`, at `registers` (the last reading at or
    /// before their end); days with no reading come out with nothing used.
    fn advance(
        &mut self,
        day: NaiveDate,
        registers: Registers,
        sink: &mut impl Sink,
    ) -> Result<(), p1_common::Error> {
        while let Some(open) = self.day.as_mut().filter(|d| d.key < day) {
            open.energy = registers - open.start;
            sink.day(open)?;
            let next = open.key.succ_opt().unwrap_or(day);
            *open = Period::open(next, registers);
        }
        while let Some(open) = self.month.as_mut().filter(|m| m.key < month_of(day)) {
            open.energy = registers - open.start;
            sink.month(open)?;
            let next = open.key.checked_add_months(chrono::Months::new(1));
            *open = Period::open(next.unwrap_or(day), registers);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Seen {
        days: Vec<Period>,
        months: Vec<Period>,
        quarters: Vec<Quarter>,
    }

    impl Sink for Seen {
        fn quarter(&mut self, q: &Quarter) {
            self.quarters.push(*q);
        }
        fn day(&mut self, day: &Period) -> Result<(), p1_common::Error> {
            self.days.push(*day);
            Ok(())
        }
        fn month(&mut self, month: &Period) -> Result<(), p1_common::Error> {
            self.months.push(*month);
            Ok(())
        }
    }

    fn at(text: &str, import: f64) -> Sample {
        let time = DateTime::parse_from_rfc3339(text).unwrap();
        Sample {
            utc: time.timestamp(),
            offset: time.offset().local_minus_utc(),
            registers: Registers {
                import,
                import_t1: import,
                ..Registers::default()
            },
            net_kw: None,
        }
    }

    fn run(samples: &[Sample]) -> Seen {
        let mut ledger = Ledger::default();
        let mut seen = Seen::default();
        for s in samples {
            ledger.add(*s, &mut seen).unwrap();
        }
        ledger.finish(&mut seen).unwrap();
        seen
    }

    #[test]
    fn a_reading_at_midnight_closes_the_day_before() {
        let seen = run(&[
            at("2026-06-20T23:59:00+02:00", 100.0),
            at("2026-06-20T23:59:30+02:00", 100.5),
            at("2026-06-21T00:00:00+02:00", 101.0),
            at("2026-06-21T00:00:30+02:00", 103.0),
        ]);
        assert_eq!(seen.days.len(), 2);
        assert_eq!(seen.days[0].key.to_string(), "2026-06-20");
        assert!((seen.days[0].energy.import - 1.0).abs() < 1e-9);
        assert_eq!(seen.days[1].key.to_string(), "2026-06-21");
        assert!((seen.days[1].energy.import - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_quarter_average_is_four_times_the_rise_and_a_gap_makes_it_incomplete() {
        let mut samples = Vec::new();
        // 12:00 to 12:30 every 30 s, 0.5 kWh in the first quarter, then a 90 s gap in
        // the second.
        for i in 0..=60 {
            if (35..38).contains(&i) {
                continue;
            }
            let t = chrono::DateTime::parse_from_rfc3339("2026-06-21T12:00:00+02:00").unwrap()
                + chrono::Duration::seconds(30 * i);
            samples.push(at(&t.to_rfc3339(), 10.0 + 0.5 * i as f64 / 30.0));
        }
        let seen = run(&samples);
        assert_eq!(seen.quarters.len(), 2);
        let first = seen.quarters[0];
        assert_eq!(first.start.to_rfc3339(), "2026-06-21T12:00:00+02:00");
        assert!(first.complete);
        assert!((first.average_kw.unwrap() - 2.0).abs() < 1e-9);
        assert!(!seen.quarters[1].complete);
        assert_eq!(seen.days[0].quarters, 2);
        assert_eq!(seen.days[0].incomplete_quarters, 1);
        assert!((seen.days[0].peak.unwrap().0 - 2.0).abs() < 1e-9);
    }

    #[test]
    fn days_follow_the_meters_offset_across_a_clock_change() {
        // The last Sunday of October 2026: 03:00+02:00 becomes 02:00+01:00.
        let seen = run(&[
            at("2026-10-24T23:00:00+02:00", 1.0),
            at("2026-10-25T00:00:00+02:00", 2.0),
            at("2026-10-25T23:59:59+01:00", 27.0),
            at("2026-10-26T00:00:00+01:00", 27.5),
            at("2026-10-26T00:00:01+01:00", 27.5),
        ]);
        let days: Vec<String> = seen.days.iter().map(|d| d.key.to_string()).collect();
        assert_eq!(days, ["2026-10-24", "2026-10-25", "2026-10-26"]);
        assert!((seen.days[1].energy.import - 25.5).abs() < 1e-9);
    }

    proptest::proptest! {
        /// Whatever the readings' spacing and offsets (a clock change included), the days
        /// and the months each add up to the registers' rise from the first reading to
        /// the last, and every quarter hour is counted once in a day and once in a month.
        #[test]
        fn periods_add_up_to_the_registers_rise(
            steps in proptest::collection::vec((1_i64..4000, 0_u32..5000, proptest::bool::ANY), 1..400),
        ) {
            let mut t = 1_774_738_800; // 2026-03-29T00:00:00+01:00, the spring's change
            let mut import = 1000.0;
            let mut samples = vec![];
            for (dt, wh, summer) in steps {
                t += dt;
                import += f64::from(wh) / 1000.0;
                samples.push(Sample {
                    utc: t,
                    offset: if summer && t > 1_774_746_000 { 7200 } else { 3600 },
                    registers: Registers { import, ..Registers::default() },
                    net_kw: None,
                });
            }
            let seen = run(&samples);
            let rise = samples.last().unwrap().registers.import - samples[0].registers.import;
            let days: f64 = seen.days.iter().map(|d| d.energy.import).sum();
            let months: f64 = seen.months.iter().map(|m| m.energy.import).sum();
            proptest::prop_assert!((days - rise).abs() < 1e-6);
            proptest::prop_assert!((months - rise).abs() < 1e-6);
            let day_quarters: u32 = seen.days.iter().map(|d| d.quarters).sum();
            let month_quarters: u32 = seen.months.iter().map(|m| m.quarters).sum();
            proptest::prop_assert_eq!(day_quarters as usize, seen.quarters.len());
            proptest::prop_assert_eq!(month_quarters as usize, seen.quarters.len());
            // Issue 26: the quarters' energies (what the costs are counted on) add up too.
            let quarters: f64 = seen.quarters.iter().map(|q| q.energy.import).sum();
            proptest::prop_assert!((quarters - rise).abs() < 1e-6);
        }
    }
}
