//! Embeds the git commit at build time, without network: `git rev-parse HEAD` when the sources
//! are a git checkout, else `SEQUENCER_WATCHDOG_GIT_COMMIT` if set, else `unknown`.

// A build script talks to cargo through stdout.
#![allow(clippy::print_stdout)]

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    Some(text.trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=SEQUENCER_WATCHDOG_GIT_COMMIT");
    let from_env = std::env::var("SEQUENCER_WATCHDOG_GIT_COMMIT")
        .ok()
        .filter(|c| is_commit(c));
    let commit = from_env.or_else(|| {
        // Rebuild when HEAD moves: HEAD itself, the branch it names and packed refs.
        if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
            println!("cargo:rerun-if-changed={git_dir}/HEAD");
            println!("cargo:rerun-if-changed={git_dir}/packed-refs");
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
                println!("cargo:rerun-if-changed={git_dir}/{branch}");
            }
        }
        git(&["rev-parse", "HEAD"]).filter(|c| is_commit(c))
    });
    let commit = commit.unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=SEQUENCER_WATCHDOG_GIT_COMMIT={commit}");
}

fn is_commit(text: &str) -> bool {
    (7..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}
