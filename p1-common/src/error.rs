//! The error type shared by the binaries, and the one place exit statuses are decided.

use std::fmt;
use std::io;
use std::process::ExitCode;

/// Exit statuses (sysexits where one fits).
pub mod status {
    pub const OK: u8 = 0;
    /// A runtime failure.
    pub const FAILURE: u8 = 1;
    /// Bad command-line usage (clap uses it too).
    pub const USAGE: u8 = 2;
    /// Bad input data under `--strict` (EX_DATAERR).
    pub const DATA: u8 = 65;
    /// The input or source cannot be opened at start (EX_NOINPUT).
    pub const NO_INPUT: u8 = 66;
    /// A configuration error (EX_CONFIG): restarting will not help.
    pub const CONFIG: u8 = 78;
}

#[derive(Debug)]
pub enum Error {
    /// stdout was closed by the reader: a quiet success, as for any Unix filter.
    BrokenPipe,
    /// An I/O failure, with what was being done.
    Io {
        context: String,
        source: io::Error,
    },
    /// Bad data where the user asked to stop on it (`--strict`).
    BadData(String),
    /// An input or source that cannot be opened at start.
    NoInput(String),
    Config(String),
    Failure(String),
}

impl Error {
    /// An I/O error in `context`; a broken pipe becomes [`Error::BrokenPipe`].
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::BrokenPipe {
            Error::BrokenPipe
        } else {
            Error::Io {
                context: context.into(),
                source,
            }
        }
    }

    pub fn status(&self) -> u8 {
        match self {
            Error::BrokenPipe => status::OK,
            Error::Io { .. } | Error::Failure(_) => status::FAILURE,
            Error::BadData(_) => status::DATA,
            Error::NoInput(_) => status::NO_INPUT,
            Error::Config(_) => status::CONFIG,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BrokenPipe => f.write_str("output closed"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::BadData(m) | Error::NoInput(m) | Error::Config(m) | Error::Failure(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Turns a run's result into the process exit status, reporting the error on stderr as
/// `prog: context: cause`. A broken pipe is a quiet success.
pub fn exit_code(prog: &str, result: Result<(), Error>) -> ExitCode {
    match result {
        Ok(()) | Err(Error::BrokenPipe) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{prog}: {error}");
            ExitCode::from(error.status())
        }
    }
}
