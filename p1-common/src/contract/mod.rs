//! The record contract: the NDJSON records every stage reads and writes ([`record`]), one
//! JSON object a line told apart by `"type"`: the telegram envelope ([`envelope`]), the
//! reading ([`reading`], its structured values in [`reading_values`], each field declared
//! once with [`declare`] as a row of [`field`], read in part with [`select`], written with
//! [`json`]), the relay's events and peak records ([`events`]); p1-report's day and month figures ([`report`]); what p1-serve serves live views ([`live`]); the price file's slots ([`price`]); the documentation of all of
//! them for `man 5 p1` ([`schema`]); and p1-relay's control socket ([`control`]).
//!
//! Which keys each record has, and what they mean, is a contract with users' scripts: a key
//! is added, never renamed or retyped.

pub mod control;
pub mod declare;
pub mod envelope;
pub mod events;
pub mod field;
pub mod json;
#[doc(hidden)]
pub mod json_scan;
pub mod live;
pub mod price;
pub mod reading;
pub mod reading_values;
pub mod record;
pub mod report;
pub mod schema;
pub mod select;
