//! The switches of a configuration's loads, each driven by its worker: opened at start (all
//! off), kept across a reload where a load and its switch are unchanged, and given time to
//! act at the end.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use p1_common::runtime::error::{Fault, Kind};

use crate::config::{Config, SwitchConfig};
use crate::switch::gpio::GpioError;
use crate::switch::worker::Actuator;

/// Called with a load's name when its worker dies.
pub(crate) type OnDeath = Arc<dyn Fn(&str) + Send + Sync>;

/// A load whose switch cannot be opened.
#[derive(Debug)]
pub(crate) struct OpenError {
    load: String,
    source: GpioError,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "load '{}': {}", self.load, self.source)
    }
}

impl std::error::Error for OpenError {}

impl Fault for OpenError {
    fn kind(&self) -> Kind {
        Kind::Failure
    }
}

/// Every load's actuator, in the configuration's order.
pub(crate) struct Actuators {
    list: Vec<Actuator>,
    /// Decide and report only: no switch is touched.
    dry_run: bool,
    on_death: OnDeath,
}

impl fmt::Debug for Actuators {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Actuators")
            .field("loads", &self.list.len())
            .finish_non_exhaustive()
    }
}

impl Actuators {
    /// Opens every load's switch, off.
    pub(crate) fn open(
        config: &Config,
        dry_run: bool,
        on_death: OnDeath,
    ) -> Result<Self, OpenError> {
        let mut actuators = Actuators {
            list: Vec::new(),
            dry_run,
            on_death,
        };
        for load in &config.loads {
            let actuator = actuators.open_one(load.name.get_ref(), load.switch.get_ref())?;
            actuator.set(false);
            actuators.list.push(actuator);
        }
        Ok(actuators)
    }

    fn open_one(&self, name: &str, switch: &SwitchConfig) -> Result<Actuator, OpenError> {
        let switch =
            crate::switch::open(name, switch, self.dry_run).map_err(|source| OpenError {
                load: name.to_string(),
                source,
            })?;
        let on_death = Arc::clone(&self.on_death);
        let load = name.to_string();
        Ok(Actuator::spawn(name.to_string(), switch, move || {
            on_death(&load);
        }))
    }

    /// Switches load `index`.
    pub(crate) fn set(&self, index: usize, on: bool) {
        self.list[index].set(on);
    }

    /// The actuators of a new configuration: those whose load and switch are unchanged are
    /// kept, the others opened; the ones no longer wanted are switched off and ended. The
    /// new switches are opened first: if one fails, nothing has changed.
    pub(crate) fn reload(
        &mut self,
        old: &Config,
        new: &Config,
        deadline: Instant,
    ) -> Result<(), OpenError> {
        let kept: Vec<Option<usize>> = new
            .loads
            .iter()
            .map(|load| {
                old.loads.iter().position(|old| {
                    old.name.get_ref() == load.name.get_ref()
                        && old.switch.get_ref() == load.switch.get_ref()
                })
            })
            .collect();
        let mut opened = Vec::new();
        for (load, kept) in new.loads.iter().zip(&kept) {
            if kept.is_none() {
                opened.push(self.open_one(load.name.get_ref(), load.switch.get_ref())?);
            }
        }
        let mut old: Vec<Option<Actuator>> = std::mem::take(&mut self.list)
            .into_iter()
            .map(Some)
            .collect();
        let mut opened = opened.into_iter();
        self.list = kept
            .iter()
            .filter_map(|kept| match kept {
                Some(i) => old[*i].take(),
                None => opened.next(),
            })
            .collect();
        for gone in old.into_iter().flatten() {
            gone.set(false);
            gone.finish(false, deadline);
        }
        Ok(())
    }

    /// Every load off but those kept on at exit, and each worker given until `deadline`.
    pub(crate) fn finish(&mut self, config: &Config, deadline: Instant) {
        for (actuator, load) in std::mem::take(&mut self.list)
            .into_iter()
            .zip(&config.loads)
        {
            if !load.keep_on_exit {
                actuator.set(false);
            }
            actuator.finish(load.keep_on_exit, deadline);
        }
    }
}
