//! The Docker engine as scenarios use it: the client, whether the watchdog's image is there
//! (the `Image` capability), and volumes for the image's state.
//!
//! The client is `$DOCKER` or `docker` on `PATH`, talking to `$DOCKER_HOST` or the default
//! socket; `release/engine.sh` starts an engine and exports both.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

/// Environment variable naming the watchdog image the scenarios run (default
/// [`DEFAULT_WATCHDOG_IMAGE`], which `release/image` builds).
pub const WATCHDOG_IMAGE_ENV: &str = "DEVNET_WATCHDOG_IMAGE";

/// The tag `release/image` gives the image it builds.
pub const DEFAULT_WATCHDOG_IMAGE: &str = "sequencer-watchdog:local";

/// Environment variable naming the Docker client (default `docker` on `PATH`).
pub const DOCKER_ENV: &str = "DOCKER";

/// How long an engine query may take before the engine counts as not answering.
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);

/// The watchdog image: `$DEVNET_WATCHDOG_IMAGE`, else `sequencer-watchdog:local`.
pub fn watchdog_image() -> String {
    std::env::var(WATCHDOG_IMAGE_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_WATCHDOG_IMAGE.to_owned())
}

/// The Docker client: `$DOCKER`, else `docker`.
pub fn docker_client() -> PathBuf {
    std::env::var_os(DOCKER_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("docker"), PathBuf::from)
}

/// Runs `docker <args>` and returns its stdout; an error carries its stderr.
pub async fn docker(args: &[&str]) -> Result<String> {
    let client = docker_client();
    let mut command = tokio::process::Command::new(&client);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .with_context(|| format!("starting the Docker client {}", client.display()))?;
    let output = tokio::time::timeout(QUERY_TIMEOUT, child.wait_with_output())
        .await
        .with_context(|| format!("`docker {}` did not finish in {QUERY_TIMEOUT:?}", args[0]))??;
    if !output.status.success() {
        bail!(
            "`docker {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Why the watchdog image cannot run here, or `None` when it can: a Docker engine answers and
/// has the image.
pub async fn image_unavailable() -> Option<String> {
    let image = watchdog_image();
    if let Err(e) = docker(&["version", "--format", "{{.Server.Version}}"]).await {
        return Some(format!(
            "no Docker engine answers ({e:#}); start one with release/engine.sh or release/image"
        ));
    }
    match docker(&["image", "inspect", "--format", "{{.Id}}", &image]).await {
        Ok(_) => None,
        Err(_) => Some(format!(
            "the engine has no image {image}; build it with release/image"
        )),
    }
}

/// Whether scenarios run under CI (`CI=true`), where a missing engine or image fails instead
/// of skipping.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A named volume, removed with [`remove_volume`].
pub async fn create_volume(prefix: &str) -> Result<String> {
    let name = unique_name(prefix);
    docker(&["volume", "create", &name]).await?;
    Ok(name)
}

/// `<prefix>-<pid>-<suffix>`: a name no other run and no earlier call of this run uses.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{:x}{}",
        std::process::id(),
        rand_suffix(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes a volume (best effort callers log the error).
pub async fn remove_volume(name: &str) -> Result<()> {
    docker(&["volume", "rm", "--force", name]).await.map(drop)
}

/// A per-call suffix for names (time-based; names also carry the pid).
fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        & 0xffff_ffff
}
