//! The function's log lines: one JSON object per line on stderr, which
//! Lambda sends to CloudWatch Logs, each with the trace of the request it
//! belongs to.
//!
//! tracing-subscriber's JSON format writes the event; [`WithTrace`] adds
//! `"trace_id"` (the 32 hex digits of [`mcp_core::trace::current`]) to a
//! line that does not name one, so that the lines a call causes besides its
//! own `mcp request` line (a limiter that could not count, a failed
//! invocation, a stream cut short) are found by the same id. A line that
//! names its own `trace_id` (the `mcp request` line) is written as it is,
//! at no extra cost; the others are formatted once into a buffer.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The key of the trace id in a log line.
pub const TRACE_ID: &str = "trace_id";

/// An event format that adds the current trace id to a line without one.
#[derive(Debug)]
pub struct WithTrace<F>(pub F);

impl<S, N, F> FormatEvent<S, N> for WithTrace<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let current = mcp_core::trace::current();
        let named = event.metadata().fields().field(TRACE_ID).is_some();
        let Some(id) = current.filter(|_| !named) else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        if let (Some(end), Ok(id)) = (line.rfind('}'), std::str::from_utf8(&id)) {
            line.insert_str(end, &format!(",\"{TRACE_ID}\":\"{id}\""));
        }
        writer.write_str(&line)
    }
}

/// The function's JSON event format, before the trace is added: no time
/// (CloudWatch stamps every line), no span lists.
pub fn json_format() -> Format<Json, ()> {
    tracing_subscriber::fmt::format()
        .json()
        .without_time()
        .with_current_span(false)
        .with_span_list(false)
}

/// Installs the function's logger on stderr at `level`.
pub fn init(level: LevelFilter) {
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .fmt_fields(JsonFields::new())
        .event_format(WithTrace(json_format()))
        .init();
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// The lines `log` writes through the function's format.
    fn lines(log: impl FnOnce()) -> Vec<serde_json::Value> {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = Arc::clone(&out);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || Sink(Arc::clone(&sink)))
            .fmt_fields(JsonFields::new())
            .event_format(WithTrace(json_format()))
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(out.lock().map(|o| o.clone()).unwrap_or_default());
        text.unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_default())
            .collect()
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut out) = self.0.lock() {
                out.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_of_a_request_carries_its_trace() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let other = "0af7651916cd43dd8448eb211c80319c";
        let logged = lines(|| {
            mcp_core::trace::set_current(None);
            tracing::warn!("before any request");
            mcp_core::trace::set_current(Some(&format!("00-{id}-00f067aa0ba902b7-01")));
            tracing::warn!(tool = "t", "rate limit not checked");
            tracing::info!(trace_id = other, "a line that names its own");
        });
        assert_eq!(logged.len(), 3, "{logged:?}");
        assert!(logged[0].get(TRACE_ID).is_none(), "{}", logged[0]);
        assert_eq!(logged[1][TRACE_ID], id, "{}", logged[1]);
        assert_eq!(logged[1]["fields"]["message"], "rate limit not checked");
        assert_eq!(logged[1]["fields"]["tool"], "t");
        assert!(logged[2].get(TRACE_ID).is_none(), "{}", logged[2]);
        assert_eq!(logged[2]["fields"][TRACE_ID], other);
    }
}
