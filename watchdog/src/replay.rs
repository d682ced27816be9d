//! `replay --from-block A --to-block B --out DIR [--from-checkpoint P]` (spec §6.4):
//! re-derives the canonical state of block B from a checkpoint at block A, into a new
//! directory, with the tick's own steps 8–12. Lock-free: the source is copied into `--out`
//! first and verified there, and nothing in the state directory is written.
//!
//! `--out` receives `machine/` (usable as `CM_SNAPSHOT_DIR`), `manifest.json`, `state.bin`
//! and `inputs.jsonl`. When the machine reaches a fixed point the replay ends `stopped`:
//! `machine/` then holds the stopped machine and no `manifest.json` or `state.bin` is written,
//! since that machine can never be a checkpoint.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use alloy_primitives::{Address, B256};
use l1::{BlockParam, HeadTag, RequestBudget};
use machine::RunControl;
use sha2::{Digest, Sha256};

use crate::checkpoint::{self, STATE_FILE, check_manifest, new_manifest, worker_version};
use crate::core::{Watchdog, block_on, connect_l1, deadline_instant};
use crate::feed::{self, Anchor};
use crate::options::{Backend, DEFAULT_MAX_CYCLES_PER_INPUT};
use crate::progress::Reporting;
use crate::state::event::StopRecord;
use crate::state::files::{self, HeadFile, ManifestFile};
use crate::state::fsx::{self, WithPath};
use crate::{Class, Error, Outcome, Result, Summary};

const COMMAND: &str = "replay";

/// Where the source is staged inside `--out` while the replay runs.
const STAGING: &str = ".source";

/// What `replay` needs beyond [`Settings`](crate::options::Settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOptions {
    /// A: the source checkpoint's block.
    pub from_block: u64,
    /// B: the last block replayed (at most the L1 head tag).
    pub to_block: u64,
    /// A new directory, outside the state directory.
    pub out: PathBuf,
    /// A checkpoint directory (`manifest.json` + `machine/`, e.g. `incidents/<id>/base`) to
    /// start from instead of the head.
    pub from_checkpoint: Option<PathBuf>,
}

/// The identity and plan of one replay: `config.json` when there is one, else flags and
/// environment.
struct Plan {
    chain_id: Option<u64>,
    app: Address,
    input_box: Option<Address>,
    backend: Option<Backend>,
    state_source: String,
    codes: Vec<i64>,
    tag: HeadTag,
    cycles: u64,
}

fn plan(wd: &Watchdog) -> Result<Plan> {
    let settings = &wd.settings;
    let config = if wd.attached {
        wd.dir.read_config()?
    } else {
        None
    };
    if let Some(config) = config {
        crate::identity::check(settings, &config)?;
        let identity = crate::identity::parsed(&config)?;
        return Ok(Plan {
            chain_id: Some(identity.chain_id),
            app: identity.app,
            input_box: Some(identity.input_box),
            backend: Some(identity.backend),
            state_source: identity.state_source,
            codes: crate::identity::codes(settings, &config)?,
            tag: crate::identity::head_tag(settings, &config)?,
            cycles: config.max_cycles_per_input,
        });
    }
    let app = settings.app_address.ok_or_else(|| {
        Error::Usage(format!(
            "--app-address (or {}) is required without an initialized state directory",
            crate::env::APP_ADDRESS
        ))
    })?;
    Ok(Plan {
        chain_id: settings.chain_id,
        app,
        input_box: settings.input_box_address,
        backend: settings.machine_backend,
        state_source: settings
            .state_source
            .clone()
            .unwrap_or_else(|| "inspect".to_owned()),
        codes: settings
            .range_codes
            .clone()
            .unwrap_or_else(|| l1::DEFAULT_RANGE_ERROR_CODES.to_vec()),
        tag: settings.l1_head_tag.unwrap_or(HeadTag::Safe),
        cycles: DEFAULT_MAX_CYCLES_PER_INPUT,
    })
}

/// `path` made absolute with symlinks resolved as far as it exists.
fn resolved(path: &Path) -> io::Result<PathBuf> {
    match path.canonicalize() {
        Ok(path) => Ok(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let name = path.file_name().ok_or(e)?;
            let parent = match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => Path::new("."),
            };
            Ok(resolved(parent)?.join(name))
        }
        Err(e) => Err(e),
    }
}

/// `--out` must be new and outside the state directory; it is created 0700.
fn create_out(wd: &Watchdog, out: &Path) -> Result<()> {
    if out.symlink_metadata().is_ok() {
        return Err(Error::Usage(format!(
            "--out {} already exists",
            out.display()
        )));
    }
    let target = resolved(out).at(out)?;
    if wd.attached
        && let Ok(state) = wd.dir.root().canonicalize()
        && target.starts_with(&state)
    {
        return Err(Error::Usage(format!(
            "--out {} is inside the state directory",
            out.display()
        )));
    }
    fsx::create_dir(out)
        .map_err(|e| Error::Usage(format!("cannot create --out: {e} (its parent must exist)")))
}

