//! The records p1-relay writes besides passing others on: a load switched, and the
//! capacity-tariff quarter hour so far.

use serde::{Deserialize, Serialize};

use crate::protocol::meter_time::MeterTime;

crate::record_type! {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct RelayEvent ("relay", "A load switched on or off, and why (p1-relay, one a switch).") {
        time: MeterTime => "when, on the readings' clock (RFC 3339, whole seconds)",
        load: String => "the load's name in the configuration",
        state: SwitchState => "what it was switched to",
        reason: String => "why, in words",
        #[serde(default, skip_serializing_if = "Option::is_none")]
        price: Option<f64> => "the price of the slot, EUR a kWh, when a price rule switched it",
    }
}

crate::record_type! {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct PeakRecord ("peak", "The running quarter hour as the Belgian capacity tariff counts it (the average import over fixed quarters at :00, :15, :30 and :45), for controllers that want to stay under a budget (p1-relay, after each reading with import registers).") {
        time: MeterTime => "the reading's time",
        quarter_start: MeterTime => "when the quarter hour began",
        elapsed_s: u32 => "seconds of the quarter gone",
        average_kw: f64 => "the average import over the elapsed part of the quarter",
        projected_kw: f64 => "the quarter's average if the import goes on as now",
        #[serde(default, skip_serializing_if = "Option::is_none")]
        month_peak_kw: Option<f64> => "the month's peak so far, as the meter says (1-0:1.6.0)",
        budget_kw: f64 => "the quarter average to stay under: the higher of the limit and the month's peak, less the margin",
        headroom_kw: f64 => "how much more may be drawn, on top of the present net import, for the rest of the quarter without going over the budget; negative: how much to shed",
        allowed_kw: f64 => "the average net import the rest of the quarter may have: the present net import plus the headroom (what a controller that limits the whole connection wants)",
    }
}

/// Whether a load is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SwitchState {
    /// Switched on.
    On,
    /// Switched off.
    Off,
}

impl SwitchState {
    /// `On` when `on`.
    pub fn from_on(on: bool) -> Self {
        if on {
            SwitchState::On
        } else {
            SwitchState::Off
        }
    }

    /// Whether it is `On`.
    pub fn is_on(self) -> bool {
        self == SwitchState::On
    }
}
