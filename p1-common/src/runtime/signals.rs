//! SIGTERM, SIGINT and SIGHUP, delivered to whoever waits: a thread of its own takes each
//! signal, notes it, wakes every sleeper and tells the loops that asked (the stage loop gets
//! it as a message). Nothing polls: a sleep ends the moment a stop is asked for.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::runtime::error::{Context as _, Error};

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM or SIGINT.
    Stop,
    /// SIGHUP: reload, or reopen.
    Hangup,
}

type Listener = Box<dyn Fn(Signal) + Send>;

#[derive(Default)]
struct State {
    stop: bool,
    hangup: bool,
    listeners: Vec<Listener>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// The signals of this process, as flags and as wake-ups.
#[derive(Clone)]
pub struct Signals {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signals").finish_non_exhaustive()
    }
}

impl Signals {
    /// Registers the handlers: SIGTERM and SIGINT ask to stop, SIGHUP to reload or reopen.
    pub fn install() -> Result<Self, Error> {
        let mut incoming = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])
            .context("cannot install signal handlers")?;
        let signals = Signals {
            shared: Arc::default(),
        };
        let shared = Arc::clone(&signals.shared);
        std::thread::spawn(move || {
            for number in &mut incoming {
                let signal = if number == SIGHUP {
                    Signal::Hangup
                } else {
                    Signal::Stop
                };
                let mut state = lock(&shared.state);
                match signal {
                    Signal::Stop => state.stop = true,
                    Signal::Hangup => state.hangup = true,
                }
                for listener in &state.listeners {
                    listener(signal);
                }
                drop(state);
                shared.changed.notify_all();
            }
        });
        Ok(signals)
    }

    /// Calls `listener` (from the signal thread) for every signal from now on.
    pub fn listen(&self, listener: impl Fn(Signal) + Send + 'static) {
        lock(&self.shared.state).listeners.push(Box::new(listener));
    }

    /// Whether SIGINT or SIGTERM came.
    pub fn stop_requested(&self) -> bool {
        lock(&self.shared.state).stop
    }

    /// Whether SIGHUP arrived since the last call.
    pub fn take_hangup(&self) -> bool {
        std::mem::take(&mut lock(&self.shared.state).hangup)
    }

    /// Sleeps until `deadline`, or less if a stop is asked for; false when stopped.
    pub fn sleep_until(&self, deadline: Instant) -> bool {
        let mut state = lock(&self.shared.state);
        loop {
            if state.stop {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}
