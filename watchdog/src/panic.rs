//! Turning a caught panic into an exit-1 report (class `internal`, reason `panic`).

use std::any::Any;

use crate::{Summary, invocation::redact_urls};

/// The panic payload as text (URLs redacted), for the summary message.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string payload");
    format!("internal error (panic): {}", redact_urls(text))
}

/// The summary of a command that panicked.
pub fn panic_summary(command: Option<&str>, payload: &(dyn Any + Send)) -> Summary {
    Summary::panicked(command, panic_message(payload))
}

/// A panic hook body for binaries: logs the location (never the payload, which may hold data)
/// as `event=panic`. The library never installs it.
pub fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    let location = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_default();
    tracing::error!(target: "watchdog", event = "panic", %location, "panic");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_become_internal_failures() {
        let payload: Box<dyn Any + Send> = Box::new(String::from("boom at https://u:K@h/SECRET"));
        let s = panic_summary(Some("tick"), payload.as_ref());
        assert_eq!(s.exit_code(), 1);
        assert!(s.line().contains(r#""class":"internal""#));
        assert!(s.line().contains(r#""reason":"panic""#));
        assert!(!s.message().contains("SECRET"), "{}", s.message());
        let payload: Box<dyn Any + Send> = Box::new(7u8);
        assert!(panic_message(payload.as_ref()).ends_with("non-string payload"));
    }
}
