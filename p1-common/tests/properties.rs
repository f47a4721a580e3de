//! Properties of framing and decoding together: no input panics, and no corruption of a
//! CRC-protected telegram yields a reading with a wrong value.

use std::convert::Infallible;

use p1_common::contract::reading::Reading;
use p1_common::protocol::decode::decode;
use p1_common::protocol::frame::{Event, Framer};
use p1_common::protocol::meter_time::ClockZone;
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../tests/fixtures/telegrams/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).expect("fixture")
}

/// Frames `input` (in pieces of `piece` bytes) and decodes every telegram found.
fn readings(input: &[u8], piece: usize) -> Vec<Reading> {
    let mut framer = Framer::default();
    let mut out = Vec::new();
    let mut issues = Vec::new();
    let mut on_event = |event: Event<'_>| -> Result<(), Infallible> {
        if let Event::Telegram { bytes, .. } = event {
            let mut reading = Reading::default();
            decode(bytes, ClockZone::default(), &mut reading, &mut issues);
            out.push(reading);
        }
        Ok(())
    };
    for chunk in input.chunks(piece.max(1)) {
        let Ok(()) = framer.push(chunk, &mut on_event);
    }
    let Ok(()) = framer.finish(&mut on_event);
    out
}

const WITH_CRC: [&str; 5] = [
    "fluvius_v171.txt",
    "fluvius_v171_alt.txt",
    "v4_2.txt",
    "v5_two_mbus.txt",
    "v5_unpadded_crc.txt",
];

/// Every byte of each CRC-protected fixture, replaced in turn by bytes that flip one bit, change
/// case, or are framing characters: any reading that still comes out is the original one, and
/// the intact telegram that follows is always read.
#[test]
fn single_byte_corruption_never_yields_a_wrong_reading() {
    for name in WITH_CRC {
        let original = fixture(name);
        let expected = readings(&original, usize::MAX);
        assert_eq!(expected.len(), 1, "{name}");
        let mut emitted_despite_corruption = 0;
        for position in 0..original.len() {
            let byte = original[position];
            let replacements = [
                byte ^ 0x01,
                byte ^ 0x10,
                byte ^ 0x20,
                byte ^ 0x80,
                b'/',
                b'!',
                b'\n',
                b'(',
                b'0',
            ];
            for replacement in replacements {
                if replacement == byte {
                    continue;
                }
                let mut input = original.clone();
                input[position] = replacement;
                input.extend_from_slice(&original);
                let got = readings(&input, 61);
                assert!(
                    !got.is_empty() && got.iter().all(|r| *r == expected[0]),
                    "{name}: byte {position} {:?} -> {:?} gave {got:#?}",
                    byte as char,
                    replacement as char
                );
                emitted_despite_corruption += got.len() - 1;
            }
        }
        // Only harmless changes get through: the case of a CRC hex digit, or bytes after the CRC.
        assert!(
            emitted_despite_corruption < 16,
            "{name}: {emitted_despite_corruption}"
        );
    }
}

/// Fragments of real telegrams mixed with random bytes, fed in random-sized pieces.
fn hostile_input() -> impl Strategy<Value = (Vec<u8>, usize)> {
    let fixtures: Vec<Vec<u8>> = WITH_CRC
        .iter()
        .chain(["v2_2.txt", "q3d_esy5q3db1024_v304.txt"].iter())
        .map(|n| fixture(n))
        .collect();
    let piece = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        prop::collection::vec(
            prop::sample::select(b"/!()*:.-\r\n0123456789ABCDEFSW".to_vec()),
            0..64
        ),
        (
            0..fixtures.len(),
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>()
        )
            .prop_map(move |(f, a, b)| {
                let t = &fixtures[f];
                let (a, b) = (a.index(t.len()), b.index(t.len()));
                t[a.min(b)..a.max(b)].to_vec()
            }),
    ];
    (
        prop::collection::vec(piece, 0..24).prop_map(|p| p.concat()),
        1usize..300,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_input_panics((input, piece) in hostile_input()) {
        let _ = readings(&input, piece);
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..2048), piece in 1usize..64) {
        let _ = readings(&input, piece);
    }

    #[test]
    fn piece_sizes_do_not_change_what_is_read(piece in 1usize..200) {
        let mut input = Vec::new();
        for name in WITH_CRC {
            input.extend(fixture(name));
            input.extend(b"garbage\r\n");
        }
        let whole = readings(&input, usize::MAX);
        prop_assert_eq!(whole.len(), WITH_CRC.len());
        prop_assert_eq!(readings(&input, piece), whole);
    }
}
