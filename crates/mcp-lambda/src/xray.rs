//! The function's own spans: one X-Ray subsegment per MCP request, sent to
//! the X-Ray daemon Lambda runs beside the function (UDP,
//! `AWS_XRAY_DAEMON_ADDRESS`) when the invocation is sampled (its trace
//! header says `Sampled=1`: active tracing, `mcp-deploy --tracing`). An
//! unsampled invocation costs one header scan and nothing else.
//!
//! The subsegment follows the OpenTelemetry semantic conventions for MCP
//! (opentelemetry.io/docs/specs/semconv/gen-ai/mcp, status Development) as
//! far as X-Ray can carry them: its name is `{mcp.method.name} {target}`
//! (`tools/call word_count`), and the attributes go under `metadata.otel`
//! with their dotted names (`mcp.method.name`, `gen_ai.tool.name`,
//! `gen_ai.operation.name` = `execute_tool`, `error.type`,
//! `network.transport`); X-Ray annotation keys take no dots, so the
//! searchable copies are `mcp_method_name`, `gen_ai_tool_name` and
//! `mcp_outcome`. Format: X-Ray developer guide, "AWS X-Ray segment
//! documents" (a subsegment sent on its own names its `trace_id` and
//! `parent_id`, the function segment's id from the trace header).

use std::net::UdpSocket;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcp_http::CallOutcome;
use serde_json::{Map, Value, json};

/// The daemon's header line of every document.
const HEADER: &str = "{\"format\":\"json\",\"version\":1}\n";

/// A connected UDP socket to the daemon.
#[derive(Debug)]
pub struct XRay {
    socket: UdpSocket,
}

/// One MCP request, as the span records it.
#[derive(Debug)]
pub struct Span<'a> {
    /// The JSON-RPC method (`-`: none was read).
    pub method: &'a str,
    /// The tool, prompt or resource it names, if any.
    pub target: Option<&'a str>,
    /// A `tools/call`'s outcome.
    pub outcome: Option<CallOutcome>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// How long it took.
    pub duration: Duration,
    /// The W3C trace id of the request's own `traceparent`, when it is not
    /// the invocation's X-Ray trace (searchable as `mcp_trace_id`).
    pub trace_id: Option<&'a str>,
}

impl XRay {
    /// The daemon Lambda names (`AWS_XRAY_DAEMON_ADDRESS`, `host:port` or
    /// the SDKs' `udp:host:port tcp:host:port`); `None` outside Lambda.
    pub fn from_env() -> Option<XRay> {
        let value = std::env::var("AWS_XRAY_DAEMON_ADDRESS").ok()?;
        let udp = value
            .split_whitespace()
            .find_map(|part| part.strip_prefix("udp:"))
            .unwrap_or(value.split_whitespace().next()?);
        let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
        socket.connect(udp).ok()?;
        socket.set_nonblocking(true).ok()?;
        Some(XRay { socket })
    }

    /// Sends `span` as a subsegment of the invocation whose trace header is
    /// `header`, if that invocation is sampled. Never fails the request: a
    /// lost datagram is a lost span, as with the daemon itself.
    pub fn send(&self, header: &str, span: &Span<'_>) {
        let Some((root, parent)) = sampled(header) else {
            return;
        };
        let end = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let start = end.saturating_sub(span.duration);
        let document = document(root, parent, span, start, end);
        let _ = self.socket.send(format!("{HEADER}{document}").as_bytes());
    }
}

/// Lambda's X-Ray trace header (`Root=1-{8 hex}-{24 hex};Parent={16
/// hex};Sampled={0|1}`, the value of `_X_AMZN_TRACE_ID`), read once for the
/// call's W3C trace ([`crate::xray_traceparent`]) and its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceHeader<'a> {
    /// `Root`: the trace id.
    pub root: &'a str,
    /// `Parent`: the function segment's id.
    pub parent: &'a str,
    /// `Sampled=1`.
    pub sampled: bool,
}

