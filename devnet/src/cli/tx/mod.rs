//! `devnet tx`: deposits, transfers, withdrawals and direct inputs against the running devnet,
//! one JSON line each.
//!
//! | Operation | Sent as | `soft` | `finalized` |
//! |---|---|---|---|
//! | `deposit --from A --amount N` | mint of the shortfall, `approve`, `depositErc20Tokens` on L1 | the input's L1 block | executed by a finalized checkpoint |
//! | `transfer --from A --to B --amount N` | a signed op, `POST /tx` | the sequencer's acknowledgement | in a finalized checkpoint (the sender's nonce) |
//! | `withdraw --from A --amount N` | a signed op, `POST /tx` | the sequencer's acknowledgement | in a finalized checkpoint (the sender's nonce) |
//! | `input --from A --payload HEX` | `InputBox.addInput` on L1 | the input's L1 block | executed by a finalized checkpoint |
//!
//! Endpoints and addresses come from `devnet.json` (a running devnet is required). Every
//! argument is checked before anything is sent; a deposit only mints and approves what is
//! missing, so a failed one can be sent again without minting twice. A waiting `tx` ends with
//! an error as soon as the devnet stops.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use alloy::primitives::{Bytes, U256};
use anyhow::{Context as _, Result, anyhow};
use canonical::Method;
use clap::{Args, Subcommand};
use devnet_stack::state_file::{RunState, StateFile, supervisor_alive};
use devnet_stack::{Deployment, DevnetError, L1Client, ops};
use sequencer_client::{RedactedUrl, SequencerClient};
use serde_json::{Value, json};

use super::{Exit, emit};

mod args;
mod funds;
mod wait;

pub use args::{Account, Wait};
use args::{parse_amount, parse_payload};

/// `devnet tx` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Accounts: alice, bob, deployer, direct-inputs, submitter (ops only), \
load3..load7, an index 0..9, or one of those accounts' addresses. Amounts: positive whole \
token units (6 decimals). Transfers and withdrawals are refused unless the finalized state \
shows the sender can pay amount plus fee. Exit 1 on any refusal, with nothing sent."
)]
pub struct TxArgs {
    /// The operation.
    #[command(subcommand)]
    pub op: TxOp,
    /// How far to wait: `none` (sent), `soft` (L1 block or sequencer acknowledgement) or
    /// `finalized` (in the sequencer's finalized state).
    #[arg(long, global = true, value_enum, default_value_t = Wait::Soft)]
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

/// A checked operation, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// An ERC-20 portal deposit.
    Deposit {
        /// The depositor.
        from: Account,
        /// Token units.
        amount: U256,
    },
    /// A wallet transfer.
    Transfer {
        /// The sender.
        from: Account,
        /// The recipient.
        to: Account,
        /// Token units.
        amount: U256,
    },
    /// A wallet withdrawal.
    Withdraw {
        /// The account.
        from: Account,
        /// Token units.
        amount: U256,
    },
    /// A direct input.
    Input {
        /// The sender.
        from: Account,
        /// The payload.
        payload: Bytes,
    },
}

impl TxOp {
    /// Checks every argument.
    pub fn check(&self) -> Result<Op> {
        Ok(match self {
            Self::Deposit { from, amount } => Op::Deposit {
                from: from.parse::<Account>()?.for_l1()?,
                amount: parse_amount(amount)?,
            },
            Self::Transfer { from, to, amount } => Op::Transfer {
                from: from.parse()?,
                to: to.parse()?,
                amount: parse_amount(amount)?,
            },
            Self::Withdraw { from, amount } => Op::Withdraw {
                from: from.parse()?,
                amount: parse_amount(amount)?,
            },
            Self::Input { from, payload } => Op::Input {
                from: from.parse::<Account>()?.for_l1()?,
                payload: parse_payload(payload)?,
            },
        })
    }
}

/// A running devnet, as `devnet.json` describes it.
#[derive(Debug)]
pub struct Target {
    dir: std::path::PathBuf,
    l1: L1Client,
    sequencer: SequencerClient,
}

impl Target {
    /// The devnet running in `dir` ([`DevnetError::NotRunning`] unless it is up and ready).
    pub fn running(dir: &Path) -> Result<Self> {
        let not_running = || DevnetError::NotRunning(dir.to_owned());
        if !supervisor_alive(dir)? {
            return Err(not_running().into());
        }
        let state = StateFile::read(dir)?.ok_or_else(not_running)?;
        let addresses = state.addresses.filter(|_| state.state == RunState::Ready);
        let addresses = addresses.ok_or_else(|| {
            anyhow::Error::new(not_running())
                .context(format!("the devnet is {:?}, not ready", state.state))
        })?;
        let deployment = Deployment::pinned(addresses.application_block);
        anyhow::ensure!(
            deployment.application == addresses.application
                && deployment.input_box == addresses.input_box
                && deployment.token == addresses.token,
            "devnet.json names other addresses than this devnet pins"
        );
        let l1_url = state.endpoints.l1_rpc.parse().context("the L1 endpoint")?;
        let sequencer = SequencerClient::new(
            RedactedUrl::parse(&state.endpoints.sequencer).context("the sequencer endpoint")?,
        )?;
        Ok(Self {
            dir: dir.to_owned(),
            l1: L1Client::connect(l1_url, deployment)?,
            sequencer,
        })
    }

