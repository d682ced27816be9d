//! Transactions against a running devnet: deposits, transfers, withdrawals and direct inputs,
//! one JSON line each. `devnet tx` and the control API's `POST /v1/tx/{op}` both send them
//! through a [`Target`].
//!
//! | Operation | Sent as | `soft` | `finalized` |
//! |---|---|---|---|
//! | `deposit` (from, amount) | mint of the shortfall, `approve`, `depositErc20Tokens` on L1 | the input's L1 block | executed by a finalized checkpoint |
//! | `transfer` (from, to, amount) | a signed op, `POST /tx` | the sequencer's acknowledgement | in a finalized checkpoint (the sender's nonce) |
//! | `withdraw` (from, amount) | a signed op, `POST /tx` | the sequencer's acknowledgement | in a finalized checkpoint (the sender's nonce) |
//! | `input` (from, payload) | `InputBox.addInput` on L1 | the input's L1 block | executed by a finalized checkpoint |
//!
//! Every argument is checked ([`OpFields::check`]) before anything is sent; a deposit only
//! mints and approves what is missing, so a failed one can be sent again without minting
//! twice. A waiting transaction ends with an error as soon as the devnet stops.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Bytes, U256};
use anyhow::{Context as _, Result, anyhow, bail};
use canonical::Method;
use sequencer_client::{RedactedUrl, SequencerClient};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::state_file::{RunState, StateFile, supervisor_alive};
use crate::{Deployment, DevnetError, L1Client, ops};

mod args;
mod funds;
mod wait;

pub use args::{Account, Wait, parse_amount, parse_payload};

/// The kinds of operation, as named on the command line and in `/v1/tx/{op}`.
pub const OP_KINDS: [&str; 4] = ["deposit", "transfer", "withdraw", "input"];

/// An operation as given (text fields, unchecked): the body of `POST /v1/tx/{op}` besides
/// [`TxBody`]'s wait options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpFields {
    /// The sender (every operation).
    pub from: String,
    /// The recipient (`transfer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Token units (`deposit`, `transfer`, `withdraw`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// The payload, hex (`input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

impl OpFields {
    /// Checks every field for the operation `kind` (one of [`OP_KINDS`]).
    pub fn check(&self, kind: &str) -> Result<Op> {
        let need = |field: &Option<String>, name: &str| {
            field
                .clone()
                .ok_or_else(|| anyhow!("a {kind} needs `{name}`"))
        };
        let unused = |field: &Option<String>, name: &str| {
            if field.is_some() {
                bail!("a {kind} takes no `{name}`");
            }
            Ok(())
        };
        Ok(match kind {
            "deposit" => {
                unused(&self.to, "to")?;
                unused(&self.payload, "payload")?;
                Op::Deposit {
                    from: self.from.parse::<Account>()?.for_l1()?,
                    amount: parse_amount(&need(&self.amount, "amount")?)?,
                }
            }
            "transfer" => {
                unused(&self.payload, "payload")?;
                Op::Transfer {
                    from: self.from.parse()?,
                    to: need(&self.to, "to")?.parse()?,
                    amount: parse_amount(&need(&self.amount, "amount")?)?,
                }
            }
            "withdraw" => {
                unused(&self.to, "to")?;
                unused(&self.payload, "payload")?;
                Op::Withdraw {
                    from: self.from.parse()?,
                    amount: parse_amount(&need(&self.amount, "amount")?)?,
                }
            }
            "input" => {
                unused(&self.to, "to")?;
                unused(&self.amount, "amount")?;
                Op::Input {
                    from: self.from.parse::<Account>()?.for_l1()?,
                    payload: parse_payload(&need(&self.payload, "payload")?)?,
                }
            }
            other => bail!("no operation {other:?} (deposit, transfer, withdraw, input)"),
        })
    }
}

/// The body of `POST /v1/tx/{op}`: the operation's fields and how to wait.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxBody {
    /// The operation's fields.
    #[serde(flatten)]
    pub fields: OpFields,
    /// How far to wait (default `soft`).
    #[serde(default)]
    pub wait: Wait,
    /// Give up waiting after this many seconds (default 120).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Send an op the finalized state does not prove affordable.
    #[serde(default)]
    pub skip_balance_check: bool,
}

