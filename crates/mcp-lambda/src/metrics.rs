//! Metrics without an agent: CloudWatch embedded metric format (EMF) lines
//! on standard output, which Lambda sends to the function's log group and
//! CloudWatch Logs turns into metrics (AWS: "Using the embedded metric
//! format with Lambda", and "Specification: Embedded metric format").
//!
//! One line per `tools/call`, in the namespace of
//! [`Setting::MetricsNamespace`](mcp_settings::Setting::MetricsNamespace):
//! - `Calls` (Count, 1) by no dimension, by `tool`, by `outcome` and by
//!   both, so that a dashboard can draw calls and refusals per tool and an
//!   alarm can divide the failed calls by all calls;
//! - `Duration` (Milliseconds) by no dimension and by `tool`, for p50/p99;
//! - as plain members: `traceId` (the call's W3C trace id) and `requestId`.
//!
//! And one line when an instance starts: `ColdStart` (Count, 1), no
//! dimension. A tool name that is not registered is written as
//! [`UNKNOWN_TOOL`], so that a caller cannot make new metrics (each one is
//! billed) by inventing names.
//!
//! The format is a documented JSON shape; the lines are written with
//! serde_json, the directive (which only the namespace changes) once at
//! start.

use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcp_http::CallOutcome;
use mcp_settings::FunctionSettings;

/// The `tool` dimension of a call of a tool that is not registered.
pub const UNKNOWN_TOOL: &str = "(unknown)";

/// The EMF writer of one instance; `None` in the app when metrics are off.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// The `CloudWatchMetrics` array of a call's line, as JSON.
    call_directives: String,
    /// The `CloudWatchMetrics` array of the cold start's line, as JSON.
    cold_start_directives: String,
}

/// One finished `tools/call`, as its metric line tells it.
#[derive(Debug, Clone, Copy)]
pub struct CallRecord<'a> {
    /// The registered tool's name, or [`UNKNOWN_TOOL`].
    pub tool: &'a str,
    /// How it ended.
    pub outcome: CallOutcome,
    /// From the request to its reply.
    pub duration: Duration,
    /// The call's W3C trace id (32 hex digits), if it has a trace.
    pub trace_id: Option<&'a str>,
    /// The Lambda request id.
    pub request_id: &'a str,
}

impl Metrics {
    /// The writer `settings` ask for; `None` when `MCP_METRICS=off`.
    pub fn from_settings(settings: &FunctionSettings) -> Option<Metrics> {
        settings.metrics().map(Metrics::new)
    }

