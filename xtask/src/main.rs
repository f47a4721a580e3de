//! `cargo run -p xtask -- gen`: writes man/*.1, man/p1.5 and scripts/completions/ from the
//! binaries' clap definitions. `cargo test -p xtask` fails when the committed files are stale.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Command, CommandFactory};

#[cfg(test)]
mod checks;

/// Every generated file: its path under the repository root and its contents.
pub fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for mut command in commands() {
        command.build();
        let name = command.get_name().to_string();
        files.push((PathBuf::from(format!("man/{name}.1")), man_page(&command)));
        for (shell, file) in [
            (clap_complete::Shell::Bash, format!("{name}.bash")),
            (clap_complete::Shell::Zsh, format!("_{name}")),
            (clap_complete::Shell::Fish, format!("{name}.fish")),
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command, name.clone(), &mut out);
            files.push((PathBuf::from(format!("scripts/completions/{file}")), out));
        }
    }
    files.push((PathBuf::from("man/p1.5"), section_five().into_bytes()));
    files
}

/// The clap sections, then the long after-help as preformatted sections (its ALL-CAPS lines
/// are headings), since its tables must not be refilled.
fn man_page(command: &Command) -> Vec<u8> {
    let man = clap_mangen::Man::new(command.clone())
        .section("1")
        .manual("p1 toolkit");
    let mut page = Vec::new();
    man.render_title(&mut page).expect("render to memory");
    man.render_name_section(&mut page)
        .expect("render to memory");
    man.render_synopsis_section(&mut page)
        .expect("render to memory");
    man.render_description_section(&mut page)
        .expect("render to memory");
    man.render_options_section(&mut page)
        .expect("render to memory");
    if let Some(extra) = command.get_after_long_help() {
        page.extend(preformatted_sections(&extra.to_string(), &[]).into_bytes());
    }
    man.render_version_section(&mut page)
        .expect("render to memory");
    page
}

/// The sections of an after-help text (headings in capitals), but those named in `skip`.
fn preformatted_sections(text: &str, skip: &[&str]) -> String {
    let mut out = String::new();
    let mut open = false;
    for line in text.lines() {
        let heading = !line.is_empty()
            && line
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == ' ' || c == '(' || c == ')');
        if heading {
            if open {
                out.push_str(".fi\n");
                open = false;
            }
            if !skip.contains(&line) {
                out.push_str(&format!(".SH \"{line}\"\n.nf\n"));
                open = true;
            }
        } else if open {
            out.push_str(&roff_escape(line));
        }
    }
    if open {
        out.push_str(".fi\n");
    }
    out
}

fn commands() -> Vec<Command> {
    vec![
        p1_read::Cli::command(),
        p1_parse::Cli::command(),
        p1_relay::Cli::command(),
        p1_influx::Cli::command(),
        p1_mqtt::Cli::command(),
        p1_serve::Cli::command(),
        p1_report::Cli::command(),
        p1_watch::Cli::command(),
        p1_prices::Cli::command(),
    ]
}

/// p1(5): the records of the stream, each type with every key, generated from the record
/// types; the configuration file of p1-relay and the schema p1-influx writes.
fn section_five() -> String {
    let records = p1_common::contract::schema::records();
    let kinds: Vec<String> = records
        .iter()
        .map(|r| format!("\\fB{}\\fR", r.kind))
        .collect();
    let mut page = format!(
        ".TH P1 5 \"\" \"p1 toolkit\"\n.SH NAME\np1 \\- the NDJSON records of the p1 toolkit\n\
         .SH DESCRIPTION\nThe stages of the p1 toolkit exchange one stream of JSON objects, one a \
         line, told apart by their \"type\": {}. A stage passes on the records it does not \
         consume (--passthrough); a record of a type a stage does not know is passed on too. \
         Keys are added, never renamed or retyped.\n.SH RECORDS\n",
        kinds.join(", ")
    );
    for record in &records {
        record_section(&mut page, record);
    }
    page.push_str(".SH \"REPORT RECORDS (p1-report --format json)\"\n");
    for record in &p1_common::contract::schema::report_records() {
        record_section(&mut page, record);
    }
    page.push_str(
        &preformatted_sections(p1_relay::AFTER_HELP, &["EXIT STATUS"]).replace(
            ".SH \"CONFIGURATION\"",
            ".SH \"CONFIGURATION FILE (p1-relay)\"",
        ),
    );
    page.push_str(
        &preformatted_sections(&p1_influx::after_help(), &["EXIT STATUS"])
            .replace(".SH \"SCHEMA\"", ".SH \"INFLUXDB SCHEMA (p1-influx)\""),
    );
    let tools: Vec<String> = commands()
        .iter()
        .map(|c| format!("{}(1)", c.get_name()))
        .chain(["p1-pipeline(1)".to_string()])
        .collect();
    page.push_str(&format!(".SH SEE ALSO\n{}\n", tools.join(", ")));
    page
}

