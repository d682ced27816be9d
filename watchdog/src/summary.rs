//! The summary line (spec `watchdog.md` §8.2): the one JSON line every command prints on
//! stdout, on every path, errors and caught panics included.
//!
//! ```json
//! {"schema_version":1,"command":"tick","outcome":"agreed","exit_code":0,"class":null,"head_block":7000123,"target_block":7000123,"inputs_replayed":3,"duration_ms":51234,"reason":null,"message":"sequencer agrees at block 7000123","incident_id":null}
//! ```
//!
//! The first nine keys ([`FIXED_KEYS`]) and their order are fixed; `reason`, `message` and
//! `incident_id` follow on every line; command extras come last, in the order added.

use std::time::Duration;

use serde::Serialize;

use crate::{
    Class, Error, Outcome, Reason,
    json::{ObjectWriter, RawJson},
};

/// The summary schema version; a breaking change bumps it.
pub const SCHEMA_VERSION: u32 = 1;

/// The first nine keys, in their fixed order.
pub const FIXED_KEYS: [&str; 9] = [
    "schema_version",
    "command",
    "outcome",
    "exit_code",
    "class",
    "head_block",
    "target_block",
    "inputs_replayed",
    "duration_ms",
];

/// Keys present on every line after the fixed nine.
pub const COMMON_KEYS: [&str; 3] = ["reason", "message", "incident_id"];

/// Longest message kept, in bytes (longer ones are cut at a character boundary with `…`).
pub const MAX_MESSAGE_BYTES: usize = 2048;

/// A command's result as the summary line reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    command: Option<String>,
    outcome: Outcome,
    reason: Option<Reason>,
    message: String,
    head_block: Option<u64>,
    target_block: Option<u64>,
    inputs_replayed: Option<u64>,
    duration_ms: u64,
    incident_id: Option<String>,
    extras: Vec<(&'static str, RawJson)>,
}

impl Summary {
    /// A summary of `command` (e.g. `tick`, `snapshot decode`; `None` when unknown).
    pub fn new(command: Option<&str>, outcome: Outcome, message: impl Into<String>) -> Self {
        Self {
            command: command.map(str::to_owned),
            outcome,
            reason: None,
            message: cut(message.into()),
            head_block: None,
            target_block: None,
            inputs_replayed: None,
            duration_ms: 0,
            incident_id: None,
            extras: Vec::new(),
        }
    }

    /// The summary of a failed command: outcome `failed`, class and reason from `error`.
    pub fn failed(command: Option<&str>, error: &Error) -> Self {
        Self::new(command, Outcome::Failed(error.class()), error.message()).reason(error.reason())
    }

    /// The summary of a caught panic: `failed`, class `internal`, reason `panic`.
    pub fn panicked(command: Option<&str>, message: impl Into<String>) -> Self {
        Self::new(command, Outcome::Failed(Class::Internal), message).reason(Reason::PANIC)
    }

    /// Sets the reason.
    pub fn reason(mut self, reason: Reason) -> Self {
        self.reason = Some(reason);
        self
    }

    /// Sets the head block H.
    pub fn head_block(mut self, block: u64) -> Self {
        self.head_block = Some(block);
        self
    }

    /// Sets the target block (B, else P).
    pub fn target_block(mut self, block: u64) -> Self {
        self.target_block = Some(block);
        self
    }

    /// Sets the number of inputs replayed.
    pub fn inputs_replayed(mut self, count: u64) -> Self {
        self.inputs_replayed = Some(count);
        self
    }

    /// Sets the duration (whole milliseconds).
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Sets the incident id.
    pub fn incident_id(mut self, id: impl Into<String>) -> Self {
        self.incident_id = Some(id.into());
        self
    }

    /// Appends a command extra (a later value for the same key replaces the earlier one in
    /// place). Keys of the fixed and common sets are ignored: they cannot be overridden.
    pub fn extra<T: Serialize + ?Sized>(self, key: &'static str, value: &T) -> Self {
        self.extra_raw(key, RawJson::of(value))
    }

    /// Appends an already rendered extra (see [`Summary::extra`]).
    pub fn extra_raw(mut self, key: &'static str, value: RawJson) -> Self {
        if FIXED_KEYS.contains(&key) || COMMON_KEYS.contains(&key) {
            tracing::error!(target: "watchdog::summary", key, "extra uses a reserved key; ignored");
            return self;
        }
        match self.extras.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.extras.push((key, value)),
        }
        self
    }

    /// The outcome.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The exit code (0, 1 or 2), from the outcome.
    pub fn exit_code(&self) -> u8 {
        self.outcome.exit_code()
    }

    /// The class (exit 1 only).
    pub fn class(&self) -> Option<Class> {
        self.outcome.class()
    }

    /// The reason, if any.
    pub fn reason_value(&self) -> Option<Reason> {
        self.reason
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The command name.
    pub fn command(&self) -> Option<&str> {
        self.command.as_deref()
    }

    /// The extras, in order.
    pub fn extras(&self) -> impl Iterator<Item = (&'static str, &RawJson)> {
        self.extras.iter().map(|(k, v)| (*k, v))
    }

    /// The summary line: compact JSON, no trailing newline.
    pub fn line(&self) -> String {
        let mut w = ObjectWriter::new();
        w.field("schema_version", &SCHEMA_VERSION)
            .field("command", &self.command)
            .field("outcome", self.outcome.as_str())
            .field("exit_code", &self.exit_code())
            .field("class", &self.class().map(Class::as_str))
            .field("head_block", &self.head_block)
            .field("target_block", &self.target_block)
            .field("inputs_replayed", &self.inputs_replayed)
            .field("duration_ms", &self.duration_ms)
            .field("reason", &self.reason.map(Reason::as_str))
            .field("message", &self.message)
            .field("incident_id", &self.incident_id);
        for (key, value) in &self.extras {
            w.raw(key, value);
        }
        w.finish()
    }
}

