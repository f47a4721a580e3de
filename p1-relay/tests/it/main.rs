//! p1-relay's integration tests: the real binary on scripted reading streams, with command
//! switches that record what they did, plugs on a local HTTP server, and its control socket.

mod common;
mod prices;
mod process;
mod scenarios;
