//! The inputs, in turn: files or stdin, each a mix of raw telegrams and envelope lines. Lines
//! matter only between frames, where an envelope may start; inside a frame whole buffered
//! blocks go to the framer, which stops where the frame ends.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;

use log::error;
use p1_common::Error;
use p1_common::runtime::error::IoCause;
use p1_common::runtime::input::{LineLog, holds_a_whole_line, read_line_bounded};
use p1_common::runtime::stage::{Out, Stdout, dispatch};

use crate::parser::{Origin, Parser};

/// An input named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    Stdin,
    File(PathBuf),
}

/// An envelope line is at most its telegram and the escapes of its CR LF: a line longer than
/// this many frames is framed in pieces instead.
const LINE_FRAMES: usize = 4;

/// Reads every input through `parser` into stdout (`passthrough`: the input's records too).
pub(crate) fn run(inputs: &[Input], mut parser: Parser, passthrough: bool) -> Result<(), Error> {
    let mut out = Stdout::stdout();
    out.hold();
    let read = read_all(inputs, &mut parser, passthrough, &mut out);
    // What was read before a failure (`--strict`'s included) is written all the same.
    let released = out.release();
    let failed_inputs = read?;
    released?;
    parser.summarise(failed_inputs < inputs.len());
    if failed_inputs > 0 {
        return Err(Error::failure(format!(
            "{failed_inputs} input(s) could not be read"
        )));
    }
    Ok(())
}

/// Every input in turn; how many could not be opened.
fn read_all(
    inputs: &[Input],
    parser: &mut Parser,
    passthrough: bool,
    out: &mut Stdout,
) -> Result<usize, Error> {
    let mut failed_inputs = 0;
    for input in inputs {
        match input {
            Input::Stdin => {
                let mut log = LineLog::new("stdin");
                let mut out = Out::new(out, &mut log, passthrough);
                let mut stdin = BufReader::with_capacity(1 << 16, io::stdin().lock());
                read_input(parser, &mut stdin, &mut out)?;
            }
            Input::File(path) => {
                let mut log = LineLog::new(path.display().to_string());
                match File::open(path) {
                    Ok(file) => {
                        let mut out = Out::new(out, &mut log, passthrough);
                        let mut file = BufReader::with_capacity(1 << 16, file);
                        read_input(parser, &mut file, &mut out)?;
                    }
                    Err(e) => {
                        error!("{}: {}", log.input, IoCause(&e));
                        failed_inputs += 1;
                    }
                }
            }
        }
    }
    Ok(failed_inputs)
}

/// One input through the parser; its name and line numbers are those of `out`'s log. What it
/// writes is flushed whenever no whole line is left in the input's buffer: before a read
/// that may wait, never later.
fn read_input(
    parser: &mut Parser,
    input: &mut BufReader<impl Read>,
    out: &mut Out<'_>,
) -> Result<(), Error> {
    let mut framer = parser.framer();
    let max_line = LINE_FRAMES.saturating_mul(framer.max_frame());
    let mut line = Vec::with_capacity(4096);
    let mut line_number = 1u64;
    let result = loop {
        if !holds_a_whole_line(input.buffer())
            && let Err(e) = out.flush()
        {
            break Err(e);
        }
        if framer.in_frame() {
            let block = match input.fill_buf() {
                Ok([]) => break Ok(()),
                Ok(block) => block,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(Error::io(out.log().input.clone(), e)),
            };
            let taken = framer.feed(block, |event| parser.on_frame(event, Origin::Raw, out));
            let taken = match taken {
                Ok(taken) => taken,
                Err(e) => break Err(e),
            };
            line_number += memchr::memchr_iter(b'\n', &block[..taken]).count() as u64;
            input.consume(taken);
        } else {
            let n = match read_line_bounded(input, &mut line, max_line) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) => break Err(Error::io(out.log().input.clone(), e)),
            };
            let whole_line = line.ends_with(b"\n") || n < max_line;
            let read = if whole_line && line.trim_ascii_start().starts_with(b"{") {
                out.at_line(line_number);
                envelope_line(parser, &line, out)
            } else {
                framer.push(&line, |event| parser.on_frame(event, Origin::Raw, out))
            };
            if let Err(e) = read {
                break Err(e);
            }
            if line.ends_with(b"\n") {
                line_number += 1;
            }
        }
    };
    let result =
        result.and_then(|()| framer.finish(|event| parser.on_frame(event, Origin::Raw, out)));
    parser.count_frames(framer.stats());
    result
}

/// A line that starts with `{`: a record, through the stage dispatch.
fn envelope_line(parser: &mut Parser, line: &[u8], out: &mut Out<'_>) -> Result<(), Error> {
    match std::str::from_utf8(line) {
        Ok(text) => dispatch(parser, text, out),
        Err(_) => parser.not_utf8(out),
    }
}
