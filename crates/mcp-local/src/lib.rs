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
//! let stdin = std::io::BufReader::new(std::io::stdin());
//! mcp_local::serve(&server, stdin, std::io::stdout(), &mcp_local::Config::default())
//!     .expect("stdio works");
//! ```

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mcp_core::{
    AskError, ClientChannel, ClientRequests, ErrorObject, Extensions, Notify, Reply,
    RequestContext, Response, Server, ServerInfo, Session,
};
use mcp_settings::{FunctionSettings, Setting};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;

/// The longest line accepted by default (4 MiB): far above any real tool call.
pub const DEFAULT_MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// How the stdio server behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Lines longer than this are refused with an error reply and discarded
    /// without being held in memory.
    pub max_line_bytes: usize,
    /// How long a tool waits for the client's answer to a request it sent
    /// the client (an elicitation, a sampling, its roots) before the call
    /// ends with an error that says so.
    pub answer_wait: Duration,
}

/// How long a tool waits by default for the client's answer to its
/// request: long enough for a person to fill a short form.
pub const DEFAULT_ANSWER_WAIT: Duration = Duration::from_secs(120);

impl Default for Config {
    fn default() -> Self {
        Config {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            answer_wait: DEFAULT_ANSWER_WAIT,
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

/// A server-to-client request on its way out, and where its answer goes.
struct Ask {
    id: String,
    line: Vec<u8>,
    answer: oneshot::Sender<Outcome>,
}

/// A client's response: its `result`, or its error's code and message.
type Outcome = Result<Value, (i64, String)>;

/// Server-to-client requests of a stdio connection ([`mcp_core::ask`]): a
/// request is a line on stdout, its answer a line on stdin, read while the
/// tool waits; the wait is bounded by [`Config::answer_wait`].
struct StdioAsks {
    asks: UnboundedSender<Ask>,
    notes: UnboundedSender<Vec<u8>>,
    next: AtomicU64,
    wait: Duration,
}

impl ClientRequests for StdioAsks {
    fn request<'a>(&'a self, method: &'a str, params: Value) -> mcp_core::ask::Answer<'a> {
        Box::pin(async move {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let id = format!("mcp-local-{n}");
            let mut line = serde_json::to_vec(
                &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
            )
            .unwrap_or_default();
            line.push(b'\n');
            let (answer, answered) = oneshot::channel();
            let undeliverable = |why: &str| AskError::Undeliverable {
                method: method.to_owned(),
                why: why.to_owned(),
            };
            self.asks
                .send(Ask {
                    id: id.clone(),
                    line,
                    answer,
                })
                .map_err(|_| undeliverable("the connection is closing"))?;
            match tokio::time::timeout(self.wait, answered).await {
                Ok(Ok(Ok(result))) => Ok(result),
                Ok(Ok(Err((code, message)))) => Err(AskError::Refused {
                    method: method.to_owned(),
                    code,
                    message,
                }),
                Ok(Err(_)) => Err(undeliverable("the client closed its input")),
                Err(_) => {
                    // Tell the client to stop working on it.
                    let mut cancel = serde_json::to_vec(&json!({
                        "jsonrpc": "2.0",
                        "method": "notifications/cancelled",
                        "params": {"requestId": id, "reason": "no answer in time"}
                    }))
                    .unwrap_or_default();
                    cancel.push(b'\n');
                    let _ = self.notes.send(cancel);
                    Err(AskError::TimedOut {
                        method: method.to_owned(),
                        seconds: self.wait.as_secs(),
                    })
                }
            }
        })
    }
}

/// What the reader thread hands the connection: a line, end of input
/// (`None`), or a read error.
type Read = io::Result<Option<(Line, Vec<u8>)>>;

/// Serves one connection until end of input.
///
/// Lines are read on a thread of their own and messages are handled one
/// after the other on a current-thread tokio runtime, so tools can do
/// asynchronous I/O. A tool's progress and log notifications are written as
/// lines while it runs, before its result (each line whole: nothing else is
/// written meanwhile). A tool that asks the client (at a handshake revision)
/// sends a request line and the connection reads on until the client's
/// response comes or [`Config::answer_wait`] passes; messages that arrive
/// meanwhile are handled after the call, in order.
pub fn serve(
    server: &Server,
    input: impl BufRead + Send,
    mut output: impl Write,
    config: &Config,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (reads, mut lines) = tokio::sync::mpsc::channel::<Read>(4);
    let max = config.max_line_bytes;
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut input = input;
            loop {
                let mut buf = Vec::new();
                let read = read_line(&mut input, &mut buf, max);
                let more = matches!(read, Ok(Some(_)));
                // The connection stopped listening, or the input ended.
                if reads
                    .blocking_send(read.map(|kind| kind.map(|k| (k, buf))))
                    .is_err()
                    || !more
                {
                    break;
                }
            }
        });
        let served = runtime.block_on(connection(server, &mut lines, &mut output, config));
        // A connection that failed stops the reader at its next line.
        drop(lines);
        served
    })
}

