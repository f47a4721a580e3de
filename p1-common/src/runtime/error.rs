//! Errors from the module to the exit status: every error knows its [`Kind`] (which exit
//! status it ends a program with) and keeps its cause; context is added once, where it is
//! known, with [`Context::context`].

use std::borrow::Cow;
use std::fmt;
use std::io;

/// What went wrong, as the exit status says it: the one table of exit statuses (sysexits
/// where one fits). Every `--help` and man page lists them from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// stdout was closed by the reader: a quiet success, as for any Unix filter.
    BrokenPipe,
    /// A runtime failure.
    Failure,
    /// Bad command-line usage (clap uses status 2 too).
    Usage,
    /// Bad input data where the user asked to stop on it (`EX_DATAERR`).
    Data,
    /// The input or source cannot be opened at start (`EX_NOINPUT`).
    NoInput,
    /// A failure that a later try may not meet (`EX_TEMPFAIL`).
    TempFail,
    /// A configuration error: restarting will not help (`EX_CONFIG`).
    Config,
}

impl Kind {
    /// Every kind that ends a program with a status of its own, in the order of the table.
    pub const ALL: [Kind; 7] = [
        Kind::BrokenPipe,
        Kind::Failure,
        Kind::Usage,
        Kind::Data,
        Kind::NoInput,
        Kind::TempFail,
        Kind::Config,
    ];

    /// The exit status.
    pub fn status(self) -> u8 {
        match self {
            Kind::BrokenPipe => 0,
            Kind::Failure => 1,
            Kind::Usage => 2,
            Kind::Data => 65,
            Kind::NoInput => 66,
            Kind::TempFail => 75,
            Kind::Config => 78,
        }
    }

    /// What the status means, for a help text that says no more.
    pub fn meaning(self) -> &'static str {
        match self {
            Kind::BrokenPipe => "success (also when stdout is closed early)",
            Kind::Failure => "runtime failure",
            Kind::Usage => "usage error",
            Kind::Data => "bad data under --strict",
            Kind::NoInput => "the source cannot be opened at start",
            Kind::TempFail => "temporary failure: try again later",
            Kind::Config => "configuration error",
        }
    }
}

/// An error of a module, which says which status it ends the program with. Module errors
/// implement it and become an [`Error`] with `?`, keeping their type as the cause.
pub trait Fault: std::error::Error + Send + Sync + 'static {
    /// What kind of failure it is, which says the exit status.
    fn kind(&self) -> Kind;
}

impl Fault for io::Error {
    fn kind(&self) -> Kind {
        if io::Error::kind(self) == io::ErrorKind::BrokenPipe {
            Kind::BrokenPipe
        } else {
            Kind::Failure
        }
    }
}

/// The error every program's `run` returns: a kind, the context it happened in, the cause.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    context: Option<Cow<'static, str>>,
    cause: Box<dyn std::error::Error + Send + Sync>,
}

/// A cause that is only a sentence.
#[derive(Debug)]
struct Message(Cow<'static, str>);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

impl Error {
    /// An error of `kind` whose cause is a sentence.
    pub fn new(kind: Kind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            context: None,
            cause: Box::new(Message(message.into())),
        }
    }

    /// A runtime failure (status 1).
    pub fn failure(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(Kind::Failure, message)
    }

    /// A wrong command line (status 2).
    pub fn usage(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(Kind::Usage, message)
    }

    /// A wrong configuration (status 78).
    pub fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(Kind::Config, message)
    }

    /// An input that is not there (status 66).
    pub fn no_input(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(Kind::NoInput, message)
    }

    /// Bad data under `--strict` (status 65).
    pub fn bad_data(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(Kind::Data, message)
    }

    /// An I/O error in `context`; a broken pipe is [`Kind::BrokenPipe`].
    pub fn io(context: impl Into<Cow<'static, str>>, cause: io::Error) -> Self {
        Error::from(cause).with_context(context.into())
    }

    /// Its kind, which says the exit status.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The exit status it ends the program with.
    pub fn status(&self) -> u8 {
        self.kind.status()
    }

    /// The same error of another kind (an error that means more where it is met: a socket
    /// that is not there is a missing input to a client).
    #[must_use]
    pub fn of_kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    fn with_context(mut self, context: Cow<'static, str>) -> Self {
        self.context = Some(match self.context.take() {
            None => context,
            Some(inner) => format!("{context}: {inner}").into(),
        });
        self
    }
}

impl<E: Fault> From<E> for Error {
    fn from(cause: E) -> Self {
        Error {
            kind: cause.kind(),
            context: None,
            cause: Box::new(cause),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(context) = &self.context {
            write!(f, "{context}: ")?;
        }
        match self.cause.downcast_ref::<io::Error>() {
            Some(io) => IoCause(io).fmt(f),
            None => self.cause.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.cause.as_ref())
    }
}

/// Adds where an error happened, once, where that is known: `file.read().context(path)?`.
pub trait Context<T> {
    /// The error in `context` ("stdin", a path, a flag).
    fn context(self, context: impl Into<Cow<'static, str>>) -> Result<T, Error>;

    /// As [`Context::context`], with the context made only on an error.
    fn with_context<C: Into<Cow<'static, str>>>(
        self,
        context: impl FnOnce() -> C,
    ) -> Result<T, Error>;
}

impl<T, E: Into<Error>> Context<T> for Result<T, E> {
    fn context(self, context: impl Into<Cow<'static, str>>) -> Result<T, Error> {
        self.map_err(|e| e.into().with_context(context.into()))
    }

    fn with_context<C: Into<Cow<'static, str>>>(
        self,
        context: impl FnOnce() -> C,
    ) -> Result<T, Error> {
        self.map_err(|e| e.into().with_context(context().into()))
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

    /// A module's error keeps its type and says its own status; context goes in front once.
    #[derive(Debug)]
    struct Refused;

    impl fmt::Display for Refused {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("refused")
        }
    }

    impl std::error::Error for Refused {}

    impl Fault for Refused {
        fn kind(&self) -> Kind {
            Kind::Config
        }
    }

    #[test]
    fn errors_keep_their_kind_their_cause_and_their_context() {
        let result: Result<(), Refused> = Err(Refused);
        let error = result.context("relay.toml").unwrap_err();
        assert_eq!((error.kind(), error.status()), (Kind::Config, 78));
        assert_eq!(error.to_string(), "relay.toml: refused");
        let cause = std::error::Error::source(&error).expect("a cause");
        assert!(cause.downcast_ref::<Refused>().is_some());
        let pipe: Result<(), io::Error> = Err(io::ErrorKind::BrokenPipe.into());
        assert_eq!(pipe.context("stdout").unwrap_err().status(), 0);
        assert_eq!(
            Kind::ALL.map(Kind::status),
            [0, 1, 2, 65, 66, 75, 78],
            "the exit statuses are a contract"
        );
    }
}
