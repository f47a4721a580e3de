//! Checks of the source tree that keep its shape: no dependency a crate does not use, and
//! no two files of a crate that import each other (the module graph of every crate has no
//! cycle). Run as tests, so that `scripts/test` and CI keep them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::root;

/// The workspace's members, from its manifest.
fn members() -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let list = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .expect("a members list");
    list.split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .map(|m| root().join(m))
        .collect()
}

/// The dependencies a manifest declares: (section, name).
fn dependencies(manifest: &str) -> Vec<(String, String)> {
    let mut section = String::new();
    let mut found = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        if !section.ends_with("dependencies") || line.starts_with('#') || line.is_empty() {
            continue;
        }
        let name = line
            .split(['=', '.'])
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        if !name.is_empty() {
            found.push((section.clone(), name));
        }
    }
    found
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Whether `text` names the crate `name` as code does (`name::`, `use name`, `name!`).
fn uses(text: &str, name: &str) -> bool {
    let ident = name.replace('-', "_");
    [
        format!("{ident}::"),
        format!("use {ident}"),
        format!("{ident}!"),
    ]
    .iter()
    .any(|needle| {
        text.match_indices(needle.as_str()).any(|(at, _)| {
            text[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_')
        })
    })
}

#[test]
fn every_declared_dependency_is_used() {
    let mut unused = Vec::new();
    for member in members() {
        let manifest = std::fs::read_to_string(member.join("Cargo.toml")).expect("manifest");
        let text: String = sources(&member)
            .iter()
            .map(|f| std::fs::read_to_string(f).expect("source"))
            .collect();
        for (section, name) in dependencies(&manifest) {
            if !uses(&text, &name) {
                unused.push(format!("{}: [{section}] {name}", member.display()));
            }
        }
    }
    assert!(unused.is_empty(), "declared but not used: {unused:#?}");
}

/// The module path of a source file under `src` (`contract/reading.rs`: contract::reading).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The paths a `use` tree names, after `prefix`: `a::{b::C, d}` is `a::b::C` and `a::d`.
fn paths(prefix: &[String], tree: &str, out: &mut BTreeSet<Vec<String>>) {
    let tree = tree.trim();
    if let Some(group) = tree.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    paths(prefix, &group[start..i], out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    paths(prefix, &group[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let mut path = prefix.to_vec();
    let mut rest = tree;
    loop {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if word.is_empty() {
            break;
        }
        rest = &rest[word.len()..];
        path.push(word);
        match rest.strip_prefix("::") {
            Some(more) if more.starts_with('{') => return paths(&path, more, out),
            Some(more) => rest = more,
            None => break,
        }
    }
    if path.len() > prefix.len() {
        out.insert(path);
    }
}

/// The paths a file names through `crate::` (and `super::`), as module paths.
fn imports(text: &str, module: &[String]) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    // A file's `super` is its module's parent, whether it is `name.rs` or `name/mod.rs`.
    let parent = module[..module.len().saturating_sub(1)].to_vec();
    for (keyword, base) in [("crate::", Vec::new()), ("super::", parent)] {
        for (at, _) in text.match_indices(keyword) {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
                continue;
            }
            let mut rest = &text[at + keyword.len()..];
            // `use super::*` in an inline `mod tests` is the file itself.
            if keyword == "super::" && rest.starts_with('*') {
                continue;
            }
            let mut base = base.clone();
            while let Some(more) = rest.strip_prefix("super::") {
                base.pop();
                rest = more;
            }
            paths(&base, rest, &mut found);
        }
    }
    found
}

/// The import graph of one crate: file to the files it imports.
fn graph(src: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let files = sources(src);
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_of(src, f), f.clone()))
        .collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source");
        let module = module_of(src, file);
        let mut targets = BTreeSet::new();
        for path in imports(&text, &module) {
            // The longest prefix of the path that is a file of the crate.
            let target = (1..=path.len())
                .rev()
                .find_map(|n| modules.get(&path[..n]).filter(|t| *t != file));
            if let Some(target) = target {
                targets.insert(target.clone());
            }
        }
        graph.insert(file.clone(), targets);
    }
    graph
}

/// A cycle through `start`, if there is one.
fn cycle_through(
    graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    start: &PathBuf,
) -> Option<Vec<PathBuf>> {
    let mut stack = vec![(start.clone(), vec![start.clone()])];
    let mut seen = BTreeSet::new();
    while let Some((file, path)) = stack.pop() {
        for next in graph.get(&file).into_iter().flatten() {
            if next == start {
                return Some(path);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_file_of_a_crate_imports_one_that_imports_it_back() {
    let mut cycles = Vec::new();
    for member in members() {
        let src = member.join("src");
        let graph = graph(&src);
        for file in graph.keys() {
            if let Some(cycle) = cycle_through(&graph, file) {
                let names: Vec<String> = cycle
                    .iter()
                    .map(|f| f.strip_prefix(&member).unwrap_or(f).display().to_string())
                    .collect();
                cycles.push(format!("{}: {}", member.display(), names.join(" -> ")));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "files that import each other: {cycles:#?}"
    );
}

#[test]
fn the_checks_see_what_they_look_for() {
    assert!(uses("use serde::Deserialize;", "serde"));
    assert!(uses("let x = mdns_sd::ServiceDaemon::new();", "mdns-sd"));
    assert!(!uses("let p1_serde = 1;", "serde"));
    let found = imports(
        "use crate::contract::{field::Field, reading};\nuse super::peak::budget;",
        &["relay".into()],
    );
    assert!(found.contains(&vec![
        "contract".to_string(),
        "field".to_string(),
        "Field".to_string()
    ]));
    assert!(found.contains(&vec!["contract".to_string(), "reading".to_string()]));
    assert!(found.contains(&vec!["peak".to_string(), "budget".to_string()]));
}

#[test]
fn a_cycle_between_files_is_found() {
    let dir = std::env::temp_dir().join(format!("p1-checks-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("part")).expect("dirs");
    std::fs::write(src.join("lib.rs"), "mod a;\nmod part;\n").expect("lib");
    std::fs::write(src.join("a.rs"), "use crate::part::{b::B, c};\n").expect("a");
    std::fs::write(src.join("part/mod.rs"), "pub mod b;\npub mod c;\n").expect("part");
    std::fs::write(src.join("part/b.rs"), "pub struct B;\n").expect("b");
    std::fs::write(src.join("part/c.rs"), "use super::super::a;\n").expect("c");
    let graph = graph(&src);
    assert!(cycle_through(&graph, &src.join("a.rs")).is_some());
    assert!(cycle_through(&graph, &src.join("part/b.rs")).is_none());
    std::fs::remove_dir_all(&dir).ok();
}