    /// A writer for `namespace`.
    pub fn new(namespace: &str) -> Metrics {
        let namespace = serde_json::Value::from(namespace);
        let directive = |dimensions: &str, metrics: &str| {
            format!(r#"{{"Namespace":{namespace},"Dimensions":{dimensions},"Metrics":{metrics}}}"#)
        };
        let calls = directive(
            r#"[[],["tool"],["outcome"],["tool","outcome"]]"#,
            r#"[{"Name":"Calls","Unit":"Count"}]"#,
        );
        let duration = directive(
            r#"[[],["tool"]]"#,
            r#"[{"Name":"Duration","Unit":"Milliseconds"}]"#,
        );
        let cold = directive("[[]]", r#"[{"Name":"ColdStart","Unit":"Count"}]"#);
        Metrics {
            call_directives: format!("[{calls},{duration}]"),
            cold_start_directives: format!("[{cold}]"),
        }
    }

    /// The line of one call, ending in a newline.
    pub fn call_line(&self, call: &CallRecord<'_>, at: SystemTime) -> Vec<u8> {
        let mut line = Vec::with_capacity(512);
        self.open(&mut line, &self.call_directives, at);
        let text = |line: &mut Vec<u8>, key: &str, value: &str| {
            // Writing to a Vec cannot fail; a string always serialises.
            let _ = write!(line, ",\"{key}\":");
            let _ = serde_json::to_writer(&mut *line, value);
        };
        text(&mut line, "tool", call.tool);
        text(&mut line, "outcome", call.outcome.as_str());
        // Milliseconds to the microsecond, in integer arithmetic (cheaper
        // than formatting a float, on every call).
        let us = u64::try_from(call.duration.as_micros()).unwrap_or(u64::MAX);
        let _ = write!(
            line,
            ",\"Calls\":1,\"Duration\":{}.{:03}",
            us / 1000,
            us % 1000
        );
        if let Some(trace_id) = call.trace_id {
            text(&mut line, "traceId", trace_id);
        }
        text(&mut line, "requestId", call.request_id);
        line.extend_from_slice(b"}\n");
        line
    }

    /// The line of an instance's start, ending in a newline.
    pub fn cold_start_line(&self, at: SystemTime) -> Vec<u8> {
        let mut line = Vec::with_capacity(256);
        self.open(&mut line, &self.cold_start_directives, at);
        line.extend_from_slice(b",\"ColdStart\":1}\n");
        line
    }

    /// `{"_aws":{...}` with the timestamp (milliseconds since the epoch).
    fn open(&self, line: &mut Vec<u8>, directives: &str, at: SystemTime) {
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let ms = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
        let _ = write!(
            line,
            r#"{{"_aws":{{"Timestamp":{ms},"CloudWatchMetrics":{directives}}}"#
        );
    }

    /// Writes the line of one call to standard output.
    pub fn record(&self, call: &CallRecord<'_>) {
        emit(&self.call_line(call, SystemTime::now()));
    }

    /// Writes the cold start's line to standard output.
    pub fn record_cold_start(&self) {
        emit(&self.cold_start_line(SystemTime::now()));
    }
}

/// One whole line on standard output (what Lambda reads as one log event);
/// a write that fails loses the metric, never the call.
fn emit(line: &[u8]) {
    let _ = std::io::stdout().lock().write_all(line);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(line: &[u8]) -> Value {
        assert!(line.ends_with(b"\n"), "one line");
        serde_json::from_slice(line).unwrap()
    }

    #[test]
    fn a_call_is_one_emf_document() {
        let metrics = Metrics::new("mcp/\"quoted\"");
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let call = CallRecord {
            tool: "word\"count",
            outcome: CallOutcome::Limited,
            duration: Duration::from_micros(1_250),
            trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736"),
            request_id: "r-1",
        };
        let line = parse(&metrics.call_line(&call, at));
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_123u64);
        let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 2);
        assert!(
            directives
                .iter()
                .all(|d| d["Namespace"] == "mcp/\"quoted\"")
        );
        assert_eq!(
            directives[0]["Metrics"],
            json!([{"Name": "Calls", "Unit": "Count"}])
        );
        assert_eq!(
            directives[0]["Dimensions"],
            json!([[], ["tool"], ["outcome"], ["tool", "outcome"]])
        );
        assert_eq!(directives[1]["Metrics"][0]["Unit"], "Milliseconds");
        assert_eq!(line["tool"], "word\"count");
        assert_eq!(line["outcome"], "limited");
        assert_eq!(line["Calls"], 1);
        assert_eq!(line["Duration"], 1.25);
        assert_eq!(line["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(line["requestId"], "r-1");
        let untraced = parse(&metrics.call_line(
            &CallRecord {
                trace_id: None,
                ..call
            },
            at,
        ));
        assert!(untraced.get("traceId").is_none());
    }

    #[test]
    fn a_cold_start_has_no_dimension() {
        let line = parse(&Metrics::new("ns").cold_start_line(UNIX_EPOCH));
        assert_eq!(line["ColdStart"], 1);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"],
            json!([{"Namespace": "ns", "Dimensions": [[]], "Metrics": [{"Name": "ColdStart", "Unit": "Count"}]}])
        );
    }

    #[test]
    fn off_is_none() {
        let off = FunctionSettings {
            metrics_off: true,
            ..FunctionSettings::default()
        };
        assert!(Metrics::from_settings(&off).is_none());
        assert!(Metrics::from_settings(&FunctionSettings::default()).is_some());
    }
}
