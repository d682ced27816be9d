//! `l1 scan --from A --to B` (spec `watchdog.md` §6.5): the inputs a tick would see, with the
//! same plan and per-log checks, the first index read at A-1 and the count proven at B. With
//! `--state-dir` (or `CARTESI_WATCHDOG_STATE_DIR`) naming an initialized state directory, the
//! identity comes from its `config.json` (flags and environment must match it) and the span a
//! tick learned for the same provider is used, read-only.

use std::{fmt, io::Write};

use alloy_primitives::Address;
use l1::{BlockParam, InputReader, RangePlan, RequestBudget};
use sequencer_client::RedactedUrl;

use super::Io;
use crate::core::{block_on, connect_l1};
use crate::{
    Error, Outcome, Result, Summary,
    cli::ScanArgs,
    env::{self, Env},
    inputs::input_line,
    options::Settings,
    settings::Deadline,
    state::layout::StateDir,
};

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
        if args.from > args.to {
            return Err(Error::Usage(format!(
                "--from {} is above --to {}",
                args.from, args.to
            )));
        }
        let given = Settings::resolve_scan(args, env)?;
        let rpc_url = given.require_rpc_url()?;
        let stored = match &given.state_dir {
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
            max_rpc_requests: given.max_rpc_requests,
            deadline: given.deadline,
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
    let provider = connect_l1(&settings.rpc_url, budget)?;
    let chain_id = crate::feed::chain_id(&provider, settings.chain_id).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, L1Command};
    use crate::{Parsed, parse};

    const APP: &str = "0x4ce6aac3fdd6e1d6e0d5d3fa2d44a4e2e7a1e083";
    const INPUT_BOX: &str = "0x593e5bcf894d6829dd26d0810da7f064406aebb6";

    fn command(args: &[&str], env: &Env) -> Command {
        let argv = std::iter::once("sequencer-watchdog").chain(args.iter().copied());
        match parse(argv, env) {
            Parsed::Run(invocation) => match invocation.command() {
                Some(Command::Tick(args)) => Command::Tick(args.clone()),
                Some(Command::L1(L1Command::Scan(args))) => {
                    Command::L1(L1Command::Scan(args.clone()))
                }
                other => panic!("{other:?}"),
            },
            Parsed::Exit(exit) => panic!("{exit:?}"),
        }
    }

    /// What `tick` and `l1 scan` resolve from `flags` (on both command lines) and `env`.
    fn both(flags: &[&str], env: &Env) -> (Result<Settings>, Result<ScanSettings>) {
        let tick = [&["tick"][..], flags].concat();
        let scan = [&["l1", "scan", "--from", "1", "--to", "2"][..], flags].concat();
        let Command::Tick(tick) = command(&tick, env) else {
            unreachable!()
        };
        let Command::L1(L1Command::Scan(scan)) = command(&scan, env) else {
            unreachable!()
        };
        (
            Settings::resolve(&tick.watch, env),
            ScanSettings::resolve(&scan, env),
        )
    }

    /// What tick and scan resolved, setting by setting, as text.
    fn seen(tick: Settings, scan: &ScanSettings) -> Vec<(&'static str, String, String)> {
        let codes = tick
            .range_codes
            .unwrap_or_else(|| l1::DEFAULT_RANGE_ERROR_CODES.to_vec());
        vec![
            (
                "rpc_url",
                tick.rpc_url
                    .map(|u| u.expose().to_string())
                    .unwrap_or_default(),
                scan.rpc_url.expose().to_string(),
            ),
            (
                "chain_id",
                format!("{:?}", tick.chain_id),
                format!("{:?}", scan.chain_id),
            ),
            (
                "app",
                format!("{:?}", tick.app_address),
                format!("{:?}", Some(scan.app)),
            ),
            (
                "input_box",
                format!("{:?}", tick.input_box_address),
                format!("{:?}", scan.input_box),
            ),
            ("codes", format!("{codes:?}"), format!("{:?}", scan.codes)),
            (
                "max_rpc_requests",
                tick.max_rpc_requests.to_string(),
                scan.max_rpc_requests.to_string(),
            ),
            (
                "deadline",
                format!("{:?}", tick.deadline),
                format!("{:?}", scan.deadline),
            ),
        ]
    }

    /// One setting given as a flag, and once more as its variable: scan resolves the value
    /// tick resolves, and the same error for a bad variable.
    #[test]
    fn a_setting_reaches_scan_as_it_reaches_tick() {
        // (flag, variable, value, the setting it is, how it reads when resolved)
        let cases = [
            (
                "--rpc-url",
                env::BLOCKCHAIN_HTTP_ENDPOINT,
                "http://127.0.0.1:9/rpc",
                "rpc_url",
                "http://127.0.0.1:9/rpc".to_owned(),
            ),
            (
                "--chain-id",
                env::BLOCKCHAIN_ID,
                "31337",
                "chain_id",
                "Some(31337)".to_owned(),
            ),
            (
                "--app-address",
                env::APP_ADDRESS,
                APP,
                "app",
                format!("Some({APP})"),
            ),
            (
                "--input-box-address",
                env::CONTRACTS_INPUT_BOX_ADDRESS,
                INPUT_BOX,
                "input_box",
                format!("Some({INPUT_BOX})"),
            ),
            (
                "--long-block-range-error-codes",
                env::LONG_BLOCK_RANGE_ERROR_CODES,
                "-1,-7",
                "codes",
                "[-1, -7]".to_owned(),
            ),
            (
                "--max-rpc-requests",
                env::MAX_RPC_REQUESTS,
                "77",
                "max_rpc_requests",
                "77".to_owned(),
            ),
            (
                "--deadline",
                env::DEADLINE,
                "90s",
                "deadline",
                format!("{:?}", Deadline(Some(std::time::Duration::from_secs(90)))),
            ),
        ];
        // Scan needs an endpoint and an application; a case may override either.
        let base = Env::new()
            .with(env::BLOCKCHAIN_HTTP_ENDPOINT, "http://127.0.0.1:1")
            .with(
                env::APP_ADDRESS,
                "0x00000000000000000000000000000000000000aa",
            );
        for (flag, var, value, name, expected) in cases {
            let by_flag = both(&[flag, value], &base);
            let by_env = both(&[], &base.clone().with(var, value));
            for (how, (tick, scan)) in [("flag", by_flag), ("env", by_env)] {
                let scan = scan.unwrap();
                for (setting, tick, scan) in seen(tick.unwrap(), &scan) {
                    assert_eq!(tick, scan, "{setting} with {flag} by {how}");
                    if setting == name {
                        assert_eq!(
                            scan.to_lowercase(),
                            expected.to_lowercase(),
                            "{flag} by {how}"
                        );
                    }
                }
            }
            let bad = base.clone().with(var, "not a value");
            let (tick, scan) = both(&[], &bad);
            let (tick, scan) = (tick.unwrap_err(), scan.unwrap_err());
            assert_eq!(tick.reason(), crate::Reason::CONFIG_INVALID, "{var}");
            assert_eq!(tick.reason(), scan.reason(), "{var}");
            assert_eq!(tick.to_string(), scan.to_string(), "{var}");
        }
    }

    #[test]
    fn scan_and_tick_refuse_the_same_environment() {
        for env in [
            Env::new().with(env::STATE_DIR, "relative/state"),
            Env::new().with(env::INPUT_ADDED_TOPIC, "0x00"),
        ] {
            let env = env.with(env::BLOCKCHAIN_HTTP_ENDPOINT, "http://127.0.0.1:1");
            let (tick, scan) = both(&[], &env);
            let (tick, scan) = (tick.unwrap_err(), scan.unwrap_err());
            assert_eq!(tick.reason(), crate::Reason::CONFIG_INVALID);
            assert_eq!(tick.to_string(), scan.to_string());
        }
    }

    #[test]
    fn defaults_are_the_same() {
        let env = Env::new()
            .with(env::BLOCKCHAIN_HTTP_ENDPOINT, "http://127.0.0.1:1")
            .with(env::APP_ADDRESS, APP);
        let (tick, scan) = both(&[], &env);
        let (tick, scan) = (tick.unwrap(), scan.unwrap());
        assert_eq!(tick.max_rpc_requests, scan.max_rpc_requests);
        assert_eq!(tick.deadline, scan.deadline);
        assert_eq!(scan.codes, l1::DEFAULT_RANGE_ERROR_CODES.to_vec());
        assert_eq!(tick.range_codes, None);
    }
}
