//! The edge every binary shares: the flags of every stage, flattened into its command line,
//! the `main` that turns a command line into settings, runs, and ends with the status of the
//! one exit table, and the EXIT STATUS section of every help text and man page.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{FromArgMatches as _, Parser};

use crate::contract::field::wrap;
use crate::runtime::error::{Error, Kind};
use crate::runtime::logger;

/// -q and -v: every binary has them.
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

    /// The logging flags.
    #[command(flatten)]
    pub log: LogArgs,
}

/// The whole of a binary's `main`: parses the command line (whose [`LogArgs`] start the
/// logger), runs, and ends with the status of the error's kind (reported as
/// `prog: context: cause`; a closed stdout is a quiet success).
pub fn main<C: Parser>(prog: &'static str, run: impl FnOnce(C) -> Result<(), Error>) -> ExitCode {
    let matches = C::command().get_matches();
    let log = LogArgs::from_arg_matches(&matches).unwrap_or_default();
    let cli = C::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
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

/// A program's exit statuses, for its help and man page: each status the table's meaning,
/// and when this program ends with it.
#[derive(Debug, Clone, Copy)]
pub struct Exits {
    /// When it ends with 0.
    pub success: &'static str,
    /// The other kinds it ends with, each with when; a runtime failure and a usage error
    /// every program has, and need be named only to say more.
    pub failures: &'static [(Kind, &'static str)],
}

impl Exits {
    /// A help text's sections after the options: `sections`, then EXIT STATUS.
    pub fn after(&self, sections: &str) -> String {
        format!("{sections}\n{}", self.help())
    }

    /// The EXIT STATUS section, from the one table of statuses.
    pub fn help(&self) -> String {
        let row = |meaning: &str, when: &str| {
            if when.is_empty() {
                meaning.to_string()
            } else {
                format!("{meaning}: {when}")
            }
        };
        let mut rows: Vec<(u8, String)> = vec![(0, row("success", self.success))];
        for kind in [Kind::Failure, Kind::Usage] {
            if !self.failures.iter().any(|&(named, _)| named == kind) {
                rows.push((kind.status(), kind.meaning().to_string()));
            }
        }
        for &(kind, when) in self.failures {
            rows.push((kind.status(), row(kind.meaning(), when)));
        }
        rows.sort_by_key(|&(status, _)| status);
        let mut text = String::from("EXIT STATUS\n");
        for (status, when) in rows {
            for (i, line) in wrap(&when, 90).iter().enumerate() {
                let status = if i == 0 {
                    status.to_string()
                } else {
                    String::new()
                };
                let _ = writeln!(text, "  {status:<3} {line}");
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
                (
                    Kind::Failure,
                    "the spool cannot be written or read, or anything else that goes wrong while it runs",
                ),
            ],
        };
        assert_eq!(
            exits.help(),
            "EXIT STATUS\n  0   success: end of input\n  1   runtime failure: the spool cannot be written or read, or anything else that goes wrong\n      while it runs\n  2   usage error\n  78  configuration error\n"
        );
    }
}
