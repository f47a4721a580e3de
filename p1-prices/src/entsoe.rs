//! ENTSO-E's transparency platform: the day-ahead auction's prices of a bidding zone, a
//! Publication_MarketDocument of document type A44. Each TimeSeries has Periods of a
//! resolution (PT15M, PT60M) from a start to an end, with Points by position; in curve type
//! A03 a point equal to the one before is left out, so a missing position repeats the last
//! given. Prices are EUR/MWh. A day with no data yet is an Acknowledgement_MarketDocument
//! whose reason says "No matching data found", whatever the HTTP status.

use chrono::{DateTime, Duration, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;

use crate::slot::{Answer, Slot};

/// The default server.
pub(crate) const SERVER: &str = "https://web-api.tp.entsoe.eu";

/// The request of a day's prices in bidding zone `eic`, from `from` to `to` (UTC).
pub(crate) fn request(
    base: &str,
    eic: &str,
    token: &str,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> String {
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%d%H%M").to_string();
    format!(
        "{base}/api?securityToken={token}&documentType=A44&in_Domain={eic}&out_Domain={eic}\
         &periodStart={}&periodEnd={}",
        stamp(from),
        stamp(to)
    )
}

/// One Period being read.
#[derive(Debug, Default)]
struct Period {
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    step: Option<Duration>,
    /// (position, EUR/MWh), as given.
    points: Vec<(i64, f64)>,
    position: Option<i64>,
}

impl Period {
    /// Its slots, every position filled (A03: a missing one repeats the one before).
    fn slots(&self) -> Result<Vec<Slot>, String> {
        let (Some(start), Some(end), Some(step)) = (self.start, self.end, self.step) else {
            return Err("a Period without its timeInterval or resolution".into());
        };
        let mut points = self.points.clone();
        points.sort_by_key(|p| p.0);
        let count = (end - start).num_seconds() / step.num_seconds().max(1);
        let mut slots = Vec::new();
        let mut given = points.iter().peekable();
        let mut price = None;
        for position in 1..=count {
            while let Some(&&(p, value)) = given.peek() {
                if p > position {
                    break;
                }
                price = Some(value);
                given.next();
            }
            let Some(mwh) = price else {
                return Err(format!("no price for position {position} or any before it"));
            };
            let at = start + step * (position as i32 - 1);
            slots.push(Slot {
                start: at,
                end: at + step,
                eur_kwh: mwh / 1000.0,
            });
        }
        Ok(slots)
    }
}

/// Reads an answer: the slots of every Period, or the acknowledgement that there are none.
pub(crate) fn read(xml: &str) -> Result<Answer, String> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut period: Option<Period> = None;
    let mut slots: Vec<Slot> = Vec::new();
    let mut acknowledgement = false;
    let mut reason = String::new();
    loop {
        let event = reader.read_event().map_err(|e| format!("not XML: {e}"))?;
        match event {
            Event::Start(e) => {
                let name = local(e.name().as_ref());
                if path.is_empty() {
                    acknowledgement = name == "Acknowledgement_MarketDocument";
                    if !acknowledgement && name != "Publication_MarketDocument" {
                        return Err(format!("a {name}, not a market document"));
                    }
                }
                if name == "Period" {
                    period = Some(Period::default());
                }
                path.push(name);
            }
            // Every end leaves its element (the guard pops it); a Period's gives its slots.
            Event::End(_) if path.pop().as_deref() == Some("Period") => {
                let done = period.take().unwrap_or_default();
                slots.extend(done.slots()?);
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| format!("not UTF-8: {e}"))?;
                let text = text.trim();
                let at = |names: &[&str]| {
                    path.ends_with(&names.iter().map(|n| (*n).to_string()).collect::<Vec<_>>())
                };
                if acknowledgement && at(&["Reason", "text"]) {
                    reason.push_str(text);
                } else if let Some(p) = &mut period {
                    if at(&["timeInterval", "start"]) {
                        p.start = Some(time(text)?);
                    } else if at(&["timeInterval", "end"]) {
                        p.end = Some(time(text)?);
                    } else if at(&["Period", "resolution"]) {
                        p.step = Some(resolution(text)?);
                    } else if at(&["Point", "position"]) {
                        p.position = Some(text.parse().map_err(|_| format!("position {text}"))?);
                    } else if at(&["Point", "price.amount"]) {
                        let value: f64 = text.parse().map_err(|_| format!("price {text}"))?;
                        let position = p.position.take().ok_or("a price before its position")?;
                        p.points.push((position, value));
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if acknowledgement {
        return if reason.contains("No matching data found") {
            Ok(Answer::NotYet(reason))
        } else {
            Err(format!("ENTSO-E refused the request: {reason}"))
        };
    }
    if slots.is_empty() {
        return Err("a market document with no price in it".into());
    }
    Ok(Answer::Prices(slots))
}

/// The element's name without its namespace prefix.
fn local(name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    name.rsplit(':').next().unwrap_or_default().to_string()
}

/// `2026-12-06T23:00Z`, as ENTSO-E writes its times.
fn time(text: &str) -> Result<DateTime<Utc>, String> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%MZ")
        .map(|t| t.and_utc())
        .or_else(|_| text.parse::<DateTime<Utc>>())
        .map_err(|_| format!("time {text}"))
}

fn resolution(text: &str) -> Result<Duration, String> {
    match text {
        "PT15M" => Ok(Duration::minutes(15)),
        "PT30M" => Ok(Duration::minutes(30)),
        "PT60M" | "PT1H" => Ok(Duration::hours(1)),
        other => Err(format!("resolution {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A day-ahead document as the platform's guide shows them (namespace, mRID, curve type
    /// A03: positions 2 and 4 left out as equal to the one before).
    const DOCUMENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Publication_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3">
  <mRID>1d2c3b4a</mRID>
  <type>A44</type>
  <TimeSeries>
    <mRID>1</mRID>
    <auction.type>A01</auction.type>
    <currency_Unit.name>EUR</currency_Unit.name>
    <price_Measure_Unit.name>MWH</price_Measure_Unit.name>
    <curveType>A03</curveType>
    <Period>
      <timeInterval><start>2026-12-06T23:00Z</start><end>2026-12-07T00:00Z</end></timeInterval>
      <resolution>PT15M</resolution>
      <Point><position>1</position><price.amount>71.20</price.amount></Point>
      <Point><position>3</position><price.amount>-12.5</price.amount></Point>
    </Period>
  </TimeSeries>
</Publication_MarketDocument>"#;

    #[test]
    fn a03_positions_left_out_repeat_the_one_before_and_mwh_become_kwh() {
        let Ok(Answer::Prices(slots)) = read(DOCUMENT) else {
            panic!("{:?}", read(DOCUMENT))
        };
        let shown: Vec<(String, f64)> = slots
            .iter()
            .map(|s| (s.start.format("%H:%M").to_string(), s.eur_kwh))
            .collect();
        assert_eq!(
            shown,
            [
                ("23:00".into(), 0.0712),
                ("23:15".into(), 0.0712),
                ("23:30".into(), -0.0125),
                ("23:45".into(), -0.0125)
            ]
        );
        assert_eq!(slots[3].end.to_rfc3339(), "2026-12-07T00:00:00+00:00");
    }

    #[test]
    fn no_matching_data_is_not_yet_and_other_refusals_are_errors() {
        let ack = |text: &str| {
            format!(
                r#"<Acknowledgement_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0"><mRID>x</mRID><Reason><code>999</code><text>{text}</text></Reason></Acknowledgement_MarketDocument>"#
            )
        };
        assert!(matches!(
            read(&ack(
                "No matching data found for Data item Day-ahead Prices [12.1.D]"
            )),
            Ok(Answer::NotYet(_))
        ));
        assert!(read(&ack("Invalid query attribute or parameter value")).is_err());
        assert!(read("<html>busy</html>").is_err());
    }
}
