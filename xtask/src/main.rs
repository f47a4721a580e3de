//! `cargo run -p xtask -- gen`: writes man/*.1, man/p1.5 and scripts/completions/ from the
//! binaries' clap definitions. `cargo test -p xtask` fails when the committed files are stale.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Command, CommandFactory};

mod latency;

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
    ]
}

/// p1(5): the reading schema, the format shared by the binaries.
fn section_five() -> String {
    let mut page = String::from(
        ".TH P1 5 \"\" \"p1 toolkit\"\n.SH NAME\np1 \\- the NDJSON records of the p1 toolkit\n.SH DESCRIPTION\n\
         p1-read writes telegram envelopes, p1-parse readings, p1-relay relay events; one JSON object a line.\n\
         .SS Telegram envelope\n.nf\n{\"type\":\"telegram\",\"received\":\"<RFC 3339, ms>\",\"source\":\"<SOURCE>\",\"telegram\":\"<exact text>\"}\n.fi\n.SS Reading\n.nf\n",
    );
    let schema = p1_common::contract::reading::schema();
    page.push_str(&roff_escape(
        schema
            .split_once('\n')
            .map_or(schema.as_str(), |(_, rest)| rest),
    ));
    page.push_str(".fi\n");
    page.push_str(".SH \"RELAY EVENTS\"\n.nf\n{\"type\":\"relay\",\"time\":\"2024-06-12T10:31:00+02:00\",\"load\":\"boiler\",\"state\":\"on\",\"reason\":\"export 3.04 kW >= 2.20 kW for 60 s\"}\n.fi\n");
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
    page.push_str(".SH SEE ALSO\np1-read(1), p1-parse(1), p1-relay(1), p1-influx(1)\n");
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

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("gen") => {
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
        Some("latency") => {
            let mut args = std::env::args().skip(2);
            let bin = PathBuf::from(args.next().unwrap_or_else(|| "target/release".into()));
            let per_second = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
            let day = args.next().and_then(|a| a.parse().ok()).unwrap_or(86_400);
            match latency::run(&bin, per_second, day) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("xtask latency: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: cargo run -p xtask -- gen | latency [BIN_DIR] [PER_SECOND] [DAY]");
            ExitCode::from(2)
        }
    }
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
}
