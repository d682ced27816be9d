//! `devnet tx`: deposits, transfers, withdrawals and direct inputs against the running devnet,
//! one JSON line each (see [`devnet_stack::tx`] for what each sends and waits for).
//!
//! Every argument is checked here first. Then the transaction goes through the supervisor's
//! control API (`POST /v1/tx/{op}`, `"source": "control_api"` in the line); when the supervisor
//! runs but its socket does not answer, it is sent from this process with the endpoints of
//! `devnet.json` (`"source": "devnet.json"`). Without a running devnet it fails (exit 3). A
//! waiting `tx` ends with an error (exit 1) as soon as the devnet stops.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use clap::builder::TypedValueParser as _;
use clap::{Args, Subcommand};
use devnet_stack::state_file::supervisor_alive;
use devnet_stack::tx::{OpFields, Stopped, TxBody};
use devnet_stack::{ControlClient, ControlError};
use serde_json::Value;

use super::{Exit, emit};

pub use devnet_stack::tx::{Account, Op, Target, Wait};

/// `devnet tx` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Accounts: alice, bob, deployer, direct-inputs, submitter (ops only), \
load3..load7, an index 0..9, or one of those accounts' addresses. Amounts: positive whole \
token units (6 decimals). Transfers and withdrawals are refused unless the finalized state \
shows the sender can pay amount plus fee. Exit 1 on any refusal, with nothing sent. Sent \
through the supervisor's control API (\"source\":\"control_api\"), else from devnet.json."
)]
pub struct TxArgs {
    /// The operation.
    #[command(subcommand)]
    pub op: TxOp,
    /// How far to wait: `none` (sent), `soft` (L1 block or sequencer acknowledgement) or
    /// `finalized` (in the sequencer's finalized state).
    #[arg(
        long,
        global = true,
        default_value = "soft",
        value_parser = clap::builder::PossibleValuesParser::new(Wait::ALL.map(Wait::as_str))
            .map(|w| w.parse::<Wait>().unwrap_or_default()),
    )]
    pub wait: Wait,
    /// Give up waiting after this many seconds (exit 1).
    #[arg(long, global = true, default_value_t = 120, value_name = "SECS")]
    pub timeout: u64,
    /// Send a transfer or withdrawal even when the finalized state does not prove the sender
    /// can pay it (an unaffordable op still costs its fee and nonce).
    #[arg(long, global = true)]
    pub skip_balance_check: bool,
}

/// The operations of `devnet tx`. Accounts: `alice`, `bob`, `deployer`, `direct-inputs`,
/// `submitter`, `load3`…`load7`, an index `0`…`9`, or one of those accounts' addresses.
/// Amounts: positive whole token units (6 decimals).
#[derive(Debug, Subcommand)]
pub enum TxOp {
    /// Deposit tokens into the application through the ERC-20 portal (L1).
    Deposit {
        /// The depositor.
        #[arg(long, value_name = "ACCOUNT")]
        from: String,
        /// Token units.
        #[arg(long, value_name = "N", allow_hyphen_values = true)]
        amount: String,
    },
    /// Transfer wallet funds to another account (a signed op through the sequencer).
    Transfer {
        /// The sender.
        #[arg(long, value_name = "ACCOUNT")]
        from: String,
        /// The recipient.
        #[arg(long, value_name = "ACCOUNT")]
        to: String,
        /// Token units.
        #[arg(long, value_name = "N", allow_hyphen_values = true)]
        amount: String,
    },
    /// Withdraw wallet funds (a signed op through the sequencer).
    Withdraw {
        /// The account.
        #[arg(long, value_name = "ACCOUNT")]
        from: String,
        /// Token units.
        #[arg(long, value_name = "N", allow_hyphen_values = true)]
        amount: String,
    },
    /// Add a direct input to the application (`InputBox.addInput`, L1).
    Input {
        /// The sender.
        #[arg(long, value_name = "ACCOUNT")]
        from: String,
        /// The payload, hex (with or without `0x`).
        #[arg(long, value_name = "HEX")]
        payload: String,
    },
}

impl TxOp {
    /// The operation's kind and its fields as given.
    pub fn fields(&self) -> (&'static str, OpFields) {
        let owned = |s: &String| Some(s.clone());
        match self {
            Self::Deposit { from, amount } => (
                "deposit",
                OpFields {
                    from: from.clone(),
                    amount: owned(amount),
                    ..OpFields::default()
                },
            ),
            Self::Transfer { from, to, amount } => (
                "transfer",
                OpFields {
                    from: from.clone(),
                    to: owned(to),
                    amount: owned(amount),
                    payload: None,
                },
            ),
            Self::Withdraw { from, amount } => (
                "withdraw",
                OpFields {
                    from: from.clone(),
                    amount: owned(amount),
                    ..OpFields::default()
                },
            ),
            Self::Input { from, payload } => (
                "input",
                OpFields {
                    from: from.clone(),
                    payload: owned(payload),
                    ..OpFields::default()
                },
            ),
        }
    }

    /// Checks every argument.
    pub fn check(&self) -> Result<Op> {
        let (kind, fields) = self.fields();
        fields.check(kind)
    }
}

/// Runs `devnet tx` against the devnet in `dir`.
pub(super) async fn tx(dir: &Path, args: &TxArgs, out: &mut dyn Write) -> Result<Exit> {
    let op = args.op.check()?;
    let timeout = Duration::from_secs(args.timeout);
    let checked = !args.skip_balance_check;
    if let Some(client) = ControlClient::connect(dir)? {
        let (kind, fields) = args.op.fields();
        let body = TxBody {
            fields,
            wait: args.wait,
            timeout_secs: args.timeout,
            skip_balance_check: args.skip_balance_check,
        };
        let body = serde_json::to_value(&body)?;
        // The supervisor gives up at `timeout`; this side waits a little longer for its answer.
        let answer = client
            .post_json(
                &format!("/v1/tx/{kind}"),
                &body,
                timeout + Duration::from_secs(15),
            )
            .await;
        match answer {
            Ok(mut line) => {
                line["source"] = Value::from("control_api");
                emit(out, &line)?;
                return Ok(Exit::Passed);
            }
            Err(e) => {
                let unsent = e
                    .downcast_ref::<ControlError>()
                    .is_some_and(ControlError::unsent);
                if !unsent {
                    let answered = e
                        .downcast_ref::<ControlError>()
                        .is_some_and(|c| c.code().is_some());
                    // The supervisor went away while the transaction waited.
                    if !answered && !supervisor_alive(dir)? {
                        tracing::debug!(target: "devnet::tx", error = %format!("{e:#}"), "the control API went away");
                        return Err(Stopped(dir.to_owned()).into());
                    }
                    return Err(e);
                }
                tracing::debug!(target: "devnet::tx", error = %format!("{e:#}"), "the control API is unreachable; sending from devnet.json");
            }
        }
    }
    let target = Target::running(dir)?;
    let mut line = target.send(&op, args.wait, timeout, checked).await?;
    line["source"] = Value::from("devnet.json");
    emit(out, &line)?;
    Ok(Exit::Passed)
}
