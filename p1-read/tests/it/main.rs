//! p1-read's integration tests: the real binary on serial devices (pseudo-terminals), TCP,
//! captures, stdin, the simulated meter and encrypted frames.

mod common;
mod encrypted;
mod replay;
mod serial;
mod sim;
mod tcp;
