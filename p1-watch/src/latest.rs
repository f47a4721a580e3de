//! The latest of everything the view shows, from the record stream or from p1-serve's
//! `/p1/now`, and how old it is.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use p1_common::contract::events::{PeakRecord, RelayEvent};
use p1_common::contract::live::Now;
use p1_common::contract::price::PriceRecord;
use p1_common::contract::reading::Reading;

/// What the view shows.
#[derive(Debug, Default)]
pub(crate) struct Latest {
    pub(crate) reading: Option<Reading>,
    /// When the reading came, by this machine's clock.
    pub(crate) reading_at: Option<Instant>,
    pub(crate) peak: Option<PeakRecord>,
    /// The running price slot, when p1-relay --prices writes them.
    pub(crate) price: Option<PriceRecord>,
    /// Each load's latest event, by name.
    pub(crate) loads: BTreeMap<String, RelayEvent>,
    /// Why the data cannot be had now (p1-serve unreachable, the input ended).
    pub(crate) trouble: Option<String>,
}

impl Latest {
    pub(crate) fn reading(&mut self, reading: Reading) {
        self.reading = Some(reading);
        self.reading_at = Some(Instant::now());
    }

    pub(crate) fn relay(&mut self, event: RelayEvent) {
        self.loads.insert(event.load.clone(), event);
    }

    /// p1-serve's `/p1/now`, whose reading was `age_s` old when it was answered.
    pub(crate) fn now(&mut self, now: Now) {
        self.reading_at = now
            .age_s
            .and_then(|age| Instant::now().checked_sub(Duration::from_secs_f64(age.max(0.0))));
        self.reading = now.reading;
        self.peak = now.peak;
        self.price = now.price;
        self.loads = now.loads.into_iter().map(|e| (e.load.clone(), e)).collect();
        self.trouble = None;
    }

    /// How old the reading is.
    pub(crate) fn age(&self) -> Option<Duration> {
        self.reading_at.map(|at| at.elapsed())
    }

    /// Whether the values are too old to show.
    pub(crate) fn stale(&self, after: Duration) -> bool {
        self.age().is_none_or(|age| age > after)
    }
}

/// One phase's values.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Phase {
    pub(crate) import_kw: Option<f64>,
    pub(crate) export_kw: Option<f64>,
    pub(crate) voltage_v: Option<f64>,
    pub(crate) current_a: Option<f64>,
}

/// The phases of a reading (a single-phase meter has L1 only).
pub(crate) fn phases(r: &Reading) -> Vec<(&'static str, Phase)> {
    [
        (
            "L1",
            Phase {
                import_kw: r.power_import_l1_kw,
                export_kw: r.power_export_l1_kw,
                voltage_v: r.voltage_l1_v,
                current_a: r.current_l1_a,
            },
        ),
        (
            "L2",
            Phase {
                import_kw: r.power_import_l2_kw,
                export_kw: r.power_export_l2_kw,
                voltage_v: r.voltage_l2_v,
                current_a: r.current_l2_a,
            },
        ),
        (
            "L3",
            Phase {
                import_kw: r.power_import_l3_kw,
                export_kw: r.power_export_l3_kw,
                voltage_v: r.voltage_l3_v,
                current_a: r.current_l3_a,
            },
        ),
    ]
    .into_iter()
    .filter(|(_, p)| *p != Phase::default())
    .collect()
}

/// Import less export: positive when the house draws.
pub(crate) fn net_kw(r: &Reading) -> Option<f64> {
    Some(r.power_import_kw? - r.power_export_kw.unwrap_or(0.0))
}

/// A meter time as the clock on the wall shows it.
pub(crate) fn clock(time: Option<&p1_common::protocol::meter_time::MeterTime>) -> String {
    time.and_then(p1_common::protocol::meter_time::MeterTime::datetime)
        .map_or_else(|| "--:--:--".into(), |t| t.format("%H:%M:%S").to_string())
}

/// A value to three decimals, or a dash.
/// The price of the running slot, as the views show it.
pub(crate) fn price(p: &PriceRecord) -> String {
    format!("price {:.4} EUR/kWh", p.value)
}

pub(crate) fn kw(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.3}"))
}

/// Gas, water and heat meters with a value: (kind, value with unit, time read).
pub(crate) fn meters(r: &Reading) -> Vec<(String, String, String)> {
    r.mbus
        .iter()
        .filter_map(|m| {
            let value = m.value?;
            let unit = m.unit.as_deref().unwrap_or("");
            Some((
                m.kind.name().to_string(),
                format!("{value} {unit}"),
                clock(m.time.as_ref()),
            ))
        })
        .collect()
}

/// A load's state in a word.
pub(crate) fn on_off(state: p1_common::contract::events::SwitchState) -> &'static str {
    if state.is_on() { "on" } else { "off" }
}
