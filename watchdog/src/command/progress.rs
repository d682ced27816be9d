//! The replay progress bar: drawn on stderr only when it is a terminal and `--no-progress` is
//! not given, never in pipes or logs.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ProgressSink;

/// Replays shorter than this many inputs draw no bar.
const LONG_REPLAY: u64 = 1000;

/// A sink drawing a bar for long replays.
#[derive(Debug, Default)]
struct Bar {
    bar: Mutex<Option<ProgressBar>>,
}

impl ProgressSink for Bar {
    fn start(&self, total: u64) {
        if total < LONG_REPLAY {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "replaying {pos}/{len} inputs [{bar:30}] {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
    }

    fn update(&self, done: u64) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            bar.set_position(done);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}

/// A progress bar on stderr when `enabled` and stderr is a terminal.
pub(super) fn for_stderr(enabled: bool) -> Option<Arc<dyn ProgressSink>> {
    (enabled && std::io::stderr().is_terminal()).then(|| Arc::new(Bar::default()) as _)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_long_replays_get_a_bar_and_finishing_removes_it() {
        let sink = Bar::default();
        sink.start(LONG_REPLAY - 1);
        assert!(sink.bar.lock().unwrap().is_none());
        sink.start(LONG_REPLAY);
        sink.update(10);
        assert_eq!(
            sink.bar.lock().unwrap().as_ref().map(ProgressBar::position),
            Some(10)
        );
        sink.finish();
        assert!(sink.bar.lock().unwrap().is_none());
        assert!(for_stderr(false).is_none(), "--no-progress");
    }
}
