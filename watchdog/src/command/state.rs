//! The state-directory commands: thin adapters from parsed arguments to [`Watchdog`].

use crate::cli::{ClearArgs, InitArgs, ReplayArgs, StatusArgs, TickArgs};
use crate::env::{self, Env};
use crate::options::Settings;
use crate::settings::{parse_u64, pick};
use crate::{Error, InitOptions, Result, Summary, Watchdog};

use super::Io;

fn open(settings: Settings) -> Result<Watchdog> {
    let dir = settings.require_state_dir()?;
    Ok(Watchdog::open(dir, settings))
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
    let settings = Settings::resolve(&args.watch, env)?;
    Ok(open(settings)?.tick(io.stderr))
}

pub(super) fn status(_args: &StatusArgs, _env: &Env) -> Result<Summary> {
    Err(Error::Usage("status is not available in this build".into()))
}

pub(super) fn clear(_args: &ClearArgs, _env: &Env) -> Result<Summary> {
    Err(Error::Usage("clear is not available in this build".into()))
}

pub(super) fn replay(_args: &ReplayArgs, _env: &Env) -> Result<Summary> {
    Err(Error::Usage("replay is not available in this build".into()))
}
