//! The JSON files of the state directory (spec `watchdog.md` §4): one compact object per file,
//! keys in the order of the spec (struct field order), a trailing newline. Readers ignore
//! unknown keys and refuse unknown versions.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Version of `config.json` this program writes; 1 and 2 are the Lua watchdog's.
pub const CONFIG_VERSION: u32 = 3;

/// The identity every run is checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// L1 chain id.
    pub chain_id: u64,
    /// Application address, lowercase `0x` hex.
    pub app_address: String,
    /// InputBox address, lowercase `0x` hex.
    pub input_box_address: String,
    /// `native` or `cartesi`.
    pub machine_backend: String,
    /// `inspect` or `range:<label>`.
    pub state_source: String,
}

/// Where the first head came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bootstrap {
    /// B0.
    pub block: u64,
    /// Inputs at B0.
    pub input_count: u64,
    /// Hash of B0.
    pub block_hash: String,
    /// The expected Cartesi machine root hash, if given.
    pub cm_image_hash: Option<String>,
    /// When init ran (RFC 3339).
    pub created_at: String,
}

/// `config.json`: identity and persisted settings. Never holds an RPC URL or a local path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigFile {
    /// Always [`CONFIG_VERSION`].
    pub version: u32,
    /// Checked on every run.
    pub identity: Identity,
    /// The sequencer base URL (no userinfo).
    pub sequencer_url: String,
    /// JSON-RPC codes that mean "range too large".
    pub long_block_range_error_codes: Vec<String>,
    /// `safe` or `finalized`.
    pub l1_head_tag: String,
    /// Cycle budget per input (cartesi backend).
    pub max_cycles_per_input: u64,
    /// The bootstrap record.
    pub bootstrap: Bootstrap,
}

/// `head.json`: the commit point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadFile {
    /// Always 1.
    pub version: u32,
    /// `checkpoints/<B:020>-<N:020>`.
    pub checkpoint: String,
    /// The checkpoint's block.
    pub block: u64,
    /// Inputs processed up to and including `block`.
    pub input_count: u64,
    /// SHA-256 of the state bytes at the checkpoint.
    pub state_sha256: String,
    /// Hash of `block`.
    pub block_hash: String,
    /// `false` for a never-compared bootstrap.
    pub agreed: bool,
}

/// `checkpoints/<B>-<N>/manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Always 1.
    pub version: u32,
    /// Checkpoint block.
    pub block: u64,
    /// Inputs processed.
    pub input_count: u64,
    /// Hash of `block`.
    pub block_hash: String,
    /// SHA-256 of the state bytes.
    pub state_sha256: String,
    /// `native` or `cartesi`.
    pub machine_backend: String,
    /// Root hash of a stored Cartesi machine.
    pub machine_root_hash: Option<String>,
    /// libcartesi version that stored it.
    pub libcartesi_version: Option<String>,
    /// SHA-256 of `machine/native.bin`.
    pub native_sha256: Option<String>,
    /// `bootstrap` or `agreed`.
    pub origin: String,
    /// When the checkpoint was written (RFC 3339).
    pub created_at: String,
    /// Cartesi: the root hash of the machine's template point (`0x` hex), the application's
    /// on-chain template hash that `init` verified, carried from checkpoint to checkpoint so a
    /// replayed machine can bootstrap another state directory. Absent for native machines and
    /// in manifests written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_hash: Option<String>,
}

/// `l1_span.json`: the largest eth_getLogs span that worked, per provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanFile {
    /// Always 1.
    pub version: u32,
    /// First 16 hex of SHA-256 of the RPC URL.
    pub provider: String,
    /// Blocks per eth_getLogs window.
    pub span: u64,
    /// When it was learned (RFC 3339).
    pub updated_at: String,
}

/// Request counters per endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpcRequests {
    /// L1 JSON-RPC requests.
    pub l1: u64,
    /// Confirm-provider requests.
    pub l1_confirm: u64,
    /// Sequencer HTTP requests.
    pub sequencer: u64,
}

impl RpcRequests {
    /// Element-wise saturating sum.
    pub fn plus(self, other: Self) -> Self {
        Self {
            l1: self.l1.saturating_add(other.l1),
            l1_confirm: self.l1_confirm.saturating_add(other.l1_confirm),
            sequencer: self.sequencer.saturating_add(other.sequencer),
        }
    }
}

