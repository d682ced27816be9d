//! The state-directory commands: thin adapters from parsed arguments to [`Watchdog`].

use std::path::PathBuf;

use crate::cli::{ClearArgs, InitArgs, ReplayArgs, StatusArgs, TickArgs};
use crate::env::{self, Env};
use crate::options::Settings;
use crate::settings::{parse_u64, pick};
use crate::{InitOptions, ReplayOptions, Result, Summary, Watchdog};

use super::{Io, progress};

fn open(settings: Settings) -> Result<Watchdog> {
    let dir = settings.require_state_dir()?;
    let progress = settings.progress;
    let wd = Watchdog::open(dir, settings);
    Ok(match progress::for_stderr(progress) {
        Some(bar) => wd.with_progress(bar),
        None => wd,
    })
}

/// The state directory of the commands that take only `--state-dir`.
fn state_dir_only(flag: Option<PathBuf>, env: &Env) -> Result<Settings> {
    Ok(Settings {
        state_dir: Settings::resolve_state_dir(flag, env)?,
        ..Settings::default()
    })
}

pub(super) fn init(args: &InitArgs, env: &Env) -> Result<Summary> {
    let settings = Settings::resolve(&args.watch, env)?;
    let options = InitOptions {
        snapshot: pick(args.snapshot_dir.clone(), env, env::CM_SNAPSHOT_DIR, |s| {
            Ok(s.to_owned())
        })?,
        snapshot_block: pick(
            args.snapshot_safe_block,
            env,
            env::CM_SNAPSHOT_SAFE_BLOCK,
            parse_u64,
        )?,
        cm_image_hash: pick(args.cm_image_hash.clone(), env, env::CM_IMAGE_HASH, |s| {
            Ok(s.to_owned())
        })?,
        max_cycles_per_input: args.max_cycles_per_input,
    };
    open(settings)?.init(&options)
}

pub(super) fn tick(args: &TickArgs, env: &Env, io: &mut Io<'_>) -> Result<Summary> {
    let mut settings = Settings::resolve(&args.watch, env)?;
    if let Some(blocks) = pick(
        args.max_finality_lag_blocks,
        env,
        env::MAX_FINALITY_LAG_BLOCKS,
        parse_u64,
    )? {
        settings.max_finality_lag_blocks =
            crate::liveness::check_max_finality_lag(blocks).map_err(crate::Error::Usage)?;
    }
    Ok(open(settings)?.tick(io.stderr))
}

pub(super) fn status(args: &StatusArgs, env: &Env) -> Result<Summary> {
    let settings = state_dir_only(args.state_dir.clone(), env)?;
    Ok(open(settings)?.status())
}

pub(super) fn clear(args: &ClearArgs, env: &Env) -> Result<Summary> {
    let settings = state_dir_only(args.state_dir.clone(), env)?;
    open(settings)?.clear(args.block, &args.reason)
}

pub(super) fn replay(args: &ReplayArgs, env: &Env) -> Result<Summary> {
    let settings = Settings::resolve(&args.watch, env)?;
    let options = ReplayOptions {
        from_block: args.from_block,
        to_block: args.to_block,
        out: args.out.clone(),
        from_checkpoint: args.from_checkpoint.clone(),
    };
    let wd = match settings.state_dir.clone() {
        Some(_) => open(settings)?,
        None => {
            let progress = settings.progress;
            let wd = Watchdog::detached(settings);
            match progress::for_stderr(progress) {
                Some(bar) => wd.with_progress(bar),
                None => wd,
            }
        }
    };
    wd.replay(&options)
}
