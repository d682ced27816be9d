//! From arguments to an [`Invocation`], or to an [`EarlyExit`] (help, release info, usage
//! errors). Clap's own exit codes never apply: usage errors exit 1, class `operator`, reason
//! `usage`, with a summary line on stdout and clap's message plus a `hint:` line on stderr.

use std::ffi::OsString;

use clap::{CommandFactory, Parser, error::ErrorKind};
use sequencer_client::RedactedUrl;

use crate::{
    Class, Outcome, Reason, Summary,
    cli::{Cli, Command, LogFormat},
    env::{self, Env},
    release::ReleaseInfo,
};

/// The hint printed after every usage error.
pub const USAGE_HINT: &str =
    "hint: run `sequencer-watchdog --help` (or `<command> --help`); usage errors exit 1";

/// A parsed command line, ready to run.
#[derive(Debug)]
pub struct Invocation {
    cli: Cli,
    log_format: LogFormat,
}

/// What to print before exiting without running a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlyExit {
    /// Text for stdout (help, the release-info line, or a summary line), newline included.
    pub stdout: String,
    /// Text for stderr, newline included (empty if none).
    pub stderr: String,
    /// The process exit code.
    pub exit_code: u8,
}

/// The result of [`parse`].
#[derive(Debug)]
pub enum Parsed {
    /// Run this.
    Run(Box<Invocation>),
    /// Print and exit.
    Exit(EarlyExit),
}

impl Invocation {
    /// The command.
    pub fn command(&self) -> Option<&Command> {
        self.cli.command.as_ref()
    }

    /// The command name for the summary line.
    pub fn command_name(&self) -> Option<&'static str> {
        self.cli.command.as_ref().map(Command::name)
    }

    /// The resolved log format (flag > `CARTESI_WATCHDOG_LOG_FORMAT` > text).
    pub fn log_format(&self) -> LogFormat {
        self.log_format
    }
}

/// Parses `args` (program name first) with `env` as the environment.
pub fn parse<I, T>(args: I, env: &Env) -> Parsed
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if env.flag(env::PRINT_RELEASE_INFO) {
        return Parsed::Exit(release_info());
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return Parsed::Exit(clap_exit(&e, &args)),
    };
    if cli.version {
        return Parsed::Exit(release_info());
    }
    if cli.command.is_none() {
        let message = "a command is required";
        let help = Cli::command().render_usage().to_string();
        return Parsed::Exit(usage_error(
            None,
            message,
            &format!("error: {message}\n\n{help}\n"),
        ));
    }
    let command = cli.command.as_ref().map(Command::name);
    let log_format = match (cli.log_format, env.get(env::LOG_FORMAT)) {
        (Some(flag), _) => flag,
        (None, None) => LogFormat::default(),
        (None, Some("text")) => LogFormat::Text,
        (None, Some("json")) => LogFormat::Json,
        (None, Some(_)) => {
            let summary = Summary::new(
                command,
                Outcome::Failed(Class::Operator),
                format!("invalid {}: expected text or json", env::LOG_FORMAT),
            )
            .reason(Reason::CONFIG_INVALID);
            return Parsed::Exit(EarlyExit {
                stdout: format!("{}\n", summary.line()),
                stderr: format!("error: {}\n", summary.message()),
                exit_code: summary.exit_code(),
            });
        }
    };
    Parsed::Run(Box::new(Invocation { cli, log_format }))
}

fn release_info() -> EarlyExit {
    EarlyExit {
        stdout: format!("{}\n", ReleaseInfo::current().line()),
        stderr: String::new(),
        exit_code: 0,
    }
}

fn clap_exit(error: &clap::Error, args: &[OsString]) -> EarlyExit {
    let mut rendered = redact_urls(&error.render().to_string());
    if !rendered.ends_with('\n') {
        rendered.push('\n');
    }
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => EarlyExit {
            stdout: rendered,
            stderr: String::new(),
            exit_code: 0,
        },
        _ => {
            // The first paragraph of clap's message, on one line.
            let message = rendered
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            let message = message.trim_start_matches("error: ");
            let message = if message.is_empty() {
                "invalid arguments"
            } else {
                message
            };
            usage_error(command_path(args).as_deref(), message, &rendered)
        }
    }
}

fn usage_error(command: Option<&str>, message: &str, rendered: &str) -> EarlyExit {
    let summary =
        Summary::new(command, Outcome::Failed(Class::Operator), message).reason(Reason::USAGE);
    let mut stderr = rendered.to_owned();
    if !stderr.ends_with('\n') {
        stderr.push('\n');
    }
    stderr.push_str(USAGE_HINT);
    stderr.push('\n');
    EarlyExit {
        stdout: format!("{}\n", summary.line()),
        stderr,
        exit_code: summary.exit_code(),
    }
}

