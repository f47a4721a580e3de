//! p1-parse's integration tests: the real binary on real telegrams.

mod cli;
mod common;
mod fixtures;
mod framing;
mod realworld;
mod wire;
