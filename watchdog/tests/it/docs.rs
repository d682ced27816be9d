//! Every `CARTESI_WATCHDOG_*` variable the documentation names is one the watchdog reads
//! (`watchdog::env`): the READMEs and every other Markdown file of the repository, `docs/`, the
//! `deploy/` examples and the Dockerfile. In tables, a variables column (`Environment`,
//! `Variable`) must not name a watchdog variable without its prefix, unless its header says the
//! prefix is left out (`Variable (CARTESI_WATCHDOG_…)`): then every name is checked with the
//! prefix put back.

use std::path::{Path, PathBuf};

use watchdog::env;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// The documentation files: Markdown anywhere (build output and caches aside), everything under
/// `deploy/`, the Dockerfile.
fn documents(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, deploy: bool, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                if !name.starts_with('.') && !["target", "node_modules"].contains(&&*name) {
                    walk(&path, deploy || name == "deploy", out);
                }
            } else if deploy || name.ends_with(".md") || name == "Dockerfile" {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, false, &mut out);
    out.sort();
    out
}

/// Whether `name` (prefix included) is a variable the watchdog reads, or one of the families it
/// documents as ignored.
fn known(name: &str) -> bool {
    env::ALL.contains(&name)
        || [env::RETRY_PREFIX, env::LUA_PREFIX]
            .iter()
            .any(|family| name.starts_with(family))
}

/// The `CARTESI_WATCHDOG_*` names in `line`; the bare prefix (as in `CARTESI_WATCHDOG_…`) is
/// not a name.
fn prefixed_names(line: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find(env::PREFIX) {
        let tail = &rest[at + env::PREFIX.len()..];
        let len = tail
            .bytes()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
            .count();
        if len > 0 {
            names.push(&rest[at..at + env::PREFIX.len() + len]);
        }
        rest = &tail[len..];
    }
    names
}

/// What a table column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    /// Something else.
    Other,
    /// Environment variables, spelled in full.
    Variables,
    /// Environment variables whose prefix the header says is left out.
    Suffixes,
}

/// The cells of a Markdown table row.
fn cells(row: &str) -> Vec<&str> {
    let row = row.trim().trim_start_matches('|').trim_end_matches('|');
    row.split('|').collect()
}

fn column(header: &str) -> Column {
    if header.contains(&format!("{}…", env::PREFIX)) {
        Column::Suffixes
    } else if ["Environment", "Env", "Variable"].iter().any(|word| {
        header
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w == *word)
    }) {
        Column::Variables
    } else {
        Column::Other
    }
}

/// The leading upper-case identifier of every backticked word in `cell` (`A_B=1` gives `A_B`).
fn identifiers(cell: &str) -> Vec<&str> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|word| {
            let len = word
                .bytes()
                .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
                .count();
            (len > 0 && word.as_bytes()[0].is_ascii_uppercase()).then(|| &word[..len])
        })
        .collect()
}

/// Every unknown name in `text`, as `line: name`: prefixed names anywhere, and in tables with a
/// variables column, names whose prefix is missing.
fn unknown_names(text: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut columns: Option<Vec<Column>> = None;
    for (number, line) in text.lines().enumerate() {
        let line_number = number + 1;
        for name in prefixed_names(line) {
            if !known(name) {
                unknown.push(format!("{line_number}: {name}"));
            }
        }
        if !line.trim_start().starts_with('|') {
            columns = None;
            continue;
        }
        let Some(kinds) = &columns else {
            columns = Some(cells(line).into_iter().map(column).collect());
            continue;
        };
        for (cell, kind) in cells(line).into_iter().zip(kinds) {
            for word in identifiers(cell) {
                let full = format!("{}{word}", env::PREFIX);
                let problem = match kind {
                    Column::Other => false,
                    Column::Suffixes => !known(&full),
                    // A watchdog variable written without its prefix.
                    Column::Variables => !known(word) && known(&full),
                };
                if problem {
                    unknown.push(format!("{line_number}: {word} (prefix left out)"));
                }
            }
        }
    }
    unknown
}

#[test]
fn every_variable_the_documentation_names_is_one_the_watchdog_reads() {
    let root = repository();
    let documents = documents(&root);
    for expected in [
        "README.md",
        "docs/operations.md",
        "machine/README.md",
        "deploy/env/wallet.env",
    ] {
        assert!(
            documents.contains(&root.join(expected)),
            "{expected} is checked"
        );
    }
    let mut unknown = Vec::new();
    let mut named = 0;
    for path in &documents {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        named += text
            .lines()
            .map(|line| prefixed_names(line).len())
            .sum::<usize>();
        for problem in unknown_names(&text) {
            unknown.push(format!(
                "{}:{problem}",
                path.strip_prefix(&root).unwrap().display()
            ));
        }
    }
    assert!(named > 20, "found only {named} names: is the walk right?");
    assert!(
        unknown.is_empty(),
        "unknown variables:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn unknown_names_are_found_prefixed_or_in_a_variables_column() {
    let text = "\
Set `CARTESI_WATCHDOG_STATE_DIR` and CARTESI_WATCHDOG_MACHINE_BACKENDS=cartesi.
See CARTESI_WATCHDOG_… and CARTESI_WATCHDOG_RETRY_COUNT (ignored).

| Variable (`CARTESI_WATCHDOG_…`) | Meaning |
|---|---|
| `STATE_DIR`, `MACHINE_BACKEND` | fine |
| `LIBCARTESI` | not a variable |

| Setting | Flag | Environment |
|---|---|---|
| Backend | `--machine-backend` | `MACHINE_BACKEND=cartesi` |
| Library | `--libcartesi-path` | `CARTESI_WATCHDOG_LIBCARTESI_PATH=…` |
| Devnet | `--state-dir` | `DEVNET_STATE_DIR` |

| Other | `STATE_DIR` |
";
    assert_eq!(
        unknown_names(text),
        [
            "1: CARTESI_WATCHDOG_MACHINE_BACKENDS",
            "7: LIBCARTESI (prefix left out)",
            "11: MACHINE_BACKEND (prefix left out)",
        ]
    );
}

/// The reason codes of the troubleshooting table of `docs/operations.md`, in table order.
fn troubleshooting_reasons(text: &str) -> Vec<String> {
    let section = text
        .split("\n## ")
        .find(|s| s.starts_with("Troubleshooting"))
        .expect("docs/operations.md has a Troubleshooting section");
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// Every reason the binary can print has exactly one row in the troubleshooting table, and
/// the table names no reason that does not exist.
#[test]
fn the_troubleshooting_table_covers_every_reason() {
    let text = std::fs::read_to_string(repository().join("docs/operations.md")).unwrap();
    let rows = troubleshooting_reasons(&text);
    let known: Vec<&str> = watchdog::Reason::ALL.iter().map(|r| r.as_str()).collect();
    let missing: Vec<&&str> = known
        .iter()
        .filter(|r| !rows.iter().any(|row| row == **r))
        .collect();
    assert!(
        missing.is_empty(),
        "reasons without a troubleshooting row: {missing:?}"
    );
    let unknown: Vec<&String> = rows
        .iter()
        .filter(|r| !known.contains(&r.as_str()))
        .collect();
    assert!(unknown.is_empty(), "rows naming no reason: {unknown:?}");
    let mut sorted = rows.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), rows.len(), "a reason has two rows");
    // The check itself notices a missing row.
    let without = text.replacen("| `lock_busy` |", "| lock_busy |", 1);
    assert!(
        !troubleshooting_reasons(&without)
            .iter()
            .any(|r| r == "lock_busy")
    );
}
