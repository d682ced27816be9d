//! Embeds the git commit at build time, without network: `git rev-parse HEAD` when the sources
//! are a git checkout, else `SEQUENCER_WATCHDOG_GIT_COMMIT` if set, else `unknown`.
//!
//! The script reruns only when the commit can have changed: when HEAD, the branch it names or
//! `packed-refs` changes. In a worktree HEAD lives in the worktree's own git directory and the
//! refs in the common one (`.git` is then a file naming the former), so both are resolved with
//! `git rev-parse`. Only existing paths are named: cargo reruns a script on every build while a
//! path it names is missing. Without git (a Docker build context) nothing is named and nothing
//! fails.

// A build script talks to cargo through stdout.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    Some(text.trim().to_owned())
}

/// A directory git printed, made absolute against the working directory git ran in.
fn git_path(args: &[&str]) -> Option<PathBuf> {
    let path = PathBuf::from(git(args)?);
    if path.is_absolute() {
        return Some(path);
    }
    Some(std::env::current_dir().ok()?.join(path))
}

/// The files that change when the checked-out commit does.
fn head_files() -> Vec<PathBuf> {
    let (Some(git_dir), Some(common)) = (
        git_path(&["rev-parse", "--git-dir"]),
        git_path(&["rev-parse", "--git-common-dir"]),
    ) else {
        return Vec::new();
    };
    let mut files = vec![git_dir.join("HEAD"), common.join("packed-refs")];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        // A packed (or unborn) branch has no file yet: its first commit creates one in the
        // nearest existing directory of its name, which is watched instead.
        let loose = common.join(&branch);
        let watched = loose
            .ancestors()
            .find(|p| p.exists())
            .filter(|p| p.starts_with(&common) && *p != common.as_path())
            .map(Path::to_path_buf);
        files.extend(watched);
    }
    files.retain(|p| p.exists());
    files
}

fn main() {
    println!("cargo:rerun-if-env-changed=SEQUENCER_WATCHDOG_GIT_COMMIT");
    let from_env = std::env::var("SEQUENCER_WATCHDOG_GIT_COMMIT")
        .ok()
        .filter(|c| is_commit(c));
    let commit = from_env.or_else(|| {
        for file in head_files() {
            println!("cargo:rerun-if-changed={}", file.display());
        }
        git(&["rev-parse", "HEAD"]).filter(|c| is_commit(c))
    });
    let commit = commit.unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=SEQUENCER_WATCHDOG_GIT_COMMIT={commit}");
}

fn is_commit(text: &str) -> bool {
    (7..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}
