//! Issue 22: in the steady state, decoding a telegram and writing its reading's JSON allocates
//! nothing. Telegrams of one meter, a second apart (other values, other times, the same
//! history), are framed, decoded and written as p1-parse does; after the first few, the heap
//! is not touched. Alone in its test binary: the allocator counts every thread.

use std::convert::Infallible;

use p1_common::contract::json::WriteJson as _;
use p1_common::{ClockZone, Event, Framer, LineIssue, Reading, crc16, decode};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// A Belgian meter's telegram (13-month history, gas) at second `n`, its power and registers
/// moving.
fn telegram(n: u32) -> Vec<u8> {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/realworld/be_fluvius_t211_3ph_history13_50217.txt"
    );
    let text = std::fs::read_to_string(fixture).expect("the fixture");
    let body = &text[..text.find('!').expect("a telegram")];
    let body = body
        .replace(
            "0-0:1.0.0(250715200648S)",
            &format!("0-0:1.0.0(2507152{:05}S)", n % 60 + 100),
        )
        .replace(
            "1-0:1.7.0(00.129*kW)",
            &format!("1-0:1.7.0({:02}.{:03}*kW)", n % 7, n % 1000),
        )
        .replace(
            "1-0:1.8.1(010633.252*kWh)",
            &format!("1-0:1.8.1(010633.{:03}*kWh)", n % 1000),
        )
        .replace(
            "1-0:32.7.0(236.8*V)",
            &format!("1-0:32.7.0(23{}.{}*V)", n % 10, n % 7),
        )
        .replace(
            "0-0:96.13.0()",
            "0-0:96.13.0(48656C6C6F)\r\n0-1:24.1.0(003)\r\n\
             0-1:96.1.1(37464C4F32313139303333373333)\r\n0-1:24.2.3(250715200500S)(01234.567*m3)",
        );
    let crc = crc16(format!("{body}!").as_bytes());
    format!("{body}!{crc:04X}\r\n").into_bytes()
}

#[test]
fn decoding_and_writing_telegram_after_telegram_allocates_nothing_regression_22() {
    let capture: Vec<u8> = (0..200).flat_map(telegram).collect();
    let (warm_up, steady) = capture.split_at(capture.len() / 10);

    let mut framer = Framer::default();
    let mut reading = Reading::default();
    let mut issues: Vec<LineIssue> = Vec::new();
    let mut json = Vec::with_capacity(8192);
    let mut telegrams = 0;
    let mut on_frame = |event: Event<'_>| -> Result<(), Infallible> {
        let Event::Telegram { bytes, .. } = event else {
            panic!("a frame was dropped: {event:?}");
        };
        issues.clear();
        decode::decode(bytes, ClockZone::default(), &mut reading, &mut issues);
        assert!(issues.is_empty(), "{issues:?}");
        json.clear();
        reading.write_json(&mut json);
        telegrams += 1;
        Ok(())
    };

    let Ok(()) = framer.push(warm_up, &mut on_frame);
    let _profiler = dhat::Profiler::builder().testing().build();
    let Ok(()) = framer.push(steady, &mut on_frame);
    let stats = dhat::HeapStats::get();

    assert_eq!(telegrams, 200);
    assert!(json.starts_with(b"{\"type\":\"reading\""));
    let json = String::from_utf8(json).expect("JSON");
    assert!(json.contains("\"message\":\"Hello\""), "{json}");
    dhat::assert_eq!(stats.total_blocks, 0);
}
