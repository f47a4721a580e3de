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
    /// Bad input data under `--strict` (`EX_DATAERR`).
    pub const DATA: u8 = 65;
    /// The input or source cannot be opened at start (`EX_NOINPUT`).
    pub const NO_INPUT: u8 = 66;
    /// A configuration error (`EX_CONFIG)`: restarting will not help.
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
    /// Bad command-line usage that clap cannot see.
    Usage(String),
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

    #[must_use]
    pub fn status(&self) -> u8 {
        match self {
            Error::BrokenPipe => status::OK,
            Error::Io { .. } | Error::Failure(_) => status::FAILURE,
            Error::BadData(_) => status::DATA,
            Error::NoInput(_) => status::NO_INPUT,
            Error::Config(_) => status::CONFIG,
            Error::Usage(_) => status::USAGE,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BrokenPipe => f.write_str("output closed"),
            Error::Io { context, source } => write!(f, "{context}: {}", IoCause(source)),
            Error::BadData(m)
            | Error::NoInput(m)
            | Error::Config(m)
            | Error::Usage(m)
            | Error::Failure(m) => f.write_str(m),
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

/// An I/O error as a user reads it: "no such file or directory", not
/// "No such file or directory (os error 2)".
#[derive(Debug, Clone, Copy)]
pub struct IoCause<'a>(pub &'a io::Error);

impl fmt::Display for IoCause<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        let text = match text.rfind(" (os error ") {
            Some(at) if text.ends_with(')') => &text[..at],
            _ => &text,
        };
        let mut chars = text.chars();
        match chars.next() {
            // Only the OS's capitalised sentence is lowered, not an acronym like "TLS".
            Some(first)
                if first.is_uppercase() && chars.clone().next().is_some_and(char::is_lowercase) =>
            {
                write!(f, "{}{}", first.to_lowercase(), chars.as_str())
            }
            _ => f.write_str(text),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_causes_read_as_sentences_without_the_os_error_number() {
        let missing = io::Error::from_raw_os_error(2);
        assert_eq!(IoCause(&missing).to_string(), "no such file or directory");
        let full = Error::io("stdout", io::Error::from_raw_os_error(28));
        assert_eq!(full.to_string(), "stdout: no space left on device");
        let custom = io::Error::other("TLS required");
        assert_eq!(IoCause(&custom).to_string(), "TLS required");
    }
}