    /// Fails once the devnet is no longer up.
    fn still_up(&self) -> Result<()> {
        if supervisor_alive(&self.dir)? {
            Ok(())
        } else {
            Err(anyhow!(
                "the devnet in {} stopped while this transaction was waiting",
                self.dir.display()
            ))
        }
    }

    /// Sends `op` and waits as asked; returns the JSON line. Transfers and withdrawals are
    /// refused unless the finalized state proves them affordable (`checked`).
    pub async fn send(
        &self,
        op: &Op,
        wait: Wait,
        timeout: Duration,
        checked: bool,
    ) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut line = match op {
            Op::Deposit { from, amount } => {
                let hash = self.deposit(*from, *amount).await?;
                json!({"op": "deposit", "from": from.address, "amount": amount.to_string(), "l1_tx": hash})
            }
            Op::Input { from, payload } => {
                let hash = self
                    .l1
                    .submit_add_input(from.address, payload.clone())
                    .await
                    .with_context(|| l1_send_failed(*from))?;
                json!({"op": "input", "from": from.address, "payload_bytes": payload.len(), "l1_tx": hash})
            }
            Op::Transfer { from, to, amount } => {
                let method = Method::Transfer {
                    amount: *amount,
                    to: to.address,
                };
                let mut line = self.submit_op(*from, &method, *amount, checked).await?;
                line["op"] = json!("transfer");
                line["to"] = json!(to.address);
                line["amount"] = json!(amount.to_string());
                line
            }
            Op::Withdraw { from, amount } => {
                let method = Method::Withdrawal { amount: *amount };
                let mut line = self.submit_op(*from, &method, *amount, checked).await?;
                line["op"] = json!("withdraw");
                line["amount"] = json!(amount.to_string());
                line
            }
        };
        line["wait"] = json!(wait.as_str());
        line["inclusion_block"] = Value::Null;
        line["finalized_block"] = Value::Null;
        match op {
            Op::Deposit { .. } | Op::Input { .. } if wait != Wait::None => {
                self.wait_l1_input(&mut line, wait, deadline).await?;
            }
            Op::Transfer { from, .. } | Op::Withdraw { from, .. } if wait == Wait::Finalized => {
                let nonce = line["nonce"].as_u64().unwrap_or_default();
                let nonce = u32::try_from(nonce).context("nonce out of range")?;
                let block = self.wait_op_finalized(*from, nonce, deadline).await?;
                line["inclusion_block"] = json!(block);
                line["finalized_block"] = json!(block);
            }
            _ => {}
        }
        Ok(line)
    }

    /// Mints what the depositor lacks, approves the portal if needed and sends the deposit.
    async fn deposit(&self, from: Account, amount: U256) -> Result<alloy::primitives::TxHash> {
        let holder = from.address;
        let balance = self.l1.token_balance(holder).await?;
        if balance < amount {
            self.l1
                .mint(holder, amount - balance)
                .await
                .context("minting the depositor's tokens")?;
        }
        if self.l1.portal_allowance(holder).await? < amount {
            self.l1
                .approve_portal(holder, amount)
                .await
                .with_context(|| l1_send_failed(from))?;
        }
        self.l1
            .send_deposit(holder, amount, Bytes::new())
            .await
            .with_context(|| l1_send_failed(from))
    }

    /// Signs and submits an op; the line holds the acknowledgement.
    async fn submit_op(
        &self,
        from: Account,
        method: &Method,
        amount: U256,
        checked: bool,
    ) -> Result<Value> {
        let app = self.l1.deployment().application;
        let tx = ops::sign_op(&self.sequencer, app, from.index, method).await?;
        if checked {
            self.check_funds(from, amount, tx.nonce, tx.max_fee).await?;
        }
        let ack = self
            .sequencer
            .submit_tx(&tx)
            .await
            .map_err(|e| wait::rejection(e, from, tx.nonce))?;
        Ok(json!({
            "from": from.address,
            "nonce": ack.nonce,
            "ack": {"sender": ack.sender, "nonce": ack.nonce},
        }))
    }
}

fn l1_send_failed(from: Account) -> String {
    format!(
        "the L1 transaction from {} failed (a concurrent transaction from the same account takes its nonce: retry)",
        from.address
    )
}

/// Runs `devnet tx` against the devnet in `dir`.
pub(super) async fn tx(dir: &Path, args: &TxArgs, out: &mut dyn Write) -> Result<Exit> {
    let op = args.op.check()?;
    let target = Target::running(dir)?;
    let line = target
        .send(
            &op,
            args.wait,
            Duration::from_secs(args.timeout),
            !args.skip_balance_check,
        )
        .await?;
    emit(out, &line)?;
    Ok(Exit::Passed)
}
