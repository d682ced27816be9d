//! Installation of pinned tools from npm registry packages into a project-local cache.
//!
//! `npm pack` fetches the exact package tarball into a staging directory inside the cache; the
//! tarball's SHA-512 is checked against the pinned integrity before anything is extracted; the
//! package is unpacked, its executable smoke-tested, and the directory renamed into place as the
//! last step. A file lock per tool version serialises concurrent installers (parallel tests), so
//! a tool is downloaded once and a reader never sees a half-written install.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha512};

use devnet_pins::{self as pins, ToolPin};

/// Environment variable that overrides the tool cache directory.
pub const TOOLS_DIR_ENV: &str = "DEVNET_TOOLS_DIR";
/// Environment variable naming an anvil binary to use instead of the pinned install.
pub const ANVIL_BIN_ENV: &str = "DEVNET_ANVIL_BIN";

/// Name of the marker file written inside a completed install; it holds the pin's integrity.
const MARKER: &str = ".devnet-installed";

/// A tool present in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledTool {
    /// The package root (`<cache>/<name>-<version>`).
    pub root: PathBuf,
    /// The executable, for packages that carry one.
    pub executable: Option<PathBuf>,
    /// Whether this call downloaded and installed the tool (false when it was already there).
    pub fresh: bool,
}

/// Installs [`ToolPin`]s into one cache directory.
#[derive(Clone, Debug)]
pub struct Installer {
    cache_dir: PathBuf,
}

impl Installer {
    /// An installer for the given cache directory (created on demand).
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
        }
    }

    /// The project-local cache: `$DEVNET_TOOLS_DIR` if set, else `<workspace>/.cache/tools`.
    pub fn project_local() -> Self {
        match std::env::var_os(TOOLS_DIR_ENV) {
            Some(dir) if !dir.is_empty() => Self::new(dir),
            _ => Self::new(workspace_root().join(".cache").join("tools")),
        }
    }

    /// The cache directory.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Where `pin` lives once installed.
    pub fn install_dir(&self, pin: &ToolPin) -> PathBuf {
        self.cache_dir.join(format!("{}-{}", pin.name, pin.version))
    }

    /// Returns the installed tool, installing it first if needed. Blocking (runs `npm`, waits for
    /// the file lock); call it from a blocking context in async code.
    pub fn install(&self, pin: &ToolPin) -> Result<InstalledTool> {
        let dir = self.install_dir(pin);
        if is_installed(&dir, pin) {
            return Ok(installed(dir, pin, false));
        }
        fs::create_dir_all(&self.cache_dir)
            .with_context(|| format!("creating {}", self.cache_dir.display()))?;
        let lock_path = self
            .cache_dir
            .join(format!(".{}-{}.lock", pin.name, pin.version));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        fs4::FileExt::lock(&lock).with_context(|| format!("locking {}", lock_path.display()))?;
        // Another process may have finished the install while this one waited for the lock.
        if is_installed(&dir, pin) {
            return Ok(installed(dir, pin, false));
        }
        if dir.exists() {
            // Not ours to trust (no valid marker): start over.
            fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        let staging = tempfile::Builder::new()
            .prefix(&format!(".staging-{}-", pin.name))
            .tempdir_in(&self.cache_dir)
            .with_context(|| {
                format!(
                    "creating a staging directory in {}",
                    self.cache_dir.display()
                )
            })?;
        let tarball = npm_pack(pin, staging.path())?;
        verify_integrity(&tarball, pin.integrity)?;
        let package = extract(&tarball, &staging.path().join("unpacked"))?;
        if let Some(executable) = pin.executable {
            let exe = package.join(executable);
            fs::set_permissions(&exe, fs::Permissions::from_mode(0o755))
                .with_context(|| format!("making {} executable", exe.display()))?;
            smoke_test(&exe, pin)?;
        }
        fs::write(package.join(MARKER), pin.integrity)
            .with_context(|| format!("writing the install marker in {}", package.display()))?;
        fs::rename(&package, &dir)
            .with_context(|| format!("moving {} to {}", package.display(), dir.display()))?;
        File::open(&self.cache_dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", self.cache_dir.display()))?;
        // The lock is released when `lock` is dropped; the lock file itself is never deleted.
        drop(lock);
        Ok(installed(dir, pin, true))
    }
}

/// The anvil binary to run: `$DEVNET_ANVIL_BIN` if set, else the pinned install in the
/// project-local cache (installed on first use). Blocking.
pub fn anvil_binary() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os(ANVIL_BIN_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(bin));
    }
    Installer::project_local()
        .install(&pins::ANVIL)?
        .executable
        .ok_or_else(|| anyhow!("the anvil pin names no executable"))
}

/// The workspace root (two levels above this crate's manifest directory, `devnet/stack`).
pub fn workspace_root() -> PathBuf {
    // This crate's manifest is `devnet/stack/Cargo.toml`.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .to_path_buf()
}

