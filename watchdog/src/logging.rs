//! The log subscriber the binary installs: stderr only, text or JSON, filtered by `RUST_LOG`.
//! The library only builds it; installing it is the caller's decision.
//!
//! JSON lines carry `ts`, `level`, `target`, `event`, `message`, then the other fields in the
//! order they were recorded, rendered like every other JSON output (ASCII, no whitespace).

use std::fmt;

use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{
    EnvFilter,
    fmt::{
        FmtContext, FormatEvent, FormatFields,
        format::Writer,
        time::{FormatTime, SystemTime},
    },
    registry::LookupSpan,
};

pub use crate::cli::LogFormat;
use crate::json::{ObjectWriter, RawJson};

/// The filter used when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "info";

/// Builds the stderr subscriber. An invalid `filter` falls back to [`DEFAULT_FILTER`]; the
/// returned warning says so, for the caller to log once the subscriber is installed.
pub fn subscriber(
    format: LogFormat,
    filter: Option<&str>,
) -> (Box<dyn Subscriber + Send + Sync>, Option<String>) {
    let (filter, warning) = match filter.map(EnvFilter::try_new) {
        None => (EnvFilter::new(DEFAULT_FILTER), None),
        Some(Ok(filter)) => (filter, None),
        Some(Err(e)) => (
            EnvFilter::new(DEFAULT_FILTER),
            Some(format!("RUST_LOG ignored ({e}); using {DEFAULT_FILTER}")),
        ),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    let subscriber: Box<dyn Subscriber + Send + Sync> = match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(builder.event_format(JsonLine).finish()),
    };
    (subscriber, warning)
}

/// Formats one event as one compact JSON object.
#[derive(Debug, Clone, Copy, Default)]
struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut ts = String::new();
        SystemTime.format_time(&mut Writer::new(&mut ts))?;
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let mut w = ObjectWriter::new();
        w.field("ts", &ts)
            .field("level", &meta.level().as_str().to_ascii_lowercase())
            .field("target", meta.target())
            .raw("event", &fields.event.unwrap_or_else(RawJson::null))
            .field("message", &fields.message);
        for (key, value) in &fields.rest {
            w.raw(key, value);
        }
        writeln!(writer, "{}", w.finish())
    }
}

#[derive(Default)]
struct Fields {
    event: Option<RawJson>,
    message: String,
    rest: Vec<(&'static str, RawJson)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: RawJson) {
        match field.name() {
            "event" => self.event = Some(value),
            // Keys of the line itself: a field with such a name is kept under a prefix.
            "ts" => self.rest.push(("field_ts", value)),
            "level" => self.rest.push(("field_level", value)),
            "target" => self.rest.push(("field_target", value)),
            name => self.rest.push((name, value)),
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.put(field, RawJson::of(value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, RawJson::of(&value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, RawJson::of(&value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, RawJson::of(&value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.put(field, RawJson::of(&text));
        }
    }
}
