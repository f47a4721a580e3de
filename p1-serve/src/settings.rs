//! The edge of p1-serve: its command line, and the settings the rest of the crate sees.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use p1_common::runtime::address::listen_addresses;
use p1_common::runtime::cli::{Exits, StageArgs};
use p1_common::runtime::duration;
use p1_common::{Error, Kind};

use crate::http::Limits;

pub(crate) const PROG: &str = "p1-serve";

/// Serve the latest reading: the HomeWizard P1 meter's local API, Prometheus, p1's JSON, and
/// the raw telegrams over TCP.
///
/// Reads the NDJSON records on stdin (envelopes, readings, relay events, peak records) and
/// serves, read-only: a web page at / (the power now, per phase, the quarter hour and its
/// budget, the loads, and the last 24 hours as a chart, live; no external asset), GET /api, /api/v1/data, /api/v1/telegram, /api/v1/system (HomeWizard's
/// P1 meter, API v1, for evcc, Home Assistant and battery bridges; an error status when the
/// data is stale), /metrics (Prometheus), /p1/reading, /p1/peak and /p1/loads (p1's own
/// JSON), /p1/now and /p1/history (what the page and p1-watch --url read). With --raw-listen, every CRC-valid telegram byte for byte to each TCP client, as
/// ser2net gives. Advertised over mDNS as _hwenergy._tcp unless --no-mdns. Nothing a client
/// does slows the reading of stdin.
#[derive(Debug, Parser)]
#[command(name = PROG, version, after_long_help = EXITS.after(AFTER_HELP))]
pub struct Cli {
    /// Where to answer HTTP. Port 80, because HomeWizard's clients (Home Assistant, evcc)
    /// take a bare address and assume it; binding it needs root or CAP_NET_BIND_SERVICE
    /// (the systemd unit grants it), else give another port.
    /// The host is an address or a name (localhost:8080). mDNS advertises the API on the
    /// addresses listened on: none for a loopback one.
    #[arg(long, default_value = "0.0.0.0:80", value_name = "HOST:PORT")]
    pub(crate) listen: String,
    /// Also serve the raw telegrams here (a plain TCP stream, as ser2net gives).
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) raw_listen: Option<String>,
    /// Raw telegram clients at once; more are refused.
    #[arg(long, default_value_t = 32)]
    pub(crate) max_clients: usize,
    /// HTTP connections at once (each answered and closed); more get 503.
    #[arg(long, default_value_t = 64)]
    pub(crate) max_connections: usize,
    /// HTTP requests a second per client address, at most (bursts of twice that).
    #[arg(long, default_value_t = 20)]
    pub(crate) rate: u32,
    /// A reading older than this long is stale: HomeWizard clients get an error.
    /// Longer than the meter's period (1 s; 10 s for Luxembourg and Austrian meters).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration::arg)]
    pub(crate) stale_after: Duration,
    /// Do not advertise the HomeWizard API over mDNS.
    #[arg(long)]
    pub(crate) no_mdns: bool,
    /// The serial HomeWizard clients see (12 hex digits; default: derived from the meter id).
    #[arg(long)]
    pub(crate) serial: Option<String>,
    /// The price file p1-relay reads (--prices): /p1/prices gives the next 24 hours of it.
    #[arg(long, value_name = "FILE")]
    pub(crate) prices: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) stage: StageArgs,
}

/// How p1-serve ends.
const EXITS: Exits = Exits {
    success: "end of input or SIGTERM",
    failures: &[(Kind::Config, "an address that cannot be bound")],
};

