//! Decodes a capture of a meter's P1 output (its bytes as sent, any number of telegrams, with
//! whatever noise was between them) and prints a line a telegram: its time, the power drawn
//! and injected, and how many values it carried; frames that fail their CRC are counted.
//!
//!     cargo run -p p1-common --example decode_capture -- CAPTURE [+HH:MM]
//!
//! The optional offset is the meter's time zone in winter (+01:00, Belgium and the
//! Netherlands, by default).

use std::convert::Infallible;
use std::io::Write as _;
use std::process::ExitCode;

use p1_common::{ClockZone, Event, FieldTable as _, Framer, Reading, decode};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: decode_capture CAPTURE [+HH:MM]");
        return ExitCode::from(2);
    };
    let zone = match args.next().map(|offset| ClockZone::parse(&offset)) {
        None => ClockZone::default(),
        Some(Ok(zone)) => zone,
        Some(Err(e)) => {
            eprintln!("decode_capture: {e}");
            return ExitCode::from(2);
        }
    };
    let capture = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("decode_capture: {path}: {e}");
            return ExitCode::from(66);
        }
    };

    let mut out = std::io::stdout().lock();
    let mut reading = Reading::default();
    let mut issues = Vec::new();
    let mut framer = Framer::default();
    let mut on_frame = |event: Event<'_>| -> Result<(), Infallible> {
        match event {
            Event::Telegram { bytes, .. } => {
                issues.clear();
                decode::decode(bytes, zone, &mut reading, &mut issues);
                let time = reading.time.map(|t| t.to_string());
                let values = reading.line_values().count();
                let _ = writeln!(
                    out,
                    "{}  import {:>7.3} kW  export {:>7.3} kW  {values} values{}",
                    time.as_deref().unwrap_or("(no time)"),
                    reading.power_import_kw.unwrap_or(0.0),
                    reading.power_export_kw.unwrap_or(0.0),
                    if issues.is_empty() {
                        String::new()
                    } else {
                        format!(", {} lines unread", issues.len())
                    },
                );
            }
            Event::Rejected { offset, reason, .. } => {
                eprintln!("decode_capture: byte {offset}: {reason}");
            }
        }
        Ok(())
    };
    let Ok(()) = framer.push(&capture, &mut on_frame);
    let Ok(()) = framer.finish(&mut on_frame);
    let stats = framer.stats();
    eprintln!(
        "decode_capture: {} telegrams, {} frames dropped",
        stats.telegrams,
        stats.rejected()
    );
    ExitCode::SUCCESS
}
