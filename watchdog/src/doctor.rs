//! `doctor`: checks, without writing anything, everything a tick needs, and prints one line
//! per check before the summary. The checks run in order and a check whose prerequisite failed
//! is skipped (it names the check it waits for):
//!
//! | Check | What |
//! |---|---|
//! | `state_dir` | exists, is a directory owned by us and not group/other-writable; free space for one more checkpoint and a scratch copy of the machine (twice the head checkpoint) |
//! | `lock` | `run.lock` is free (no command runs now) |
//! | `config` | `config.json` reads, is ours, and agrees with the identity settings |
//! | `head` | `head.json` reads and names a checkpoint directory |
//! | `l1` | reachable; chain id; the head tag's block; the head block's hash as recorded; InputBox code and the input count at the head tag |
//! | `confirm` | the confirm provider (if one is set) has the same block hash at the head tag's number |
//! | `sequencer` | reachable; its finalized-state route answers in a known shape |
//! | `checkpoint` | the head's manifest matches it; the machine loads at an accepted yield (Cartesi: library path and generation) and hashes as its manifest says; Cartesi: its template hash equals the application's on-chain one |
//!
//! Exit 0 when none fails (an unset confirm provider is skipped), 1 otherwise: the summary's
//! class and reason are the first failing check's, and its `checks` extra lists every check.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use l1::{BlockParam, BlockRef, L1Provider, RequestBudget};
use machine::BackendInfo;
use serde::Serialize;

use crate::core::{Watchdog, block_on, connect_l1};
use crate::options::Backend;
use crate::source::sequencer_error;
use crate::state::files::{ConfigFile, HeadFile};
use crate::state::lock::RunLock;
use crate::{Class, Error, Outcome, Result, Summary};

const COMMAND: &str = "doctor";

/// How one check ended.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Check {
    name: &'static str,
    /// `ok`, `failed` or `skipped`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    detail: String,
}

/// The checks so far.
#[derive(Default)]
struct Report {
    checks: Vec<Check>,
    first_failure: Option<Error>,
}

impl Report {
    /// Records `result` as check `name`; returns the value when it passed.
    fn record<T>(&mut self, name: &'static str, result: Result<(T, String)>) -> Option<T> {
        match result {
            Ok((value, detail)) => {
                self.checks.push(Check {
                    name,
                    status: "ok",
                    class: None,
                    reason: None,
                    detail,
                });
                Some(value)
            }
            Err(error) => {
                self.checks.push(Check {
                    name,
                    status: "failed",
                    class: Some(error.class().as_str()),
                    reason: Some(error.reason().as_str()),
                    detail: error.message(),
                });
                self.first_failure.get_or_insert(error);
                None
            }
        }
    }

    fn skip(&mut self, name: &'static str, why: impl Into<String>) {
        self.checks.push(Check {
            name,
            status: "skipped",
            class: None,
            reason: None,
            detail: why.into(),
        });
    }
}

