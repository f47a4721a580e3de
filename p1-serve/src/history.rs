//! The last 24 hours of power a minute a point, for the web page's chart (`/p1/history`):
//! at most 1,440 points, kept as the readings come.

use std::collections::VecDeque;

use p1_common::contract::live::{History, Minute};

/// The points a day holds.
const MINUTES: usize = 1440;

/// The minutes so far, and the one being gathered.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    minutes: VecDeque<Minute>,
    open: Option<Gathering>,
}

/// A minute's sums so far.
#[derive(Debug, Clone, Copy)]
struct Gathering {
    t: i64,
    offset_s: i32,
    net: f64,
    import: f64,
    n: u32,
}

impl Gathering {
    fn average(&self) -> Minute {
        let n = f64::from(self.n.max(1));
        let round = |kw: f64| (kw / n * 1000.0).round() / 1000.0;
        Minute {
            t: self.t,
            offset_s: self.offset_s,
            net_kw: round(self.net),
            import_kw: round(self.import),
        }
    }
}

impl Recorder {
    /// A reading at `utc` (seconds) on a clock `offset_s` from UTC. A clock that goes back
    /// starts the history again.
    pub(crate) fn add(&mut self, utc: i64, offset_s: i32, import_kw: f64, export_kw: f64) {
        let t = utc.div_euclid(60) * 60;
        match self.open {
            Some(ref mut open) if open.t == t => {
                open.net += import_kw - export_kw;
                open.import += import_kw;
                open.n += 1;
                return;
            }
            Some(open) if open.t < t => self.keep(open.average()),
            Some(_) => self.minutes.clear(),
            None => {}
        }
        self.open = Some(Gathering {
            t,
            offset_s,
            net: import_kw - export_kw,
            import: import_kw,
            n: 1,
        });
    }

    fn keep(&mut self, minute: Minute) {
        if self.minutes.capacity() == 0 {
            self.minutes.reserve_exact(MINUTES);
        }
        if self.minutes.len() == MINUTES {
            self.minutes.pop_front();
        }
        self.minutes.push_back(minute);
    }

    /// The last day's minutes, the one being gathered last.
    pub(crate) fn history(&self) -> History {
        let newest = self.open.map(|o| o.average());
        let since = newest.map_or(i64::MIN, |m| m.t - (MINUTES as i64 - 1) * 60);
        History {
            minutes: self
                .minutes
                .iter()
                .copied()
                .chain(newest)
                .filter(|m| m.t >= since)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_is_its_readings_average_and_a_day_is_kept_at_most() {
        let mut recorder = Recorder::default();
        let start = 1_780_000_020;
        for s in 0..(2 * 86_400 / 10) {
            let t = start + s * 10;
            recorder.add(t, 7200, if t % 60 < 30 { 2.0 } else { 1.0 }, 0.5);
        }
        let history = recorder.history();
        assert_eq!(history.minutes.len(), MINUTES);
        let last = history.minutes[MINUTES - 2];
        assert_eq!((last.net_kw, last.import_kw), (1.0, 1.5));
        assert!(history.minutes.windows(2).all(|w| w[1].t - w[0].t == 60));
    }
}