/// Running totals across ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Inputs fed by all ticks.
    pub inputs_replayed: u64,
    /// Requests made by all ticks.
    pub rpc_requests: RpcRequests,
}

/// `last_tick.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastTickFile {
    /// Always 1.
    pub version: u32,
    /// When the tick ended (RFC 3339).
    pub finished_at: String,
    /// Summary outcome.
    pub outcome: String,
    /// Exit code.
    pub exit_code: u8,
    /// Class on exit 1.
    pub class: Option<String>,
    /// Reason.
    pub reason: Option<String>,
    /// Human message.
    pub message: String,
    /// Head block after the tick.
    pub head_block: Option<u64>,
    /// B (or P).
    pub target_block: Option<u64>,
    /// Inputs fed by this tick.
    pub inputs_replayed: u64,
    /// Wall time.
    pub duration_ms: u64,
    /// Requests made by this tick.
    pub rpc_requests: RpcRequests,
    /// Totals including this tick.
    pub totals: Totals,
    /// The latched incident, if any.
    pub incident_id: Option<String>,
    /// What the machine did in this tick; `null` when the tick loaded none.
    #[serde(default)]
    pub machine: Option<MachineRecord>,
    /// The sequencer's finality as this tick measured it; `null` when it could not.
    #[serde(default)]
    pub liveness: Option<crate::liveness::Liveness>,
}

/// The machine work of one tick, in `last_tick.json` (and so in `status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineRecord {
    /// `native` or `cartesi`.
    pub backend: String,
    /// The libcartesi version (`0.21.0`, or `0.19` whose patch level is unknown); `null` for
    /// native.
    pub libcartesi_version: Option<String>,
    /// The libcartesi API generation, `0.19` or `0.21`; `null` for native.
    pub generation: Option<String>,
    /// Inputs fed that ran.
    pub inputs_fed: u64,
    /// Of those, accepted.
    pub accepted: u64,
    /// Of those, rejected (and reverted).
    pub rejected: u64,
    /// Full stores of the machine (revert bases, inspect bases, the checkpoint).
    pub stores: u64,
    /// Loads of stored machines (the head, reloads to revert, inspect copies).
    pub loads: u64,
    /// Accepted inputs re-run to revert a later one.
    pub replayed: u64,
    /// Time spent in the machine.
    pub duration_ms: u64,
}

/// `incidents/<id>/resolution.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolutionFile {
    /// Always 1.
    pub version: u32,
    /// When `clear` ran.
    pub cleared_at: String,
    /// The sequencer inclusion block the operator acknowledged.
    pub block: u64,
    /// The operator's reason.
    pub reason: String,
}

/// Renders a state file: compact deterministic JSON and a newline.
pub fn render<T: Serialize>(value: &T) -> Vec<u8> {
    let mut text = crate::json::to_string(value).unwrap_or_else(|_| "null".to_owned());
    text.push('\n');
    text.into_bytes()
}

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Not JSON of the expected shape.
    #[error("malformed: {0}")]
    Malformed(#[from] serde_json::Error),
    /// A version this program does not know.
    #[error("unsupported version {0}")]
    Version(u64),
}

/// Parses a state file, refusing a `version` other than `expected`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8], expected: u32) -> Result<T, FileError> {
    #[derive(Deserialize)]
    struct Versioned {
        version: u64,
    }
    let versioned: Versioned = serde_json::from_slice(bytes)?;
    if versioned.version != u64::from(expected) {
        return Err(FileError::Version(versioned.version));
    }
    Ok(serde_json::from_slice(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_renders_in_spec_order() {
        let head = HeadFile {
            version: 1,
            checkpoint: "checkpoints/00000000000007000123-00000000000000000045".into(),
            block: 7_000_123,
            input_count: 45,
            state_sha256: "9f86".into(),
            block_hash: "0x5c1e".into(),
            agreed: true,
        };
        let text = String::from_utf8(render(&head)).unwrap();
        assert_eq!(
            text,
            "{\"version\":1,\"checkpoint\":\"checkpoints/00000000000007000123-00000000000000000045\",\"block\":7000123,\"input_count\":45,\"state_sha256\":\"9f86\",\"block_hash\":\"0x5c1e\",\"agreed\":true}\n"
        );
        assert_eq!(parse::<HeadFile>(text.as_bytes(), 1).unwrap(), head);
        assert!(matches!(
            parse::<HeadFile>(text.as_bytes(), 2),
            Err(FileError::Version(1))
        ));
    }
}