fn cut(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Finding;

    #[test]
    fn spec_example_renders_byte_for_byte() {
        let s = Summary::new(
            Some("tick"),
            Outcome::Agreed,
            "sequencer agrees at block 7000123",
        )
        .head_block(7_000_123)
        .target_block(7_000_123)
        .inputs_replayed(3)
        .duration(Duration::from_millis(51_234));
        assert_eq!(
            s.line(),
            r#"{"schema_version":1,"command":"tick","outcome":"agreed","exit_code":0,"class":null,"head_block":7000123,"target_block":7000123,"inputs_replayed":3,"duration_ms":51234,"reason":null,"message":"sequencer agrees at block 7000123","incident_id":null}"#
        );
    }

    #[test]
    fn failures_carry_class_and_reason() {
        let s = Summary::new(Some("tick"), Outcome::Failed(Class::Transient), "down")
            .reason(Reason::L1_UNAVAILABLE);
        let line = s.line();
        assert!(line.starts_with(
            r#"{"schema_version":1,"command":"tick","outcome":"failed","exit_code":1,"class":"transient","head_block":null,"#
        ), "{line}");
        assert!(line.contains(r#""reason":"l1_unavailable","message":"down""#));
        assert_eq!(s.exit_code(), 1);
    }

    #[test]
    fn divergence_has_no_class_and_exit_2() {
        let s = Summary::new(
            Some("tick"),
            Outcome::Diverged(Finding::StateMismatch),
            "differs",
        )
        .reason(Reason::STATE_MISMATCH)
        .incident_id("20261001T120501Z-state_mismatch-00000000000007000200");
        let line = s.line();
        assert!(
            line.contains(r#""outcome":"diverged","exit_code":2,"class":null"#),
            "{line}"
        );
        assert!(
            line.ends_with(
                r#""incident_id":"20261001T120501Z-state_mismatch-00000000000007000200"}"#
            )
        );
    }

    #[test]
    fn extras_follow_in_order_and_cannot_override_fixed_keys() {
        let s = Summary::new(Some("l1 scan"), Outcome::Scanned, "ok")
            .extra("from", &10u64)
            .extra("to", &20u64)
            .extra("exit_code", &7u64)
            .extra("message", "nope")
            .extra("from", &11u64);
        let line = s.line();
        assert!(
            line.ends_with(r#""incident_id":null,"from":11,"to":20}"#),
            "{line}"
        );
        assert_eq!(line.matches("exit_code").count(), 1);
        let keys: Vec<String> = serde_json::from_str::<serde_json::Value>(&line)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys.len(), 14);
    }

    #[test]
    fn key_order_is_fixed() {
        let line = Summary::new(None, Outcome::Decoded, "x")
            .extra("snapshot", &1u8)
            .line();
        let mut at = 0;
        for key in FIXED_KEYS
            .iter()
            .chain(COMMON_KEYS.iter())
            .chain(["snapshot"].iter())
        {
            let needle = format!("\"{key}\":");
            let pos = line[at..].find(&needle).map(|p| p + at);
            let pos = pos.unwrap_or_else(|| panic!("{key} missing or out of order in {line}"));
            at = pos + needle.len();
        }
        assert!(line.contains(r#""command":null"#));
    }

    #[test]
    fn messages_are_escaped_and_cut() {
        let s = Summary::new(
            Some("x"),
            Outcome::Ok,
            format!("a\nb é{}", "z".repeat(5000)),
        );
        let line = s.line();
        assert!(!line.contains('\n'));
        assert!(line.contains(r#""message":"a\nb \u00e9zz"#));
        assert!(line.is_ascii());
        assert!(s.message().len() <= MAX_MESSAGE_BYTES + '…'.len_utf8());
    }

    #[test]
    fn panics_are_internal() {
        let s = Summary::panicked(Some("tick"), "boom");
        assert_eq!(s.exit_code(), 1);
        assert_eq!(s.class(), Some(Class::Internal));
        assert_eq!(s.reason_value(), Some(Reason::PANIC));
    }
}
