//! The internet rung's streaming integration on this machine: the real
//! `bootstrap` (with `MCP_REST_TRANSFER_MODE=STREAM`) behind the emulator's
//! REST front in `ResponseTransferMode: STREAM`, over real HTTP. Progress
//! reaches the client while the tool runs; a tool cannot outlive the
//! function's timeout unnoticed: `demo_progress` stops before it with a tool
//! error, and a tool that ignores it has its stream ended with an error
//! event and the runtime's error trailers, which fail the invocation.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lambda_emulator::runtime::{Function, FunctionSpec, InvokeError, RoleCredentials};
use lambda_emulator::{Emulator, EmulatorConfig, Grant, RestApiConfig};
use mcp_settings::TransferMode;
use serde_json::{Value, json};

/// The function's timeout in these tests: short, so that running out of
/// time takes seconds.
const TIMEOUT: Duration = Duration::from_secs(3);

async fn emulator() -> Emulator {
    let mut config = EmulatorConfig::new(
        PathBuf::from(env!("CARGO_BIN_EXE_bootstrap")),
        "mcp-ladder-streaming",
        "eu-central-1",
        "0".repeat(12),
    );
    config.function.timeout = TIMEOUT;
    config.function.env = vec![
        ("RUST_LOG".into(), "warn".into()),
        ("MCP_CONFORMANCE_FIXTURES".into(), "1".into()),
    ];
    config.rest_api = Some(RestApiConfig {
        transfer_mode: TransferMode::Stream,
        ..RestApiConfig::default()
    });
    config.dev_issuer = true;
    Emulator::start(config).await.unwrap()
}

fn token(emulator: &Emulator) -> String {
    emulator
        .issuer()
        .unwrap()
        .mint(&Grant {
            subject: "streaming-test".into(),
            audience: emulator.rest_api_url().unwrap().into(),
            scope: "mcp:read mcp:write".into(),
        })
        .unwrap()
}

fn call(tool: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments, "_meta": {"progressToken": "p"}}})
    .to_string()
}

/// What a client saw of one streamed answer: the head, each chunk's text
/// with when it came, and how the body ended.
struct Seen {
    status: u16,
    headers: http::HeaderMap,
    chunks: Vec<(Instant, String)>,
    ended_in_error: bool,
}

impl Seen {
    /// The JSON of every SSE event, in order.
    fn events(&self) -> Vec<Value> {
        let text: String = self.chunks.iter().map(|(_, c)| c.as_str()).collect();
        text.lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    }
}

async fn post(emulator: &Emulator, body: String) -> Seen {
    let req = http::Request::post(emulator.rest_api_url().unwrap())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("authorization", format!("Bearer {}", token(emulator)))
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(req))
        .await
        .unwrap()
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = response.into_body();
    let mut chunks = Vec::new();
    let mut ended_in_error = false;
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(30), body.frame())
        .await
        .unwrap()
    {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    chunks.push((Instant::now(), String::from_utf8_lossy(&data).into_owned()));
                }
            }
            Err(_) => {
                ended_in_error = true;
                break;
            }
        }
    }
    Seen {
        status,
        headers,
        chunks,
        ended_in_error,
    }
}

