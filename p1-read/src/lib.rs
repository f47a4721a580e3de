//! p1-read: the first stage of the pipeline. Turns a byte stream (serial port, TCP, capture,
//! or the built-in simulated meter) into whole telegrams, one NDJSON envelope a line, written
//! and flushed the moment a telegram's CRC line has arrived.

mod decoder;
mod emit;
#[cfg(feature = "encryption")]
mod gcm;
mod health;
mod keys;
mod settings;
pub mod sim;
mod source;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use clap::Parser;
use p1_common::output::RecordWriter;
use p1_common::signals::Signals;
use p1_common::{Error, logger};

use crate::emit::Emitter;
pub use crate::settings::Cli;
use crate::settings::{Input, PROG, Settings, SimSettings};
use crate::sim::SimMeter;

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::init(PROG, logger::level(cli.quiet, cli.verbose));
    p1_common::exit_code(PROG, Settings::from_cli(cli).and_then(|s| run(&s)))
}

fn run(settings: &Settings) -> Result<(), Error> {
    let signals = Signals::install()?;
    let mut emitter = Emitter::new(RecordWriter::stdout(), &settings.name, &settings.output);
    let result = match &settings.input {
        Input::Sim(sim) => run_sim(sim, settings, &signals, &mut emitter),
        Input::Bytes {
            source,
            serial,
            realtime,
        } => source::run(source, *serial, *realtime, settings, &signals, &mut emitter),
    };
    if !matches!(result, Err(Error::NoInput(_))) {
        emitter.summarise();
    }
    result
}

fn run_sim(
    settings: &SimSettings,
    all: &Settings,
    signals: &Signals,
    emitter: &mut Emitter,
) -> Result<(), Error> {
    log::debug!(
        "sim: seed {}, start {}",
        settings.seed,
        Utc.from_utc_datetime(&settings.start).to_rfc3339()
    );
    let mut sim = SimMeter::new(settings.seed, settings.start);
    let mut meter = SimOutput::new(settings, all);
    let began = Instant::now();
    let mut sent: u64 = 0;
    while !emitter.done() {
        if settings.speed > 0.0 {
            let due = began + Duration::from_secs_f64(sent as f64 / settings.speed);
            if !signals.sleep_until(due) {
                break;
            }
        } else if signals.stop_requested() {
            break;
        }
        meter.send(sim.next_telegram().as_bytes(), emitter)?;
        sent += 1;
    }
    Ok(())
}

/// What the simulated meter sends: its telegrams, or each in an encrypted frame (read back
/// through the decoder as any encrypted meter's, or written raw).
struct SimOutput {
    #[cfg(feature = "encryption")]
    encrypt: Option<keys::Keys>,
    decoder: Option<decoder::Decoder>,
    counter: u32,
}

impl SimOutput {
    fn new(settings: &SimSettings, all: &Settings) -> Self {
        SimOutput {
            #[cfg(feature = "encryption")]
            encrypt: settings.encrypt.clone(),
            decoder: (settings.encrypt.is_some() && all.keys.is_some())
                .then(|| decoder::Decoder::new(all)),
            counter: 0,
        }
    }

    fn send(&mut self, telegram: &[u8], emitter: &mut Emitter) -> Result<(), Error> {
        self.counter += 1;
        #[cfg(feature = "encryption")]
        if let Some(keys) = &self.encrypt {
            // A Smarty's system title: "SAG" and a serial.
            let mut frame = gcm::encrypt(keys, *b"SAGsim\x00\x01", self.counter, telegram);
            return match self.decoder.as_mut() {
                Some(decoder) => {
                    decoder.push(&mut frame, |event, info| emitter.on_event(event, info));
                    emitter.take_error()?;
                    decoder.check_key(false)
                }
                None => emitter.telegram(&frame, None),
            };
        }
        let _ = &self.decoder;
        emitter.telegram(telegram, None)
    }
}

/// For the fuzz target: any bytes, in pieces of any size, through the encrypted meters'
/// framer, never a panic; and `data` encrypted as a frame, between those bytes, comes out
/// as it went in.
#[cfg(feature = "encryption")]
#[doc(hidden)]
pub fn fuzz_encrypted(data: &[u8]) {
    let keys = keys::Keys {
        encryption: [0x5A; 16],
        authentication: keys::SMARTY_AUTH_KEY,
    };
    let piece = usize::from(data.first().copied().unwrap_or(1)).max(1);
    let frame = gcm::encrypt(&keys, *b"SAGfuzz\x01", 7, data);
    let mut stream = data.to_vec();
    stream.extend_from_slice(&frame);
    let mut framer = gcm::GcmFramer::new(&keys);
    let mut found = false;
    let mut check = |event: gcm::GcmEvent<'_>| {
        if let gcm::GcmEvent::Telegram {
            plaintext,
            counter: 7,
            ..
        } = event
        {
            assert_eq!(plaintext, data, "the frame decrypts to what was encrypted");
            found = true;
        }
    };
    for chunk in stream.chunks(piece) {
        framer.push(chunk, &mut check);
    }
    framer.finish(&mut check);
    assert!(
        found || data.len() > 16 * 1024 - 17,
        "the frame after the garbage was found"
    );
}
