//! The control API's requests that act on the stack, answered by the supervision loop (which
//! owns it): the rolling sequencer restart, mining, reorgs, snapshots saved and restored.

use std::path::PathBuf;
use std::time::Instant;

use axum::http::StatusCode;
use serde_json::json;

use super::{Runner, Which, health, record_anvil, record_sequencer};
use crate::state_file::RunState;
use crate::supervisor::control::{Answer, ControlRequest};
use crate::supervisor::events::EventKind;

impl Runner {
    /// Answers a control API request.
    pub(super) async fn handle(&mut self, request: ControlRequest) {
        let (reply, answer) = match request {
            ControlRequest::RestartSequencer { binary, reply } => {
                (reply, self.replace_sequencer(binary).await)
            }
            ControlRequest::SaveSnapshot { name, force, reply } => {
                (reply, self.save_snapshot(&name, force).await)
            }
            ControlRequest::Mine { blocks, reply } => (reply, self.mine(blocks).await),
            ControlRequest::Reorg { depth, reply } => (reply, self.reorg(depth).await),
            ControlRequest::RestoreSnapshot { name, reply } => {
                (reply, self.restore_snapshot(&name).await)
            }
        };
        let _ = reply.send(answer);
    }

    /// Refuses a request while a restart is due.
    fn no_restart_due(&self) -> Result<(), (StatusCode, String)> {
        if self.anvil_restart_at.is_some() || self.sequencer_restart_at.is_some() {
            return Err((
                StatusCode::CONFLICT,
                "a restart is already scheduled; try again".to_owned(),
            ));
        }
        Ok(())
    }

    /// Refuses a request that needs a settled stack: no restart due, the devnet ready.
    fn settled(&self) -> Result<(), (StatusCode, String)> {
        self.no_restart_due()?;
        if self.parts.state.state != RunState::Ready {
            return Err((
                StatusCode::CONFLICT,
                format!(
                    "the devnet is {:?}, not ready; try again",
                    self.parts.state.state
                ),
            ));
        }
        Ok(())
    }

    async fn head(&self) -> Result<alloy::rpc::types::Header, (StatusCode, String)> {
        use alloy::providers::Provider as _;
        let internal = |e: String| (StatusCode::INTERNAL_SERVER_ERROR, e);
        self.parts
            .stack
            .devnet()
            .provider()
            .get_block(alloy::eips::BlockId::latest())
            .await
            .map_err(|e| internal(format!("eth_getBlockByNumber latest: {e}")))?
            .map(|block| block.header)
            .ok_or_else(|| internal("anvil has no latest block".to_owned()))
    }

    async fn mine(&mut self, blocks: u64) -> Answer {
        self.settled()?;
        self.parts
            .stack
            .mine(blocks)
            .await
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")))?;
        let head = self.head().await?;
        Ok(json!({"mined": blocks, "head": head.number}))
    }

