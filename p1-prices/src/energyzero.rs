//! EnergyZero's public prices (the Netherlands, no token): `energyprices` with `fromDate`
//! and `tillDate` in UTC, answering `{"Prices":[{"price":0.0712,"readingDate":"...Z"}]}` in
//! EUR/kWh without VAT (`inclBtw=false`); a slot ends where the next begins. No prices yet:
//! an empty list.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::slot::{Answer, Slot};

/// The default server.
pub(crate) const SERVER: &str = "https://api.energyzero.nl";

/// The request of the prices from `from` to `to` (UTC).
pub(crate) fn request(base: &str, (from, to): (DateTime<Utc>, DateTime<Utc>)) -> String {
    let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    format!(
        "{base}/v1/energyprices?fromDate={}&tillDate={}&interval=4&usageType=1&inclBtw=false",
        stamp(from),
        stamp(to - Duration::milliseconds(1))
    )
}

#[derive(Debug, Deserialize)]
struct Document {
    #[serde(rename = "Prices")]
    prices: Vec<Price>,
}

#[derive(Debug, Deserialize)]
struct Price {
    price: f64,
    #[serde(rename = "readingDate")]
    reading_date: DateTime<Utc>,
}

/// Reads an answer.
pub(crate) fn read(json: &str) -> Result<Answer, String> {
    let document: Document =
        serde_json::from_str(json).map_err(|e| format!("not EnergyZero's prices: {e}"))?;
    let mut prices = document.prices;
    if prices.is_empty() {
        return Ok(Answer::NotYet(
            "EnergyZero has no prices for that day yet".into(),
        ));
    }
    prices.sort_by_key(|p| p.reading_date);
    let mut slots: Vec<Slot> = Vec::with_capacity(prices.len());
    for (i, p) in prices.iter().enumerate() {
        let step = match (prices.get(i + 1), slots.last()) {
            (Some(next), _) => next.reading_date - p.reading_date,
            (None, Some(before)) => before.end - before.start,
            (None, None) => Duration::hours(1),
        };
        if !p.price.is_finite() {
            return Err(format!("price {} at {}", p.price, p.reading_date));
        }
        slots.push(Slot {
            start: p.reading_date,
            end: p.reading_date + step,
            eur_kwh: p.price,
        });
    }
    Ok(Answer::Prices(slots))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_ends_where_the_next_begins_and_none_is_not_yet() {
        let json = r#"{"Prices":[{"price":0.0712,"readingDate":"2026-12-06T23:00:00Z"},{"price":-0.012,"readingDate":"2026-12-07T00:00:00Z"}],"intervalType":4,"average":0.03}"#;
        let Ok(Answer::Prices(slots)) = read(json) else {
            panic!()
        };
        assert_eq!(slots.len(), 2);
        assert_eq!(slots[0].end, slots[1].start);
        assert_eq!((slots[1].end - slots[1].start).num_minutes(), 60);
        assert_eq!(slots[1].eur_kwh, -0.012);
        assert!(matches!(read(r#"{"Prices":[]}"#), Ok(Answer::NotYet(_))));
        assert!(read("<html/>").is_err());
    }
}