fn default_timeout_secs() -> u64 {
    120
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

/// Whether the devnet a [`Target`] sends to still runs.
type Liveness = Arc<dyn Fn() -> Result<bool> + Send + Sync>;

/// A running devnet to send transactions to: its endpoints and addresses (from `devnet.json`
/// or the supervisor's own state) and a way to tell whether it still runs.
pub struct Target {
    dir: PathBuf,
    l1: L1Client,
    sequencer: SequencerClient,
    alive: Liveness,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("dir", &self.dir)
            .field("l1", &self.l1)
            .field("sequencer", &self.sequencer)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// The devnet running in `dir`, from its `devnet.json` ([`DevnetError::NotRunning`]
    /// unless it is up and ready); it runs as long as its supervisor holds the lock.
    pub fn running(dir: &Path) -> Result<Self> {
        let not_running = || DevnetError::NotRunning(dir.to_owned());
        if !supervisor_alive(dir)? {
            return Err(not_running().into());
        }
        let state = StateFile::read(dir)?.ok_or_else(not_running)?;
        let owned = dir.to_owned();
        Self::of_state(&state, Arc::new(move || supervisor_alive(&owned)))
    }

    /// The devnet `state` describes ([`DevnetError::NotRunning`] unless it is ready); `alive`
    /// tells whether it still runs.
    pub fn of_state(
        state: &StateFile,
        alive: Arc<dyn Fn() -> Result<bool> + Send + Sync>,
    ) -> Result<Self> {
        let dir = &state.state_dir;
        let not_running = || DevnetError::NotRunning(dir.clone());
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
            dir: dir.clone(),
            l1: L1Client::connect(l1_url, deployment)?,
            sequencer,
            alive,
        })
    }

    /// Fails once the devnet is no longer up.
    fn still_up(&self) -> Result<()> {
        if (self.alive)()? {
            Ok(())
        } else {
            Err(anyhow::Error::new(Stopped(self.dir.clone())))
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
        let chain_id = self.sequencer.domain().await?.chain_id;
        let tx = ops::sign_op(&self.sequencer, app, chain_id, from.index, method).await?;
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

/// The devnet stopped while a transaction was waiting for it.
#[derive(Debug, thiserror::Error)]
#[error("the devnet in {} stopped while this transaction was waiting", .0.display())]
pub struct Stopped(pub PathBuf);

fn l1_send_failed(from: Account) -> String {
    format!(
        "the L1 transaction from {} failed (a concurrent transaction from the same account takes its nonce: retry)",
        from.address
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(
        from: &str,
        to: Option<&str>,
        amount: Option<&str>,
        payload: Option<&str>,
    ) -> OpFields {
        OpFields {
            from: from.to_owned(),
            to: to.map(str::to_owned),
            amount: amount.map(str::to_owned),
            payload: payload.map(str::to_owned),
        }
    }

    #[test]
    fn fields_are_checked_per_operation() {
        let op = fields("alice", Some("bob"), Some("5"), None)
            .check("transfer")
            .unwrap();
        assert!(matches!(op, Op::Transfer { .. }));
        let op = fields("8", None, None, Some("0xdead"))
            .check("input")
            .unwrap();
        assert!(matches!(op, Op::Input { .. }));
        for (kind, f, why) in [
            (
                "transfer",
                fields("alice", None, Some("5"), None),
                "needs `to`",
            ),
            (
                "deposit",
                fields("alice", Some("bob"), Some("5"), None),
                "takes no `to`",
            ),
            (
                "input",
                fields("submitter", None, None, Some("0x01")),
                "batch submitter",
            ),
            (
                "withdraw",
                fields("bob", None, Some("0"), None),
                "bad amount",
            ),
            ("mint", fields("bob", None, Some("1"), None), "no operation"),
        ] {
            let err = f.check(kind).unwrap_err().to_string();
            assert!(err.contains(why), "{kind}: {err}");
        }
        let body: TxBody = serde_json::from_value(json!({"from": "alice", "amount": "3"})).unwrap();
        assert_eq!((body.wait, body.timeout_secs), (Wait::Soft, 120));
        assert!(serde_json::from_value::<TxBody>(json!({"from": "a", "color": 1})).is_err());
        let body: TxBody =
            serde_json::from_value(json!({"from": "a", "wait": "finalized"})).unwrap();
        assert_eq!(body.wait, Wait::Finalized);
    }
}
