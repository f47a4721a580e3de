//! p1-read's encrypted-frame reader: any bytes in pieces of any size never panic, and a
//! frame after them is still found and decrypts to what was encrypted.
//!
//!     RUSTC_BOOTSTRAP=1 cargo fuzz run encrypted -- -max_total_time=60
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    p1_read::fuzz_encrypted(data);
});
