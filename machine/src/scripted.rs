//! `ScriptedMachine` (feature `test-utils`): a pure-Rust fake backend speaking the scripted
//! test-guest language of the C stub, for other crates' tests.
//!
//! Advance payloads (inside a well-formed `EvmAdvance`; anything else is rejected): `reject` →
//! rejected, `exception` → exception `test-guest exception`, `halt` → halted with code 7,
//! `report…` → one report then accepted, `output…` → one output then accepted, `spin` → runs
//! until its budget, deadline or cancellation, anything else → accepted and recorded in the
//! 4,116-byte guest state. Inspect: `state` → one report with the guest state, `two` / `none` →
//! two / no reports, anything else → one report `unsupported`. Each guest action costs 1,000
//! cycles. A directory holds one file, `scripted.json`.

use std::path::Path;

use canonical::EvmAdvance;
use cartesi_machine_sys::{EMPTY_OUTPUTS_ROOT, MAX_MCYCLES_PER_INPUT};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::publish::{StoreSteps, create_private_dir, publish};
use crate::{
    BackendInfo, Error, Hash, Host, Machine, MachineBackend, MachineCore, Outcome, Result, Run,
    RunControl, SnapshotReason, Status, Stop,
};

/// Size of the scripted guest state.
pub const SCRIPTED_STATE_LEN: usize = 4116;
/// File of a stored scripted machine.
pub const SCRIPTED_FILE: &str = "scripted.json";
const STEP: u64 = 1000;

/// The fake machine with the reference host semantics.
pub type ScriptedMachine = Host<ScriptedCore>;

/// Loads scripted machines; [`ScriptedBackend::template`] writes a fresh one.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScriptedBackend;

/// Everything a scripted machine stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Guest {
    #[serde(with = "hex_bytes")]
    state: Vec<u8>,
    #[serde(with = "hex_bytes")]
    outputs_root: Vec<u8>,
    mcycle: u64,
    /// A recorded fixed point: `exception`, `halted`, `budget`.
    fixed: Option<(String, Vec<u8>)>,
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| serde::de::Error::custom("bad hex"))
    }
}

impl Guest {
    fn fresh() -> Self {
        Self {
            state: vec![0; SCRIPTED_STATE_LEN],
            outputs_root: EMPTY_OUTPUTS_ROOT.to_vec(),
            mcycle: STEP,
            fixed: None,
        }
    }

    fn status(&self) -> Result<Status> {
        Ok(match &self.fixed {
            None => Status::Ready,
            Some((kind, data)) => Status::Stuck(match kind.as_str() {
                "exception" => Outcome::Exception(data.clone()),
                "halted" => Outcome::Halted(7),
                "budget" => Outcome::CycleBudgetExhausted,
                other => return Err(Error::Protocol(format!("unknown fixed point {other:?}"))),
            }),
        })
    }

    fn accept(&mut self, payload: &[u8]) {
        let count = u64::from_le_bytes(self.state[0..8].try_into().unwrap_or_default()) + 1;
        let total = u64::from_le_bytes(self.state[8..16].try_into().unwrap_or_default())
            + payload.len() as u64;
        let kept = payload.len().min(4096);
        self.state[0..8].copy_from_slice(&count.to_le_bytes());
        self.state[8..16].copy_from_slice(&total.to_le_bytes());
        self.state[16..20].copy_from_slice(&(kept as u32).to_le_bytes());
        self.state[20..].fill(0);
        self.state[20..20 + kept].copy_from_slice(&payload[..kept]);
    }
}

impl ScriptedBackend {
    /// Writes a fresh scripted machine (waiting for its first input) into the new `dest`.
    pub fn template(dest: &Path) -> Result<Hash> {
        let mut m = ScriptedMachine::new(
            ScriptedCore {
                guest: Guest::fresh(),
            },
            Status::Ready,
        );
        m.store(dest)
    }

    /// Loads a stored scripted machine.
    pub fn load_machine(&self, dir: &Path) -> Result<ScriptedMachine> {
        let path = dir.join(SCRIPTED_FILE);
        let text = std::fs::read(&path)
            .map_err(|e| Error::snapshot(dir, SnapshotReason::Missing(format!("{path:?}: {e}"))))?;
        let guest: Guest = serde_json::from_slice(&text).map_err(|e| {
            Error::snapshot(
                dir,
                SnapshotReason::Unparsable {
                    file: SCRIPTED_FILE.into(),
                    detail: e.to_string(),
                },
            )
        })?;
        if guest.state.len() != SCRIPTED_STATE_LEN || guest.outputs_root.len() != 32 {
            return Err(Error::snapshot(
                dir,
                SnapshotReason::Corrupt("field sizes".into()),
            ));
        }
        let status = guest.status()?;
        Ok(Host::new(ScriptedCore { guest }, status))
    }
}

impl MachineBackend for ScriptedBackend {
    fn load(&self, dir: &Path) -> Result<Box<dyn Machine>> {
        Ok(Box::new(self.load_machine(dir)?))
    }
}

/// The scripted core.
#[derive(Debug)]
pub struct ScriptedCore {
    guest: Guest,
}

/// A copy of the scripted guest before an input.
#[derive(Debug)]
pub struct ScriptedRevert {
    guest: Guest,
    root: Hash,
}

fn digest(guest: &Guest) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(serde_json::to_vec(guest).unwrap_or_default());
    hasher.finalize().into()
}

/// Runs a request of `actions` guest actions (plus the final one) under `ctl`, or spins.
struct Budget<'a> {
    ctl: &'a RunControl,
    used: u64,
}

