//! The end-to-end tests: the real binaries together, as the README and `p1-pipeline` wire
//! them, against real pseudo-terminals, a real influxd and a real Mosquitto; and the
//! service files as systemd reads them.

mod common;
mod home_assistant;
mod mqtt;
mod noise;
mod p1_pipeline;
mod package;
mod pipeline;
mod prices;
mod setups;
mod unit;
mod watch;
