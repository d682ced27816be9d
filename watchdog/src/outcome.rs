//! The exit contract as types (spec `watchdog.md` §7): every command ends in an [`Outcome`],
//! which alone decides the exit code: 0 decided and fine, 1 could not decide, 2 divergence.

use std::fmt;

/// Why a command could not decide (exit 1): who has to act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Likely to pass on a later run (sequencer or L1 down, lagging or misbehaving, deadline).
    Transient,
    /// An operator must act (usage, configuration, deployment, state directory).
    Operator,
    /// A bug or a local I/O failure.
    Internal,
    /// The sequencer answers but stopped finalizing what lands on L1 (not a divergence).
    Liveness,
}

impl Class {
    /// The name in summaries: `transient`, `operator`, `internal`, `liveness`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Class::Transient => "transient",
            Class::Operator => "operator",
            Class::Internal => "internal",
            Class::Liveness => "liveness",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<sequencer_client::Class> for Class {
    fn from(class: sequencer_client::Class) -> Self {
        match class {
            sequencer_client::Class::Transient => Class::Transient,
            sequencer_client::Class::Operator => Class::Operator,
            sequencer_client::Class::Internal => Class::Internal,
        }
    }
}

/// The kind of a divergence (exit 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Finding {
    /// The canonical state differs from the sequencer's.
    StateMismatch,
    /// The sequencer's finalized block went below the agreed head.
    InclusionBlockRegressed,
    /// The canonical machine reached a fixed point (it can never accept again).
    CanonicalMachineDead,
}

impl Finding {
    /// The kind name used in events, reasons and metrics labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Finding::StateMismatch => "state_mismatch",
            Finding::InclusionBlockRegressed => "inclusion_block_regressed",
            Finding::CanonicalMachineDead => "canonical_machine_dead",
        }
    }
}

/// How a command ended. Per command: tick `agreed`, `idle`, `diverged`, `latched`; init
/// `initialized`, `already_initialized`; clear `cleared`; replay `replayed`, `stopped`;
/// snapshot `decoded`, `compared`; l1 scan `scanned`; status `ok`; any command `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The sequencer agrees with the canonical state (exit 0).
    Agreed,
    /// Nothing to compare (exit 0).
    Idle,
    /// A new divergence (exit 2).
    Diverged(Finding),
    /// An incident is latched from an earlier run (exit 2).
    Latched,
    /// The state directory was created (exit 0).
    Initialized,
    /// The state directory already existed with the same identity (exit 0).
    AlreadyInitialized,
    /// The incident was archived (exit 0).
    Cleared,
    /// A replay reached its target (exit 0).
    Replayed,
    /// A replay stopped at a fixed point of the machine (exit 0).
    Stopped,
    /// A snapshot was decoded (exit 0).
    Decoded,
    /// Two snapshots were compared, equal or not (exit 0).
    Compared,
    /// An L1 scan completed (exit 0).
    Scanned,
    /// The status was read (exit 0).
    Ok,
    /// The command could not decide (exit 1).
    Failed(Class),
}

