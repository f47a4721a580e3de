//! The whole p1-parse path on arbitrary bytes: framing (in pieces whose sizes the input
//! chooses), decoding, and serialising the reading. Nothing may panic.
//!
//!     cp -r seeds corpus; RUSTC_BOOTSTRAP=1 cargo fuzz run telegram corpus -- -max_total_time=60
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::convert::Infallible;

use p1_common::contract::reading::Reading;
use p1_common::protocol::decode::decode;
use p1_common::protocol::frame::{Event, Framer};
use p1_common::protocol::meter_time::ClockZone;

fuzz_target!(|data: &[u8]| {
    let (piece, bytes) = match data.split_first() {
        Some((&p, rest)) => (usize::from(p).max(1), rest),
        None => return,
    };
    let mut framer = Framer::new(4096);
    let mut reading = Reading::default();
    let mut issues = Vec::new();
    let mut on_event = |event: Event<'_>| -> Result<(), Infallible> {
        if let Event::Telegram { bytes, .. } = event {
            decode(bytes, ClockZone::default(), &mut reading, &mut issues);
            let json = serde_json::to_vec(&reading).expect("a reading always serialises");
            let back: Reading = serde_json::from_slice(&json).expect("and reads back");
            assert_eq!(back.mbus.len(), reading.mbus.len());
        }
        Ok(())
    };
    for chunk in bytes.chunks(piece) {
        let Ok(()) = framer.push(chunk, &mut on_event);
    }
    let Ok(()) = framer.finish(&mut on_event);
});
