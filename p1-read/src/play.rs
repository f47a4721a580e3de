//! The simulated meter as a source: its telegrams paced at `--speed`, sent in the clear or
//! in encrypted frames (read back through a decoder as any encrypted meter's, or written
//! raw).

use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, TimeZone as _, Utc};
use p1_common::Error;
use p1_common::runtime::signals::Signals;

use crate::decoder::Decoder;
use crate::emit::Emitter;
#[cfg(feature = "encryption")]
use crate::gcm;
use crate::keys::Keys;
use crate::sim::SimMeter;

/// The simulated meter, and how it is played.
#[derive(Debug)]
pub(crate) struct Play {
    pub(crate) seed: u64,
    /// The meter clock's start, UTC.
    pub(crate) start: NaiveDateTime,
    /// Times real time; 0 is as fast as possible.
    pub(crate) speed: f64,
    /// Play an encrypted meter with these keys.
    pub(crate) encrypt: Option<Keys>,
    /// Its frames read back as a meter's (else written raw).
    pub(crate) read_back: Option<Decoder>,
}

impl Play {
    pub(crate) fn run(mut self, signals: &Signals, emitter: &mut Emitter) -> Result<(), Error> {
        log::debug!(
            "sim: seed {}, start {}",
            self.seed,
            Utc.from_utc_datetime(&self.start).to_rfc3339()
        );
        let mut sim = SimMeter::new(self.seed, self.start);
        let began = Instant::now();
        let mut sent: u64 = 0;
        while !emitter.done() {
            if self.speed > 0.0 {
                let due = began + Duration::from_secs_f64(sent as f64 / self.speed);
                if !signals.sleep_until(due) {
                    break;
                }
            } else if signals.stop_requested() {
                break;
            }
            sent += 1;
            self.send(sim.next_telegram().as_bytes(), sent, emitter)?;
        }
        Ok(())
    }

    /// Sends telegram number `counter`.
    fn send(&mut self, telegram: &[u8], counter: u64, emitter: &mut Emitter) -> Result<(), Error> {
        #[cfg(feature = "encryption")]
        if let Some(keys) = &self.encrypt {
            // A Smarty's system title: "SAG" and a serial.
            let mut frame = gcm::encrypt(keys, *b"SAGsim\x00\x01", counter as u32, telegram);
            return match self.read_back.as_mut() {
                Some(decoder) => {
                    decoder.push(&mut frame, |event, info| emitter.on_event(event, info))?;
                    decoder.check_key(false)
                }
                None => emitter.telegram(&frame, None),
            };
        }
        let _ = (counter, &self.encrypt, &self.read_back);
        emitter.telegram(telegram, None)
    }
}
