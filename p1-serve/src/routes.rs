//! What each path answers, from the snapshot: the HomeWizard API, Prometheus, p1's JSON,
//! the live views' documents and the web page.

use std::time::Duration;

use serde_json::json;

use p1_common::contract::live::Now;

use crate::http::Response;
use crate::snapshot::{self, Shared, Snapshot};
use crate::{homewizard, metrics};

/// The web page: everything `p1-watch` shows and the last day's chart, in one file with no
/// external asset (it works with no internet), updated from `/p1/now` once a second.
const PAGE: &str = include_str!("page.html");

/// What each path answers.
pub(crate) struct Routes {
    pub(crate) shared: Shared,
    pub(crate) stale_after: Duration,
    /// The serial HomeWizard clients see, when given.
    pub(crate) serial: Option<String>,
}

impl Routes {
    fn serial(&self, s: &Snapshot) -> String {
        self.serial.clone().unwrap_or_else(|| {
            s.reading()
                .and_then(|r| r.meter_id)
                .map_or_else(|| "000000000000".into(), |id| homewizard::serial_of(&id))
        })
    }

    /// Why the latest reading cannot be given, if it cannot.
    fn stale(&self, s: &Snapshot) -> Option<Response> {
        let why = match s.reading_age() {
            None => "no reading yet".to_string(),
            Some(age) if age > self.stale_after => {
                format!("stale: no reading for {} s", age.as_secs())
            }
            Some(_) => return None,
        };
        Some(Response::json(503, &homewizard::error(503, &why)))
    }

    /// A PUT: HomeWizard's Identify button and Cloud switch, which Home Assistant always
    /// adds, taken as no-ops with the answers HomeWizard gives (p1-serve has no LED to blink
    /// and no cloud to join); anything else is read-only.
    pub(crate) fn change(path: &str) -> Response {
        match path.trim_end_matches('/') {
            "/api/identify" | "/api/v1/identify" => Response::json(200, &json!({"identify": "ok"})),
            "/api/v1/system" => Response::json(200, &json!({"cloud_enabled": false})),
            _ => Response::json(405, &homewizard::error(405, "read-only: only GET here")),
        }
    }

    /// `/p1/now`: what the live views show.
    fn now(&self, s: &Snapshot) -> serde_json::Value {
        let now = Now {
            reading: s.reading(),
            age_s: s.reading_age().map(|age| age.as_secs_f64()),
            stale_after_s: self.stale_after.as_secs_f64(),
            peak: s.peak(),
            loads: s.loads.values().cloned().collect(),
            price: s.prices.current.clone(),
        };
        serde_json::to_value(now).unwrap_or_default()
    }

    pub(crate) fn answer(&self, path: &str) -> Response {
        let s = snapshot::read(&self.shared);
        let json_or = |value: Option<serde_json::Value>, missing: &str| match value {
            Some(value) => Response::json(200, &value),
            None => Response::json(404, &homewizard::error(404, missing)),
        };
        match path.trim_end_matches('/') {
            "" | "/index.html" => Response::text(200, "text/html; charset=utf-8", PAGE),
            "/p1/now" => Response::json(200, &self.now(&s)),
            "/p1/prices" => {
                Response::json(200, &serde_json::to_value(&s.prices).unwrap_or_default())
            }
            "/p1/history" => Response::json(
                200,
                &serde_json::to_value(s.history.history()).unwrap_or_default(),
            ),
            "/api" => Response::json(200, &homewizard::device(&self.serial(&s))),
            "/api/v1/data" => self.stale(&s).unwrap_or_else(|| {
                let reading = s.reading().as_ref().map(homewizard::data);
                json_or(reading, "no reading yet")
            }),
            "/api/v1/telegram" => match (&s.telegram, self.stale(&s)) {
                (Some(telegram), None) => {
                    Response::text(200, "text/plain; charset=utf-8", telegram.clone())
                }
                (_, Some(stale)) => stale,
                (None, None) => Response::json(503, &homewizard::error(503, "no telegram yet")),
            },
            "/api/v1/system" => Response::json(200, &json!({"cloud_enabled": false})),
            "/api/v1/state" => Response::json(
                404,
                &homewizard::error(404, "a P1 meter has no state: it switches nothing"),
            ),
            "/metrics" => Response::text(
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                metrics::render(&s),
            ),
            "/p1/reading" => match &s.reading_line {
                Some(line) => Response::text(200, "application/json", line.clone()),
                None => Response::json(404, &homewizard::error(404, "no reading yet")),
            },
            "/p1/peak" => json_or(
                s.peak().and_then(|p| serde_json::to_value(p).ok()),
                "no peak record yet (p1-relay writes them)",
            ),
            "/p1/loads" => Response::json(200, &serde_json::to_value(&s.loads).unwrap_or_default()),
            _ => Response::json(404, &homewizard::error(404, "unknown path")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PAGE;

    /// The page works offline: no URL to load anything from (the SVG namespace is a name,
    /// never fetched), and it is small enough for a Pi to serve to a phone at once.
    #[test]
    fn the_page_is_self_contained_and_small_regression_25() {
        assert!(PAGE.len() < 200 * 1024, "{} bytes", PAGE.len());
        let urls = PAGE.matches("http://").count() + PAGE.matches("https://").count();
        assert_eq!(urls, PAGE.matches("http://www.w3.org/2000/svg").count());
        assert!(!PAGE.contains("src=\""), "no external script or image");
    }
}
