//! The edge of p1-mqtt: its command line, and the settings the rest of the crate sees.
#![allow(
    rustdoc::invalid_html_tags,
    reason = "the command line's doc comments are its --help text, not Markdown: <prefix> is a placeholder"
)]

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use p1_common::runtime::address::{Scheme, ServerUrl};
use p1_common::runtime::cli::{Exits, StageArgs};
use p1_common::runtime::duration;
use p1_common::runtime::error::IoCause;
use p1_common::{Error, Kind};

use crate::broker::{Endpoint, Tls};
use crate::outbox::Publishing;
use crate::publisher::Naming;

pub(crate) const PROG: &str = "p1-mqtt";

/// Publish readings, loads and the capacity peak to an MQTT broker, with Home Assistant
/// discovery.
///
/// Reads the NDJSON records on stdin (readings, p1-relay's relay events and peak records)
/// and publishes them under --topic-prefix, per meter: <prefix>/<meter_id>/state (the
/// reading's JSON, at most every --interval seconds), .../status (online/offline, retained,
/// offline as last will), .../relay/<load> (retained, QoS 1), .../peak, .../mbus/<channel>,
/// and with --split one topic per key. Home Assistant finds every entity by discovery, again
/// whenever it announces itself. With --control, each load's mode can be set from Home
/// Assistant (or any client) on .../relay/<load>/set: on, off or auto, optionally with a
/// time ("on 2h"), through p1-relay's control socket; stale data still turns a load off.
///
/// stdin is read at full speed whatever the broker does: while it is away, states coalesce
/// to the latest and relay events wait in order (bounded) until it is back.
#[derive(Debug, Parser)]
#[command(name = PROG, version, after_long_help = EXITS.after(AFTER_HELP))]
pub struct Cli {
    /// mqtt://HOST[:1883] or mqtts://HOST[:8883] (TLS, certificates verified).
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    pub(crate) broker: String,
    /// The client id (default: p1-mqtt-<meter_id>).
    #[arg(long)]
    pub(crate) client_id: Option<String>,
    /// The user name (password from --password-file or MQTT_PASSWORD).
    #[arg(long)]
    pub(crate) username: Option<String>,
    /// A file holding the password.
    #[arg(long, value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,
    /// mqtts: the CA certificates (PEM) to verify the broker with (default: the system's).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_file: Option<PathBuf>,
    /// mqtts: a client certificate (PEM), with --client-key.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub(crate) client_cert: Option<PathBuf>,
    /// mqtts: the client certificate's key (PEM).
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub(crate) client_key: Option<PathBuf>,
    /// The first level of every topic.
    #[arg(long, default_value = "p1")]
    pub(crate) topic_prefix: String,
    /// Home Assistant's discovery prefix; none publishes no discovery.
    #[arg(long, default_value = "homeassistant")]
    pub(crate) discovery_prefix: String,
    /// Publish a meter's state at most this often (0: every telegram). The
    /// default keeps Home Assistant's recorder from filling with one row a second per key.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration::arg)]
    pub(crate) interval: Duration,
    /// Also one topic per key of the reading (<prefix>/<meter_id>/<key>, the bare value).
    #[arg(long)]
    pub(crate) split: bool,
    /// Also the raw telegram of each envelope (<prefix>/<meter_id>/telegram).
    #[arg(long)]
    pub(crate) telegrams: bool,
    /// p1-relay's control socket: loads' modes can be set over MQTT.
    #[arg(long, value_name = "PATH")]
    pub(crate) control: Option<PathBuf>,
    /// The price file p1-relay reads (--prices): each price record is published with the
    /// next 24 hours of it as the attribute next_24h.
    #[arg(long, value_name = "FILE")]
    pub(crate) prices: Option<PathBuf>,
    /// The meter id to publish under, before (or instead of) the one the readings carry.
    #[arg(long)]
    pub(crate) meter_id: Option<String>,
    /// Relay events kept while the broker is away; past it the oldest go.
    #[arg(long, default_value_t = 1000)]
    pub(crate) queue: usize,
    /// No reading for this long (wall clock): the status says offline, so Home
    /// Assistant shows the sensors unavailable, until the next reading.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration::arg)]
    pub(crate) stale_after: Duration,
    #[command(flatten)]
    pub(crate) stage: StageArgs,
}

/// How p1-mqtt ends.
const EXITS: Exits = Exits {
    success: "end of input or SIGTERM",
    failures: &[(Kind::Config, "a bad broker URL, a secret unread")],
};

