//! `l1 scan --from A --to B` (spec `watchdog.md` §6.5): the inputs a tick would see, with the
//! same plan and per-log checks, the first index read at A-1 and the count proven at B. With
//! `--state-dir` (or `CARTESI_WATCHDOG_STATE_DIR`) naming an initialized state directory, the
//! identity comes from its `config.json` (flags and environment must match it) and the span a
//! tick learned for the same provider is used, read-only.

use std::{fmt, io::Write, path::PathBuf};

use alloy_primitives::Address;
use l1::{BlockParam, InputReader, RangePlan, RequestBudget, RpcConfig};
use sequencer_client::RedactedUrl;

use super::Io;
use crate::core::block_on;
use crate::{
    Error, Outcome, Result, Summary,
    cli::ScanArgs,
    env::{self, Env},
    inputs::input_line,
    options::Settings,
    settings::{Deadline, parse_address, parse_deadline, parse_u64, parse_url, pick, require},
    state::layout::StateDir,
};

/// Default request budget per provider.
pub(crate) const DEFAULT_MAX_RPC_REQUESTS: u64 = 5000;

/// Resolved settings of one scan.
struct ScanSettings {
    rpc_url: RedactedUrl,
    chain_id: Option<u64>,
    app: Address,
    input_box: Option<Address>,
    codes: Vec<i64>,
    /// The span learned by ticks with this provider (read-only).
    span: Option<u64>,
    max_rpc_requests: u64,
    deadline: Deadline,
    from: u64,
    to: u64,
}

impl fmt::Debug for ScanSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanSettings")
            .field("rpc_url", &self.rpc_url)
            .field("chain_id", &self.chain_id)
            .field("app", &self.app)
            .field("input_box", &self.input_box)
            .field("codes", &self.codes)
            .field("span", &self.span)
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl ScanSettings {
    fn resolve(args: &ScanArgs, env: &Env) -> Result<Self> {
        let l1 = &args.l1;
        if args.from > args.to {
            return Err(Error::Usage(format!(
                "--from {} is above --to {}",
                args.from, args.to
            )));
        }
        let codes = pick(
            l1.long_block_range_error_codes.clone(),
            env,
            env::LONG_BLOCK_RANGE_ERROR_CODES,
            |s| Ok(s.to_owned()),
        )?
        .map(|list| {
            RangePlan::parse_codes(&list)
                .map_err(|e| Error::config(env::LONG_BLOCK_RANGE_ERROR_CODES, e.to_string()))
        })
        .transpose()?;
        if let Some(topic) = env.get(env::INPUT_ADDED_TOPIC) {
            let standard = format!("{:#x}", l1::INPUT_ADDED_TOPIC);
            if !topic.trim().eq_ignore_ascii_case(&standard) {
                return Err(Error::config(
                    env::INPUT_ADDED_TOPIC,
                    format!("must be the standard InputAdded topic {standard}"),
                ));
            }
        }
        let rpc_url = require(
            l1.rpc_url.clone(),
            env,
            "--rpc-url",
            env::BLOCKCHAIN_HTTP_ENDPOINT,
            parse_url,
        )?;
        let given = Settings {
            chain_id: pick(l1.chain_id, env, env::BLOCKCHAIN_ID, parse_u64)?,
            app_address: pick(l1.app_address, env, env::APP_ADDRESS, parse_address)?,
            input_box_address: pick(
                l1.input_box_address,
                env,
                env::CONTRACTS_INPUT_BOX_ADDRESS,
                parse_address,
            )?,
            range_codes: codes,
            ..Settings::default()
        };
        let state_dir = pick(args.state_dir.clone(), env, env::STATE_DIR, |s| {
            Ok(PathBuf::from(s))
        })?;
        let stored = match &state_dir {
            Some(dir) => StateDir::new(dir)
                .read_config()?
                .map(|config| (dir, config)),
            None => None,
        };
        let (chain_id, app, input_box, codes, span) = match stored {
            // Identity as for replay: config.json, which flags and environment must match.
            Some((dir, config)) => {
                crate::identity::check(&given, &config)?;
                let identity = crate::identity::parsed(&config)?;
                let codes = crate::identity::codes(&given, &config)?;
                let span = crate::report::read_span(
                    &StateDir::new(dir),
                    &crate::report::provider_id(&rpc_url),
                );
                (
                    Some(identity.chain_id),
                    identity.app,
                    Some(identity.input_box),
                    codes,
                    span,
                )
            }
            None => (
                given.chain_id,
                given.app_address.ok_or_else(|| {
                    Error::Usage(format!(
                        "--app-address (or {}) is required",
                        env::APP_ADDRESS
                    ))
                })?,
                given.input_box_address,
                given
                    .range_codes
                    .unwrap_or_else(|| l1::DEFAULT_RANGE_ERROR_CODES.to_vec()),
                None,
            ),
        };
        Ok(Self {
            rpc_url,
            chain_id,
            app,
            input_box,
            codes,
            span,
            max_rpc_requests: pick(l1.max_rpc_requests, env, env::MAX_RPC_REQUESTS, parse_u64)?
                .unwrap_or(DEFAULT_MAX_RPC_REQUESTS),
            deadline: pick(args.deadline.deadline, env, env::DEADLINE, parse_deadline)?
                .unwrap_or(Deadline::DEFAULT),
            from: args.from,
            to: args.to,
        })
    }
}