async fn connection(
    server: &Server,
    lines: &mut tokio::sync::mpsc::Receiver<Read>,
    output: &mut impl Write,
    config: &Config,
) -> io::Result<()> {
    let mut session = Session::new();
    let (notes, mut pending) = unbounded_channel::<Vec<u8>>();
    // One sink for the connection: each message's context shares it.
    let notify: Arc<dyn Notify> = Arc::new(Lines(notes.clone()));
    let (asks, mut asked) = unbounded_channel::<Ask>();
    let requests: Arc<dyn ClientRequests> = Arc::new(StdioAsks {
        asks,
        notes,
        next: AtomicU64::new(1),
        wait: config.answer_wait,
    });
    let mut channel = ClientChannel::new(Arc::clone(&requests), None);
    let mut deferred = VecDeque::new();
    loop {
        let (kind, line) = match deferred.pop_front() {
            Some(read) => read,
            None => match lines.recv().await {
                Some(Ok(Some(read))) => read,
                Some(Ok(None)) | None => break,
                Some(Err(e)) => return Err(e),
            },
        };
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
                if let Some(capabilities) = declared_capabilities(text) {
                    channel = ClientChannel::new(Arc::clone(&requests), Some(capabilities));
                }
                let mut extensions = Extensions::new();
                extensions.insert(channel.clone());
                let request = RequestContext {
                    notify: Arc::clone(&notify),
                    extensions,
                    ..RequestContext::default()
                };
                let handled = server.handle_bytes(&mut session, text, &request);
                let mut streams = Streams {
                    notes: &mut pending,
                    asked: &mut asked,
                    lines,
                    deferred: &mut deferred,
                };
                streams.serve(handled, output).await?
            }
        };
        if let Some(reply) = reply {
            write_reply(output, &reply)?;
        }
        tracing::debug!(
            elapsed_us = started.elapsed().as_micros() as u64,
            "handled a line"
        );
    }
    Ok(())
}

/// The client capabilities of an `initialize` line, which the server's
/// requests to the client must respect.
fn declared_capabilities(text: &[u8]) -> Option<Map<String, Value>> {
    const METHOD: &[u8] = b"\"initialize\"";
    if !text.windows(METHOD.len()).any(|w| w == METHOD) {
        return None;
    }
    let message: Value = serde_json::from_slice(text).ok()?;
    (message.get("method")? == "initialize").then_some(())?;
    message["params"]["capabilities"].as_object().cloned()
}

/// The id and outcome of a line that is a JSON-RPC response.
fn response_of(text: &[u8]) -> Option<(String, Outcome)> {
    let message: Value = serde_json::from_slice(text).ok()?;
    if message.get("method").is_some() {
        return None;
    }
    let id = message.get("id")?.as_str()?.to_owned();
    if let Some(result) = message.get("result") {
        return Some((id, Ok(result.clone())));
    }
    let error = message.get("error")?;
    let code = error["code"].as_i64().unwrap_or(0);
    let text = error["message"].as_str().unwrap_or("no message").to_owned();
    Some((id, Err((code, text))))
}

