//! The `watchdog_event` record (spec §8.1): one line on stderr per new latch, byte-identical to
//! the incident's `divergence.json`.

use serde::{Deserialize, Serialize};

/// Where the canonical machine stopped (kind `canonical_machine_dead`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopRecord {
    /// `exception`, `halted`, `cycle_budget_exhausted`, `unexpected_yield`.
    pub status: String,
    /// Details (exception text, halt code).
    pub description: String,
    /// Index of the input that stopped it.
    pub input_index: u64,
    /// L1 block of that input.
    pub input_block: u64,
}

/// A divergence record. Kind-specific keys (`Option<Option<_>>`) are absent for other kinds and
/// `null` when unknown; every other key is always present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchdogEvent {
    /// `state_mismatch`, `inclusion_block_regressed` or `canonical_machine_dead`.
    pub kind: String,
    /// The head block the comparison started from.
    pub previous_safe_block: Option<u64>,
    /// B (or P for a regression).
    pub sequencer_inclusion_block: Option<u64>,
    /// 1-based offset of the first differing byte (state_mismatch only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mismatch_offset: Option<Option<u64>>,
    /// 0-based index of the first differing byte (state_mismatch only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_difference: Option<Option<u64>>,
    /// Where the machine stopped (canonical_machine_dead only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<StopRecord>,
    /// SHA-256 of the canonical state (hex).
    pub canonical_sha256: Option<String>,
    /// SHA-256 of the sequencer's state (hex).
    pub sequencer_sha256: Option<String>,
    /// Input count at the head.
    pub previous_input_count: Option<u64>,
    /// Input count at B.
    pub input_count: Option<u64>,
    /// Chain id.
    pub chain_id: Option<u64>,
    /// Application address (lowercase hex).
    pub app_address: Option<String>,
    /// `<detected_at compact>-<kind>-<B:020>`.
    pub incident_id: String,
    /// RFC 3339 UTC.
    pub detected_at: String,
    /// Always 1.
    pub schema_version: u32,
}

/// Prefix of the stderr alert line.
pub const EVENT_PREFIX: &str = "watchdog_event ";

impl WatchdogEvent {
    /// The incident id for a detection at `detected_unix` of `kind` at block `block`.
    pub fn incident_id(detected_unix: u64, kind: &str, block: u64) -> String {
        format!(
            "{}-{kind}-{block:020}",
            super::clock::compact(detected_unix)
        )
    }

    /// Whether `id` has the shape `YYYYMMDDTHHMMSSZ-<kind>-<B:020>` with a snake_case kind:
    /// only such ids become directory names (an id read back from `divergence.json` is
    /// untrusted).
    pub fn is_valid_incident_id(id: &str) -> bool {
        let bytes = id.as_bytes();
        let digits = |range: std::ops::Range<usize>| {
            bytes
                .get(range)
                .is_some_and(|b| b.iter().all(u8::is_ascii_digit))
        };
        if bytes.len() < 16 + 1 + 1 + 1 + 20
            || !digits(0..8)
            || bytes[8] != b'T'
            || !digits(9..15)
            || bytes[15] != b'Z'
            || bytes[16] != b'-'
        {
            return false;
        }
        let rest = &id[17..];
        let Some((kind, block)) = rest.rsplit_once('-') else {
            return false;
        };
        !kind.is_empty()
            && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            && block.len() == 20
            && block.bytes().all(|b| b.is_ascii_digit())
    }

    /// The compact JSON (also the content of `divergence.json`, without a newline).
    pub fn to_json(&self) -> String {
        crate::json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The full stderr line, newline included.
    pub fn line(&self) -> String {
        format!("{EVENT_PREFIX}{}\n", self.to_json())
    }
}

/// First differing byte of two strings (0-based); the shorter length for a strict prefix.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<u64> {
    if a == b {
        return None;
    }
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    Some(common as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_mismatch_line_has_the_fixed_key_order() {
        let event = WatchdogEvent {
            kind: "state_mismatch".into(),
            previous_safe_block: Some(7_000_123),
            sequencer_inclusion_block: Some(7_000_200),
            mismatch_offset: Some(Some(69)),
            first_difference: Some(Some(68)),
            stop: None,
            canonical_sha256: Some("9f86".into()),
            sequencer_sha256: Some("41a2".into()),
            previous_input_count: Some(45),
            input_count: Some(48),
            chain_id: Some(11_155_111),
            app_address: Some("0x4ce6".into()),
            incident_id: WatchdogEvent::incident_id(1_790_000_000, "state_mismatch", 7_000_200),
            detected_at: "2026-09-21T14:13:20Z".into(),
            schema_version: 1,
        };
        assert_eq!(
            event.line(),
            "watchdog_event {\"kind\":\"state_mismatch\",\"previous_safe_block\":7000123,\"sequencer_inclusion_block\":7000200,\"mismatch_offset\":69,\"first_difference\":68,\"canonical_sha256\":\"9f86\",\"sequencer_sha256\":\"41a2\",\"previous_input_count\":45,\"input_count\":48,\"chain_id\":11155111,\"app_address\":\"0x4ce6\",\"incident_id\":\"20260921T141320Z-state_mismatch-00000000000007000200\",\"detected_at\":\"2026-09-21T14:13:20Z\",\"schema_version\":1}\n"
        );
    }

    #[test]
    fn only_well_formed_incident_ids_are_valid() {
        let id = WatchdogEvent::incident_id(1_790_000_000, "state_mismatch", 7_000_200);
        assert!(WatchdogEvent::is_valid_incident_id(&id));
        for bad in [
            "",
            "../../etc",
            "20260921T141320Z-state_mismatch-0000000000000700020",
            "20260921T141320Z-state/mismatch-00000000000007000200",
            "20260921T141320Z--00000000000007000200",
            "20260921X141320Z-state_mismatch-00000000000007000200",
            "20260921T141320Z-state_mismatch-00000000000007000200/..",
        ] {
            assert!(!WatchdogEvent::is_valid_incident_id(bad), "{bad}");
        }
    }

    #[test]
    fn first_difference_of_prefixes_is_the_shorter_length() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"ab", b"abc"), Some(2));
    }
}