/// Runs `doctor`, writing one line per check to `out`.
pub(crate) fn run(wd: &Watchdog, out: &mut dyn Write) -> Summary {
    let mut report = Report::default();
    let config_head = local_checks(wd, &mut report);
    match config_head {
        Some((config, head)) => {
            let deadline = wd.settings.deadline;
            let remote = block_on(deadline, remote_checks(wd, &config, &head, &mut report));
            if let Err(error) = remote {
                report.record::<()>("deadline", Err(error));
            }
        }
        None => {
            for name in ["l1", "confirm", "sequencer", "checkpoint"] {
                report.skip(name, "needs a readable config.json and head.json");
            }
        }
    }
    for check in &report.checks {
        let status = match check.status {
            "ok" => "ok  ",
            "failed" => "FAIL",
            _ => "skip",
        };
        let cause = match (check.class, check.reason) {
            (Some(class), Some(reason)) => format!("{class}/{reason}: "),
            _ => String::new(),
        };
        let _ = writeln!(out, "{status}  {:<10}  {cause}{}", check.name, check.detail);
    }
    let failed: Vec<&Check> = report
        .checks
        .iter()
        .filter(|c| c.status == "failed")
        .collect();
    let summary = match &report.first_failure {
        None => Summary::new(
            Some(COMMAND),
            Outcome::Checked,
            format!(
                "{} checks passed; a tick has what it needs",
                report.checks.iter().filter(|c| c.status == "ok").count()
            ),
        ),
        Some(error) => Summary::new(
            Some(COMMAND),
            Outcome::Failed(error.class()),
            format!(
                "{} of {} checks failed: {}",
                failed.len(),
                report.checks.len(),
                failed
                    .iter()
                    .map(|c| format!("{} ({})", c.name, c.reason.unwrap_or("?")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .reason(error.reason()),
    };
    let mut summary = summary.extra("checks", &report.checks);
    if let Ok(Some(head)) = wd.dir.read_head() {
        summary = summary.head_block(head.block);
    }
    summary
}

/// The state directory, the lock, `config.json` and `head.json`.
fn local_checks(wd: &Watchdog, report: &mut Report) -> Option<(ConfigFile, HeadFile)> {
    let root = wd.dir.root();
    let head_for_size = wd.dir.read_head().ok().flatten();
    let dir_ok = report
        .record("state_dir", state_dir(wd, head_for_size.as_ref()))
        .is_some();
    if !dir_ok {
        for name in ["lock", "config", "head"] {
            report.skip(name, "needs the state directory");
        }
        return None;
    }
    let lock_path = wd.dir.lock_path();
    let lock = if !lock_path.exists() {
        Ok(((), "free (no run.lock yet)".to_owned()))
    } else {
        match RunLock::try_acquire(&lock_path) {
            Ok(_released_at_once) => Ok(((), "free".to_owned())),
            Err(e) => Err(Error::from(e)),
        }
    };
    report.record("lock", lock);
    let config = report.record(
        "config",
        wd.dir
            .read_config()
            .map_err(Error::from)
            .and_then(|config| {
                let config = config.ok_or_else(|| {
                    Error::fail(
                        Class::Operator,
                        "missing_head",
                        format!("{} has no config.json: run `init`", root.display()),
                    )
                })?;
                crate::identity::check(&wd.settings, &config)?;
                let id = &config.identity;
                let detail = format!(
                    "chain {}, application {}, InputBox {}, backend {}, state source {}",
                    id.chain_id,
                    id.app_address,
                    id.input_box_address,
                    id.machine_backend,
                    id.state_source
                );
                Ok((config, detail))
            }),
    );
    let head = report.record(
        "head",
        wd.dir.read_head().map_err(Error::from).and_then(|head| {
            let head = head.ok_or_else(|| {
                Error::fail(
                    Class::Operator,
                    "missing_head",
                    "no head.json: run `init` first",
                )
            })?;
            let detail = format!(
                "block {} after {} inputs, {}",
                head.block,
                head.input_count,
                if head.agreed {
                    "agreed"
                } else {
                    "bootstrap, not compared yet"
                }
            );
            Ok((head, detail))
        }),
    );
    config.zip(head)
}

/// Bytes used by the files under `dir` (no symlinks followed).
fn tree_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

fn state_dir(wd: &Watchdog, head: Option<&HeadFile>) -> Result<((), String)> {
    let root = wd.dir.root();
    let meta = std::fs::symlink_metadata(root).map_err(|e| {
        Error::fail(
            Class::Operator,
            "missing_head",
            format!("{}: {e}; run `init` (or `restore`) first", root.display()),
        )
    })?;
    wd.dir.check_permissions()?;
    let stat = rustix::fs::statvfs(root).map_err(|e| {
        Error::fail(
            Class::Internal,
            "publish_failed",
            format!("statvfs {}: {e}", root.display()),
        )
    })?;
    let free = stat.f_bavail.saturating_mul(stat.f_frsize);
    let checkpoint = head.map_or(0, |h| tree_size(&wd.dir.head_dir(h)));
    let need = checkpoint.saturating_mul(2);
    if free < need {
        return Err(Error::fail(
            Class::Operator,
            "insufficient_space",
            format!(
                "{} has {} free, a tick needs {} (one more checkpoint and a scratch copy of the machine, {} each)",
                root.display(),
                bytes(free),
                bytes(need),
                bytes(checkpoint)
            ),
        ));
    }
    Ok((
        (),
        format!(
            "{}: owner uid {}, mode {:o}, {} free (a tick needs {})",
            root.display(),
            meta.uid(),
            meta.mode() & 0o777,
            bytes(free),
            bytes(need)
        ),
    ))
}

/// A byte count for people: `512 B`, `3.4 MiB`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// L1, the confirm provider, the sequencer and the checkpoint (which needs L1 for the template
/// hash).
async fn remote_checks(
    wd: &Watchdog,
    config: &ConfigFile,
    head: &HeadFile,
    report: &mut Report,
) -> Result<()> {
    let budget = RequestBudget::new(wd.settings.max_rpc_requests);
    let tag = crate::identity::head_tag(&wd.settings, config)?;
    let primary = match &wd.l1_override {
        Some(provider) => Ok(provider.clone()),
        None => wd
            .settings
            .require_rpc_url()
            .and_then(|url| connect_l1(&url, &budget)),
    };
    let l1_head = match primary {
        Ok(provider) => report
            .record("l1", l1_check(&provider, config, head, tag).await)
            .map(|block| (provider, block)),
        Err(error) => {
            report.record::<()>("l1", Err(error));
            None
        }
    };
    match (&wd.settings.confirm_rpc_url, &l1_head) {
        (None, _) => report.skip("confirm", "no confirm provider is set"),
        (Some(_), None) => report.skip("confirm", "needs the l1 check"),
        (Some(url), Some((_, block))) => {
            let budget = RequestBudget::new(wd.settings.max_rpc_requests);
            let result = confirm_check(url, &budget, config.identity.chain_id, block).await;
            report.record("confirm", result);
        }
    }
    report.record("sequencer", sequencer_check(wd, config, head).await);
    let provider = l1_head.as_ref().map(|(p, _)| p);
    report.record(
        "checkpoint",
        checkpoint_check(wd, config, head, provider, tag).await,
    );
    Ok(())
}

async fn l1_check(
    provider: &L1Provider,
    config: &ConfigFile,
    head: &HeadFile,
    tag: l1::HeadTag,
) -> Result<(BlockRef, String)> {
    let identity = crate::identity::parsed(config)?;
    let chain = l1::chain_id(provider).await?;
    if chain != identity.chain_id {
        return Err(Error::ChainIdMismatch {
            expected: identity.chain_id,
            actual: chain,
        });
    }
    let at_tag = l1::block_by_tag(provider, tag).await?;
    if at_tag.number < head.block {
        return Err(Error::fail(
            Class::Transient,
            "l1_head_lags",
            format!(
                "the L1 {tag} block {} is below the head block {}",
                at_tag.number, head.block
            ),
        ));
    }
    let anchor = l1::block_by_number(provider, head.block)
        .await
        .map_err(|e| {
            Error::fail(
                Class::Transient,
                "l1_anchor_unavailable",
                format!("head block {}: {e}", head.block),
            )
        })?;
    if !format!("{:#x}", anchor.hash).eq_ignore_ascii_case(&head.block_hash) {
        return Err(Error::fail(
            Class::Operator,
            "l1_anchor_mismatch",
            format!(
                "block {} has hash {:#x} on L1, the head recorded {}",
                head.block, anchor.hash, head.block_hash
            ),
        ));
    }
    let code = l1::code_at(provider, identity.input_box, BlockParam::Hash(at_tag.hash)).await?;
    if code.is_empty() {
        return Err(Error::fail(
            Class::Operator,
            "config_invalid",
            format!(
                "the InputBox {:#x} has no code at the {tag} block {}",
                identity.input_box, at_tag.number
            ),
        ));
    }
    let count = l1::input_count(
        provider,
        identity.input_box,
        identity.app,
        BlockParam::Hash(at_tag.hash),
    )
    .await?;
    if count < head.input_count {
        return Err(Error::fail(
            Class::Transient,
            "l1_incomplete",
            format!(
                "{count} inputs at the {tag} block {}, fewer than the head's {}",
                at_tag.number, head.input_count
            ),
        ));
    }
    let detail = format!(
        "chain {chain}; {tag} block {} ({:#x}); head block {} hash as recorded; InputBox has code; {count} inputs at {tag} ({} since the head)",
        at_tag.number,
        at_tag.hash,
        head.block,
        count - head.input_count
    );
    Ok((at_tag, detail))
}

async fn confirm_check(
    url: &sequencer_client::RedactedUrl,
    budget: &RequestBudget,
    chain_id: u64,
    block: &BlockRef,
) -> Result<((), String)> {
    let unavailable = |e: Error| Error::fail(Class::Transient, "confirm_unavailable", e.message());
    let provider = connect_l1(url, budget).map_err(unavailable)?;
    let chain = l1::chain_id(&provider)
        .await
        .map_err(|e| unavailable(e.into()))?;
    if chain != chain_id {
        return Err(Error::ChainIdMismatch {
            expected: chain_id,
            actual: chain,
        });
    }
    let theirs = l1::block_by_number(&provider, block.number)
        .await
        .map_err(|e| unavailable(e.into()))?;
    if theirs.hash != block.hash {
        return Err(Error::fail(
            Class::Transient,
            "provider_disagreement",
            format!(
                "block {} is {:#x} on the confirm provider, {:#x} on the L1 provider",
                block.number, theirs.hash, block.hash
            ),
        ));
    }
    Ok((
        (),
        format!("block {} hash {:#x} agrees", block.number, block.hash),
    ))
}

async fn sequencer_check(
    wd: &Watchdog,
    config: &ConfigFile,
    head: &HeadFile,
) -> Result<((), String)> {
    let client = wd.sequencer_source(config)?;
    let point = client
        .inclusion_block()
        .await
        .map_err(|e| sequencer_error(e, true))?;
    let shape = match point.cursor {
        sequencer_client::InputCursor::ExecutedInputCount(n) => format!("executed_input_count {n}"),
        sequencer_client::InputCursor::L2TxIndex(n) => format!("l2_tx_index {n} (older shape)"),
    };
    let relation = match point.inclusion_block.cmp(&head.block) {
        std::cmp::Ordering::Less => "behind the head",
        std::cmp::Ordering::Equal => "at the head",
        std::cmp::Ordering::Greater => "ahead of the head: the next tick compares",
    };
    Ok((
        (),
        format!(
            "finalized at block {} ({relation}), {shape}",
            point.inclusion_block
        ),
    ))
}

async fn checkpoint_check(
    wd: &Watchdog,
    config: &ConfigFile,
    head: &HeadFile,
    provider: Option<&L1Provider>,
    tag: l1::HeadTag,
) -> Result<((), String)> {
    let manifest = wd.dir.read_manifest(&wd.dir.head_dir(head))?;
    crate::checkpoint::check_manifest(head, &manifest)?;
    let kind = crate::identity::backend(config)?;
    // Loading writes nothing; libcartesi's scratch space (used only to advance) is not needed.
    let backend = wd.backend(kind, &std::env::temp_dir())?;
    let machine_dir = wd.dir.head_dir(head).join("machine");
    let worker = crate::checkpoint::load(backend, machine_dir, &manifest, "head", |e| e).await?;
    let mut detail = format!(
        "{}: manifest matches, machine loads, root hash as recorded",
        head.checkpoint
    );
    if let Ok(BackendInfo::Cartesi(info)) = worker.info().await {
        detail.push_str(&format!(
            "; libcartesi {} (API {}) from {}",
            info.version_string(),
            info.api.as_str(),
            info.path.display()
        ));
    }
    if kind == Backend::Cartesi {
        let recorded = manifest.template_hash.as_deref().ok_or_else(|| {
            Error::fail(
                Class::Operator,
                "template_hash_unknown",
                format!("{} records no template hash", head.checkpoint),
            )
        })?;
        let Some(provider) = provider else {
            return Err(Error::fail(
                Class::Transient,
                "l1_unavailable",
                "the template hash needs L1 (see the l1 check)",
            ));
        };
        let app = crate::identity::parsed(config)?.app;
        let at_tag = l1::block_by_tag(provider, tag).await?;
        let onchain = crate::template::onchain(provider, app, at_tag.hash, at_tag.hash).await?;
        let point = crate::template::pin(recorded)?;
        crate::template::require("the on-chain template hash", &onchain, &point)?;
        detail.push_str(&format!(
            "; template hash {recorded} equals the application's"
        ));
    }
    Ok(((), detail))
}

impl Watchdog {
    /// `doctor`: checks, writing nothing, everything a tick needs; one line per check goes to
    /// `out`, and the summary lists them (exit 0 none failed, 1 otherwise).
    pub fn doctor(&self, out: &mut dyn Write) -> Summary {
        if let Err(error) = self.require_attached() {
            return Summary::failed(Some(COMMAND), &error);
        }
        run(self, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_well() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024 + 400 * 1024), "3.4 MiB");
        assert_eq!(bytes(u64::MAX), "16777216.0 TiB");
    }
}
