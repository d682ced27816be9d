//! The release-info line printed by `--version` and `CARTESI_WATCHDOG_PRINT_RELEASE_INFO=1`
//! (spec `watchdog.md` §3).

use serde::Serialize;

/// The component name.
pub const COMPONENT: &str = "sequencer-watchdog";
/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The release tag of this version.
pub const RELEASE_TAG: &str = concat!("v", env!("CARGO_PKG_VERSION"));
/// The git commit the binary was built from (`unknown` outside a git checkout).
pub const GIT_COMMIT: &str = env!("SEQUENCER_WATCHDOG_GIT_COMMIT");
/// The libcartesi API generations this build supports.
pub const LIBCARTESI_API_VERSIONS: &[&str] = &["0.21"];
/// The machine backends this build offers.
pub const MACHINE_BACKENDS: &[&str] = &["native", "cartesi"];

/// What `--version` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseInfo {
    /// Always `sequencer-watchdog`.
    pub component: &'static str,
    /// The semantic version.
    pub version: &'static str,
    /// `v` + version.
    pub release_tag: &'static str,
    /// The git commit, or `unknown`.
    pub git_commit: &'static str,
    /// libcartesi API generations compiled in.
    pub libcartesi_api_versions: &'static [&'static str],
    /// Machine backends compiled in.
    pub machine_backends: &'static [&'static str],
}

impl ReleaseInfo {
    /// The info of this build.
    pub const fn current() -> Self {
        Self {
            component: COMPONENT,
            version: VERSION,
            release_tag: RELEASE_TAG,
            git_commit: GIT_COMMIT,
            libcartesi_api_versions: LIBCARTESI_API_VERSIONS,
            machine_backends: MACHINE_BACKENDS,
        }
    }

    /// The one line, compact JSON, no newline.
    pub fn line(&self) -> String {
        crate::json::RawJson::of(self).as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_has_the_spec_keys_in_order() {
        let line = ReleaseInfo::current().line();
        let expected_prefix = format!(
            r#"{{"component":"sequencer-watchdog","version":"{VERSION}","release_tag":"v{VERSION}","git_commit":""#
        );
        assert!(line.starts_with(&expected_prefix), "{line}");
        assert!(line.ends_with(
            r#"","libcartesi_api_versions":["0.21"],"machine_backends":["native","cartesi"]}"#
        ));
        assert!(GIT_COMMIT == "unknown" || GIT_COMMIT.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
