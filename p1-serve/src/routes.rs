//! What each path answers, from the snapshot: the HomeWizard API, Prometheus, p1's JSON.

use std::time::Duration;

use serde_json::json;

use crate::http::Response;
use crate::snapshot::{self, Shared, Snapshot};
use crate::{homewizard, metrics};

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

    pub(crate) fn answer(&self, path: &str) -> Response {
        let s = snapshot::read(&self.shared);
        let json_or = |value: Option<serde_json::Value>, missing: &str| match value {
            Some(value) => Response::json(200, &value),
            None => Response::json(404, &homewizard::error(404, missing)),
        };
        match path.trim_end_matches('/') {
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
