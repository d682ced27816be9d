//! The alert stream of a tick: the spec's injectable `EventSink` (§1.1, §8.1).
//!
//! A new latch (or, when `incident/` cannot be created, each detecting tick) hands its
//! [`WatchdogEvent`] to the sink exactly once, before evidence collection starts. Every
//! [`std::io::Write`] is a sink that receives the raw `watchdog_event <json>\n` line and is
//! flushed, which is what the binary does with stderr.

use std::io::Write;

use crate::state::event::WatchdogEvent;

/// Receives each new `watchdog_event`.
pub trait EventSink {
    /// A divergence was detected: `event` is the record, `line` its alert line
    /// (`watchdog_event `, the compact JSON byte-identical to `divergence.json`, then `\n`).
    /// Delivery is best effort: a sink cannot fail the tick.
    fn event(&mut self, event: &WatchdogEvent, line: &str);
}

impl<W: Write + ?Sized> EventSink for W {
    /// Writes `line` raw and flushes it (a write error is ignored: the latch is durable).
    fn event(&mut self, _event: &WatchdogEvent, line: &str) {
        let _ = self.write_all(line.as_bytes()).and_then(|()| self.flush());
    }
}

/// A caller's sink of any (possibly unsized) type, as the `&mut dyn EventSink` the tick
/// passes around.
pub(crate) struct Forward<'a, E: EventSink + ?Sized>(pub(crate) &'a mut E);

impl<E: EventSink + ?Sized> EventSink for Forward<'_, E> {
    fn event(&mut self, event: &WatchdogEvent, line: &str) {
        self.0.event(event, line);
    }
}

/// Announces `event` on `sink`.
pub(crate) fn emit(sink: &mut dyn EventSink, event: &WatchdogEvent) {
    sink.event(event, &event.line());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that keeps the typed events.
    #[derive(Default)]
    struct Typed(Vec<String>);

    impl EventSink for Typed {
        fn event(&mut self, event: &WatchdogEvent, _line: &str) {
            self.0.push(event.kind.clone());
        }
    }

    fn event() -> WatchdogEvent {
        WatchdogEvent {
            kind: "state_mismatch".into(),
            previous_safe_block: Some(2),
            sequencer_inclusion_block: Some(12),
            mismatch_offset: Some(None),
            first_difference: Some(None),
            stop: None,
            canonical_sha256: None,
            sequencer_sha256: None,
            previous_input_count: Some(0),
            input_count: Some(5),
            chain_id: Some(31337),
            app_address: None,
            incident_id: WatchdogEvent::incident_id(0, "state_mismatch", 12),
            detected_at: "1970-01-01T00:00:00Z".into(),
            schema_version: 1,
        }
    }

    #[test]
    fn writers_get_the_raw_line_and_typed_sinks_the_record() {
        let mut bytes = Vec::new();
        emit(&mut Forward(&mut bytes), &event());
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("watchdog_event {\"kind\":\"state_mismatch\""));
        assert!(text.ends_with("}\n"));
        assert_eq!(text.lines().count(), 1);

        let mut typed = Typed::default();
        let dynamic: &mut dyn EventSink = &mut typed;
        emit(&mut Forward(dynamic), &event());
        assert_eq!(typed.0, ["state_mismatch"]);
    }
}
