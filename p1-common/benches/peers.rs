//! p1's decoder beside the two DSMR parsers on crates.io, `dsmr5` and `dsmr-parse`, in one
//! process on the same telegrams: the real-world corpus (`tests/fixtures/realworld`).
//!
//! It prints which telegrams each reads whole, then the time per telegram of each on the
//! telegrams all three read: the CRC checked and every object decoded. Each parser gets its
//! input in the form its API takes, made before the clock starts. The parsers take turns,
//! round after round, and the median round counts, so a noisy machine slows all three alike.
//!
//!     cargo bench -p p1-common --bench peers        (scripts/bench-parse runs it)
//!     cargo bench -p p1-common --bench peers -- --list    (the telegrams all three read)

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use p1_common::{ClockZone, TelegramDecoder};

/// The corpus: each telegram's file name and bytes.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/realworld");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the corpus")
        .map(|entry| entry.expect("a file").path())
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("a telegram"))
        })
        .collect()
}

/// The corpus's Finnish and Lithuanian meters show UTC+2 (as p1-parse's tests read them).
fn zone(name: &str) -> ClockZone {
    if name.starts_with("fi_") || name.starts_with("lt_") {
        ClockZone::parse("+02:00").expect("an offset")
    } else {
        ClockZone::default()
    }
}

/// p1: the CRC, then every line decoded with none left unread.
fn p1_reads_whole(name: &str, telegram: &[u8]) -> bool {
    let mut decoder = TelegramDecoder::new(zone(name));
    decoder
        .decode(telegram)
        .is_ok_and(|decoded| decoded.issues.is_empty())
}

/// `dsmr5` reads from a 2 KiB buffer.
fn dsmr5_readout(telegram: &[u8]) -> Option<dsmr5::Readout> {
    let mut buffer = [0u8; 2048];
    buffer.get_mut(..telegram.len())?.copy_from_slice(telegram);
    Some(dsmr5::Readout { buffer })
}

/// `dsmr5`: the CRC, then every object into its state.
fn dsmr5_decode(readout: &dsmr5::Readout) -> Option<dsmr5::state::State> {
    let telegram = readout.to_telegram().ok()?;
    dsmr5::state::State::try_from(&telegram).ok()
}

/// `dsmr-parse`: the CRC and every line, into its telegram.
fn dsmr_parse_decode(telegram: &[u8]) -> Option<dsmr_parse::Telegram> {
    dsmr_parse::Telegram::read_from(telegram).ok().flatten()
}

/// How long one pass of `decode_all` takes per telegram, the median of `rounds` rounds, each
/// parser's rounds taking turns with the others'.
fn time_per_telegram(passes: &mut [&mut dyn FnMut() -> usize], rounds: usize) -> Vec<Duration> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); passes.len()];
    // Repeats a pass until a round takes at least 20 ms (found once, with the first parser).
    let started = Instant::now();
    let mut repeats = 0u32;
    while started.elapsed() < Duration::from_millis(20) {
        black_box(passes[0]());
        repeats += 1;
    }
    for _ in 0..rounds {
        for (pass, times) in passes.iter_mut().zip(&mut times) {
            let started = Instant::now();
            let mut telegrams = 0;
            for _ in 0..repeats {
                telegrams += black_box(pass());
            }
            times.push(started.elapsed() / telegrams as u32);
        }
    }
    times
        .into_iter()
        .map(|mut times| {
            times.sort();
            times[times.len() / 2]
        })
        .collect()
}

fn main() {
    let corpus = corpus();
    let p1: Vec<bool> = corpus.iter().map(|(n, t)| p1_reads_whole(n, t)).collect();
    let dsmr5: Vec<bool> = corpus
        .iter()
        .map(|(_, t)| dsmr5_readout(t).as_ref().and_then(dsmr5_decode).is_some())
        .collect();
    let dsmr_parse: Vec<bool> = corpus
        .iter()
        .map(|(_, t)| dsmr_parse_decode(t).is_some())
        .collect();
    let count = |read: &[bool]| read.iter().filter(|&&r| r).count();
    println!(
        "Telegrams read whole, of the {} of the real-world corpus:",
        corpus.len()
    );
    println!("  p1          {:2}", count(&p1));
    println!("  dsmr5       {:2}  (0.4.0)", count(&dsmr5));
    println!("  dsmr-parse  {:2}  (0.4.2)", count(&dsmr_parse));

    let common: Vec<&(String, Vec<u8>)> = corpus
        .iter()
        .enumerate()
        .filter(|&(i, _)| p1[i] && dsmr5[i] && dsmr_parse[i])
        .map(|(_, t)| t)
        .collect();
    if std::env::args().any(|a| a == "--list") {
        for (name, _) in &common {
            println!("{name}");
        }
        return;
    }
    let bytes: usize = common.iter().map(|(_, t)| t.len()).sum();
    let readouts: Vec<dsmr5::Readout> = common
        .iter()
        .filter_map(|(_, t)| dsmr5_readout(t))
        .collect();
    let mut decoders: Vec<(TelegramDecoder, &[u8])> = common
        .iter()
        .map(|(name, t)| (TelegramDecoder::new(zone(name)), &t[..]))
        .collect();

    let mut p1_pass = || {
        for (decoder, telegram) in &mut decoders {
            black_box(decoder.decode(black_box(telegram)).is_ok());
        }
        common.len()
    };
    let mut dsmr5_pass = || {
        for readout in &readouts {
            black_box(dsmr5_decode(black_box(readout)));
        }
        readouts.len()
    };
    let mut dsmr_parse_pass = || {
        for (_, telegram) in &common {
            black_box(dsmr_parse_decode(black_box(telegram)));
        }
        common.len()
    };
    let times = time_per_telegram(
        &mut [&mut p1_pass, &mut dsmr5_pass, &mut dsmr_parse_pass],
        21,
    );
    println!();
    println!(
        "On the {} telegrams all three read whole ({} bytes on average), CRC checked and every \
         object decoded, median of 21 rounds:",
        common.len(),
        bytes / common.len().max(1)
    );
    let p1 = times[0].as_secs_f64();
    for (name, time) in ["p1", "dsmr5", "dsmr-parse"].iter().zip(&times) {
        let time = time.as_secs_f64();
        println!(
            "  {name:<10}  {:6.3} µs a telegram   p1 is {:.2}x as fast",
            time * 1e6,
            time / p1
        );
    }
}