/// What a message's handling reads and writes besides its reply.
struct Streams<'s> {
    notes: &'s mut UnboundedReceiver<Vec<u8>>,
    asked: &'s mut UnboundedReceiver<Ask>,
    lines: &'s mut tokio::sync::mpsc::Receiver<Read>,
    deferred: &'s mut VecDeque<(Line, Vec<u8>)>,
}

impl Streams<'_> {
    /// Runs `handled`, writing each notification and request to the client
    /// as it comes, and reading the client's lines while a request waits for
    /// its answer (other lines wait in `deferred`).
    async fn serve<T>(
        &mut self,
        handled: impl Future<Output = T>,
        output: &mut impl Write,
    ) -> io::Result<T> {
        let mut handled = std::pin::pin!(handled);
        let mut waiting: HashMap<String, oneshot::Sender<_>> = HashMap::new();
        let mut ended = false;
        let done = loop {
            tokio::select! {
                biased;
                Some(note) = self.notes.recv() => {
                    output.write_all(&note)?;
                    output.flush()?;
                }
                Some(ask) = self.asked.recv() => {
                    output.write_all(&ask.line)?;
                    output.flush()?;
                    waiting.insert(ask.id, ask.answer);
                }
                read = self.lines.recv(), if !waiting.is_empty() && !ended => match read {
                    Some(Ok(Some((Line::Complete, line)))) => {
                        let answer = response_of(&line)
                            .and_then(|(id, outcome)| Some((waiting.remove(&id)?, outcome)));
                        match answer {
                            Some((waiter, outcome)) => {
                                let _ = waiter.send(outcome);
                            }
                            None => self.deferred.push_back((Line::Complete, line)),
                        }
                    }
                    Some(Ok(Some(other))) => self.deferred.push_back(other),
                    Some(Err(e)) => return Err(e),
                    Some(Ok(None)) | None => {
                        // No answer can come any more: the waiters learn it now.
                        ended = true;
                        waiting.clear();
                    }
                },
                done = &mut handled => break done,
            }
        };
        while let Ok(note) = self.notes.try_recv() {
            output.write_all(&note)?;
        }
        output.flush()?;
        Ok(done)
    }
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
                ..Config::default()
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

    /// Asks the client for its roots, then lists them.
    struct AsksRoots;

    impl mcp_core::ContentTool for AsksRoots {
        type Args = mcp_core::NoArgs;
        fn definition(&self) -> mcp_core::ToolDefinition {
            mcp_core::ToolDefinition::new("roots", "Lists the client's roots.")
        }
        async fn call(
            &self,
            _: mcp_core::NoArgs,
            cx: &mcp_core::CallContext<'_>,
        ) -> Result<Vec<mcp_core::model::Content>, mcp_core::ToolError> {
            match cx.roots("r") {
                Some(roots) => Ok(vec![mcp_core::model::Content::text(roots.join(","))]),
                None => Err(cx
                    .ask(mcp_core::InputRequests::new().list_roots("r"))
                    .into()),
            }
        }
    }

    const INIT_ROOTS: &str = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{\"roots\":{}},\"clientInfo\":{\"name\":\"t\",\"version\":\"0\"}}}\n\
        {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"roots\"}}\n";

    /// Serves `input` (kept open `open_for` after it is written) to a server
    /// with [`AsksRoots`]; the lines written.
    fn asking_session(input: String, open_for: Duration, wait: Duration) -> Vec<Value> {
        let mut tools = mcp_core::ToolRegistry::new();
        tools.register_content(AsksRoots).unwrap();
        let server = Server::new(ServerInfo::new("t", "0"), tools);
        let (reader, mut writer) = io::pipe().unwrap();
        let feeder = std::thread::spawn(move || {
            writer.write_all(input.as_bytes()).unwrap();
            std::thread::sleep(open_for);
        });
        let mut out = Vec::new();
        let config = Config {
            answer_wait: wait,
            ..Config::default()
        };
        serve(&server, io::BufReader::new(reader), &mut out, &config).unwrap();
        feeder.join().unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn a_tool_asks_the_client_and_reads_its_answer() {
        // The answer comes after a ping, which is served after the call.
        let input = format!(
            "{INIT_ROOTS}{{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}}\n\
             {{\"jsonrpc\":\"2.0\",\"id\":\"mcp-local-1\",\"result\":{{\"roots\":[{{\"uri\":\"file:///a\"}}]}}}}\n"
        );
        let lines = asking_session(input, Duration::ZERO, Duration::from_secs(10));
        assert_eq!(lines[1]["method"], "roots/list");
        assert_eq!(lines[1]["id"], "mcp-local-1");
        assert_eq!(lines[2]["id"], 2);
        assert_eq!(lines[2]["result"]["content"][0]["text"], "file:///a");
        assert_eq!(lines[3]["id"], 3);
    }

    #[test]
    fn no_answer_in_time_is_a_tool_error_not_a_hang() {
        let started = Instant::now();
        let lines = asking_session(
            INIT_ROOTS.to_owned(),
            Duration::from_millis(1500),
            Duration::from_millis(200),
        );
        let result = &lines.last().unwrap()["result"];
        assert_eq!(result["isError"], true);
        let text = result["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("did not answer `roots/list`"), "{text}");
        assert!(
            lines
                .iter()
                .any(|l| l["method"] == "notifications/cancelled")
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        // Input that ends while the tool waits ends the wait at once.
        let lines = asking_session(
            INIT_ROOTS.to_owned(),
            Duration::ZERO,
            Duration::from_secs(60),
        );
        let text = lines.last().unwrap()["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(text.contains("closed its input"), "{text}");
    }

    #[test]
    fn an_elicitation_before_2025_11_25_has_no_mode() {
        let server = server(&FunctionSettings {
            conformance_fixtures: true,
            ..FunctionSettings::default()
        })
        .unwrap();
        for (version, mode) in [("2025-06-18", None), ("2025-11-25", Some("form"))] {
            let input = format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{{\"protocolVersion\":\"{version}\",\"capabilities\":{{\"elicitation\":{{}}}},\"clientInfo\":{{\"name\":\"t\",\"version\":\"0\"}}}}}}\n\
                 {{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{{\"name\":\"test_elicitation\",\"arguments\":{{\"message\":\"Who?\"}}}}}}\n\
                 {{\"jsonrpc\":\"2.0\",\"id\":\"mcp-local-1\",\"result\":{{\"action\":\"accept\",\"content\":{{\"username\":\"u\",\"email\":\"e\"}}}}}}\n"
            );
            let mut out = Vec::new();
            serve(&server, input.as_bytes(), &mut out, &Config::default()).unwrap();
            let lines: Vec<Value> = String::from_utf8(out)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(lines[1]["method"], "elicitation/create");
            assert_eq!(lines[1]["params"]["message"], "Who?");
            assert_eq!(lines[1]["params"]["mode"].as_str(), mode, "{version}");
            let text = lines[2]["result"]["content"][0]["text"].as_str().unwrap();
            assert!(text.starts_with("User response: action=accept"), "{text}");
        }
    }

    #[test]
    fn an_undeclared_capability_is_not_asked() {
        let input = INIT_ROOTS.replace("{\"roots\":{}}", "{}");
        let lines = asking_session(input, Duration::ZERO, Duration::from_secs(10));
        assert!(lines.iter().all(|l| l["method"] != "roots/list"));
        let text = lines[1]["result"]["content"][0]["text"].as_str().unwrap();
        assert!(
            text.contains("did not declare the `roots` capability"),
            "{text}"
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