fn installed(root: PathBuf, pin: &ToolPin, fresh: bool) -> InstalledTool {
    let executable = pin.executable.map(|e| root.join(e));
    InstalledTool {
        root,
        executable,
        fresh,
    }
}

fn is_installed(dir: &Path, pin: &ToolPin) -> bool {
    let marker_ok = fs::read_to_string(dir.join(MARKER)).is_ok_and(|m| m == pin.integrity);
    marker_ok && pin.executable.is_none_or(|e| dir.join(e).is_file())
}

/// Runs `npm pack <package>@<version>` in `dest` and returns the tarball path. npm reports the
/// tarball's integrity and SHA-1; both must equal the pin.
fn npm_pack(pin: &ToolPin, dest: &Path) -> Result<PathBuf> {
    let spec = format!("{}@{}", pin.package, pin.version);
    let mut destination = OsString::from("--pack-destination=");
    destination.push(dest);
    let output = Command::new("npm")
        .args(["pack", &spec, "--json", "--ignore-scripts", "--silent"])
        .arg(destination)
        .current_dir(dest)
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .stdin(Stdio::null())
        .output()
        .context("running `npm pack` (is npm installed?)")?;
    ensure!(
        output.status.success(),
        "`npm pack {spec}` failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("parsing the output of `npm pack {spec} --json`"))?;
    let entry = report
        .get(0)
        .ok_or_else(|| anyhow!("`npm pack {spec}` reported no tarball"))?;
    let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).unwrap_or_default();
    ensure!(
        field("integrity") == pin.integrity && field("shasum") == pin.shasum,
        "`npm pack {spec}` reported integrity {} / shasum {}, the pin says {} / {}",
        field("integrity"),
        field("shasum"),
        pin.integrity,
        pin.shasum
    );
    let filename = field("filename");
    ensure!(
        !filename.is_empty() && !filename.contains('/'),
        "`npm pack {spec}` reported an unusable file name {filename:?}"
    );
    Ok(dest.join(filename))
}

/// Checks a file against a Subresource Integrity string of the form `sha512-<base64>`.
pub fn verify_integrity(path: &Path, integrity: &str) -> Result<()> {
    let expected = integrity
        .strip_prefix("sha512-")
        .ok_or_else(|| anyhow!("unsupported integrity {integrity:?} (expected sha512-…)"))?;
    let expected = BASE64
        .decode(expected)
        .with_context(|| format!("decoding {integrity:?}"))?;
    let mut file =
        BufReader::new(File::open(path).with_context(|| format!("opening {}", path.display()))?);
    let mut hasher = Sha512::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let actual = hasher.finalize();
    if actual[..] != expected[..] {
        bail!(
            "integrity mismatch for {}: expected {integrity}, got sha512-{}",
            path.display(),
            BASE64.encode(actual)
        );
    }
    Ok(())
}

/// Unpacks an npm tarball (`package/…` members) below `dest` and returns the package root.
fn extract(tarball: &Path, dest: &Path) -> Result<PathBuf> {
    fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    let file = File::open(tarball).with_context(|| format!("opening {}", tarball.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
    archive.set_preserve_permissions(false);
    archive.set_preserve_mtime(false);
    for entry in archive.entries().context("reading the package tarball")? {
        let mut entry = entry.context("reading a tarball member")?;
        let path = entry.path().context("reading a member path")?.into_owned();
        ensure!(
            path.starts_with("package"),
            "unexpected tarball member {}",
            path.display()
        );
        // `unpack_in` refuses members that would escape `dest`.
        let inside = entry
            .unpack_in(dest)
            .with_context(|| format!("unpacking {}", path.display()))?;
        ensure!(
            inside,
            "tarball member {} escapes the package",
            path.display()
        );
    }
    let package = dest.join("package");
    ensure!(package.is_dir(), "the tarball has no package/ directory");
    Ok(package)
}

/// Runs `<exe> --version` and checks that it prints the pinned version.
fn smoke_test(exe: &Path, pin: &ToolPin) -> Result<()> {
    let output = Command::new(exe)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} --version", exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success() && stdout.contains(pin.version),
        "{} --version printed {:?} (status {}), expected version {}",
        exe.display(),
        stdout.trim(),
        output.status,
        pin.version
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_check_accepts_the_right_digest_and_rejects_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        fs::write(&path, b"abc").unwrap();
        // SHA-512("abc"), base64.
        let good = "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==";
        verify_integrity(&path, good).unwrap();
        let bad = "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUykng==";
        assert!(verify_integrity(&path, bad).is_err());
        assert!(verify_integrity(&path, "sha1-qZk+NkcGgWq6PiVxeFDCbJzQ2J0=").is_err());
    }

    #[test]
    fn install_dir_is_versioned() {
        let installer = Installer::new("/cache");
        assert_eq!(
            installer.install_dir(&pins::ANVIL),
            Path::new("/cache/anvil-1.7.1")
        );
    }
}