pub(super) fn run(args: &ScanArgs, env: &Env, io: &mut Io<'_>) -> Result<Summary> {
    let settings = ScanSettings::resolve(args, env)?;
    tracing::debug!(target: "watchdog::scan", ?settings, "scan");
    let budget = RequestBudget::new(settings.max_rpc_requests);
    let count = block_on(settings.deadline, scan(&settings, &budget, io.stdout))?;
    io.stdout.flush().map_err(Error::Output)?;
    let message = format!(
        "{count} input{} in blocks {}..={}",
        if count == 1 { "" } else { "s" },
        settings.from,
        settings.to
    );
    Ok(Summary::new(Some("l1 scan"), Outcome::Scanned, message)
        .target_block(settings.to)
        .extra("from", &settings.from)
        .extra("to", &settings.to)
        .extra("inputs", &count)
        .extra("requests", &budget.used()))
}

async fn scan(settings: &ScanSettings, budget: &RequestBudget, out: &mut dyn Write) -> Result<u64> {
    let provider = l1::connect(
        settings.rpc_url.expose().as_str(),
        &RpcConfig::default(),
        budget,
    )?;
    let chain_id = l1::chain_id(&provider).await?;
    if let Some(expected) = settings.chain_id
        && expected != chain_id
    {
        return Err(Error::ChainIdMismatch {
            expected,
            actual: chain_id,
        });
    }
    let target = l1::block_by_number(&provider, settings.to).await?;
    let at_target = BlockParam::Hash(target.hash);
    let input_box = match settings.input_box {
        Some(configured) => {
            l1::ensure_input_box(&provider, settings.app, configured, at_target).await?;
            configured
        }
        None => l1::discover_input_box(&provider, settings.app, at_target).await?,
    };
    let plan = RangePlan::new()
        .with_codes(settings.codes.clone())
        .with_span(settings.span);
    let reader = InputReader::new(provider, settings.app, input_box, chain_id, plan);
    let start_index = match settings.from.checked_sub(1) {
        None => 0,
        Some(before) => {
            let before = l1::block_by_number(reader.provider(), before).await?;
            reader.input_count_at(before.hash).await?
        }
    };
    let mut cursor = reader.cursor(settings.from, settings.to, start_index);
    let mut count = 0u64;
    while let Some(input) = cursor.next().await? {
        writeln!(out, "{}", input_line(&input)).map_err(Error::Output)?;
        count += 1;
    }
    let report = cursor.report().clone();
    reader.verify_count(&report, target.hash).await?;
    tracing::info!(
        target: "watchdog::scan",
        event = "scanned",
        inputs = count,
        get_logs_calls = report.get_logs_calls,
        range_errors = report.range_errors,
        "scan complete"
    );
    Ok(count)
}
