//! p1-serve's integration tests: the real binary on 127.0.0.1, read by plain HTTP and TCP
//! clients, by the real Python clients of Home Assistant's integrations, by promtool, and
//! browsed for over mDNS.

mod clients;
mod common;
mod mdns;
mod page;
mod serve;
