//! p1-influx's integration tests: the real binary against a real influxd (1.x), a local HTTP
//! server playing 2.x, 3.x and faulty servers, and the record contract's line protocol.

mod common;
mod contract;
mod faults;
mod influxdb;
