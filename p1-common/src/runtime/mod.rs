//! The stage runtime: what every binary does the same way. Errors and the exit-status table
//! ([`error`]), the shared flags, `main` and help sections ([`cli`]), the stderr logger
//! ([`logger`]), the flushing record writer ([`output`]), bounded line input and the
//! rate-limited bad-line log ([`input`]), signals that wake whoever waits ([`signals`]), a batch stage's files ([`files`]),
//! secrets read from files ([`secret`]), the stage loop ([`stage`]), and small helpers for
//! names chosen on a command line ([`choice`]) and ids ([`id`]), addresses and durations as users type
//! them ([`address`], [`duration`]).

pub mod address;
pub mod choice;
pub mod cli;
pub mod duration;
pub mod error;
pub mod files;
pub mod id;
pub mod input;
pub mod logger;
pub mod output;
pub mod secret;
pub mod signals;
pub mod stage;
mod wait;
