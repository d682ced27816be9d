//! `devnet demo` (spec `devnet.md` §9.1): a local stack, a real workload, the watchdog agreeing
//! with the sequencer, then a divergence drill — the sequencer serves a tampered state, the
//! watchdog exits 2 with a `watchdog_event`, the incident is cleared, and agreement returns
//! once the fault is gone. Exits 0 only if every step met its expectation.

use std::io::Write;
use std::time::Instant;

use alloy::primitives::Address;
use anyhow::Result;
use canonical::WalletConfig;
use devnet_pins::{ANVIL_ADDRESSES, roles};

use devnet_scenarios::driver::Run;
use devnet_scenarios::{Check, Checks, Harness, StackOptions};

/// Options of the demo.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Keep the watchdog state directory instead of deleting it.
    pub keep: bool,
    /// Build the watchdog in release mode if it has to be built.
    pub release: bool,
}

fn heading(out: &mut dyn Write, text: &str) {
    let _ = writeln!(out, "\n== {text}");
}

/// Shows a watchdog command, its summary and its alert lines, and records the expectation.
fn show(out: &mut dyn Write, checks: &mut Checks, run: &Run, exit: i32, outcome: &str) {
    let _ = writeln!(
        out,
        "  $ sequencer-watchdog {}\n    exit {}  {}",
        run.args.join(" "),
        run.exit_code.map_or("signal".to_owned(), |c| c.to_string()),
        run.summary_line
    );
    for line in &run.events {
        let _ = writeln!(out, "    stderr: {line}");
    }
    checks.run(
        &format!("{} ({outcome})", run.args.join(" ")),
        run,
        exit,
        outcome,
        None,
    );
}

/// Runs the demo, narrating on `out`. Returns every checked step.
pub async fn run(options: &DemoOptions, out: &mut dyn Write) -> Result<Vec<Check>> {
    let started = Instant::now();
    let mut checks = Checks::default();

    heading(
        out,
        "1. local stack: anvil, Cartesi Rollups 3.0.0-alpha.10, devnet sequencer",
    );
    let stack = StackOptions {
        release_build: options.release,
        ..StackOptions::default()
    };
    let mut h = Harness::start(stack).await?;
    let d = *h.devnet()?.deployment();
    let _ = writeln!(
        out,
        "  anvil {} at {}",
        devnet_pins::ANVIL.version,
        h.devnet()?.rpc_url()
    );
    let _ = writeln!(
        out,
        "  sequencer       {}",
        h.sequencer_url().unwrap_or_default()
    );
    let _ = writeln!(out, "  application     {:#x}", d.application);
    let _ = writeln!(out, "  InputBox        {:#x}", d.input_box);
    let _ = writeln!(out, "  watchdog        {}", h.driver.binary().display());

    heading(
        out,
        "2. workload: Alice deposits 600000, sends Bob 400000; Bob withdraws 150000",
    );
    let (alice, bob) = (roles::ALICE, roles::BOB);
    let deposit = h.deposit(alice, 600_000).await?;
    let b1 = h.transfer(alice, bob, 400_000).await?;
    let b2 = h.withdraw(bob, 150_000).await?;
    let _ = writeln!(
        out,
        "  deposit in block {deposit}; transfer finalized at {b1}; withdrawal at {b2}"
    );
    let snapshot = h.served_snapshot().await?;
    let balance = |a: Address| snapshot.balance_of(a).unwrap_or_default().to::<u64>();
    let submitter = WalletConfig::devnet().sequencer_address;
    let observed = format!(
        "Alice {}, Bob {}, submitter {}",
        balance(ANVIL_ADDRESSES[alice]),
        balance(ANVIL_ADDRESSES[bob]),
        balance(submitter)
    );
    let _ = writeln!(
        out,
        "  /finalized_state: {observed} (fee 38276 per op at exponent 1356)"
    );
    let expected = "Alice 161724, Bob 211724, submitter 76552";
    checks.that(
        "finalized balances",
        expected,
        observed.clone(),
        observed == expected,
    );

    heading(
        out,
        "3. the watchdog: init from genesis at block 0, then tick",
    );
    show(
        out,
        &mut checks,
        &h.watchdog(&["init"]).await?,
        0,
        "initialized",
    );
    show(out, &mut checks, &h.tick().await?, 0, "agreed");
    show(out, &mut checks, &h.tick().await?, 0, "idle");

    heading(
        out,
        "4. divergence drill: the sequencer serves a tampered state (L1 stays honest)",
    );
    h.set_faults(&["tamper-state"]).await?;
    let b3 = h.transfer(alice, bob, 1_000).await?;
    let _ = writeln!(
        out,
        "  armed tamper-state; Alice sends Bob 1000, finalized at {b3}"
    );
    let diverged = h.tick().await?;
    show(out, &mut checks, &diverged, 2, "diverged");
    checks.events("one watchdog_event", &diverged, 1, "state_mismatch");
    show(out, &mut checks, &h.tick().await?, 2, "latched");

    heading(
        out,
        "5. recovery: fix the sequencer, clear the incident, agree again",
    );
    h.set_faults(&[]).await?;
    let block = b3.to_string();
    let reason = "demo: tamper-state fault removed";
    show(
        out,
        &mut checks,
        &h.watchdog(&["clear", "--block", &block, "--reason", reason])
            .await?,
        0,
        "cleared",
    );
    show(out, &mut checks, &h.tick().await?, 0, "agreed");

    heading(out, "6. teardown");
    if options.keep {
        let kept = h.keep_state_dir();
        let _ = writeln!(
            out,
            "  kept the watchdog state directory {}",
            kept.display()
        );
    }
    h.shutdown().await?;
    let passed = checks.0.iter().filter(|c| c.ok).count();
    let _ = writeln!(
        out,
        "\n{passed}/{} checks passed in {:.0?}",
        checks.0.len(),
        started.elapsed()
    );
    for check in checks.0.iter().filter(|c| !c.ok) {
        let _ = writeln!(
            out,
            "  FAILED {}: expected {}, observed {}",
            check.what, check.expected, check.observed
        );
    }
    if checks.passed() {
        let _ = writeln!(out, "the watchdog behaved as expected");
    }
    Ok(checks.0)
}