    async fn reorg(&mut self, depth: u64) -> Answer {
        self.settled()?;
        let before = self.head().await?;
        if depth > before.number {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("depth {depth} is past genesis (head {})", before.number),
            ));
        }
        self.parts
            .stack
            .devnet()
            .reorg(depth)
            .await
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")))?;
        let after = self.head().await?;
        self.parts.events.emit(EventKind::Reorged {
            depth,
            head: after.number,
            old_head_hash: before.hash,
            new_head_hash: after.hash,
        });
        Ok(json!({
            "depth": depth,
            "head": after.number,
            "old_head_hash": before.hash,
            "new_head_hash": after.hash,
        }))
    }

    async fn save_snapshot(&mut self, name: &str, force: bool) -> Answer {
        self.settled()?;
        let info = crate::snapshot::save_running(&self.parts.dir, &self.parts.state, name, force)
            .await
            .map_err(|e| (StatusCode::BAD_REQUEST, format!("{e:#}")))?;
        self.parts.events.emit(EventKind::SnapshotSaved {
            name: info.name.clone(),
            block_number: info.block_number,
        });
        Ok(json!({"saved": info}))
    }

    /// Rewinds the running stack to snapshot `name`: the L1 on the snapshot's chain, the
    /// sequencer on cleared data (it recovers from that chain); the fronts keep their ports.
    async fn restore_snapshot(&mut self, name: &str) -> Answer {
        self.settled()?;
        let chain_id = Some(self.parts.state.chain_id);
        let (kept, chain) = crate::snapshot::chain_of(&self.parts.dir, name, chain_id)
            .map_err(|e| (StatusCode::BAD_REQUEST, format!("{e:#}")))?;
        tracing::info!(target: "devnet::supervisor", snapshot = name, block = kept.block_number, "restoring");
        self.parts.events.emit(EventKind::Restoring {
            name: name.to_owned(),
            block_number: kept.block_number,
        });
        self.parts.l1_front.set_target(None);
        self.parts.seq_front.set_target(None);
        let result = self.parts.stack.restore_chain(&chain, &kept).await;
        let now = Instant::now();
        self.anvil.started(now);
        self.sequencer.started(now);
        self.progress = health::Progress::default();
        self.next_health = now;
        let stack = &mut self.parts.stack;
        let anvil_runs = !stack.anvil_exited();
        if anvil_runs {
            self.parts.l1_front.set_target(Some(stack.anvil_addr()));
            record_anvil(&mut self.parts.state.components.anvil, stack);
        }
        if stack.sequencer_running() {
            self.parts.seq_front.set_target(stack.sequencer_addr());
            record_sequencer(&mut self.parts.state.components.sequencer, stack);
        } else if anvil_runs {
            // Nothing else notices a sequencer that was stopped and did not start again.
            self.parts.state.components.sequencer.process = None;
            let reason = "not running after the restore".to_owned();
            if let Some(outcome) = self.schedule(Which::Sequencer, now, reason) {
                self.given_up = Some(outcome);
            }
        }
        match result {
            Ok(()) => {
                self.parts.events.emit(EventKind::Restored {
                    name: name.to_owned(),
                    block_number: kept.block_number,
                    block_hash: kept.block_hash,
                });
                tracing::info!(target: "devnet::supervisor", snapshot = name, block = kept.block_number, "restored");
                self.persist();
                Ok(json!({
                    "restored": crate::snapshot::info(name, &kept),
                    "block_hash": kept.block_hash,
                    "endpoints": self.parts.state.endpoints,
                }))
            }
            Err(e) => {
                let reason = format!("{e:#}");
                tracing::warn!(target: "devnet::supervisor", error = %reason, "the restore failed");
                self.parts.events.emit(EventKind::RestoreFailed {
                    name: name.to_owned(),
                    reason: reason.clone(),
                });
                // Whatever does not run now is handled as an exit by the next step.
                self.persist();
                Err((StatusCode::INTERNAL_SERVER_ERROR, reason))
            }
        }
    }

    async fn replace_sequencer(&mut self, binary: Option<PathBuf>) -> Answer {
        // Also while degraded: a new sequencer may be what brings the stack back.
        self.no_restart_due()?;
        tracing::info!(target: "devnet::supervisor", binary = ?binary, "replacing the sequencer");
        let result = self.parts.stack.replace_sequencer(binary).await;
        let now = Instant::now();
        self.sequencer.started(now);
        self.progress = health::Progress::default();
        self.next_health = now;
        match result {
            Ok(binary) => {
                self.parts
                    .seq_front
                    .set_target(self.parts.stack.sequencer_addr());
                let component = &mut self.parts.state.components.sequencer;
                record_sequencer(component, &self.parts.stack);
                let pid = component.process.map(|p| p.pid);
                self.parts.events.emit(EventKind::SequencerReplaced {
                    binary: binary.clone(),
                    pid,
                });
                self.persist();
                Ok(json!({
                    "replaced": true,
                    "binary": binary,
                    "pid": pid,
                    "url": self.parts.state.endpoints.sequencer,
                }))
            }
            Err(e) => {
                let reason = format!("{e:#}");
                tracing::warn!(target: "devnet::supervisor", error = %reason, "the sequencer was not replaced");
                // The previous binary runs again if it can; otherwise the restart policy
                // takes over.
                if let Err(again) = self.parts.stack.ensure_sequencer().await {
                    let again = format!("{again:#}");
                    self.parts.seq_front.set_target(None);
                    self.parts.state.components.sequencer.process = None;
                    if let Some(outcome) = self.schedule(Which::Sequencer, Instant::now(), again) {
                        self.given_up = Some(outcome);
                    }
                } else {
                    self.parts
                        .seq_front
                        .set_target(self.parts.stack.sequencer_addr());
                    record_sequencer(
                        &mut self.parts.state.components.sequencer,
                        &self.parts.stack,
                    );
                    self.persist();
                }
                Err((StatusCode::BAD_REQUEST, reason))
            }
        }
    }
}
