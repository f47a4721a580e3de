//! The edge every binary shares: the flags of every stage, flattened into its command line,
//! the `main` that turns a command line into settings, runs, and ends with the status of the
//! one exit table, and the EXIT STATUS section of every help text and man page.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Parser;

use crate::runtime::error::{Error, Kind};
use crate::runtime::logger;

/// `-q` and `-v`: every binary has them.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct LogArgs {
    /// Errors only: no warnings, no summary.
    #[arg(short, long)]
    pub quiet: bool,

    /// More detail on stderr (repeat for more).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The flags of every stage that reads the record stream.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct StageArgs {
    /// Forward every input record to stdout too, before what it leads to: one stream for the
    /// stages after.
    #[arg(long)]
    pub passthrough: bool,

    #[command(flatten)]
    pub log: LogArgs,
}

/// A command line with the shared logging flags.
pub trait Cli: Parser {
    fn log_args(&self) -> LogArgs;
}

/// The whole of a binary's `main`: parses the command line, starts the logger, runs, and
/// ends with the status of the error's kind (reported as `prog: context: cause`; a closed
/// stdout is a quiet success).
pub fn main<C: Cli>(prog: &'static str, run: impl FnOnce(C) -> Result<(), Error>) -> ExitCode {
    let cli = C::parse();
    let log = cli.log_args();
    logger::init(prog, logger::level(log.quiet, log.verbose));
    exit_code(prog, run(cli))
}

/// The process's exit status for a run's result, its error reported on stderr.
pub fn exit_code(prog: &str, result: Result<(), Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == Kind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{prog}: {error}");
            ExitCode::from(error.status())
        }
    }
}

/// A program's exit statuses, for its help and man page.
#[derive(Debug, Clone, Copy)]
pub struct Exits {
    /// When it ends with 0.
    pub success: &'static str,
    /// The other kinds it ends with, but usage (every program has it), each with when ("":
    /// the table's meaning).
    pub failures: &'static [(Kind, &'static str)],
}

impl Exits {
    /// The EXIT STATUS section, from the one table of statuses.
    pub fn help(&self) -> String {
        let mut rows: Vec<(u8, &str)> = vec![
            (0, self.success),
            (Kind::Usage.status(), Kind::Usage.meaning()),
        ];
        for &(kind, when) in self.failures {
            rows.push((
                kind.status(),
                if when.is_empty() {
                    kind.meaning()
                } else {
                    when
                },
            ));
        }
        rows.sort_by_key(|&(status, _)| status);
        let mut text = String::from("EXIT STATUS\n");
        for (status, when) in rows {
            let mut lines = when.lines();
            let _ = writeln!(text, "  {status:<3} {}", lines.next().unwrap_or_default());
            for more in lines {
                let _ = writeln!(text, "      {more}");
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_sections_come_from_the_one_table() {
        let exits = Exits {
            success: "end of input",
            failures: &[
                (Kind::Config, ""),
                (Kind::Failure, "the spool cannot be written\nor read"),
            ],
        };
        assert_eq!(
            exits.help(),
            "EXIT STATUS\n  0   end of input\n  1   the spool cannot be written\n      or read\n  2   usage error\n  78  configuration error\n"
        );
    }
}