#[tokio::test]
async fn progress_comes_while_the_tool_runs_and_the_stream_ends_cleanly() {
    let emulator = emulator().await;
    let seen = post(
        &emulator,
        call("demo_progress", json!({"steps": 3, "step_ms": 300})),
    )
    .await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.headers["content-type"], "text/event-stream");
    assert!(!seen.ended_in_error);
    let events = seen.events();
    let methods: Vec<_> = events
        .iter()
        .map(|e| e["method"].as_str().unwrap_or("reply"))
        .collect();
    assert_eq!(
        methods,
        ["notifications/progress"; 4]
            .iter()
            .copied()
            .chain(["reply"])
            .collect::<Vec<_>>()
    );
    assert_eq!(events[4]["result"]["structuredContent"]["steps"], 3);
    let (first, last) = (seen.chunks[0].0, seen.chunks.last().unwrap().0);
    assert!(
        last - first >= Duration::from_millis(800),
        "the first event came {:?} before the reply",
        last - first
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn demo_progress_stops_before_the_timeout_with_a_tool_error() {
    let emulator = emulator().await;
    let started = Instant::now();
    let seen = post(
        &emulator,
        call("demo_progress", json!({"steps": 10, "step_ms": 500})),
    )
    .await;
    assert!(!seen.ended_in_error, "a finished answer");
    let events = seen.events();
    let reply = events.last().unwrap();
    assert_eq!(reply["id"], 7);
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    let text = reply["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("ran out of time after "), "{text}");
    assert!(
        started.elapsed() < TIMEOUT,
        "it ended before the function's timeout"
    );
    assert_eq!(emulator.stats().instances(), 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_tool_that_ignores_the_deadline_ends_with_an_error_event_and_a_cut_stream() {
    let emulator = emulator().await;
    let started = Instant::now();
    let seen = post(&emulator, call("test_tool_ignoring_deadline", json!({}))).await;
    assert_eq!(seen.status, 200);
    assert!(
        seen.ended_in_error,
        "the client can tell it from a finished answer"
    );
    let events = seen.events();
    let last = events.last().unwrap();
    assert_eq!(last["id"], 7, "{last}");
    assert_eq!(last["error"]["code"], -32603, "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ran out of time"),
        "{last}"
    );
    assert!(
        events[..events.len() - 1]
            .iter()
            .all(|e| e["method"] == "notifications/progress")
    );
    assert!(started.elapsed() < TIMEOUT + Duration::from_secs(1));
    // The runtime reported the error: Lambda keeps the instance.
    let again = post(
        &emulator,
        call("demo_progress", json!({"steps": 1, "step_ms": 0})),
    )
    .await;
    assert!(!again.ended_in_error);
    assert_eq!(emulator.stats().instances(), 1);
    emulator.shutdown().await;
}

/// The same cut through the Runtime API alone: the stream's trailers fail
/// the invocation with the runtime's error type.
#[tokio::test]
async fn the_error_trailers_fail_the_invocation() {
    let function = Function::new(FunctionSpec {
        bootstrap: PathBuf::from(env!("CARGO_BIN_EXE_bootstrap")),
        name: "mcp-ladder-trailers".into(),
        region: "eu-central-1".into(),
        account_id: "0".repeat(12),
        memory_mb: 128,
        timeout: Duration::from_secs(2),
        concurrency: 1,
        env: vec![
            ("RUST_LOG".into(), "warn".into()),
            ("MCP_CONFORMANCE_FIXTURES".into(), "1".into()),
            ("MCP_INVOKE_MODE".into(), "RESPONSE_STREAM".into()),
        ],
        credentials: RoleCredentials::mint(),
        tracing: Default::default(),
    });
    let mut event: Value =
        serde_json::from_str(include_str!("data/function-url-iam-post.json")).unwrap();
    event["body"] = json!(call("test_tool_ignoring_deadline", json!({})));
    event["isBase64Encoded"] = json!(false);
    event["headers"]["accept"] = json!("application/json, text/event-stream");
    let (sink, mut chunks) = tokio::sync::mpsc::channel(64);
    let invoked = function.invoke_streaming(Bytes::from(event.to_string()), sink);
    let (outcome, written) = tokio::join!(invoked, async {
        let mut all = Vec::new();
        while let Some(chunk) = chunks.recv().await {
            all.extend_from_slice(&chunk);
        }
        all
    });
    match outcome {
        Err(InvokeError::Errored {
            error_type,
            message,
        }) => {
            assert_eq!(error_type, mcp_lambda::runtime::OUT_OF_TIME);
            assert!(message.contains("ran out of time"), "{message}");
        }
        other => panic!("expected the trailers' error, got {other:?}"),
    }
    let text = String::from_utf8_lossy(&written);
    assert!(text.contains("\"code\":-32603"), "{text}");
    function.stop().await;
}
