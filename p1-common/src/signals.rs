//! SIGTERM, SIGINT and SIGHUP as flags that the main loops poll (every read has a timeout, so
//! a stop request is seen within a fraction of a second).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::Error;

#[derive(Debug, Clone)]
pub struct Signals {
    stop: Arc<AtomicBool>,
    hangup: Arc<AtomicBool>,
}

impl Signals {
    /// Registers the handlers: SIGTERM and SIGINT ask to stop, SIGHUP to reload or reconnect.
    pub fn install() -> Result<Self, Error> {
        let signals = Signals {
            stop: Arc::default(),
            hangup: Arc::default(),
        };
        for (signal, flag) in [
            (SIGTERM, &signals.stop),
            (SIGINT, &signals.stop),
            (SIGHUP, &signals.hangup),
        ] {
            signal_hook::flag::register(signal, Arc::clone(flag))
                .map_err(|e| Error::io("cannot install signal handlers", e))?;
        }
        Ok(signals)
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Whether SIGHUP arrived since the last call.
    pub fn take_hangup(&self) -> bool {
        self.hangup.swap(false, Ordering::Relaxed)
    }

    /// Sleeps until `deadline`, or less if a stop is requested; false when stopped.
    pub fn sleep_until(&self, deadline: Instant) -> bool {
        loop {
            if self.stop_requested() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
        }
    }
}
