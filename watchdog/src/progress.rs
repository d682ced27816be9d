//! Progress of long replays. The library only reports to a [`ProgressSink`] the caller
//! installs with [`Watchdog::with_progress`](crate::Watchdog::with_progress); the binary draws
//! a bar on stderr when it is a terminal.

/// Receives the progress of one replay (tick step 10 or `replay`).
pub trait ProgressSink: Send + Sync {
    /// Feeding starts; `total` inputs are expected.
    fn start(&self, total: u64);
    /// `done` of the announced inputs have been fed.
    fn update(&self, done: u64);
    /// Feeding ended, successfully or not.
    fn finish(&self);
}

/// Calls [`ProgressSink::finish`] when dropped, so every path out of a replay ends the bar.
pub(crate) struct Reporting<'a>(Option<&'a dyn ProgressSink>);

impl<'a> Reporting<'a> {
    /// Starts reporting `total` inputs to `sink`, if any.
    pub(crate) fn start(sink: Option<&'a dyn ProgressSink>, total: u64) -> Self {
        if let Some(sink) = sink {
            sink.start(total);
        }
        Self(sink)
    }

    /// The sink, for [`feed`](crate::feed::feed).
    pub(crate) fn sink(&self) -> Option<&'a dyn ProgressSink> {
        self.0
    }
}

impl Drop for Reporting<'_> {
    fn drop(&mut self) {
        if let Some(sink) = self.0 {
            sink.finish();
        }
    }
}