impl Outcome {
    /// The outcome name in the summary line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Agreed => "agreed",
            Outcome::Idle => "idle",
            Outcome::Diverged(_) => "diverged",
            Outcome::Latched => "latched",
            Outcome::Initialized => "initialized",
            Outcome::AlreadyInitialized => "already_initialized",
            Outcome::Cleared => "cleared",
            Outcome::Replayed => "replayed",
            Outcome::Stopped => "stopped",
            Outcome::Decoded => "decoded",
            Outcome::Compared => "compared",
            Outcome::Scanned => "scanned",
            Outcome::Ok => "ok",
            Outcome::Failed(_) => "failed",
        }
    }

    /// The process exit code: 0, 1 (`Failed`) or 2 (`Diverged`, `Latched`).
    pub const fn exit_code(self) -> u8 {
        match self {
            Outcome::Failed(_) => 1,
            Outcome::Diverged(_) | Outcome::Latched => 2,
            _ => 0,
        }
    }

    /// The class, set only on exit 1.
    pub const fn class(self) -> Option<Class> {
        match self {
            Outcome::Failed(class) => Some(class),
            _ => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stable snake_case reason (spec §7). A newtype over a static name, so reasons reported by
/// lower crates pass through unchanged; the known ones are associated constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reason(&'static str);

macro_rules! reasons {
    ($($(#[$doc:meta])* $name:ident = $text:literal;)*) => {
        impl Reason {
            $($(#[$doc])* pub const $name: Reason = Reason($text);)*
            /// Every reason named by the spec, in table order.
            pub const ALL: &'static [Reason] = &[$(Reason::$name),*];
        }
    };
}

reasons! {
    /// An incident from an earlier run is latched.
    INCIDENT_LATCHED = "incident_latched";
    /// Divergence kind: states differ.
    STATE_MISMATCH = "state_mismatch";
    /// Divergence kind: the finalized block regressed below the agreed head.
    INCLUSION_BLOCK_REGRESSED = "inclusion_block_regressed";
    /// Divergence kind: the canonical machine reached a fixed point.
    CANONICAL_MACHINE_DEAD = "canonical_machine_dead";
    /// A divergence was found but `incident/` could not be created.
    LATCH_FAILED = "latch_failed";
    /// Idle: the sequencer is behind a never-agreed bootstrap.
    SEQUENCER_BEHIND_BOOTSTRAP = "sequencer_behind_bootstrap";
    /// Bad arguments.
    USAGE = "usage";
    /// Another process holds `run.lock`.
    LOCK_BUSY = "lock_busy";
    /// The state directory has unsafe owner or permissions.
    UNSAFE_PERMISSIONS = "unsafe_permissions";
    /// A setting is invalid or missing.
    CONFIG_INVALID = "config_invalid";
    /// An identity setting disagrees with `config.json`.
    IDENTITY_MISMATCH = "identity_mismatch";
    /// The state directory belongs to another program version (Lua).
    FOREIGN_STATE_DIR = "foreign_state_dir";
    /// `head.json` is missing.
    MISSING_HEAD = "missing_head";
    /// `head.json` is invalid.
    INVALID_HEAD = "invalid_head";
    /// A checkpoint fails its checks.
    CHECKPOINT_CORRUPT = "checkpoint_corrupt";
    /// libcartesi cannot be loaded or is unsupported.
    LIBCARTESI_UNAVAILABLE = "libcartesi_unavailable";
    /// The provider's chain id differs from the identity.
    CHAIN_ID_MISMATCH = "chain_id_mismatch";
    /// An input's payload chain id differs from the identity.
    INPUT_CHAIN_MISMATCH = "input_chain_mismatch";
    /// The head block's hash changed on L1.
    L1_ANCHOR_MISMATCH = "l1_anchor_mismatch";
    /// The state source did not yield exactly one state.
    STATE_EXTRACTION_FAILED = "state_extraction_failed";
    /// The sequencer has no comparable checkpoint yet (404).
    SEQUENCER_NOT_READY = "sequencer_not_ready";
    /// The sequencer cannot be reached or refuses (503 included).
    SEQUENCER_UNAVAILABLE = "sequencer_unavailable";
    /// The sequencer answered something malformed.
    SEQUENCER_BAD_RESPONSE = "sequencer_bad_response";
    /// The L1 provider failed.
    L1_UNAVAILABLE = "l1_unavailable";
    /// A one-block `eth_getLogs` still hit a range limit.
    L1_RANGE_ERROR_SINGLE_BLOCK = "l1_range_error_single_block";
    /// The per-provider request budget is spent.
    RPC_BUDGET_EXHAUSTED = "rpc_budget_exhausted";
    /// The L1 head tag is below the target block.
    L1_HEAD_LAGS = "l1_head_lags";
    /// `init` ran before the application's deployment block is at or below the L1 head tag.
    APPLICATION_NOT_SAFE = "application_not_safe";
    /// The oldest input the sequencer has not finalized is older than
    /// `--max-finality-lag-blocks` (class `liveness`).
    SEQUENCER_STALLED = "sequencer_stalled";
    /// The head block is unknown to the provider.
    L1_ANCHOR_UNAVAILABLE = "l1_anchor_unavailable";
    /// The inputs read are not provably complete.
    L1_INCOMPLETE = "l1_incomplete";
    /// The target block changed during the run.
    L1_REORGED_DURING_TICK = "l1_reorged_during_tick";
    /// The confirm provider saw different inputs.
    PROVIDER_DISAGREEMENT = "provider_disagreement";
    /// The confirm provider failed.
    CONFIRM_UNAVAILABLE = "confirm_unavailable";
    /// The command's deadline passed.
    DEADLINE_EXCEEDED = "deadline_exceeded";
    /// The caller cancelled the command.
    CANCELLED = "cancelled";
    /// A checkpoint could not be published.
    PUBLISH_FAILED = "publish_failed";
    /// A rejected input could not be reverted.
    REVERT_FAILED = "revert_failed";
    /// A bug: the command panicked.
    PANIC = "panic";
    /// The state directory is half-initialised.
    INCOMPLETE_STATE = "incomplete_state";
    /// `clear` without a latched incident.
    NO_INCIDENT = "no_incident";
    /// `clear --block` does not name the incident's block.
    WRONG_BLOCK = "wrong_block";
    /// The replay source changed while it was copied.
    SOURCE_CHANGED = "source_changed";
    /// Bytes that should be a WalletSnapshot (or another format) do not decode.
    DECODE_FAILED = "decode_failed";
    /// Writing the command's output (stdout) failed.
    OUTPUT_FAILED = "output_failed";
    /// The async runtime could not be started.
    RUNTIME_FAILED = "runtime_failed";
}

impl Reason {
    /// A reason reported by another crate (e.g. `l1::Error::reason`).
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The reason name.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// What a tick found, before it becomes a summary (shared by `tick` and the latch in
/// `divergence`).
#[derive(Debug)]
pub(crate) struct TickEnd {
    pub outcome: Outcome,
    pub reason: Option<Reason>,
    pub message: String,
    pub incident_id: Option<String>,
    pub divergence_kind: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(Outcome::Agreed.exit_code(), 0);
        assert_eq!(Outcome::Idle.exit_code(), 0);
        assert_eq!(Outcome::Decoded.exit_code(), 0);
        assert_eq!(Outcome::Failed(Class::Transient).exit_code(), 1);
        assert_eq!(Outcome::Diverged(Finding::StateMismatch).exit_code(), 2);
        assert_eq!(Outcome::Latched.exit_code(), 2);
        assert_eq!(
            Outcome::Failed(Class::Operator).class(),
            Some(Class::Operator)
        );
        assert_eq!(Outcome::Latched.class(), None);
        // A stalled sequencer is a failure to decide, never a divergence.
        assert_eq!(Outcome::Failed(Class::Liveness).exit_code(), 1);
        assert_eq!(Class::Liveness.as_str(), "liveness");
    }

    #[test]
    fn reasons_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for r in Reason::ALL {
            assert!(seen.insert(r.as_str()), "duplicate {r}");
            assert!(
                r.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            );
        }
        for f in [
            Finding::StateMismatch,
            Finding::InclusionBlockRegressed,
            Finding::CanonicalMachineDead,
        ] {
            assert!(seen.contains(f.as_str()));
        }
    }
}
