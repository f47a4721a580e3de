//! What a price record is published as: the slot, and with the price file the slots of the
//! next 24 hours (Home Assistant shows them as the sensor's attribute `next_24h`).

use std::path::Path;

use p1_common::contract::price::{PriceRecord, next_day};
use p1_common::protocol::meter_time::MeterTime;
use serde::Serialize;

/// The published JSON.
#[derive(Debug, Serialize)]
struct Payload {
    start: MeterTime,
    end: MeterTime,
    value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_24h: Option<Vec<PriceRecord>>,
}

/// The payload of `price`, read anew from the price file at `file` (once a slot).
pub(crate) fn payload(price: &PriceRecord, file: Option<&Path>) -> String {
    let next_24h = file.and_then(|path| next_day(path, price));
    let payload = Payload {
        start: price.start,
        end: price.end,
        value: price.value,
        next_24h,
    };
    serde_json::to_string(&payload).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_with_the_next_24_hours_of_the_file_regression_26() {
        let record: PriceRecord = serde_json::from_str(
            r#"{"type":"price","start":"2026-12-07T14:00:00+01:00","end":"2026-12-07T15:00:00+01:00","value":-0.012}"#,
        )
        .unwrap();
        let file: String = (0..30_u32)
            .map(|h| {
                let (day, hour) = (7 + (13 + h) / 24, (13 + h) % 24);
                let start = format!("2026-12-{day:02}T{hour:02}:00:00+01:00");
                format!(
                    "{{\"time\":\"{start}\",\"price\":{}}}\n",
                    f64::from(h) / 100.0
                )
            })
            .collect();
        let dir = std::env::temp_dir().join(format!("p1-mqtt-price-{}", std::process::id()));
        std::fs::write(&dir, file).unwrap();
        let json: serde_json::Value = serde_json::from_str(&payload(&record, Some(&dir))).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(json["value"], -0.012);
        assert_eq!(json["start"], "2026-12-07T14:00:00+01:00");
        let next = json["next_24h"].as_array().unwrap();
        assert_eq!(next.len(), 24);
        assert_eq!(next[0]["start"], "2026-12-07T14:00:00+01:00");
        assert_eq!(next[0]["value"], 0.01);
        assert_eq!(next[23]["start"], "2026-12-08T13:00:00+01:00");
        let bare: serde_json::Value = serde_json::from_str(&payload(&record, None)).unwrap();
        assert!(bare.get("next_24h").is_none());
    }
}
