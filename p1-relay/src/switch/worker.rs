//! The thread that drives one switch: it applies the latest wanted state, retries failures
//! with backoff, and re-sends ON where the switch wants it; between those it blocks on its
//! orders. If it dies (a panic in a switch), it says so, so that the relay can switch every
//! load off and stop.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{debug, info, warn};

use super::Switch;

enum Order {
    Set(bool),
    /// Apply what is pending, then end (leaving the load as it is if `keep`).
    Finish {
        keep: bool,
    },
}

/// One switch's worker, seen from the relay loop.
pub(crate) struct Actuator {
    orders: Sender<Order>,
    /// Closed when the worker ends, however it ends.
    ended: Receiver<()>,
    worker: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Actuator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Actuator")
    }
}

/// Says that the worker ended: dropped at its end, by a return or a panic.
struct EndNotice {
    _ended: Sender<()>,
    on_death: Option<Box<dyn FnOnce() + Send>>,
}

impl Drop for EndNotice {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(on_death) = self.on_death.take()
        {
            on_death();
        }
    }
}

impl Actuator {
    /// Starts the worker of `load`'s switch; `on_death` is called if it dies.
    pub(crate) fn spawn(
        load: String,
        switch: Box<dyn Switch>,
        on_death: impl FnOnce() + Send + 'static,
    ) -> Actuator {
        let (orders, inbox) = mpsc::channel();
        let (ended_tx, ended) = mpsc::channel();
        let worker = std::thread::spawn(move || {
            let _notice = EndNotice {
                _ended: ended_tx,
                on_death: Some(Box::new(on_death)),
            };
            Driver::new(load, switch).run(&inbox);
        });
        Actuator {
            orders,
            ended,
            worker: Some(worker),
        }
    }

    pub(crate) fn set(&self, on: bool) {
        let _ = self.orders.send(Order::Set(on));
    }

    /// Whether its worker has ended on its own (a panic in a switch).
    #[cfg(test)]
    fn died(&self) -> bool {
        self.worker.as_ref().is_some_and(JoinHandle::is_finished)
    }

    /// Asks the worker to apply what is pending and end; waits for it until `deadline`.
    pub(crate) fn finish(mut self, keep: bool, deadline: Instant) {
        let _ = self.orders.send(Order::Finish { keep });
        let left = deadline.saturating_duration_since(Instant::now());
        // Nothing is ever sent: the channel closes when the worker ends.
        let _ = self.ended.recv_timeout(left);
        if let Some(worker) = self.worker.take()
            && worker.is_finished()
        {
            let _ = worker.join();
        }
    }
}

/// A worker's state: what is wanted, what the switch last took, and when to try again.
struct Driver {
    load: String,
    switch: Box<dyn Switch>,
    wanted: Option<bool>,
    applied: Option<bool>,
    last_sent: Instant,
    retry_after: Duration,
    next_try: Instant,
    /// When a failure was last reported (at most one warning a minute).
    last_warning: Option<Instant>,
}

/// The first pause after a failure; it doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(30);

impl Driver {
    fn new(load: String, switch: Box<dyn Switch>) -> Self {
        Driver {
            load,
            switch,
            wanted: None,
            applied: None,
            last_sent: Instant::now(),
            retry_after: FIRST_RETRY,
            next_try: Instant::now(),
            last_warning: None,
        }
    }

    fn run(mut self, inbox: &Receiver<Order>) {
        loop {
            self.apply_if_due();
            let order = match self.wait() {
                Some(wait) => inbox.recv_timeout(wait),
                None => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match order {
                Ok(Order::Set(on)) => {
                    self.wanted = Some(on);
                    self.next_try = Instant::now();
                }
                Ok(Order::Finish { keep: true }) => {
                    self.switch.keep_state_after_exit();
                    return;
                }
                Ok(Order::Finish { keep: false }) => {
                    // One last try, whatever the backoff says.
                    self.next_try = Instant::now();
                    self.apply_if_due();
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn refresh_due(&self) -> bool {
        self.applied == Some(true)
            && self
                .switch
                .refresh_every()
                .is_some_and(|every| self.last_sent.elapsed() >= every)
    }

    fn apply_if_due(&mut self) {
        let Some(on) = self.wanted else {
            return;
        };
        if (Some(on) == self.applied && !self.refresh_due()) || Instant::now() < self.next_try {
            return;
        }
        match self.switch.set(on) {
            Ok(()) => {
                if self.last_warning.take().is_some() {
                    info!("{}: switch works again", self.load);
                }
                debug!("{}: switched {}", self.load, on_off(on));
                self.applied = Some(on);
                self.last_sent = Instant::now();
                self.retry_after = FIRST_RETRY;
            }
            Err(e) => {
                if self
                    .last_warning
                    .is_none_or(|t| t.elapsed() >= Duration::from_mins(1))
                {
                    warn!(
                        "{}: switching {} failed: {e}; retrying",
                        self.load,
                        on_off(on)
                    );
                    self.last_warning = Some(Instant::now());
                }
                self.next_try = Instant::now() + self.retry_after;
                self.retry_after = (self.retry_after * 2).min(MAX_RETRY);
            }
        }
    }

    /// How long to wait for an order: until a retry or a refresh is due; `None` when
    /// nothing is (the worker blocks until the next order).
    fn wait(&self) -> Option<Duration> {
        let retry = (self.wanted.is_some() && self.wanted != self.applied)
            .then(|| self.next_try.saturating_duration_since(Instant::now()));
        let refresh = match self.switch.refresh_every() {
            Some(every) if self.applied == Some(true) => {
                Some(every.saturating_sub(self.last_sent.elapsed()))
            }
            _ => None,
        };
        retry.into_iter().chain(refresh).min()
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::switch::{DryRun, SwitchError};

    /// A switch whose driver code fails in a way nobody planned for.
    struct Broken;

    impl Switch for Broken {
        fn set(&mut self, _on: bool) -> Result<(), SwitchError> {
            panic!("a bug in a switch");
        }
    }

    /// Issue 13 (10): a switch thread that dies is noticed, and says so.
    #[test]
    fn a_dead_switch_thread_is_noticed_regression_13() {
        let (deaths, died) = mpsc::channel();
        let told = deaths.clone();
        let working = Actuator::spawn("ok".into(), Box::new(DryRun), move || {
            let _ = told.send("ok");
        });
        let broken = Actuator::spawn("broken".into(), Box::new(Broken), move || {
            let _ = deaths.send("broken");
        });
        working.set(true);
        broken.set(true);
        assert_eq!(died.recv_timeout(Duration::from_secs(10)), Ok("broken"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !broken.died() && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(broken.died());
        assert!(!working.died());
        working.finish(false, Instant::now() + Duration::from_secs(5));
        assert!(
            died.try_recv().is_err(),
            "a worker that ends as asked is no death"
        );
    }
}
