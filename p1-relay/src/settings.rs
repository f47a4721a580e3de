//! The edge of p1-relay: its command line, and the settings the rest of the crate sees.
#![allow(
    rustdoc::broken_intra_doc_links,
    reason = "the command line's doc comments are its --help text, not Markdown: [peak] is a TOML table"
)]

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use p1_common::contract::control::{ControlMode, ControlRequest};
use p1_common::runtime::cli::{Exits, StageArgs};
use p1_common::{Error, Kind};

use p1_common::runtime::duration;

pub(crate) const PROG: &str = "p1-relay";

/// Switch loads on the sun's surplus, shed them on import and before a capacity-tariff peak.
///
/// Reads p1-parse's readings on stdin and switches the loads of the configuration (GPIO
/// relays, Shelly and Tasmota plugs, shell commands). Writes one event a switch on stdout,
/// and after each reading with import registers the capacity-tariff quarter so far:
///
///   {"type":"relay","time":"...","load":"boiler","state":"on","reason":"export 2.41 kW >= 2.20 kW for 60 s"}
///   {"type":"peak","time":"...","quarter_start":"...","elapsed_s":300,"average_kw":2.0,"projected_kw":2.0,"month_peak_kw":3.0,"budget_kw":2.8,"headroom_kw":1.2,"allowed_kw":3.2}
///
/// headroom_kw is how much more may be drawn, on top of the present net import, for the rest
/// of the quarter without the quarter's average going over budget_kw (the higher of the
/// [peak] limit and the month's peak, less the margin; negative: how much to shed);
/// allowed_kw is the present net import plus that headroom.
///
/// Every load is off at start, when readings stop for stale_after (whatever its mode), and
/// at exit (SIGTERM, SIGINT, end of input) unless it has keep_on_exit. SIGHUP reloads the
/// configuration, keeping switch times.
#[derive(Debug, Parser)]
#[command(
    name = PROG,
    version,
    after_long_help = EXITS.after(AFTER_HELP),
    subcommand_negates_reqs = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    /// The TOML configuration of the loads.
    #[arg(long, short = 'c', value_name = "FILE", required = true)]
    pub(crate) config: Option<PathBuf>,

    /// Answer requests on this Unix socket (owner only): a load's mode set to on, off or
    /// auto, for a time or until changed, and every load's state (p1-relay ctl, p1-mqtt).
    #[arg(long, value_name = "PATH")]
    pub(crate) control: Option<PathBuf>,

    /// Decide and report, switch nothing (any switch type).
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Check the configuration, print its warnings, and exit.
    #[arg(long)]
    pub(crate) check: bool,

    /// The price file (p1-prices --out, one slot a line): read at start and again whenever
    /// it changes; the loads' price rules read it.
    #[arg(long, value_name = "FILE")]
    pub(crate) prices: Option<PathBuf>,

    /// Print what the price rules would do for the next 24 hours, a load and a quarter hour
    /// a line (load, start, price, on or off, why), and exit; switches nothing.
    #[arg(long, requires = "prices")]
    pub(crate) plan: bool,

    /// The plan as NDJSON, one object a line with the keys load, start, price, state, why.
    #[arg(long, requires = "plan")]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) stage: StageArgs,
}