fn roff_escape(text: &str) -> String {
    text.trim_end_matches('\n')
        .split('\n')
        .map(|line| {
            let line = line.replace('\\', "\\e");
            if line.is_empty() {
                ".sp\n".to_string()
            } else if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A record type's subsection of p1(5): what it is, and its keys.
fn record_section(page: &mut String, record: &p1_common::contract::schema::RecordDoc) {
    page.push_str(&format!(
        ".SS \"{}\"\n{}\n.nf\n",
        record.kind,
        roff_escape(record.about).trim_end()
    ));
    let keys = record.keys.trim_start_matches("READING SCHEMA\n");
    page.push_str(&roff_escape(keys));
    page.push_str(".fi\n");
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() != Some("gen") {
        eprintln!("usage: cargo run -p xtask -- gen");
        return ExitCode::from(2);
    }
    for (path, contents) in generated() {
        let path = root().join(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create dir");
        }
        std::fs::write(&path, contents).expect("write");
        println!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_man_pages_and_completions_are_current() {
        for (path, contents) in generated() {
            let committed = std::fs::read(root().join(&path)).unwrap_or_default();
            assert!(
                committed == contents,
                "{} is stale: run `cargo run -p xtask -- gen` and commit the result",
                path.display()
            );
        }
    }

    /// The text of a help section (its lines up to the next heading).
    fn section<'a>(help: &'a str, heading: &str) -> Vec<&'a str> {
        help.lines()
            .skip_while(|l| *l != heading)
            .skip(1)
            .take_while(|l| l.is_empty() || l.starts_with(' '))
            .collect()
    }

    /// Every long flag `command` (or one of its subcommands) takes.
    fn flags(command: &Command) -> Vec<String> {
        command
            .get_arguments()
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .chain(command.get_subcommands().flat_map(flags))
            .chain(["--help".into(), "--version".into()])
            .collect()
    }

    /// Issue 25: every tool's help (and so its man page) has EXAMPLES and SEE ALSO, no
    /// Markdown, and every flag an example gives to a p1 tool is one that tool takes.
    #[test]
    fn every_help_has_examples_that_work_and_no_markdown_regression_25() {
        let commands = commands();
        for command in &commands {
            let name = command.get_name().to_string();
            let help = command.clone().render_long_help().to_string();
            assert!(
                !help.contains('`') && !help.contains("**"),
                "{name}: Markdown in --help"
            );
            let examples = section(&help, "EXAMPLES");
            assert!(!examples.is_empty(), "{name}: no EXAMPLES");
            assert!(
                !section(&help, "SEE ALSO").is_empty(),
                "{name}: no SEE ALSO"
            );
            for segment in examples.iter().flat_map(|l| l.split('|')) {
                let mut words = segment.split_whitespace();
                let tool = match words.next() {
                    Some("...") => words.next(),
                    first => first,
                };
                let Some(tool) = commands.iter().find(|c| Some(c.get_name()) == tool) else {
                    continue;
                };
                let taken = flags(tool);
                for flag in segment.split_whitespace().filter(|w| w.starts_with("--")) {
                    let flag = flag.split('=').next().unwrap_or(flag);
                    assert!(
                        taken.iter().any(|t| t == flag),
                        "{name}'s example: {} takes no {flag}",
                        tool.get_name()
                    );
                }
            }
        }
    }
}
