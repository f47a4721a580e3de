//! p1-relay: readings in (p1-parse's NDJSON), loads switched, one event per switch out.
//!
//! Fail-safe: every load is off at start, on stale data (no reading for `stale_after`, on the
//! readings' clock or the wall clock) and at exit; plugs get an auto-off timer.
//!
//! - `settings`: the command line, `ctl` its subcommand;
//! - `config`: the TOML configuration of the loads;
//! - `relay`: the stage loop, `input` what it takes from each reading, `clock` whether its
//!   time follows the stream's;
//! - `controller`: the decisions, `peak` the capacity tariff's quarter hour, `rules` the
//!   rules on the price of `prices`, the price file, and `plan` what they would do;
//! - `actuators`: the loads' `switch`es (GPIO, plugs, commands), each driven by a worker;
//! - `control`: the control socket's server; `state`: switch times across restarts.

mod actuators;
mod clock;
mod config;
mod control;
mod controller;
mod ctl;
mod input;
mod peak;
mod plan;
mod prices;
mod relay;
mod rules;
mod settings;
mod state;
mod switch;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;

use log::{info, warn};
use p1_common::Error;
use p1_common::runtime::stage::{Runtime, Stdout};

pub use crate::controller::fuzz_configuration_and_input;
use crate::relay::{ConfigFile, Relay};
pub use crate::settings::{AFTER_HELP, Cli};
use crate::settings::{Action, PROG, Settings};

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    p1_common::runtime::cli::main(PROG, |cli: Cli| match Action::from_cli(cli)? {
        Action::Relay(settings) => run(settings),
        Action::Ctl { socket, request } => ctl::ctl(&socket, &request),
    })
}

fn run(settings: Settings) -> Result<(), Error> {
    let config_file = ConfigFile {
        path: settings.config,
    };
    let config = config_file.load()?;
    if settings.prices.is_none()
        && let Some(load) = config.loads.iter().find(|l| l.reads_prices())
    {
        warn!(
            "{}: load '{}' has price rules: without --prices FILE they never keep it on",
            config_file.path.display(),
            load.name.get_ref()
        );
    }
    if settings.check_only {
        info!(
            "{}: {} loads, configuration is valid",
            config_file.path.display(),
            config.loads.len()
        );
        if let Some(path) = &settings.prices {
            let prices = prices::read(path)?;
            if let Some(format) = settings.plan {
                let now = chrono::Local::now().fixed_offset();
                plan::print(&plan::plan(&config, &prices, now), format)?;
            }
        }
        return Ok(());
    }
    let mut runtime = Runtime::start(settings.passthrough)?;
    let events = runtime.events();
    let mut relay = Relay::start(
        config_file,
        config,
        settings.dry_run,
        settings.control.as_deref(),
        settings.prices,
        &events,
    )?;
    let mut out = Stdout::stdout();
    // A panic (a bug) must not leave a load on: it ends the loop, and the loads go off.
    let served = catch_unwind(AssertUnwindSafe(|| runtime.run(&mut relay, &mut out)));
    let result = served.unwrap_or_else(|_| {
        Err(Error::failure(
            "internal error (a bug, please report it): every load switched off",
        ))
    });
    let why = match &result {
        Ok(end) => end.describe().to_string(),
        Err(e) => e.to_string(),
    };
    relay.shut_down(&why, &mut out);
    result.map(|_| ())
}
