//! Rung 1 of the hosting ladder: the project's tools over stdio.
//!
//! Newline-delimited JSON-RPC on stdin and stdout, as the MCP stdio transport
//! defines it. Stdout carries nothing but protocol; logs go to stderr. Every
//! line is bounded, so an oversized or malformed line costs one error reply
//! and the server keeps serving.
//!
//! ```no_run
//! let settings = mcp_settings::FunctionSettings::from_env().expect("usable settings");
//! let server = mcp_local::server(&settings).expect("tools register");
//! let stdin = std::io::stdin().lock();
//! mcp_local::serve(&server, stdin, std::io::stdout(), &mcp_local::Config::default())
//!     .expect("stdio works");
//! ```

use std::io::{self, BufRead, Write};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use mcp_core::{ErrorObject, Notify, Reply, RequestContext, Response, Server, ServerInfo, Session};
use mcp_settings::{FunctionSettings, Setting};
use serde_json::Value;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// The longest line accepted by default (4 MiB): far above any real tool call.
pub const DEFAULT_MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// How the stdio server behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Lines longer than this are refused with an error reply and discarded
    /// without being held in memory.
    pub max_line_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }
}

/// The stdio server with every portable tool, and the parts of `settings`
/// that apply on stdio: the fixture pack, the scopes per tool, the limits.
pub fn server(settings: &FunctionSettings) -> anyhow::Result<Server> {
    let catalog = mcp_tools::Catalog::portable()
        .and_then(|catalog| catalog.with_fixtures(settings.conformance_fixtures))
        .context("failed to register the tools, resources and prompts")?;
    let mut info = ServerInfo::new("mcp-local", env!("CARGO_PKG_VERSION"));
    info.title = Some("MCP ladder (local stdio)".into());
    let mut server = catalog.serve(info).with_instructions(
        "Local tools that compute over what you pass them; they read no files and reach no network.",
    );
    // Scopes filter only callers whose identity carries scopes; on stdio
    // there is none, but a bad setting is still refused at start.
    server = mcp_tools::govern(server, settings)?;
    // One process serves every call of a stdio connection: a key of its own
    // seals the requestState of its multi round-trip requests.
    server = server.with_state_key(
        mcp_core::StateKey::random().context("failed to make the requestState key")?,
    );
    // On stdio the caller is `local`; a refused call is a JSON-RPC error, no headers.
    Ok(match &settings.rate_limits {
        Some(text) => server.with_rate_limits(
            mcp_core::limits::Limits::parse(text).map_err(|e| Setting::RateLimits.invalid(e))?,
        ),
        None => server,
    })
}

/// One line read from the input.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A whole line, without its terminator.
    Complete,
    /// A line over the limit: its bytes were discarded as they arrived.
    TooLong,
}

/// Reads one line into `buf` (cleared first), holding at most `max` bytes.
/// `None` at end of input.
fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<Option<Line>> {
    buf.clear();
    let mut too_long = false;
    let mut seen_any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(match (seen_any, too_long) {
                (false, _) => None,
                (true, true) => Some(Line::TooLong),
                (true, false) => Some(Line::Complete),
            });
        }
        seen_any = true;
        let newline = available.iter().position(|&b| b == b'\n');
        let chunk = &available[..newline.unwrap_or(available.len())];
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                buf.clear();
                buf.shrink_to(max.min(64 * 1024));
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let used = chunk.len() + usize::from(newline.is_some());
        input.consume(used);
        if newline.is_some() {
            return Ok(Some(if too_long {
                Line::TooLong
            } else {
                Line::Complete
            }));
        }
    }
}

/// A tool's notifications as stdout lines, written while it runs.
struct Lines(UnboundedSender<Vec<u8>>);

impl Notify for Lines {
    fn send(&self, notification: Value) {
        let mut line = serde_json::to_vec(&notification).unwrap_or_default();
        line.push(b'\n');
        // The receiver lives as long as the call: a send cannot fail while it runs.
        let _ = self.0.send(line);
    }
}

/// Serves one connection until end of input.
///
/// Lines are read on this thread; each message's tool calls run on a
/// current-thread tokio runtime, so tools can do asynchronous I/O. A tool's
/// progress and log notifications are written as lines while it runs,
/// before its result (each line whole: nothing else is written meanwhile).
pub fn serve(
    server: &Server,
    mut input: impl BufRead,
    mut output: impl Write,
    config: &Config,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut session = Session::new();
    let (notes, mut pending) = unbounded_channel::<Vec<u8>>();
    // One sink for the connection: each message's context shares it.
    let notify: Arc<dyn Notify> = Arc::new(Lines(notes));
    let mut line = Vec::new();
    while let Some(kind) = read_line(&mut input, &mut line, config.max_line_bytes)? {
        let started = Instant::now();
        let reply = match kind {
            Line::TooLong => {
                tracing::warn!(limit = config.max_line_bytes, "refused an oversized line");
                Some(Reply::One(Response::error(
                    None,
                    ErrorObject::invalid_request(format!(
                        "message longer than {} bytes: it was discarded",
                        config.max_line_bytes
                    )),
                )))
            }
            Line::Complete => {
                let text = line.strip_suffix(b"\r").unwrap_or(&line);
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let request = RequestContext {
                    notify: Arc::clone(&notify),
                    ..RequestContext::default()
                };
                let handled = server.handle_bytes(&mut session, text, &request);
                runtime.block_on(while_writing_notes(handled, &mut pending, &mut output))?
            }
        };
        if let Some(reply) = reply {
            write_reply(&mut output, &reply)?;
        }
        tracing::debug!(
            elapsed_us = started.elapsed().as_micros() as u64,
            "handled a line"
        );
    }
    Ok(())
}

