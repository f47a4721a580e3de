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
//!
//! # Reading a meter
//!
//! The decoder is a library of its own: [`Framer`] cuts a byte stream (a serial port, a
//! socket, a capture) into telegrams and checks each CRC, [`TelegramDecoder`] (or
//! [`decode::decode`] into a reading of your own) turns a telegram into a [`Reading`]: typed
//! fields with their unit in their name, the M-Bus devices, and every object it does not know
//! kept as sent in `unknown`. [`ClockZone`] is the rule of the meter's clock (its winter
//! offset from UTC; summer adds an hour). Nothing is allocated per telegram once the first
//! ones are read. See `README.md` for the meters it reads.
//!
//! ```
//! use std::convert::Infallible;
//! use p1_common::{ClockZone, Event, Framer, TelegramDecoder};
//!
//! let stream = b"noise/ISK5\\2M550E-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(240611093010S)\r\n\
//!     1-0:1.7.0(01.193*kW)\r\n1-0:2.7.0(00.000*kW)\r\n!";
//! let crc = p1_common::crc16(&stream[5..]);
//! let stream = [&stream[..], format!("{crc:04X}\r\n").as_bytes()].concat();
//!
//! let mut framer = Framer::default();
//! let mut decoder = TelegramDecoder::new(ClockZone::default());
//! let mut power = Vec::new();
//! let mut on_event = |event: Event<'_>| -> Result<(), Infallible> {
//!     if let Event::Telegram { bytes, .. } = event {
//!         let decoded = decoder.decode(bytes).expect("its CRC was checked");
//!         power.push(decoded.reading.power_import_kw);
//!     }
//!     Ok(())
//! };
//! // Bytes as they come, in pieces of any size; `finish` at the end of the stream.
//! let Ok(()) = framer.push(&stream[..20], &mut on_event);
//! let Ok(()) = framer.push(&stream[20..], &mut on_event);
//! let Ok(()) = framer.finish(&mut on_event);
//! assert_eq!(power, [Some(1.193)]);
//! assert_eq!(framer.stats().garbage_bytes, 5);
//! ```

#![warn(missing_docs)]

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
