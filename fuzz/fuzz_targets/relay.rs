//! p1-relay's configuration and input: any configuration is accepted or refused with an
//! error, never a panic (durations of any size, thresholds of any value), and whatever input
//! lines follow drive the controller without a panic (a clock that jumps either way, gaps,
//! restarts from the saved state). The input is the TOML, a NUL byte, then NDJSON lines.
//!
//!     RUSTC_BOOTSTRAP=1 cargo fuzz run relay -- -max_total_time=60
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    p1_relay::fuzz_configuration_and_input(data);
});
