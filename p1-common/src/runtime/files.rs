//! A batch stage's input: the files named on its command line, one after another (stdin for
//! none, or `-`), every line through [`dispatch`], a bad one named by file and line.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;

use crate::Error;
use crate::runtime::error::IoCause;
use crate::runtime::input::{LineLog, read_line_bounded};
use crate::runtime::stage::{MAX_LINE, Out, Stage, Stdout, dispatch};

/// Runs `stage` over `paths` in order (stdin when there are none), then tells how many lines
/// were bad. A file that cannot be opened ends the run (source unavailable) before any line
/// of it is read; what the files before it led to is kept.
pub fn run_files<S: Stage + ?Sized>(
    stage: &mut S,
    paths: &[PathBuf],
    writer: &mut Stdout,
) -> Result<(), Error> {
    let stdin = [PathBuf::from("-")];
    let paths = if paths.is_empty() { &stdin[..] } else { paths };
    writer.hold();
    let mut line = Vec::with_capacity(4096);
    for path in paths {
        let (name, mut input): (String, Box<dyn BufRead>) = if path.as_os_str() == "-" {
            ("stdin".into(), Box::new(io::stdin().lock()))
        } else {
            let name = path.display().to_string();
            let file = File::open(path)
                .map_err(|e| Error::no_input(format!("{name}: {}", IoCause(&e))))?;
            (name, Box::new(BufReader::with_capacity(64 * 1024, file)))
        };
        let mut log = LineLog::new(name);
        loop {
            let read = read_line_bounded(&mut input, &mut line, MAX_LINE)
                .map_err(|e| Error::io(log.input.to_string(), e))?;
            if read == 0 {
                break;
            }
            log.next();
            let mut out = Out::new(writer, &mut log, false);
            match std::str::from_utf8(&line) {
                Ok(text) => dispatch(stage, text, &mut out)?,
                Err(_) => out.bad_line("not UTF-8: skipped"),
            }
        }
        log.summary();
    }
    writer.release()
}
