//! The decoder's public entry points on arbitrary bytes (#22): `TelegramDecoder::decode` on
//! the input as a whole, then the whole p1-parse path: framing (in pieces whose sizes the
//! input chooses), decoding each telegram with one decoder reused as p1-parse does, and
//! serialising the reading. Nothing may panic, and a reused decoder reads each telegram as a
//! fresh one does.
//!
//!     cp -r seeds corpus; RUSTC_BOOTSTRAP=1 cargo fuzz run telegram corpus -- -max_total_time=60
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::convert::Infallible;

use p1_common::{ClockZone, Event, Framer, Reading, TelegramDecoder};

fuzz_target!(|data: &[u8]| {
    let (piece, bytes) = match data.split_first() {
        Some((&p, rest)) => (usize::from(p).max(1), rest),
        None => return,
    };
    let _ = TelegramDecoder::new(ClockZone::default()).decode(bytes);

    let mut framer = Framer::new(4096);
    let mut reused = TelegramDecoder::new(ClockZone::default());
    let mut on_event = |event: Event<'_>| -> Result<(), Infallible> {
        if let Event::Telegram { bytes, .. } = event {
            let mut fresh = TelegramDecoder::new(ClockZone::default());
            let fresh = fresh.decode(bytes).expect("the framer checked its CRC");
            let decoded = reused.decode(bytes).expect("the framer checked its CRC");
            let json = serde_json::to_vec(decoded.reading).expect("a reading always serialises");
            let fresh_json = serde_json::to_vec(fresh.reading).expect("a reading always serialises");
            assert_eq!(json, fresh_json);
            assert_eq!(decoded.issues, fresh.issues);
            let back: Reading = serde_json::from_slice(&json).expect("and reads back");
            assert_eq!(back.mbus.len(), decoded.reading.mbus.len());
        }
        Ok(())
    };
    for chunk in bytes.chunks(piece) {
        let Ok(()) = framer.push(chunk, &mut on_event);
    }
    let Ok(()) = framer.finish(&mut on_event);
});