/// The deepest subcommand path named in `args` (e.g. `snapshot decode`), best effort, for the
/// summary of a usage error.
fn command_path(args: &[OsString]) -> Option<String> {
    let root = Cli::command();
    let mut level = &root;
    let mut path: Vec<String> = Vec::new();
    for arg in args.iter().skip(1) {
        let Some(arg) = arg.to_str() else { continue };
        if arg.starts_with('-') {
            continue;
        }
        if let Some(sub) = level.get_subcommands().find(|s| s.get_name() == arg) {
            path.push(sub.get_name().to_owned());
            level = sub;
        }
    }
    (!path.is_empty()).then(|| path.join(" "))
}

/// Replaces every `http://…` / `https://…` token in `text` with its redacted form.
pub(crate) fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = ["http://", "https://"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '`' | '<' | '>'))
            .unwrap_or(tail.len());
        match RedactedUrl::parse(&tail[..end]) {
            Ok(url) => out.push_str(&url.to_string()),
            Err(_) => out.push_str("<redacted-url>"),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(args: &[&str], env: &Env) -> EarlyExit {
        match parse(args.iter().copied(), env) {
            Parsed::Exit(e) => e,
            Parsed::Run(inv) => panic!("expected an early exit, got {inv:?}"),
        }
    }

    #[test]
    fn usage_errors_exit_1_with_summary_and_hint() {
        let e = exit(&["sequencer-watchdog", "snapshot", "decode"], &Env::new());
        assert_eq!(e.exit_code, 1);
        assert!(e.stdout.starts_with(
            r#"{"schema_version":1,"command":"snapshot decode","outcome":"failed","exit_code":1,"class":"operator","#
        ), "{}", e.stdout);
        assert!(e.stdout.contains(r#""reason":"usage""#));
        assert!(e.stderr.contains("error:"));
        assert!(e.stderr.ends_with(&format!("{USAGE_HINT}\n")));

        let e = exit(&["sequencer-watchdog"], &Env::new());
        assert_eq!(e.exit_code, 1);
        assert!(e.stdout.contains(r#""command":null"#));
    }

    #[test]
    fn help_and_version_exit_0() {
        let e = exit(&["sequencer-watchdog", "--help"], &Env::new());
        assert_eq!(e.exit_code, 0);
        assert!(e.stdout.contains("Usage: sequencer-watchdog"));
        let e = exit(&["sequencer-watchdog", "--version"], &Env::new());
        assert_eq!(e.exit_code, 0);
        assert!(e.stdout.starts_with(r#"{"component":"sequencer-watchdog""#));
        let env = Env::new().with(env::PRINT_RELEASE_INFO, "1");
        let e = exit(&["sequencer-watchdog", "snapshot", "decode", "x"], &env);
        assert!(e.stdout.starts_with(r#"{"component":"sequencer-watchdog""#));
    }

    #[test]
    fn log_format_flag_beats_env_and_bad_env_is_config_invalid() {
        let env = Env::new().with(env::LOG_FORMAT, "json");
        let args = ["sequencer-watchdog", "snapshot", "decode", "f"];
        let Parsed::Run(inv) = parse(args, &env) else {
            panic!()
        };
        assert_eq!(inv.log_format(), LogFormat::Json);
        let args = [
            "sequencer-watchdog",
            "--log-format",
            "text",
            "snapshot",
            "decode",
            "f",
        ];
        let Parsed::Run(inv) = parse(args, &env) else {
            panic!()
        };
        assert_eq!(inv.log_format(), LogFormat::Text);
        let e = exit(
            &["sequencer-watchdog", "snapshot", "decode", "f"],
            &Env::new().with(env::LOG_FORMAT, "xml"),
        );
        assert!(e.stdout.contains(r#""reason":"config_invalid""#));
        assert_eq!(e.exit_code, 1);
    }

    #[test]
    fn urls_in_clap_messages_are_redacted() {
        let e = exit(
            &[
                "sequencer-watchdog",
                "l1",
                "scan",
                "https://u:SECRET@h/KEY?k=SECRET",
            ],
            &Env::new(),
        );
        assert!(
            !e.stdout.contains("SECRET") && !e.stderr.contains("SECRET"),
            "{e:?}"
        );
        assert!(!e.stdout.contains("KEY") && !e.stderr.contains("KEY"));
        assert_eq!(
            redact_urls("x 'http://h:1/a' y"),
            "x 'http://h:1/<redacted>' y"
        );
        assert_eq!(redact_urls("no urls"), "no urls");
    }
}