/// Runs `handled`, writing each notification it sends as it arrives, and
/// the ones left when it ends.
async fn while_writing_notes<T>(
    handled: impl Future<Output = T>,
    pending: &mut UnboundedReceiver<Vec<u8>>,
    output: &mut impl Write,
) -> io::Result<T> {
    let mut handled = std::pin::pin!(handled);
    let done = loop {
        tokio::select! {
            biased;
            Some(note) = pending.recv() => {
                output.write_all(&note)?;
                output.flush()?;
            }
            done = &mut handled => break done,
        }
    };
    while let Ok(note) = pending.try_recv() {
        output.write_all(&note)?;
    }
    output.flush()?;
    Ok(done)
}

fn write_reply(output: &mut impl Write, reply: &Reply) -> io::Result<()> {
    let mut bytes = reply.to_vec();
    bytes.push(b'\n');
    // One write per reply: a line is never interleaved with anything else.
    output.write_all(&bytes)?;
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn run(input: &[u8], max: usize) -> Vec<Value> {
        let server = server(&FunctionSettings::default()).unwrap();
        let mut out = Vec::new();
        serve(
            &server,
            input,
            &mut out,
            &Config {
                max_line_bytes: max,
            },
        )
        .unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Counts to three, reporting each step, and logs once.
    struct Steps;

    impl mcp_core::Tool for Steps {
        type Args = mcp_core::NoArgs;
        type Output = serde_json::Map<String, Value>;
        fn definition(&self) -> mcp_core::ToolDefinition {
            mcp_core::ToolDefinition::new("steps", "Counts to three.")
        }
        async fn call(
            &self,
            _: mcp_core::NoArgs,
            cx: &mcp_core::CallContext<'_>,
        ) -> Result<Self::Output, mcp_core::ToolError> {
            for step in 1..=3 {
                tokio::task::yield_now().await;
                cx.progress(f64::from(step), Some(3.0), Some("counting"));
            }
            cx.log(mcp_core::LogLevel::Info, &serde_json::json!("counted"));
            Ok(serde_json::Map::from_iter([("steps".to_owned(), 3.into())]))
        }
    }

    fn steps_session(version: &str, token: &str) -> Vec<Value> {
        let mut tools = mcp_core::ToolRegistry::new();
        tools.register(Steps).unwrap();
        let server = Server::new(ServerInfo::new("t", "0"), tools);
        let input = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{{\"protocolVersion\":\"{version}\",\"capabilities\":{{}},\"clientInfo\":{{\"name\":\"t\",\"version\":\"0\"}}}}}}\n\
             {{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{{\"name\":\"steps\"{token}}}}}\n"
        );
        let mut out = Vec::new();
        serve(&server, input.as_bytes(), &mut out, &Config::default()).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn progress_and_logs_are_lines_before_the_result() {
        let lines = steps_session("2025-11-25", r#","_meta":{"progressToken":"p-7"}"#);
        let methods: Vec<&str> = lines
            .iter()
            .map(|l| l["method"].as_str().unwrap_or("-"))
            .collect();
        assert_eq!(
            methods,
            [
                "-",
                "notifications/progress",
                "notifications/progress",
                "notifications/progress",
                "notifications/message",
                "-"
            ]
        );
        let progress: Vec<f64> = lines[1..4]
            .iter()
            .map(|l| l["params"]["progress"].as_f64().unwrap())
            .collect();
        assert_eq!(progress, [1.0, 2.0, 3.0]);
        assert!(
            lines[1..4]
                .iter()
                .all(|l| l["params"]["progressToken"] == "p-7"
                    && l["params"]["total"] == 3.0
                    && l["params"]["message"] == "counting")
        );
        assert_eq!(
            lines[4]["params"],
            serde_json::json!({"level": "info", "data": "counted"})
        );
        assert_eq!(lines[5]["id"], 2);
        assert_eq!(lines[5]["result"]["structuredContent"]["steps"], 3);

        // 2024-11-05 has no progress `message`; without a token, no progress at all.
        let old = steps_session("2024-11-05", r#","_meta":{"progressToken":5}"#);
        assert!(
            old[1]["params"].get("message").is_none() && old[1]["params"]["progressToken"] == 5
        );
        let untracked = steps_session("2025-11-25", "");
        assert!(
            untracked
                .iter()
                .all(|l| l["method"] != "notifications/progress")
        );
    }

    #[test]
    fn oversized_line_is_refused_and_serving_goes_on() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n");
        let replies = run(&input, 64);
        assert_eq!(replies.len(), 2);
        assert_eq!(replies[0]["error"]["code"], -32600);
        assert_eq!(replies[0]["id"], Value::Null);
        assert_eq!(
            replies[1],
            serde_json::json!({"jsonrpc":"2.0","id":1,"result":{}})
        );
    }

    #[test]
    fn malformed_then_valid_and_crlf_and_blank_lines() {
        let input = b"{oops\n\n   \r\n{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"ping\"}\r\n";
        let replies = run(input, 1024);
        assert_eq!(replies.len(), 2);
        assert_eq!(replies[0]["error"]["code"], -32700);
        assert_eq!(replies[1]["id"], "a");
    }

    #[test]
    fn last_line_without_newline_is_served() {
        let replies = run(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", 1024);
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0]["id"], 2);
    }

    #[test]
    fn reader_bounds_memory() {
        let input = vec![b'y'; 10_000];
        let mut reader = io::BufReader::with_capacity(16, &input[..]);
        let mut buf = Vec::new();
        assert_eq!(
            read_line(&mut reader, &mut buf, 100).unwrap(),
            Some(Line::TooLong)
        );
        assert!(buf.capacity() <= 200, "kept {} bytes", buf.capacity());
        assert_eq!(read_line(&mut reader, &mut buf, 100).unwrap(), None);
    }
}
