//! The view as one plain line, for when stdout is no terminal (a log, a pipe, `watch`).

use std::fmt::Write as _;
use std::time::Duration;

use crate::latest::{Latest, clock, kw, net_kw, on_off, phases, price};

/// One line: the time, net power, each phase's net, the quarter hour, the loads, the age.
pub(crate) fn line(latest: &Latest, stale_after: Duration) -> String {
    let Some(reading) = &latest.reading else {
        return latest
            .trouble
            .clone()
            .unwrap_or_else(|| "waiting for the first reading".into());
    };
    let age = latest.age().map_or(0.0, |a| a.as_secs_f64());
    let mut line = clock(reading.time.as_ref());
    if latest.stale(stale_after) {
        let _ = write!(line, "  STALE: no reading for {age:.0} s");
        if let Some(trouble) = &latest.trouble {
            let _ = write!(line, " ({trouble})");
        }
        return line;
    }
    let _ = write!(line, "  net {} kW", signed(net_kw(reading)));
    for (name, phase) in phases(reading) {
        let net = phase.import_kw.map(|i| i - phase.export_kw.unwrap_or(0.0));
        let _ = write!(line, "  {name} {}", signed(net));
    }
    if let Some(p) = &latest.peak {
        let _ = write!(
            line,
            "  quarter {} kW, projected {}, budget {}, headroom {}",
            kw(Some(p.average_kw)),
            kw(Some(p.projected_kw)),
            kw(Some(p.budget_kw)),
            kw(Some(p.headroom_kw))
        );
        if let Some(peak) = p.month_peak_kw {
            let _ = write!(line, ", month peak {peak:.3}");
        }
    }
    if let Some(p) = &latest.price {
        let _ = write!(line, "  {}", price(p));
    }
    for event in latest.loads.values() {
        let _ = write!(line, "  {} {}", event.load, on_off(event.state));
    }
    let _ = write!(line, "  ({age:.1} s old)");
    line
}

/// A power with its sign: + for import.
pub(crate) fn signed(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:+.3}"))
}
