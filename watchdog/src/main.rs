//! `sequencer-watchdog`: parse, install logging, run, print the summary line, exit 0/1/2.
//! Everything else lives in the `watchdog` library.

use std::{
    io::{self, Write},
    panic::{AssertUnwindSafe, catch_unwind},
    process::ExitCode,
};

use watchdog::{Env, Io, Parsed, env::RUST_LOG};

fn main() -> ExitCode {
    watchdog::allocator::pin_mmap_threshold();
    // Crash-injection builds honour `FAILPOINTS=name=action;…` (crash tests only).
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    let env = Env::from_pairs(std::env::vars_os());
    let invocation = match watchdog::parse(std::env::args_os(), &env) {
        Parsed::Run(invocation) => invocation,
        Parsed::Exit(early) => {
            let _ = io::stdout().write_all(early.stdout.as_bytes());
            let _ = io::stderr().write_all(early.stderr.as_bytes());
            return ExitCode::from(early.exit_code);
        }
    };
    let (subscriber, warning) =
        watchdog::logging::subscriber(invocation.log_format(), env.get(RUST_LOG));
    let _ = tracing::subscriber::set_global_default(subscriber);
    if let Some(warning) = warning {
        tracing::warn!(target: "watchdog", event = "log_filter_invalid", "{warning}");
    }
    std::panic::set_hook(Box::new(watchdog::log_panic));

    let (stdin, stdout, stderr) = (io::stdin(), io::stdout(), io::stderr());
    let (mut stdin, mut stdout) = (stdin.lock(), stdout.lock());
    // Unlocked: log lines come from other threads too (the machine worker); each write of the
    // alert line takes the lock for itself.
    let mut stderr = stderr;
    let summary = catch_unwind(AssertUnwindSafe(|| {
        let mut streams = Io {
            stdin: &mut stdin,
            stdout: &mut stdout,
            stderr: &mut stderr,
        };
        watchdog::run(&invocation, &env, &mut streams)
    }))
    .unwrap_or_else(|payload| watchdog::panic_summary(invocation.command_name(), payload.as_ref()));
    let _ = writeln!(stdout, "{}", summary.line()).and_then(|()| stdout.flush());
    ExitCode::from(summary.exit_code())
}
