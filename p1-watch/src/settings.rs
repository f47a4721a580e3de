//! The edge of p1-watch: its command line, and the settings the rest of the crate sees.

use std::io::IsTerminal as _;
use std::time::Duration;

use clap::Parser;
use p1_common::Error;
use p1_common::runtime::address::{HTTP, ServerUrl};
use p1_common::runtime::cli::{Exits, LogArgs};
use p1_common::runtime::duration;
use p1_common::runtime::error::Kind;

pub(crate) const PROG: &str = "p1-watch";

/// A live view of the meter in the terminal.
///
/// Reads the record stream on stdin (readings, peak records, relay events; the rest is
/// skipped), or follows a running p1-serve with --url, and shows on one screen, redrawn in
/// place at most once a second: the reading's time; the net power with its sign (import
/// positive) and per phase import, export, voltage and current; the quarter hour so far
/// (average, projection, budget, the month's peak, headroom) with a bar; each load, on or
/// off, since when and why; gas and water when sent; how old the data is, and STALE in place
/// of the values once it is older than --stale-after. q or Ctrl-C quits and restores the
/// terminal. No colour when NO_COLOR is set. When stdout is not a terminal, one plain line a
/// second instead.
#[derive(Debug, Parser)]
#[command(name = PROG, version, after_long_help = EXITS.after(AFTER_HELP))]
pub struct Cli {
    /// Follow a running p1-serve (its --listen address, http://HOST:PORT) instead of stdin:
    /// its /p1/now once a second.
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,
    /// Past this age the values make way for STALE (90s, 1m; a bare number is seconds).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration::arg)]
    pub(crate) stale_after: Duration,
    #[command(flatten)]
    pub(crate) log: LogArgs,
}

const EXITS: Exits = Exits {
    success: "q or Ctrl-C; SIGTERM; SIGHUP on a terminal (it is gone); the end of input when stdout is not a terminal",
    failures: &[(Kind::Config, "a --url that is no http:// address")],
};

const AFTER_HELP: &str = "\
EXAMPLES
  p1-read /dev/ttyUSB0 | p1-parse | p1-relay --passthrough --config relay.toml | p1-watch
  p1-watch --url http://raspberrypi.local:8080      a running service, from anywhere
  p1-read sim --speed 60 | p1-parse | p1-watch       the simulated meter, a minute a second
  p1-watch --url http://pi:8080 | tee watch.log      one plain line a second

SEE ALSO
  p1-serve(1) (the same view as a web page, and /p1/now), p1-relay(1), p1(5)
";

/// Where the records come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Stdin,
    /// p1-serve's /p1/now.
    Serve(String),
}

/// What p1-watch does, decided from the command line and the terminal.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) source: Source,
    pub(crate) stale_after: Duration,
    /// Whether stdout is a terminal (else plain lines).
    pub(crate) screen: bool,
    /// False when NO_COLOR is set (to anything but empty).
    pub(crate) colour: bool,
}

impl Settings {
    pub(crate) fn from_cli(cli: Cli) -> Result<Settings, Error> {
        let source = match cli.url {
            None => Source::Stdin,
            Some(text) => {
                let url = ServerUrl::parse(&text, HTTP)
                    .map_err(|e| Error::config(format!("--url {e}")))?;
                Source::Serve(format!("{}/p1/now", url.origin()))
            }
        };
        Ok(Settings {
            source,
            stale_after: cli.stale_after.max(Duration::from_secs(1)),
            screen: std::io::stdout().is_terminal(),
            colour: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        })
    }
}