const AFTER_HELP: &str = "\
ENDPOINTS
  /api               HomeWizard: product_type HWE-P1, serial, firmware_version, api_version v1
  /api/v1/data       HomeWizard's field names and units (W, kWh; active_power_w negative on
                     export), M-Bus meters in external[]; 503 with an error object when stale
  /api/v1/telegram   the last CRC-valid telegram, text/plain, CRLF kept
  /api/v1/system     {\"cloud_enabled\": false}
  /metrics           Prometheus: the reading in base units (joules, watts, volts, amperes),
                     counters with _total, labelled by meter and M-Bus channel; the
                     pipeline's health (telegrams, CRC errors seen, seconds since the last
                     telegram, loads on, the peak headroom)
  /                  the web page: the power now with its sign (import positive), per phase,
                     the quarter hour (average, projection, budget, the month's peak), the
                     loads and why they switched, gas and water, STALE once the data is older
                     than --stale-after; a chart of the last 24 hours a minute a point with
                     the quarter-hour averages, the budget and the month's peak; with
                     p1-relay --prices, the price now and a chart of the next 24 hours
  /p1/reading, /p1/peak, /p1/loads   p1's own JSON (the NDJSON schema)
  /p1/now            {\"reading\", \"age_s\", \"stale_after_s\", \"peak\", \"loads\", \"price\"}: all the
                     page shows, in one answer (p1-watch --url polls it once a second)
  /p1/prices         {\"current\", \"next_24h\"}: the price slot p1-relay --prices last wrote,
                     and the next 24 hours of --prices FILE (else that slot alone)
  /p1/history        {\"minutes\": [{\"t\", \"offset_s\", \"net_kw\", \"import_kw\"}]}: the last
                     24 hours, a minute a point (1,440 at most, kept in memory)

LIMITS
  Every request is answered and its connection closed; a client has 2 s to send its request
  head (8 KiB at most: 431 beyond); --max-connections at once, 4 per client address, and
  --rate requests a second per address (429 beyond). A raw client that falls 1,024 telegrams
  behind, or whose socket takes nothing for 5 s, is dropped. stdin is read at full speed whatever the clients do.

EXAMPLES
  ... | p1-serve --listen 0.0.0.0:8080                     then open http://PI:8080/ in a browser
  ... | p1-serve --listen 0.0.0.0:8080 --raw-listen 0.0.0.0:2001 --stale-after 1m
  curl -s http://PI:8080/api/v1/data | jq .active_power_w

SEE ALSO
  p1-watch(1) (the same view in a terminal, --url), p1-mqtt(1), p1-pipeline(1), p1(5)
";

/// What p1-serve does, decided from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The addresses of `--listen` (the first that binds is listened on).
    pub(crate) listen: Vec<SocketAddr>,
    pub(crate) raw_listen: Option<Vec<SocketAddr>>,
    pub(crate) max_clients: usize,
    pub(crate) limits: Limits,
    pub(crate) stale_after: Duration,
    pub(crate) mdns: bool,
    pub(crate) serial: Option<String>,
    /// The price file, for the next 24 hours of prices.
    pub(crate) prices: Option<PathBuf>,
    pub(crate) passthrough: bool,
}

impl Settings {
    pub(crate) fn from_cli(cli: Cli) -> Result<Settings, Error> {
        let serial = match cli.serial {
            Some(serial) if serial.len() == 12 && serial.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(serial.to_ascii_lowercase())
            }
            Some(serial) => {
                return Err(Error::usage(format!(
                    "--serial {serial}: 12 hexadecimal digits, as HomeWizard's"
                )));
            }
            None => None,
        };
        Ok(Settings {
            listen: listen_addresses(&cli.listen)
                .map_err(|e| Error::config(format!("--listen {e}")))?,
            raw_listen: cli
                .raw_listen
                .as_deref()
                .map(listen_addresses)
                .transpose()
                .map_err(|e| Error::config(format!("--raw-listen {e}")))?,
            max_clients: cli.max_clients.max(1),
            limits: Limits {
                connections: cli.max_connections.max(1),
                per_address: 4,
                rate: cli.rate.max(1),
                head_bytes: 8 * 1024,
                head_time: Duration::from_secs(2),
            },
            stale_after: cli.stale_after.max(Duration::from_secs(1)),
            mdns: !cli.no_mdns,
            serial,
            prices: cli.prices,
            passthrough: cli.stage.passthrough,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 25: durations take units on the command line as in the configuration; a bare
    /// number stays seconds.
    #[test]
    fn stale_after_takes_units_regression_25() {
        for (given, seconds) in [("2m", 120), ("45", 45), ("1m30s", 90)] {
            let cli = Cli::try_parse_from(["p1-serve", "--stale-after", given]).unwrap();
            let settings = Settings::from_cli(cli).unwrap();
            assert_eq!(
                settings.stale_after,
                Duration::from_secs(seconds),
                "{given}"
            );
        }
        let refused = Cli::try_parse_from(["p1-serve", "--stale-after", "soon"]).unwrap_err();
        assert!(
            refused.to_string().contains("'soon' is not a duration"),
            "{refused}"
        );
    }
}
