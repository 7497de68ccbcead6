//! A local stand-in for the X-Ray daemon Lambda runs beside a function
//! (`AWS_XRAY_DAEMON_ADDRESS`, UDP): it takes the segment documents the
//! function sends, checks them as X-Ray does, and keeps them for tests
//! (`GET /traces` beside `statsUrl`).
//!
//! What is checked (X-Ray developer guide, "AWS X-Ray segment documents"
//! and "Sending trace data to X-Ray"): each datagram is the header
//! `{"format": "json", "version": 1}`, a newline, then one document of at
//! most 64 KB; a document has a `name`, a 16-hex-digit `id`, a `trace_id`
//! (`1-{8 hex}-{24 hex}`), a `start_time`, and an `end_time` or
//! `in_progress`; a subsegment sent on its own says `"type": "subsegment"`
//! and names its `parent_id`; annotation keys are letters, digits and
//! underscores, their values strings, numbers or booleans. A document that
//! fails is counted and dropped, as the daemon drops what X-Ray would refuse.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::lock;

/// The largest segment document X-Ray takes.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// How many documents one run keeps (the oldest go first).
const KEPT: usize = 1000;

/// The documents the function sent.
#[derive(Debug, Default)]
pub struct Segments {
    documents: Mutex<Vec<Value>>,
    invalid: AtomicU64,
}

impl Segments {
    /// Takes one datagram.
    pub fn take(&self, datagram: &[u8]) {
        match parse(datagram) {
            Ok(document) => {
                let mut documents = lock(&self.documents);
                if documents.len() >= KEPT {
                    documents.remove(0);
                }
                documents.push(document);
            }
            Err(why) => {
                tracing::warn!(%why, "the function sent an invalid X-Ray segment document");
                self.invalid.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The documents kept, oldest first.
    pub fn json(&self) -> Value {
        Value::Array(lock(&self.documents).clone())
    }

    /// How many documents were dropped as invalid.
    pub fn invalid(&self) -> u64 {
        self.invalid.load(Ordering::Relaxed)
    }
}

fn hex(text: Option<&str>, digits: usize) -> bool {
    text.is_some_and(|t| t.len() == digits && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn parse(datagram: &[u8]) -> Result<Value, String> {
    if datagram.len() > MAX_DOCUMENT_BYTES {
        return Err(format!("{} bytes, over 64 KB", datagram.len()));
    }
    let text = std::str::from_utf8(datagram).map_err(|e| e.to_string())?;
    let (header, body) = text.split_once('\n').ok_or("no header line")?;
    let header: Value = serde_json::from_str(header).map_err(|e| format!("header: {e}"))?;
    if header["format"] != "json" || header["version"] != 1 {
        return Err(format!(
            "header {header}, not {{\"format\": \"json\", \"version\": 1}}"
        ));
    }
    let document: Value = serde_json::from_str(body).map_err(|e| format!("document: {e}"))?;
    let field = |name: &str| document.get(name).and_then(Value::as_str);
    if field("name").is_none_or(|n| n.is_empty() || n.chars().count() > 200) {
        return Err("no name, or one over 200 characters".into());
    }
    if !hex(field("id"), 16) {
        return Err("id is not 16 hex digits".into());
    }
    let trace = field("trace_id").unwrap_or_default();
    let parts: Vec<&str> = trace.split('-').collect();
    if parts.len() != 3 || parts[0] != "1" || !hex(Some(parts[1]), 8) || !hex(Some(parts[2]), 24) {
        return Err(format!("trace_id {trace:?} is not 1-{{8 hex}}-{{24 hex}}"));
    }
    if !document["start_time"].is_number() {
        return Err("no start_time".into());
    }
    if !document["end_time"].is_number() && document["in_progress"] != true {
        return Err("neither end_time nor in_progress".into());
    }
    if field("type") == Some("subsegment") && !hex(field("parent_id"), 16) {
        return Err("a subsegment sent alone needs a 16-hex-digit parent_id".into());
    }
    for (key, value) in document["annotations"].as_object().into_iter().flatten() {
        if !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "annotation key {key:?}: letters, digits and _ only"
            ));
        }
        if !(value.is_string() || value.is_number() || value.is_boolean()) {
            return Err(format!("annotation {key:?}: a string, number or boolean"));
        }
    }
    Ok(document)
}

/// Starts the daemon on a 127.0.0.1 UDP port; its address, for
/// `AWS_XRAY_DAEMON_ADDRESS`.
pub async fn start(segments: std::sync::Arc<Segments>) -> std::io::Result<SocketAddr> {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let addr = socket.local_addr()?;
    tokio::spawn(async move {
        let mut buffer = vec![0u8; MAX_DOCUMENT_BYTES + 1];
        while let Ok(read) = socket.recv(&mut buffer).await {
            segments.take(&buffer[..read]);
        }
    });
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";

    #[test]
    fn documents_are_checked_as_xray_checks_them() {
        let segments = Segments::default();
        let good = r#"{"name":"tools/call word_count","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","parent_id":"53995c3f42cd8ad8","type":"subsegment","start_time":1.5,"end_time":1.6,"annotations":{"mcp_method_name":"tools/call"}}"#;
        segments.take(format!("{HEADER}{good}").as_bytes());
        assert_eq!(segments.json().as_array().map(Vec::len), Some(1));
        for bad in [
            good.to_owned(),
            format!("{HEADER}{}", good.replace("70de5b6f19ff9a0a", "70de5b")),
            format!("{HEADER}{}", good.replace("\"1-581cf771", "\"2-581cf771")),
            format!("{HEADER}{}", good.replace(",\"end_time\":1.6", "")),
            format!(
                "{HEADER}{}",
                good.replace("\"parent_id\":\"53995c3f42cd8ad8\",", "")
            ),
            format!(
                "{HEADER}{}",
                good.replace("mcp_method_name", "mcp.method.name")
            ),
        ] {
            segments.take(bad.as_bytes());
        }
        assert_eq!(segments.invalid(), 6);
        assert_eq!(segments.json().as_array().map(Vec::len), Some(1));
    }
}