impl<'a> TraceHeader<'a> {
    /// The header's fields; `None` without a root or a parent.
    pub fn parse(header: &'a str) -> Option<TraceHeader<'a>> {
        let (mut root, mut parent, mut sampled) = (None, None, false);
        for part in header.split(';') {
            match part.trim().split_once('=') {
                Some(("Root", value)) => root = Some(value),
                Some(("Parent", value)) => parent = Some(value),
                Some(("Sampled", value)) => sampled = value == "1",
                _ => {}
            }
        }
        Some(TraceHeader {
            root: root?,
            parent: parent?,
            sampled,
        })
    }
}

/// The root and parent of a sampled trace header; `None` when unsampled.
fn sampled(header: &str) -> Option<(&str, &str)> {
    TraceHeader::parse(header)
        .filter(|h| h.sampled)
        .map(|h| (h.root, h.parent))
}

/// A fresh 16-hex-digit id.
fn new_id() -> String {
    mcp_core::hex::random::<8>().unwrap_or_else(|| "0".repeat(16))
}

fn document(root: &str, parent: &str, span: &Span<'_>, start: Duration, end: Duration) -> Value {
    let name = match span.target {
        Some(target) => format!("{} {target}", span.method),
        None => span.method.to_owned(),
    };
    let mut otel = Map::new();
    otel.insert("span.kind".into(), json!("server"));
    otel.insert("mcp.method.name".into(), json!(span.method));
    otel.insert("network.transport".into(), json!("tcp"));
    let mut annotations = Map::new();
    annotations.insert("mcp_method_name".into(), json!(span.method));
    if let Some(trace_id) = span.trace_id {
        annotations.insert("mcp_trace_id".into(), json!(trace_id));
    }
    if span.method == "tools/call"
        && let Some(tool) = span.target
    {
        otel.insert("gen_ai.tool.name".into(), json!(tool));
        otel.insert("gen_ai.operation.name".into(), json!("execute_tool"));
        annotations.insert("gen_ai_tool_name".into(), json!(tool));
    }
    let outcome = span.outcome.map(CallOutcome::as_str);
    if let Some(outcome) = outcome {
        annotations.insert("mcp_outcome".into(), json!(outcome));
    }
    let failed = span.status >= 500 || outcome == Some("failed");
    let refused = !failed && (span.status >= 400 || outcome.is_some_and(|o| o != "ok"));
    if failed || refused {
        let kind = outcome.map_or_else(|| span.status.to_string(), str::to_owned);
        otel.insert("error.type".into(), json!(kind));
    }
    json!({
        "name": name,
        "id": new_id(),
        "trace_id": root,
        "parent_id": parent,
        "type": "subsegment",
        "start_time": start.as_secs_f64(),
        "end_time": end.as_secs_f64(),
        "fault": failed,
        "error": refused,
        "annotations": annotations,
        "metadata": {"otel": otel},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sampled_headers_make_spans() {
        let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(
            sampled(header),
            Some(("1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8"))
        );
        assert_eq!(sampled(&header.replace("Sampled=1", "Sampled=0")), None);
        assert_eq!(sampled("Root=1-5759e988-bd862e3fe1be46a994272793"), None);
    }

    #[test]
    fn a_tool_calls_span_follows_the_mcp_conventions() {
        let span = Span {
            method: "tools/call",
            target: Some("word_count"),
            outcome: Some(CallOutcome::ToolError),
            status: 200,
            duration: Duration::from_millis(3),
            trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736"),
        };
        let doc = document(
            "1-5759e988-bd862e3fe1be46a994272793",
            "53995c3f42cd8ad8",
            &span,
            Duration::from_secs(10),
            Duration::from_millis(10_003),
        );
        assert_eq!(doc["name"], "tools/call word_count");
        assert_eq!(
            doc["metadata"]["otel"]["gen_ai.operation.name"],
            "execute_tool"
        );
        assert_eq!(doc["metadata"]["otel"]["error.type"], "tool_error");
        assert_eq!(doc["annotations"]["gen_ai_tool_name"], "word_count");
        assert_eq!(
            doc["annotations"]["mcp_trace_id"],
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(
            (doc["error"].clone(), doc["fault"].clone()),
            (json!(true), json!(false))
        );
        assert_eq!(doc["id"].as_str().map(str::len), Some(16));
    }
}