impl Watchdog {
    /// `replay` (spec §6.4): re-derives the canonical state from the head (or
    /// `options.from_checkpoint`) into the new directory `options.out`, lock-free and without
    /// writing the state directory.
    pub fn replay(&self, options: &crate::ReplayOptions) -> Result<crate::Summary> {
        run(self, options)
    }
}

/// Runs `replay`; on failure the half-written `--out` is removed so the command can be rerun.
pub(crate) fn run(wd: &Watchdog, options: &ReplayOptions) -> Result<Summary> {
    if options.to_block < options.from_block {
        return Err(Error::Usage(format!(
            "--to-block {} is below --from-block {}",
            options.to_block, options.from_block
        )));
    }
    if options.from_checkpoint.is_none() && !wd.attached {
        return Err(Error::Usage(format!(
            "--state-dir (or {}) or --from-checkpoint is required",
            crate::env::STATE_DIR
        )));
    }
    let plan = plan(wd)?;
    let rpc_url = wd.settings.require_rpc_url()?;
    create_out(wd, &options.out)?;
    let result = replay(wd, options, &plan, &rpc_url);
    if result.is_err()
        && let Err(e) = fsx::remove_any(&options.out)
    {
        tracing::warn!(target: "watchdog::replay", error = %e, "cannot remove the partial --out");
    }
    result
}

/// The source checkpoint: its directory and, when it is the head, the head it was read from.
struct Source {
    dir: PathBuf,
    head: Option<HeadFile>,
}

impl Source {
    /// The error for a copy that failed or does not verify: `source_changed` when the head
    /// moved meanwhile (a tick published and collected the old one), else `corrupt`.
    fn failure(&self, wd: &Watchdog, corrupt: Error) -> Error {
        let Some(head) = &self.head else {
            return corrupt;
        };
        let now = wd.dir.read_head().ok().flatten();
        if now.as_ref() == Some(head) {
            corrupt
        } else {
            Error::fail(
                Class::Transient,
                "source_changed",
                format!(
                    "the head moved away from {} while it was copied; run replay again",
                    head.checkpoint
                ),
            )
        }
    }
}

/// Copies the source's manifest and machine into `staging`; returns the manifest.
fn stage(wd: &Watchdog, source: &Source, staging: &Path) -> Result<ManifestFile> {
    let corrupt = |what: String| Error::fail(Class::Operator, "checkpoint_corrupt", what);
    let manifest_path = source.dir.join("manifest.json");
    let bytes = fsx::read_capped(&manifest_path, 1 << 20)
        .map_err(|e| source.failure(wd, corrupt(e.to_string())))?;
    let manifest: ManifestFile = files::parse(&bytes, 1)
        .map_err(|e| corrupt(format!("{}: {e}", manifest_path.display())))?;
    fsx::create_dir(staging)?;
    fail::fail_point!("replay.before_copy");
    fsx::copy_tree(&source.dir.join("machine"), &staging.join("machine"))
        .map_err(|e| source.failure(wd, corrupt(e.to_string())))?;
    if let Some(head) = &source.head {
        check_manifest(head, &manifest)?;
    }
    Ok(manifest)
}

