//! p1-prices: a day's day-ahead prices into the price file.
//!
//! - `settings`: the command line;
//! - `day`: the market's day in Brussels time;
//! - `entsoe`, `energyzero`: each source's request and how its answer is read, into `slot`s;
//! - `file`: the price file, merged and written at once;
//! - here: one fetch, its outcome as an exit status.

mod day;
mod energyzero;
mod entsoe;
mod file;
mod settings;
mod slot;

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use log::info;
use p1_common::Error;
use p1_common::runtime::error::{IoCause, Kind};

use crate::file::Priced;
pub use crate::settings::Cli;
use crate::settings::{PROG, Settings, Source};
use crate::slot::Answer;

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    p1_common::runtime::cli::main(PROG, |cli: Cli| run(&Settings::from_cli(cli)?))
}

fn run(settings: &Settings) -> Result<(), Error> {
    let now = Utc::now();
    let day = settings.day.unwrap_or_else(|| day::tomorrow(now));
    let bounds = day::bounds(day);
    let (name, url, secret) = match &settings.source {
        Source::Entsoe { eic, token } => {
            let base = settings.server.as_deref().unwrap_or(entsoe::SERVER);
            (
                "ENTSO-E",
                entsoe::request(base, eic, token, bounds),
                Some(token.as_str()),
            )
        }
        Source::EnergyZero => {
            let base = settings.server.as_deref().unwrap_or(energyzero::SERVER);
            ("EnergyZero", energyzero::request(base, bounds), None)
        }
    };
    let (status, body) = fetch(&url).map_err(|why| {
        let why = secret.map_or(why.clone(), |s| why.replace(s, "***"));
        Error::new(Kind::TempFail, format!("{name}: {why}"))
    })?;
    if status == 401 || status == 403 {
        return Err(Error::config(format!(
            "{name} refused the token (HTTP {status})"
        )));
    }
    let read = match settings.source {
        Source::Entsoe { .. } => entsoe::read(&body),
        Source::EnergyZero => energyzero::read(&body),
    };
    let slots = match read {
        Ok(Answer::Prices(slots)) => slots,
        Ok(Answer::NotYet(why)) => {
            return Err(Error::new(
                Kind::TempFail,
                format!("{name}: prices of {day} not published yet: {why}"),
            ));
        }
        Err(_) if status == 429 || status >= 500 => {
            return Err(Error::new(
                Kind::TempFail,
                format!("{name} is busy (HTTP {status})"),
            ));
        }
        Err(why) => {
            return Err(Error::failure(format!(
                "{name}'s answer (HTTP {status}) cannot be read: {why}; {} kept as it was",
                settings.out.display()
            )));
        }
    };
    let new: Vec<Priced> = slots
        .iter()
        .filter(|s| s.start >= bounds.0 && s.start < bounds.1)
        .map(|s| Priced {
            start: s.start,
            end: s.end,
            value: (s.eur_kwh + settings.add) * settings.multiply,
        })
        .collect();
    if new.is_empty() {
        return Err(Error::new(
            Kind::TempFail,
            format!("{name}: no price of {day} in the answer yet"),
        ));
    }
    let kept = file::still_to_come(&settings.out, now);
    let all = file::merge(kept, &new);
    file::write(&settings.out, &all)?;
    info!(
        "{} slots of {day} written to {} ({} in all)",
        new.len(),
        settings.out.display(),
        all.len()
    );
    Ok(())
}

/// The answer's status and text; why not, when there is none.
fn fetch(url: &str) -> Result<(u16, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_mins(1)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut answer = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Io(e) => IoCause(&e).to_string(),
        other => other.to_string(),
    })?;
    let status = answer.status().as_u16();
    let text = answer
        .body_mut()
        .with_config()
        .limit(16 << 20)
        .read_to_string()
        .map_err(|e| format!("the answer was cut off: {e}"))?;
    Ok((status, text))
}