/// How p1-relay ends.
const EXITS: Exits = Exits {
    success: "end of input, SIGTERM or SIGINT (every load off)",
    failures: &[
        (Kind::Failure, "e.g. GPIO not available: try --dry-run"),
        (Kind::Config, "the message names the key and the line"),
    ],
};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Ask a running p1-relay through its control socket: ctl PATH status, or
    /// ctl PATH LOAD on|off|auto [--for 2h] (on and off hold until changed, or for the
    /// time given; stale data still turns a load off).
    Ctl(CtlArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CtlArgs {
    /// The socket of p1-relay --control PATH.
    pub(crate) socket: PathBuf,
    /// status, or the load's name.
    pub(crate) load: String,
    /// on, off or auto.
    pub(crate) mode: Option<String>,
    /// How long the mode holds, then the load goes back to auto: 90s, 30m, 2h, 1h30m, or a
    /// bare number of seconds (--for 2 is two seconds, not two hours).
    #[arg(long = "for", value_name = "DURATION", value_parser = duration::arg)]
    pub(crate) hold: Option<Duration>,
}

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Action {
    Relay(Settings),
    /// One request to a running p1-relay.
    Ctl {
        socket: PathBuf,
        request: ControlRequest,
    },
}

impl Action {
    pub(crate) fn from_cli(cli: Cli) -> Result<Action, Error> {
        let Some(Command::Ctl(ctl)) = cli.command else {
            return Ok(Action::Relay(Settings {
                config: cli.config.unwrap_or_default(),
                control: cli.control,
                dry_run: cli.dry_run,
                passthrough: cli.stage.passthrough,
                check_only: cli.check || cli.plan,
                prices: cli.prices,
                plan: cli.plan.then_some(if cli.json {
                    PlanFormat::Json
                } else {
                    PlanFormat::Text
                }),
            }));
        };
        let request = match (ctl.load.as_str(), ctl.mode) {
            ("status", None) => ControlRequest::Status,
            (_, None) => return Err(Error::usage("say on, off or auto after the load")),
            (load, Some(mode)) => ControlRequest::Set {
                load: load.to_string(),
                mode: mode
                    .parse::<ControlMode>()
                    .map_err(|e| Error::usage(e.to_string()))?,
                for_s: ctl.hold.as_ref().map(Duration::as_secs),
            },
        };
        Ok(Action::Ctl {
            socket: ctl.socket,
            request,
        })
    }
}

/// The long help after the options; also part of p1(5).
pub const AFTER_HELP: &str = "\
CONFIGURATION
  stale_after = \"15s\"     no reading for this long: every load off (more than 10 s
                          for an encrypted meter, which sends every 10 s: 30s)
  settle = \"60s\"          at most one automatic switch per settle period
  startup_grace = \"60s\"   after start (and after stale data) nothing goes on before this
  state_file = \"/var/lib/p1/relay-state.json\"   switch times survive a restart

  [peak]                  the capacity tariff (Flanders)
  limit_kw = 2.5          target for the quarter-hour average; the month's peak when higher
  margin_kw = 0.2

  [[load]]
  name = \"boiler\"
  power_kw = 2.0          what it draws when on
  priority = 1            1 is switched on first and shed last
  on_export_kw = 2.2      on once export >= this, held for on_delay
  off_import_kw = 0.1     off once import >= this, held for off_delay
  on_delay = \"60s\"        off_delay = \"180s\"     min_on = \"5m\"     min_off = \"5m\"
  max_starts_per_hour = 6
  window = \"08:00-20:00\"  local time; outside it the load is off
  mode = \"auto\"           auto, on or off (never on when data is stale)
  peak_shed = true        shed before the quarter-hour average crosses the limit
  keep_on_exit = false
  price_below = 0.05      on while the price (EUR/kWh, all in) is at or below this
  cheapest = { slots = 12, within = \"00:00-07:00\" }   on in the 12 cheapest quarter hours
  need_kwh_per_day = 3.0  or need_hours = 1.5: what surplus did not give by the end of the
  fallback = \"cheapest\"   window (midnight without one) goes to the cheapest quarter hours
  absorb_export_below = 0.0   at or below this price any export switches it on
  [load.switch]
  type = \"gpio\"           gpio (pin, active_low), shelly (url, id, generation, auto_off),
  pin = 17                tasmota (url, relay, auto_off), command (on, off), dry-run
  active_low = true       auto_off: a plug's own off timer, default 60s (ON re-sent every 20s)

  Durations: 90s, 5m, 1h, 1h30m. The thresholds form a hysteresis band: when the load goes
  on, its own draw comes off the export, so on_export_kw + off_import_kw must be more than
  power_kw or the load switches itself off again (p1-relay warns at start).

PEAK SHAVING
  Quarter hours start at :00, :15, :30 and :45 local time. From the import registers'
  increase since the quarter began, p1-relay projects the quarter's average if the present
  import goes on to its end; above the limit (the higher of limit_kw and the month's peak
  demand_max_month_kw, less margin_kw) it sheds peak_shed loads last-on-first-off without
  waiting for off_delay (min_on still holds), and holds back switch-ons that would cross it.
  The meter's own 1-0:1.4.0 (demand_avg_kw) is compared with the registers and p1-relay says
  once which it is: the average over the elapsed part of the quarter, or the energy so far
  times four. Either way the registers decide.

PRICES
  With --prices FILE (p1-prices --out, or any NDJSON of {\"start\",\"end\",\"value\"} slots
  with offsets, one a line; time and price are read too) the price rules above read the
  price of each quarter hour; an hourly price covers four. The file is read at start and
  again at the first reading after it changes; a bad line is named with its number and
  skipped. A load's surplus rule and its price rules each can keep it on; the delays, min_on,
  min_off, max_starts_per_hour and the window hold for all of them, and where [peak] is set
  no price rule lifts the quarter hour over its budget (what a price rule keeps on is shed
  like a peak_shed load). cheapest decides once every price of the window's occurrence is
  known (ties to the earlier quarter hour); a need counts the time the load ran on surplus
  first. With no price for now, price_below, cheapest and absorb_export_below keep nothing on
  and a need goes to the latest quarter hours before its end; this is said once. Each slot
  is written to the stream once, when it begins, as a price record; a relay event a price
  rule caused carries the price. --check --prices FILE --plan prints what the price rules
  would do over the next 24 hours (no surplus counted), --json as NDJSON with the keys load,
  start, price, state and why.

CONTROL
  p1-relay ctl SOCKET status                      every load: mode, on or off, until when
  p1-relay ctl SOCKET LOAD on|off|auto [--for DURATION]
  asks the p1-relay running with --control SOCKET. on and off hold the load so (stale data
  still turns it off, and the capacity budget still sheds it) until auto, or for DURATION
  (90s, 30m, 2h; a bare number is seconds); auto gives it back to the rules. The answer is
  one JSON object on stdout; status 1 when the relay refuses (an unknown load), 66 when no
  relay answers on SOCKET.

EXAMPLES
  p1-read /dev/ttyUSB0 | p1-parse | p1-relay --passthrough --config /etc/p1/relay.toml
  p1-relay --check --config relay.toml                  is the configuration right?
  p1-relay --check --config relay.toml --prices /var/lib/p1/prices.ndjson --plan
  p1-read sim --start 2024-06-12T11:00:00 --speed 60 | p1-parse | p1-relay --dry-run
  p1-relay ctl /run/p1/relay.sock boiler on --for 2h    the boiler on, whatever the sun
  p1-relay ctl /run/p1/relay.sock status

SEE ALSO
  p1-parse(1), p1-watch(1), p1-mqtt(1), p1-influx(1), p1(5) (the relay and peak records and
  this file's keys)
";

/// What p1-relay does, decided from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The configuration file, read at start and on SIGHUP.
    pub(crate) config: PathBuf,
    /// The control socket to serve.
    pub(crate) control: Option<PathBuf>,
    /// Decide and report, switch nothing.
    pub(crate) dry_run: bool,
    /// Forward the input lines before the events they cause.
    pub(crate) passthrough: bool,
    /// Check the configuration and exit.
    pub(crate) check_only: bool,
    /// The price file.
    pub(crate) prices: Option<PathBuf>,
    /// Print the price rules' plan (after the check), in this form.
    pub(crate) plan: Option<PlanFormat>,
}

/// How the plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlanFormat {
    /// Aligned columns, for a person.
    Text,
    /// One JSON object a line.
    Json,
}
