//! Shared core of the p1 toolkit.
//!
//! Everything more than one binary needs lives here: framing telegrams out of a byte stream
//! ([`frame`]), their CRC ([`telegram_crc`]), the OBIS line tokenizer ([`obis`]), the typed
//! reading model and its NDJSON form ([`reading`]), decoding a telegram into a reading
//! ([`decode`]), meter timestamps ([`meter_time`]), the envelope p1-read writes
//! ([`envelope`]), errors and exit codes ([`error`]), the stderr logger ([`logger`]) and the
//! flushing record writer ([`output`]).

pub mod choice;
pub mod control;
pub mod decode;
pub mod envelope;
pub mod error;
pub mod field;
pub mod frame;
pub mod id;
pub mod input;
pub mod json;
pub mod logger;
pub mod meter_time;
pub mod number;
pub mod obis;
pub mod output;
pub mod reading;
pub mod record;
pub mod secret;
pub mod signals;
pub mod telegram_crc;

pub use error::{Error, exit_code};
/// For [`reading_fields!`] in other crates.
pub use serde;

// So that paths in attribute strings of [`reading_fields!`] resolve here too.
extern crate self as p1_common;