const AFTER_HELP: &str = "\
HOME ASSISTANT
  One device per meter and per M-Bus meter (gas, water, heat, linked to the meter); energy
  totals in kWh (total_increasing), power in W (import, export and the signed net grid power,
  negative on export), voltages, currents, the quarter-hour average, the month's peak with
  the 13-month history as attributes, the peak headroom, and a binary sensor per load with
  its reason (and a mode select with --control). Availability follows .../status. With
  p1-relay --prices in the pipeline, an electricity price sensor in EUR/kWh from
  <prefix>/<meter_id>/price (retained: start, end, value, and with --prices FILE the next
  24 hours' slots as the attribute next_24h).

EVCC
  The peak record on <prefix>/<meter_id>/peak carries allowed_kw, the average net import
  the rest of the quarter may have without raising the month's peak: see README.md for an
  evcc circuit whose getMaxPower follows it.

EXAMPLES
  ... | p1-mqtt --broker mqtt://homeassistant.local --username p1 --password-file /etc/p1/mqtt.pw
  ... | p1-mqtt --broker mqtts://broker:8883 --ca-file /etc/p1/ca.pem --interval 0
  ... | p1-mqtt --broker mqtt://127.0.0.1 --split --discovery-prefix none

SEE ALSO
  p1-parse(1), p1-relay(1), p1-serve(1), p1-pipeline(1), p1(5)
";

/// What p1-mqtt does, decided from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) endpoint: Endpoint,
    pub(crate) naming: Naming,
    pub(crate) publishing: Publishing,
    /// p1-relay's control socket.
    pub(crate) control: Option<PathBuf>,
    /// No reading for this long: status offline.
    pub(crate) stale_after: Duration,
    /// The price file, for the next 24 hours of prices.
    pub(crate) prices: Option<PathBuf>,
    pub(crate) passthrough: bool,
}

/// The system's CA bundle, where Debian keeps it.
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

fn read(path: &std::path::Path, what: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path)
        .map_err(|e| Error::config(format!("{what} {}: {}", path.display(), IoCause(&e))))
}

/// The schemes of a broker's URL, and their ports.
const BROKER: &[Scheme] = &[("mqtt", 1883), ("mqtts", 8883)];

/// `mqtt://host[:port]` or `mqtts://host[:port]`: whether TLS, the host, the port.
fn parse_url(text: &str) -> Result<(bool, String, u16), Error> {
    let url = ServerUrl::parse(text, BROKER).map_err(|e| Error::config(format!("--broker {e}")))?;
    if !url.path.trim_end_matches('/').is_empty() {
        return Err(Error::config(format!(
            "--broker \"{text}\": a path; expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
        )));
    }
    Ok((url.scheme == "mqtts", url.host, url.port))
}

impl Settings {
    pub(crate) fn from_cli(cli: Cli) -> Result<Settings, Error> {
        let (tls, host, port) = parse_url(&cli.broker)?;
        let tls = if tls {
            let ca = match &cli.ca_file {
                Some(path) => read(path, "--ca-file")?,
                None => read(
                    std::path::Path::new(SYSTEM_CAS),
                    "the system's CA certificates",
                )?,
            };
            let client = match (&cli.client_cert, &cli.client_key) {
                (Some(cert), Some(key)) => {
                    Some((read(cert, "--client-cert")?, read(key, "--client-key")?))
                }
                _ => None,
            };
            Some(Tls { ca, client })
        } else {
            None
        };
        let password = match &cli.password_file {
            Some(path) => Some(p1_common::runtime::secret::read(path)?),
            None => std::env::var("MQTT_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty()),
        };
        let credentials = match (cli.username, password) {
            (Some(user), password) => Some((user, password.unwrap_or_default())),
            (None, Some(_)) => {
                return Err(Error::config(
                    "a password without --username: give the user name too",
                ));
            }
            (None, None) => None,
        };
        if cli.topic_prefix.is_empty() || cli.topic_prefix.contains(['+', '#']) {
            return Err(Error::config(format!(
                "--topic-prefix '{}': not empty, and without + or #",
                cli.topic_prefix
            )));
        }
        let discovery = Some(cli.discovery_prefix).filter(|d| d != "none" && !d.is_empty());
        Ok(Settings {
            endpoint: Endpoint {
                host,
                port,
                tls,
                client_id: cli.client_id,
                credentials,
            },
            naming: Naming {
                prefix: cli.topic_prefix.trim_end_matches('/').to_string(),
                meter_id: cli.meter_id,
                discovery: discovery.clone(),
            },
            publishing: Publishing {
                discovery,
                interval: cli.interval,
                split: cli.split,
                telegrams: cli.telegrams,
                queue: cli.queue.max(1),
                modes: cli.control.is_some(),
            },
            control: cli.control,
            prices: cli.prices,
            stale_after: cli.stale_after.max(Duration::from_secs(1)),
            passthrough: cli.stage.passthrough,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        assert_eq!(
            parse_url("mqtt://127.0.0.1").unwrap(),
            (false, "127.0.0.1".into(), 1883)
        );
        assert_eq!(
            parse_url("mqtts://broker.lan:8884/").unwrap(),
            (true, "broker.lan".into(), 8884)
        );
        assert_eq!(
            parse_url("mqtt://[::1]:1884").unwrap(),
            (false, "::1".into(), 1884)
        );
        for bad in [
            "127.0.0.1:1883",
            "http://x",
            "mqtt://",
            "mqtt://h:port",
            "mqtt://h/x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