fn replay(
    wd: &Watchdog,
    options: &ReplayOptions,
    plan: &Plan,
    rpc_url: &sequencer_client::RedactedUrl,
) -> Result<Summary> {
    let source = match &options.from_checkpoint {
        Some(dir) => Source {
            dir: dir.clone(),
            head: None,
        },
        None => {
            let head = wd.dir.read_head()?.ok_or_else(|| {
                Error::fail(
                    Class::Operator,
                    "missing_head",
                    "no head.json: run `init` first",
                )
            })?;
            Source {
                dir: wd.dir.head_dir(&head),
                head: Some(head),
            }
        }
    };
    let out = &options.out;
    let staging = out.join(STAGING);
    let manifest = stage(wd, &source, &staging)?;
    if manifest.block != options.from_block {
        return Err(Error::Usage(format!(
            "--from-block {} must equal the source checkpoint's block {}",
            options.from_block, manifest.block
        )));
    }
    let backend = Backend::parse(&manifest.machine_backend).map_err(|e| {
        Error::fail(
            Class::Operator,
            "checkpoint_corrupt",
            format!("manifest machine_backend: {e}"),
        )
    })?;
    if plan.backend.is_some_and(|b| b != backend) {
        return Err(Error::fail(
            Class::Operator,
            "identity_mismatch",
            format!("the source checkpoint holds a {} machine", backend.as_str()),
        ));
    }
    let budget = RequestBudget::new(wd.settings.max_rpc_requests);
    let ended = block_on(wd.settings.deadline, async {
        let provider = connect_l1(rpc_url, &budget)?;
        let chain_id = match plan.chain_id {
            Some(id) => id,
            None => l1::chain_id(&provider).await?,
        };
        let source_hash: B256 = manifest.block_hash.parse().map_err(|_| {
            Error::fail(
                Class::Operator,
                "checkpoint_corrupt",
                "manifest block_hash is not a hash",
            )
        })?;
        let input_box = match plan.input_box {
            Some(input_box) => input_box,
            None => {
                l1::discover_input_box(&provider, plan.app, BlockParam::Hash(source_hash)).await?
            }
        };
        let span = if wd.attached {
            crate::report::read_span(&wd.dir, &crate::report::provider_id(rpc_url))
        } else {
            None
        };
        let reader = feed::reader(
            provider,
            plan.app,
            input_box,
            chain_id,
            plan.codes.clone(),
            span,
        );
        let anchor = feed::preflight(
            &reader,
            plan.tag,
            manifest.block,
            &manifest.block_hash,
            manifest.input_count,
            options.to_block,
        )
        .await?;

        let work = staging.join("work");
        fsx::create_dir(&work)?;
        let loader = wd.backend(backend, &work)?;
        let machine_dir = staging.join("machine");
        let worker = checkpoint::load(loader, machine_dir, &manifest, "source", |e| {
            source.failure(wd, e)
        })
        .await?;

        let ctl = RunControl {
            cycle_budget: plan.cycles,
            deadline: deadline_instant(wd.settings.deadline),
            ..RunControl::default()
        };
        let inputs_path = out.join("inputs.jsonl");
        let file = std::fs::File::create(&inputs_path).at(&inputs_path)?;
        let mut inputs_log = io::BufWriter::new(file);
        let reporting = Reporting::start(
            wd.progress.as_deref(),
            anchor.input_count.saturating_sub(manifest.input_count),
        );
        let fed = feed::feed(
            &reader,
            &worker,
            manifest.block,
            anchor.block,
            manifest.input_count,
            &mut inputs_log,
            &ctl,
            reporting.sink(),
        )
        .await;
        drop(reporting);
        inputs_log
            .flush()
            .and_then(|()| inputs_log.get_ref().sync_all())
            .at(&inputs_path)?;
        let fed = fed?;
        if let Some(stop) = fed.stop {
            worker
                .store(out.join("machine"))
                .await
                .map_err(feed::store_error)?;
            return Ok(Ended::Stopped {
                stop,
                inputs: fed.inputs,
                next_index: fed.next_index,
            });
        }
        feed::completeness(&reader, &fed, &anchor).await?;
        let state = feed::extract(&worker, &plan.state_source, &ctl).await?;
        let sha = B256::from_slice(&Sha256::digest(&state));
        fsx::write_new(&out.join(STATE_FILE), &state)?;
        let root = worker
            .store(out.join("machine"))
            .await
            .map_err(feed::store_error)?;
        let version = worker_version(&worker).await;
        let now = crate::state::clock::rfc3339(wd.clock.now_unix());
        let replayed = ManifestFile {
            // The lineage: where this machine's template point is recorded.
            template_hash: manifest.template_hash.clone(),
            ..new_manifest(backend, &anchor, &sha, &root, version, "replay", now)
        };
        fsx::write_new(&out.join("manifest.json"), &files::render(&replayed))?;
        Ok(Ended::Replayed {
            anchor,
            sha,
            inputs: fed.inputs,
        })
    })?;
    fsx::remove_any(&staging)?;
    fsx::sync_dir(out)?;

    let summary = |outcome, message: String, to_count: u64, inputs: u64| {
        Summary::new(Some(COMMAND), outcome, message)
            .head_block(manifest.block)
            .target_block(options.to_block)
            .inputs_replayed(inputs)
            .extra("from_block", &manifest.block)
            .extra("to_block", &options.to_block)
            .extra("input_count_from", &manifest.input_count)
            .extra("input_count_to", &to_count)
    };
    let out_dir = out.display().to_string();
    Ok(match ended {
        Ended::Replayed {
            anchor,
            sha,
            inputs,
        } => {
            tracing::info!(target: "watchdog::replay", event = "replayed", block = anchor.block, inputs, "replay complete");
            summary(
                Outcome::Replayed,
                format!("replayed {inputs} inputs up to block {}", anchor.block),
                anchor.input_count,
                inputs,
            )
            .extra("sha256", &hex::encode(sha))
            .extra("out_dir", &out_dir)
            .extra("stop", &None::<StopRecord>)
        }
        Ended::Stopped {
            stop,
            inputs,
            next_index,
        } => {
            tracing::warn!(target: "watchdog::replay", event = "stopped", index = stop.input_index, "the machine reached a fixed point");
            summary(
                Outcome::Stopped,
                format!(
                    "the machine stopped at input {} (block {}): {}",
                    stop.input_index, stop.input_block, stop.description
                ),
                next_index,
                inputs,
            )
            .extra("sha256", &None::<String>)
            .extra("out_dir", &out_dir)
            .extra("stop", &stop)
        }
    })
}

/// How the replay ended.
enum Ended {
    Replayed {
        anchor: Anchor,
        sha: B256,
        inputs: u64,
    },
    Stopped {
        stop: StopRecord,
        inputs: u64,
        next_index: u64,
    },
}
