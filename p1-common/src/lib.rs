//! Shared core of the p1 toolkit, in three parts:
//!
//! - [`protocol`]: the P1 wire format. Framing telegrams out of a byte stream, their CRC,
//!   OBIS objects, exact numbers, meter timestamps, and decoding a telegram into a reading.
//! - [`contract`]: the NDJSON records the stages exchange (telegram envelopes, readings,
//!   relay events, peak records), each field declared once, their JSON, their documentation,
//!   and p1-relay's control socket.
//! - [`runtime`]: what every binary shares. Errors and exit statuses, the common flags and
//!   `main`, logging, output, input, signals, secrets, and the stage loop a stage of the
//!   pipeline is built on.
//!
//! A part depends only on those above it, but for the decoder, which fills the reading the
//! contract declares (and the contract names the value decoders of each field).

pub mod contract;
pub mod protocol;
pub mod runtime;

pub use contract::field::FieldTable;
pub use contract::reading::{self, Reading};
pub use protocol::crc::{self as telegram_crc, crc16};
pub use protocol::decode::{self, Decoded, LineIssue, TelegramDecoder};
pub use protocol::frame::{self, CrcCheck, Event, FrameStats, Framer, Reject, check_crc};
pub use protocol::meter_time::{self, ClockZone, MeterTime};
pub use runtime::error::{Context, Error, Kind};
/// For [`reading_fields!`] in other crates.
pub use serde;
#[doc(hidden)]
pub use serde_json;

// So that paths in attribute strings of [`reading_fields!`] resolve here too.
extern crate self as p1_common;
