//! The tool installer: integrity-checked, idempotent, one download under concurrency.

use std::path::Path;
use std::process::Command;

use devnet_pins::{self as pins, ToolPin};
use devnet_stack::{Installer, workspace_root};

fn version_of(exe: &Path) -> String {
    let out = Command::new(exe).arg("--version").output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn concurrent_installs_download_once_and_reinstalls_are_noops() {
    let cache = tempfile::tempdir().unwrap();
    let installs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|_| s.spawn(|| Installer::new(cache.path()).install(&pins::ANVIL)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    assert_eq!(
        installs.iter().filter(|i| i.fresh).count(),
        1,
        "{installs:?}"
    );
    let root = cache.path().join("anvil-1.7.1");
    for install in &installs {
        assert_eq!(install.root, root);
        assert_eq!(
            install.executable.as_deref(),
            Some(root.join("bin/anvil").as_path())
        );
    }
    let exe = root.join("bin/anvil");
    assert!(version_of(&exe).contains("anvil Version: 1.7.1"));

    let again = Installer::new(cache.path()).install(&pins::ANVIL).unwrap();
    assert!(!again.fresh);
    assert_eq!(again.root, root);
    // Nothing but the install and its lock file is left in the cache (no staging leftovers).
    let mut names: Vec<String> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".anvil-1.7.1.lock", "anvil-1.7.1"]);
}

#[test]
fn a_tarball_that_does_not_match_the_pin_is_not_installed() {
    let cache = tempfile::tempdir().unwrap();
    let forged = ToolPin {
        integrity: "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==",
        ..pins::ANVIL
    };
    let err = Installer::new(cache.path()).install(&forged).unwrap_err();
    assert!(format!("{err:#}").contains("integrity"), "{err:#}");
    assert!(!cache.path().join("anvil-1.7.1").exists());
    let leftovers = std::fs::read_dir(cache.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".staging")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn the_project_local_cache_lives_in_the_workspace() {
    if std::env::var_os(devnet_stack::TOOLS_DIR_ENV).is_some() {
        return; // overridden on purpose
    }
    let installer = Installer::project_local();
    assert_eq!(installer.cache_dir(), workspace_root().join(".cache/tools"));
    assert!(workspace_root().join("Cargo.lock").is_file());
}