impl Budget<'_> {
    /// Spends one action; `Some(stop)` when the run must stop first.
    fn spend(&mut self) -> Option<Stop> {
        if self.used + STEP > self.ctl.effective_budget() {
            let recorded = self.ctl.effective_budget() == MAX_MCYCLES_PER_INPUT;
            self.used = self.ctl.effective_budget();
            return Some(Stop::FixedPoint {
                outcome: Outcome::CycleBudgetExhausted,
                recorded,
            });
        }
        self.used += STEP;
        None
    }
}

fn run(stop: Stop, outputs: Vec<Vec<u8>>, reports: Vec<Vec<u8>>, mcycles: u64) -> Run {
    Run {
        stop,
        outputs,
        reports,
        mcycles,
        truncated: false,
    }
}

impl MachineCore for ScriptedCore {
    type Revert = ScriptedRevert;

    fn info(&self) -> BackendInfo {
        BackendInfo::Scripted
    }

    fn root_hash(&mut self) -> Result<Hash> {
        Ok(digest(&self.guest))
    }

    fn revert_point(&mut self) -> Result<ScriptedRevert> {
        Ok(ScriptedRevert {
            guest: self.guest.clone(),
            root: digest(&self.guest),
        })
    }

    fn advance(&mut self, input: &[u8], _: &ScriptedRevert, ctl: &RunControl) -> Result<Run> {
        let mut budget = Budget { ctl, used: 0 };
        let payload = match EvmAdvance::decode(input) {
            Ok(advance) => advance.payload.to_vec(),
            Err(_) => return Ok(run(Stop::Rejected, vec![], vec![], 0)),
        };
        let (mut outputs, mut reports) = (Vec::new(), Vec::new());
        if payload == b"spin" {
            let stop = if ctl.interrupted() {
                Stop::Interrupted
            } else {
                budget.used = ctl.effective_budget();
                let recorded = ctl.effective_budget() == MAX_MCYCLES_PER_INPUT;
                Stop::FixedPoint {
                    outcome: Outcome::CycleBudgetExhausted,
                    recorded,
                }
            };
            return Ok(self.finish(stop, outputs, reports, budget.used));
        }
        if let Some(stop) = budget.spend() {
            return Ok(self.finish(stop, outputs, reports, budget.used));
        }
        let stop = match payload.as_slice() {
            b"reject" => {
                self.guest.state[..64].fill(0xff);
                Stop::Rejected
            }
            b"exception" => Stop::FixedPoint {
                outcome: Outcome::Exception(b"test-guest exception".to_vec()),
                recorded: true,
            },
            b"halt" => Stop::FixedPoint {
                outcome: Outcome::Halted(7),
                recorded: true,
            },
            _ => {
                if payload.starts_with(b"report") {
                    reports.push(payload.clone());
                } else if payload.starts_with(b"output") {
                    let mut hasher = Sha256::new();
                    hasher.update(&self.guest.outputs_root);
                    hasher.update(&payload);
                    self.guest.outputs_root = hasher.finalize().to_vec();
                    outputs.push(payload.clone());
                }
                if let Some(stop) = budget.spend() {
                    return Ok(self.finish(stop, outputs, reports, budget.used));
                }
                self.guest.accept(&payload);
                Stop::Accepted {
                    outputs_root: self.guest.outputs_root.as_slice().try_into().ok(),
                }
            }
        };
        Ok(self.finish(stop, outputs, reports, budget.used))
    }

    fn restore(&mut self, point: ScriptedRevert) -> Result<Hash> {
        self.guest = point.guest;
        Ok(point.root)
    }

    fn release(&mut self, _: ScriptedRevert) {}

    fn inspect(&mut self, query: &[u8], ctl: &RunControl) -> Result<Run> {
        if ctl.interrupted() {
            return Ok(run(Stop::Interrupted, vec![], vec![], 0));
        }
        let reports = match query {
            b"state" => vec![self.guest.state.clone()],
            b"two" => vec![b"one".to_vec(), b"two".to_vec()],
            b"none" => vec![],
            _ => vec![b"unsupported".to_vec()],
        };
        let root = self.guest.outputs_root.as_slice().try_into().ok();
        Ok(run(
            Stop::Accepted { outputs_root: root },
            vec![],
            reports,
            2 * STEP,
        ))
    }

    fn store(&mut self, dest: &Path) -> Result<()> {
        let json = serde_json::to_vec(&self.guest).map_err(|e| Error::Protocol(e.to_string()))?;
        publish(dest, &mut Steps { json: &json })
    }
}

impl ScriptedCore {
    fn finish(
        &mut self,
        stop: Stop,
        outputs: Vec<Vec<u8>>,
        reports: Vec<Vec<u8>>,
        used: u64,
    ) -> Run {
        self.guest.mcycle = self.guest.mcycle.saturating_add(used);
        if let Stop::FixedPoint {
            outcome,
            recorded: true,
        } = &stop
        {
            self.guest.fixed = Some(match outcome {
                Outcome::Exception(data) => ("exception".to_owned(), data.clone()),
                Outcome::Halted(_) => ("halted".to_owned(), Vec::new()),
                _ => ("budget".to_owned(), Vec::new()),
            });
        }
        run(stop, outputs, reports, used)
    }
}

struct Steps<'a> {
    json: &'a [u8],
}

impl StoreSteps for Steps<'_> {
    fn write(&mut self, tmp: &Path) -> Result<()> {
        create_private_dir(tmp)?;
        let path = tmp.join(SCRIPTED_FILE);
        std::fs::write(&path, self.json).map_err(|e| Error::io(&path, e))
    }
}
