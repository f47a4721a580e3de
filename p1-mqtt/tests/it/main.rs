//! p1-mqtt's integration tests: the real binary against a real Mosquitto, watched by real
//! subscribers.

mod broker;
