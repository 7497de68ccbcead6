//! The front-agnostic HTTP layer: authentication runs before the protocol,
//! its identity reaches the tools, and typed errors decide the status.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use mcp_core::{
    AuthScheme, CallContext, Identity, NoArgs, RequestContext, Server, ServerInfo, Tool,
    ToolDefinition, ToolError, ToolRegistry,
};
use mcp_http::{
    AuthError, Authenticator, BoxFuture, CallOutcome, HttpConfig, RequestParts, TrustFront,
};
use serde_json::{Map, Value, json};

/// Reports who called, and counts its calls (a counter per test: tests run
/// in parallel).
struct WhoAmI(Arc<AtomicUsize>);

impl Tool for WhoAmI {
    type Args = NoArgs;
    type Output = Map<String, Value>;
    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new("whoami", "Who is calling.")
    }
    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Self::Output, ToolError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let principal = cx.identity().map(|i| i.principal.clone());
        Ok(Map::from_iter([
            ("principal".to_owned(), json!(principal)),
            ("traceId".to_owned(), json!(cx.trace_id())),
        ]))
    }
}

/// Refuses everyone, the way a bearer scheme refuses a missing token.
struct RefuseAll;

impl Authenticator for RefuseAll {
    fn authenticate<'a>(
        &'a self,
        _: &'a RequestParts<'a>,
    ) -> BoxFuture<'a, Result<Option<Identity>, AuthError>> {
        Box::pin(async {
            Err(AuthError {
                status: StatusCode::UNAUTHORIZED,
                challenge: Some(HeaderValue::from_static(
                    "Bearer resource_metadata=\"https://mcp.example/.well-known/oauth-protected-resource\"",
                )),
                message: "a bearer token is required".into(),
            })
        })
    }
}

fn server(calls: Arc<AtomicUsize>) -> Server {
    let mut tools = ToolRegistry::new();
    tools.register(WhoAmI(calls)).expect("registers");
    Server::new(ServerInfo::new("t", "0"), tools)
}

fn headers(version: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        "mcp-protocol-version",
        HeaderValue::from_str(version).expect("ascii"),
    );
    h
}

async fn post(
    calls: &Arc<AtomicUsize>,
    auth: &dyn Authenticator,
    identity: Option<&Identity>,
    version: &str,
    body: &str,
) -> mcp_http::Exchange {
    post_to(&server(calls.clone()), auth, identity, version, body).await
}

/// One POST of `body` to `server`, through `auth`, as `identity`.
async fn post_to(
    server: &Server,
    auth: &dyn Authenticator,
    identity: Option<&Identity>,
    version: &str,
    body: &str,
) -> mcp_http::Exchange {
    send(server, auth, identity, &headers(version), body).await
}

/// One POST of `body` with `headers` to `server`, through `auth`, as `identity`.
async fn send(
    server: &Server,
    auth: &dyn Authenticator,
    identity: Option<&Identity>,
    headers: &HeaderMap,
    body: &str,
) -> mcp_http::Exchange {
    let parts = RequestParts {
        method: &Method::POST,
        path: "/mcp",
        query: None,
        headers,
        body: body.as_bytes(),
        front_identity: identity,
    };
    mcp_http::exchange(server, &CONFIG, auth, parts, RequestContext::default()).await
}

/// The same POST to a front that streams (no authentication).
async fn send_streamed<'a>(
    server: &'a Server,
    headers: &'a HeaderMap,
    body: &'a str,
) -> mcp_http::Streamed<'a> {
    let parts = RequestParts {
        method: &Method::POST,
        path: "/mcp",
        query: None,
        headers,
        body: body.as_bytes(),
        front_identity: None,
    };
    mcp_http::exchange_streamed(
        server,
        &CONFIG,
        &TrustFront,
        parts,
        RequestContext::default(),
    )
    .await
}

static CONFIG: std::sync::LazyLock<HttpConfig> = std::sync::LazyLock::new(HttpConfig::default);

/// A front that parks the calls that ask the client, in process.
static PARKING: std::sync::LazyLock<HttpConfig> = std::sync::LazyLock::new(|| HttpConfig {
    rendezvous: Some(mcp_http::asking::RendezvousHandle(Arc::new(
        mcp_http::asking::InProcess::default(),
    ))),
    ..HttpConfig::default()
});

/// The 2025-11-25 headers of a client that accepts `accept`.
fn accepting(accept: &str) -> HeaderMap {
    let mut headers = headers("2025-11-25");
    headers.insert("accept", HeaderValue::from_str(accept).expect("ascii"));
    headers
}

const CALL: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#;

#[tokio::test]
async fn a_refusal_is_a_challenge_and_the_tool_never_runs() {
    let calls = Arc::default();
    let out = post(&calls, &RefuseAll, None, "2025-11-25", CALL).await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    let headers = out.headers();
    assert!(
        headers["www-authenticate"]
            .to_str()
            .is_ok_and(|v| v.starts_with("Bearer resource_metadata="))
    );
    let body = out.json().unwrap_or_default();
    assert_eq!(body["error"]["code"], -32600);
    assert_eq!(body["id"], Value::Null);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the tool ran");
}

#[tokio::test]
async fn the_fronts_identity_reaches_the_tool() {
    let account = "0".repeat(12);
    let principal = format!("arn:aws:iam::{account}:user/alice");
    let identity = Identity {
        scheme: AuthScheme::AwsIam,
        principal: principal.clone(),
        account: Some(account),
        scopes: None,
    };
    let calls = Arc::default();
    let out = post(&calls, &TrustFront, Some(&identity), "2025-11-25", CALL).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let body = out.json().unwrap_or_default();
    assert_eq!(body["result"]["structuredContent"]["principal"], principal);
}

#[tokio::test]
async fn typed_errors_decide_the_status() {
    let cases = [
        ("2025-11-25", "{oops", StatusCode::BAD_REQUEST),
        (
            "2025-11-25",
            r#"{"jsonrpc":"2.0","id":1}"#,
            StatusCode::BAD_REQUEST,
        ),
        // An unknown method at a handshake revision is a JSON-RPC error in a 200.
        (
            "2025-11-25",
            r#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#,
            StatusCode::OK,
        ),
        // A batch carries its errors inside; the exchange itself succeeded.
        (
            "2025-03-26",
            r#"[{"jsonrpc":"2.0","id":1,"method":"nope"}]"#,
            StatusCode::OK,
        ),
        (
            "2025-11-25",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            StatusCode::ACCEPTED,
        ),
    ];
    for (version, body, want) in cases {
        let out = post(&Arc::default(), &TrustFront, None, version, body).await;
        assert_eq!(out.status, want, "{body}");
    }
}

/// `{"tools": {"whoami": "2/60s"}}`: per caller, two calls a minute; the third
/// is 429 with `Retry-After`, an error a model can read, and no tool run; the
/// `RateLimit` headers say where each call stood.
#[tokio::test]
async fn a_caller_over_its_limit_gets_429_and_the_tool_does_not_run() {
    let calls: Arc<AtomicUsize> = Arc::default();
    let limits =
        mcp_core::limits::Limits::parse(r#"{"tools": {"whoami": "2/60s"}}"#).unwrap_or_default();
    let server = server(calls.clone()).with_rate_limits(limits);
    let caller = |name: &str| Identity {
        scheme: AuthScheme::AwsIam,
        principal: format!("arn:aws:iam::{}:user/{name}", "0".repeat(12)),
        account: Some("0".repeat(12)),
        scopes: None,
    };
    let send = |identity: Identity| {
        let server = &server;
        async move { post_to(server, &TrustFront, Some(&identity), "2025-11-25", CALL).await }
    };
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(send(caller("alice")).await);
    }
    let header = |out: &mcp_http::Exchange, name: &str| {
        out.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(seen[0].status, StatusCode::OK);
    assert_eq!(
        header(&seen[0], "ratelimit-policy").as_deref(),
        Some("\"whoami\";q=2;w=60")
    );
    assert!(header(&seen[0], "ratelimit").is_some_and(|v| v.starts_with("\"whoami\";r=1;t=")));
    assert!(header(&seen[1], "ratelimit").is_some_and(|v| v.starts_with("\"whoami\";r=0;t=")));
    let refused = &seen[2];
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.outcome, Some(CallOutcome::Limited));
    let t: u64 = header(refused, "ratelimit")
        .and_then(|v| v.rsplit("t=").next().and_then(|t| t.parse().ok()))
        .unwrap_or_default();
    let retry: u64 = header(refused, "retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    assert!(retry >= t && t > 0, "Retry-After {retry} not before t={t}");
    let body = refused.json().unwrap_or_default();
    assert_eq!(body["error"]["code"], -32029);
    assert_eq!(body["id"], 1);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Try again in"))
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the refused call did not run"
    );
    // Another caller has its own count.
    assert_eq!(send(caller("bob")).await.status, StatusCode::OK);
}

/// A shared store that never answers in time.
#[derive(Debug)]
struct Down;

impl mcp_core::limits::Counter for Down {
    fn count<'a>(&'a self, _: mcp_core::limits::Call<'a>) -> mcp_core::limits::Counted<'a> {
        Box::pin(async {
            Err(mcp_core::limits::Unavailable("no answer within 250 ms".into()).into())
        })
    }
}

/// The same tool, declared read-only.
struct ReadOnlyWhoAmI(Arc<AtomicUsize>);

impl Tool for ReadOnlyWhoAmI {
    type Args = NoArgs;
    type Output = Map<String, Value>;
    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new("peek", "Who is calling, read-only.")
            .annotations(mcp_core::Annotations::read_only())
    }
    async fn call(&self, args: NoArgs, cx: &CallContext<'_>) -> Result<Self::Output, ToolError> {
        WhoAmI(self.0.clone()).call(args, cx).await
    }
}

/// When the limiter cannot decide, a tool that may change state is refused
/// (503, Retry-After, an error a model can read, the tool not run) and a
/// read-only tool runs, without rate-limit headers it could not know.
#[tokio::test]
async fn a_limiter_outage_refuses_writers_and_lets_readers_through() {
    let calls: Arc<AtomicUsize> = Arc::default();
    let mut tools = ToolRegistry::new();
    tools.register(WhoAmI(calls.clone())).expect("registers");
    tools
        .register(ReadOnlyWhoAmI(calls.clone()))
        .expect("registers");
    let limits = mcp_core::limits::Limits::parse(r#"{"default": "100/60s"}"#).unwrap_or_default();
    let server = Server::new(ServerInfo::new("t", "0"), tools)
        .with_rate_limit_counter(limits, Box::new(Down));
    let send = |tool: &str| {
        let server = &server;
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}"}}}}"#
        );
        async move { post_to(server, &TrustFront, None, "2025-11-25", &body).await }
    };
    let refused = send("whoami").await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    let headers = refused.headers();
    assert_eq!(
        headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert!(headers.get("ratelimit").is_none());
    let body = refused.json().unwrap_or_default();
    assert_eq!(body["error"]["code"], -32030);
    assert_eq!(body["error"]["data"]["tool"], "whoami");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not read-only") && m.contains("no answer within 250 ms"))
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "the refused tool did not run"
    );

    let admitted = send("peek").await;
    assert_eq!(admitted.status, StatusCode::OK);
    assert!(admitted.headers().get("ratelimit").is_none());
    assert_eq!(
        admitted.json().unwrap_or_default()["result"]["isError"],
        false
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the read-only tool ran");
}

/// A shared store that answers every count with `error`.
#[derive(Debug)]
struct Answers(mcp_core::limits::CountError);

impl mcp_core::limits::Counter for Answers {
    fn count<'a>(&'a self, _: mcp_core::limits::Call<'a>) -> mcp_core::limits::Counted<'a> {
        Box::pin(std::future::ready(Err(self.0.clone())))
    }
}

/// A store that throttles the caller's item is a 429 with `Retry-After`,
/// and one that refuses the check itself refuses even a read-only tool:
/// neither is an outage.
#[tokio::test]
async fn a_throttled_store_is_a_429_and_a_refusing_store_runs_nothing() {
    use mcp_core::limits::CountError;
    let calls: Arc<AtomicUsize> = Arc::default();
    let limits = mcp_core::limits::Limits::parse(r#"{"default": "100/60s"}"#).unwrap_or_default();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"peek"}}"#;
    let serve = |error: CountError| {
        let mut tools = ToolRegistry::new();
        tools
            .register(ReadOnlyWhoAmI(calls.clone()))
            .expect("registers");
        Server::new(ServerInfo::new("t", "0"), tools)
            .with_rate_limit_counter(limits.clone(), Box::new(Answers(error)))
    };
    let throttled = serve(CountError::Throttled {
        retry_after_s: 1,
        why: "ProvisionedThroughputExceededException".into(),
    });
    let out = post_to(&throttled, &TrustFront, None, "2025-11-25", body).await;
    assert_eq!(out.status, StatusCode::TOO_MANY_REQUESTS);
    let headers = out.headers();
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(headers["ratelimit"], r#""default";r=0;t=1"#);
    assert_eq!(out.json().unwrap_or_default()["error"]["code"], -32029);

    let refusing = serve(CountError::Refused("ValidationException: bad key".into()));
    let out = post_to(&refusing, &TrustFront, None, "2025-11-25", body).await;
    let error = out.json().unwrap_or_default()["error"].clone();
    assert_eq!(error["code"], -32603, "{error}");
    assert_eq!(error["data"]["reason"], "ValidationException: bad key");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing ran");
}

/// Reports progress twice and logs once before its result.
struct Steps;

impl Tool for Steps {
    type Args = NoArgs;
    type Output = Map<String, Value>;
    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new("steps", "Two steps.")
    }
    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Self::Output, ToolError> {
        cx.progress(1.0, Some(2.0), Some("first"));
        cx.log(mcp_core::LogLevel::Info, &json!("between"));
        cx.progress(2.0, Some(2.0), None);
        Ok(Map::new())
    }
}

/// One POST of a `steps` call (with a progress token) accepting `accept`.
/// A call's trace (its `_meta`'s, else the front's, never a malformed one)
/// reaches the tool and the exchange; the outcome says how the call ended.
#[tokio::test]
async fn a_calls_trace_and_outcome_reach_the_tool_and_the_exchange() {
    let id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let front = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let call = |meta: Value, name: &str| {
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": name, "_meta": meta}})
        .to_string()
    };
    let server = server(Arc::default());
    let cases = [
        (
            json!({"traceparent": format!("00-{id}-00f067aa0ba902b7-01")}),
            None,
            Some(id),
        ),
        (json!({"traceparent": "00-nope"}), None, None),
        (
            json!({}),
            Some(front),
            Some("0af7651916cd43dd8448eb211c80319c"),
        ),
        (
            json!({"traceparent": format!("00-{id}-00f067aa0ba902b7-01")}),
            Some(front),
            Some(id),
        ),
    ];
    for (meta, front, want) in cases {
        let body = call(meta.clone(), "whoami");
        let parts = RequestParts {
            method: &Method::POST,
            path: "/mcp",
            query: None,
            headers: &headers("2025-11-25"),
            body: body.as_bytes(),
            front_identity: None,
        };
        let context = RequestContext {
            traceparent: front.map(str::to_owned),
            ..RequestContext::default()
        };
        let out = mcp_http::exchange(&server, &CONFIG, &TrustFront, parts, context).await;
        let seen = out.json().unwrap_or_default()["result"]["structuredContent"]["traceId"].clone();
        assert_eq!(seen, json!(want), "{meta}");
        let exchanged = out
            .traceparent
            .as_deref()
            .and_then(mcp_core::trace::trace_id);
        assert_eq!(exchanged, want, "{meta}");
        assert_eq!(out.outcome, Some(CallOutcome::Ok));
    }
    let unknown = post_to(
        &server,
        &TrustFront,
        None,
        "2025-11-25",
        &call(json!({}), "nope"),
    )
    .await;
    assert_eq!(unknown.outcome, Some(CallOutcome::Failed));
    assert_eq!(CallOutcome::Failed.as_str(), "failed");
    let listed = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let list = post_to(&server, &TrustFront, None, "2025-11-25", listed).await;
    assert_eq!(list.outcome, None, "not a tools/call");
}

async fn post_steps(accept: &str, progress_token: bool) -> mcp_http::Exchange {
    let mut tools = ToolRegistry::new();
    tools.register(Steps).expect("registers");
    let server = Server::new(ServerInfo::new("t", "0"), tools);
    let meta = if progress_token {
        json!({"progressToken": "p-1"})
    } else {
        json!({})
    };
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "steps", "_meta": meta}}).to_string();
    send(&server, &TrustFront, None, &accepting(accept), &body).await
}

/// The `data` of each event of an SSE body, as JSON.
fn events(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| {
            assert!(event.starts_with("event: message\ndata: "), "{event:?}");
            let data = event.trim_start_matches("event: message\ndata: ");
            serde_json::from_str(data).expect("each event is one JSON-RPC message")
        })
        .collect()
}

#[tokio::test]
async fn a_client_that_takes_sse_gets_the_notifications_then_the_result() {
    let out = post_steps("application/json, text/event-stream", true).await;
    assert_eq!(out.status, StatusCode::OK);
    let headers = out.headers();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    let events = events(out.body.as_deref().unwrap_or_default());
    let methods: Vec<&str> = events
        .iter()
        .map(|e| e["method"].as_str().unwrap_or("(reply)"))
        .collect();
    assert_eq!(
        methods,
        [
            "notifications/progress",
            "notifications/message",
            "notifications/progress",
            "(reply)"
        ]
    );
    assert_eq!(events[0]["params"]["progressToken"], "p-1");
    assert_eq!(events[0]["params"]["message"], "first");
    assert_eq!(events[3]["id"], 7);
    assert_eq!(events[3]["result"]["isError"], false);
}

#[tokio::test]
async fn a_json_only_client_gets_the_result_alone() {
    for accept in ["application/json", "*/*"] {
        let out = post_steps(accept, true).await;
        assert_eq!(
            out.headers()["content-type"],
            "application/json",
            "{accept}"
        );
        let body = out.json().unwrap_or_default();
        assert_eq!(body["id"], 7);
        assert_eq!(body["result"]["isError"], false);
    }
}

#[tokio::test]
async fn without_notifications_the_answer_stays_json() {
    // Without a progress token only the log message goes (no level was set,
    // so this revision sends every level).
    let out = post_steps("application/json, text/event-stream", false).await;
    let events = events(out.body.as_deref().unwrap_or_default());
    assert_eq!(events.len(), 2, "the log message, then the reply");
    assert_eq!(events[0]["method"], "notifications/message");

    // A request whose tool sends nothing is answered with JSON.
    let calls = Arc::default();
    let headers = accepting("application/json, text/event-stream");
    let out = send(&server(calls), &TrustFront, None, &headers, CALL).await;
    assert_eq!(out.headers()["content-type"], "application/json");
    assert!(!out.event_stream);
}

/// Reports progress, waits, reports again, and notes when it finished.
struct Slow {
    finished: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

impl Tool for Slow {
    type Args = NoArgs;
    type Output = Map<String, Value>;
    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new("slow", "Takes a while.")
    }
    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Self::Output, ToolError> {
        cx.progress(1.0, Some(2.0), None);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        cx.progress(2.0, Some(2.0), None);
        *self.finished.lock().expect("not poisoned") = Some(std::time::Instant::now());
        Ok(Map::new())
    }
}

fn slow_server() -> (Server, Arc<std::sync::Mutex<Option<std::time::Instant>>>) {
    let finished = Arc::default();
    let mut tools = ToolRegistry::new();
    tools
        .register(Slow {
            finished: Arc::clone(&finished),
        })
        .expect("registers");
    (Server::new(ServerInfo::new("t", "0"), tools), finished)
}

const SLOW: &str = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"slow","_meta":{"progressToken":9}}}"#;

#[tokio::test]
async fn a_streamed_answer_sends_each_event_before_the_tool_ends() {
    let (server, finished) = slow_server();
    let headers = accepting("application/json, text/event-stream");
    let streamed = send_streamed(&server, &headers, SLOW).await;
    let mcp_http::Streamed::Events { head, mut events } = streamed else {
        panic!("a call that reports progress is streamed: {streamed:?}")
    };
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers()["content-type"], "text/event-stream");
    let first = events.next().await.expect("the first event");
    let first_at = std::time::Instant::now();
    assert!(
        first.contains(r#""progress":1.0"#) || first.contains(r#""progress":1"#),
        "{first}"
    );
    assert!(
        finished.lock().expect("not poisoned").is_none(),
        "the first event arrived before the tool finished"
    );
    let mut rest = Vec::new();
    while let Some(chunk) = events.next().await {
        rest.extend(chunk.split_inclusive("\n\n").map(str::to_owned));
    }
    let done_at = finished
        .lock()
        .expect("not poisoned")
        .expect("the tool finished");
    assert!(first_at < done_at);
    assert_eq!(rest.len(), 2, "{rest:?}");
    assert!(rest[0].contains("notifications/progress"));
    assert!(rest[1].contains(r#""id":3"#) && rest[1].contains(r#""result""#));
    let log = events.finished().expect("finished");
    assert_eq!(log.method.as_deref(), Some("tools/call"));
    assert_eq!(log.tool.as_deref(), Some("slow"));
}

#[tokio::test]
async fn a_streamed_front_answers_whole_when_nothing_is_sent_first() {
    let (server, _) = slow_server();
    // A client that does not take SSE, a request that sends nothing (a list),
    // and an error all get the whole answer, as `exchange` gives it.
    for (accept, body) in [
        ("application/json", SLOW),
        (
            "application/json, text/event-stream",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#,
        ),
        ("application/json, text/event-stream", "{not json"),
    ] {
        let headers = accepting(accept);
        let streamed = send_streamed(&server, &headers, body).await;
        let mcp_http::Streamed::Whole(out) = streamed else {
            panic!("{accept} {body}: {streamed:?}")
        };
        assert_eq!(out.headers()["content-type"], "application/json", "{body}");
    }
}

#[tokio::test]
async fn dropping_the_stream_stops_the_tool() {
    let (server, finished) = slow_server();
    let headers = accepting("text/event-stream, application/json");
    let streamed = send_streamed(&server, &headers, SLOW).await;
    let mcp_http::Streamed::Events { mut events, .. } = streamed else {
        panic!("streamed")
    };
    events.next().await.expect("the first event");
    drop(events);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(
        finished.lock().expect("not poisoned").is_none(),
        "the client went away: the tool did not run to its end"
    );
}

/// One POST to the portable catalog's server at `version` (2026-07-28 with
/// its envelope and routing headers).
async fn post_catalog(
    version: mcp_core::ProtocolVersion,
    method: &str,
    mut params: Value,
) -> mcp_http::Exchange {
    let server = mcp_tools::Catalog::portable()
        .expect("the catalog builds")
        .serve(ServerInfo::new("t", "0"));
    let mut headers = headers(version.as_str());
    if version.is_stateless() {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": version.as_str(),
            "io.modelcontextprotocol/clientCapabilities": {}
        });
        headers.insert("mcp-method", HeaderValue::from_str(method).expect("ascii"));
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    send(&server, &TrustFront, None, &headers, &body).await
}

#[tokio::test]
async fn resources_prompts_and_completions_over_http_at_every_revision() {
    use mcp_core::ProtocolVersion;
    for version in ProtocolVersion::ALL {
        let read = post_catalog(
            version,
            "resources/read",
            json!({"uri": mcp_tools::GUIDE_URI}),
        )
        .await;
        assert_eq!(read.status, StatusCode::OK, "{version}");
        let body = read.json().unwrap_or_default();
        assert_eq!(body["result"]["contents"][0]["mimeType"], "text/markdown");

        let missing = post_catalog(
            version,
            "resources/read",
            json!({"uri": "ladder://nothing"}),
        )
        .await;
        assert_eq!(
            missing.status,
            StatusCode::OK,
            "a JSON-RPC error, not a transport one"
        );
        // -32602 from 2026-07-28 on (SEP-2164), -32002 before.
        let not_found = if version.is_stateless() {
            -32602
        } else {
            -32002
        };
        assert_eq!(
            missing.json().unwrap_or_default()["error"]["code"],
            not_found
        );
        if version.is_stateless() {
            let body = read.json().unwrap_or_default();
            assert_eq!(body["result"]["ttlMs"], 60_000, "SEP-2549: {body}");
            assert_eq!(body["result"]["cacheScope"], "private");
        }

        let prompt = post_catalog(
            version,
            "prompts/get",
            json!({"name": "count_words", "arguments": {"text": "a b"}}),
        )
        .await;
        let body = prompt.json().unwrap_or_default();
        assert_eq!(
            body["result"]["messages"][0]["role"], "user",
            "{version}: {body}"
        );

        let listed = post_catalog(version, "resources/list", json!({})).await;
        let guide = &listed.json().unwrap_or_default()["result"]["resources"][0];
        assert_eq!(
            guide.get("title").is_some(),
            version.has_structured_output(),
            "{version}: a revision without titles gets none"
        );

        // The default catalog's prompt has no completions, but the method
        // exists where the revision has it.
        let complete = post_catalog(
            version,
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "count_words"}, "argument": {"name": "text", "value": ""}}),
        )
        .await;
        let body = complete.json().unwrap_or_default();
        if version.has_completions() {
            assert_eq!(
                body["result"]["completion"]["values"],
                json!([]),
                "{version}"
            );
        } else {
            assert_eq!(body["error"]["code"], -32601, "{version}");
        }
    }
}

#[tokio::test]
async fn a_streamed_answer_carries_its_rate_limit_headers() {
    let (server, _) = slow_server();
    let limits = mcp_core::limits::Limits::parse(r#"{"default": "5/60s"}"#).expect("valid");
    let server = server.with_rate_limits(limits);
    let headers = accepting("application/json, text/event-stream");
    let streamed = send_streamed(&server, &headers, SLOW).await;
    let mcp_http::Streamed::Events { head, mut events } = streamed else {
        panic!("streamed: {streamed:?}")
    };
    let headers = head.headers();
    assert_eq!(headers["ratelimit-policy"], r#""default";q=5;w=60"#);
    assert!(
        headers["ratelimit"]
            .to_str()
            .is_ok_and(|v| v.starts_with(r#""default";r=4;t="#)),
        "{headers:?}"
    );
    while events.next().await.is_some() {}
}

/// Authenticates everyone as a bearer-token caller holding `0`'s scopes.
struct Scoped(Vec<String>);

impl Authenticator for Scoped {
    fn authenticate<'a>(
        &'a self,
        _: &'a RequestParts<'a>,
    ) -> BoxFuture<'a, Result<Option<Identity>, AuthError>> {
        let identity = Identity {
            scheme: AuthScheme::Bearer,
            principal: "token-subject".into(),
            account: None,
            scopes: Some(self.0.clone()),
        };
        Box::pin(async move { Ok(Some(identity)) })
    }
}

#[tokio::test]
async fn a_token_without_the_tools_scope_neither_sees_nor_runs_it() {
    let calls = Arc::new(AtomicUsize::new(0));
    let read_only = Scoped(vec!["mcp:read".into()]);
    // `whoami` has no annotations: it needs the write scope.
    let listed = post(
        &calls,
        &read_only,
        None,
        "2025-11-25",
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    )
    .await;
    assert_eq!(
        listed.json().unwrap_or_default()["result"]["tools"],
        json!([])
    );

    let refused = post(&calls, &read_only, None, "2025-11-25", CALL).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.headers()["www-authenticate"],
        r#"Bearer error="insufficient_scope", scope="mcp:write", error_description="the token lacks a scope this tool needs""#
    );
    let body = refused.json().unwrap_or_default();
    assert_eq!(body["error"]["code"], -32031);
    assert_eq!(body["error"]["data"]["missingScopes"], json!(["mcp:write"]));
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the tool never ran");
    assert_eq!(refused.outcome, Some(CallOutcome::RefusedScope));

    let writer = Scoped(vec!["mcp:read".into(), "mcp:write".into()]);
    let admitted = post(&calls, &writer, None, "2025-11-25", CALL).await;
    assert_eq!(admitted.status, StatusCode::OK);
    assert!(admitted.headers().get("www-authenticate").is_none());
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // A scheme without scopes (IAM, checked by AWS) is not filtered.
    let iam = Identity {
        scheme: AuthScheme::AwsIam,
        principal: "arn:aws:iam::000000000000:user/dev".into(),
        account: None,
        scopes: None,
    };
    let out = post(&calls, &TrustFront, Some(&iam), "2025-11-25", CALL).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_token_without_the_read_scope_gets_the_same_challenge_for_resources_and_prompts() {
    let server = mcp_tools::Catalog::portable()
        .expect("the catalog builds")
        .serve(ServerInfo::new("t", "0"));
    let openid = Scoped(vec!["openid".into(), "profile".into()]);
    let resource = json!({"uri": mcp_tools::GUIDE_URI});
    let prompt = json!({"name": "count_words", "arguments": {"text": "a b"}});
    for (method, params, kind) in [
        ("resources/read", resource, "resource"),
        ("prompts/get", prompt, "prompt"),
    ] {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let out = send(
            &server,
            &openid,
            None,
            &headers("2025-11-25"),
            &body.to_string(),
        )
        .await;
        assert_eq!(out.status, StatusCode::FORBIDDEN, "{method}");
        assert_eq!(
            out.headers()["www-authenticate"],
            format!(
                "Bearer error=\"insufficient_scope\", scope=\"mcp:read\", \
                 error_description=\"the token lacks a scope this {kind} needs\""
            )
            .as_str(),
            "{method}"
        );
    }
}

/// A tool that cannot run without the client's sampling capability.
struct NeedsSampling;

impl Tool for NeedsSampling {
    type Args = NoArgs;
    type Output = Map<String, Value>;
    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new("needs_sampling", "Needs sampling.")
            .requires_client_capabilities(["sampling"])
    }
    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Self::Output, ToolError> {
        cx.log(mcp_core::LogLevel::Info, &json!("ran"));
        Ok(Map::new())
    }
}

/// A 2026-07-28 POST with its routing headers, and an envelope declaring no
/// capabilities unless `params` carry their own `_meta`.
async fn post_2026(
    server: &Server,
    id: Value,
    method: &str,
    mut params: Value,
) -> mcp_http::Exchange {
    let mut headers = headers("2026-07-28");
    headers.insert("mcp-method", HeaderValue::from_str(method).expect("ascii"));
    headers.insert(
        "accept",
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    if let Some(name) = params["name"].as_str() {
        headers.insert("mcp-name", HeaderValue::from_str(name).expect("ascii"));
    }
    if params.get("_meta").is_none() {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        });
    }
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
    send(server, &TrustFront, None, &headers, &body).await
}

/// SEP-2575 over HTTP: what the stateless revision refuses, with which
/// status, always with the request's id; what the older revisions keep.
#[tokio::test]
async fn the_stateless_revision_refuses_with_its_statuses_and_the_requests_id() {
    let mut tools = ToolRegistry::new();
    tools.register(NeedsSampling).expect("registers");
    let server = Server::new(ServerInfo::new("t", "0"), tools);
    let error = |out: &mcp_http::Exchange| {
        let body = out.json().unwrap_or_default();
        (body["id"].clone(), body["error"]["code"].clone())
    };

    // A required `_meta` member missing: malformed, 400 -32602.
    for meta in [
        json!({}),
        json!({"io.modelcontextprotocol/clientCapabilities": {}}),
        json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28"}),
    ] {
        let out = post_2026(
            &server,
            json!(101),
            "server/discover",
            json!({"_meta": meta}),
        )
        .await;
        assert_eq!(out.status, StatusCode::BAD_REQUEST, "{meta}");
        assert_eq!(error(&out), (json!(101), json!(-32602)), "{meta}");
    }
    // Methods the revision removed: 404 -32601.
    for method in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
    ] {
        let out = post_2026(&server, json!("m"), method, json!({})).await;
        assert_eq!(out.status, StatusCode::NOT_FOUND, "{method}");
        assert_eq!(error(&out), (json!("m"), json!(-32601)), "{method}");
    }
    // An unsupported revision in the header: 400 -32022, still with the id.
    let mut unsupported = headers("v999");
    unsupported.insert("mcp-method", HeaderValue::from_static("server/discover"));
    let out = send(
        &server,
        &TrustFront,
        None,
        &unsupported,
        r#"{"jsonrpc":"2.0","id":301,"method":"server/discover","params":{}}"#,
    )
    .await;
    assert_eq!(out.status, StatusCode::BAD_REQUEST);
    assert_eq!(error(&out), (json!(301), json!(-32022)));

    // A capability the client did not declare: 400 -32021, the tool not run.
    let out = post_2026(
        &server,
        json!(401),
        "tools/call",
        json!({"name": "needs_sampling"}),
    )
    .await;
    assert_eq!(out.status, StatusCode::BAD_REQUEST);
    assert_eq!(error(&out), (json!(401), json!(-32021)));
    let data = &out.json().unwrap_or_default()["error"]["data"];
    assert_eq!(data["requiredCapabilities"], json!({"sampling": {}}));
    // Declared, it runs - and without a log level, it logs nothing.
    let declared = json!({"name": "needs_sampling", "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"sampling": {}}
    }});
    let out = post_2026(&server, json!(402), "tools/call", declared.clone()).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(!out.event_stream, "no log message without a log level");
    let mut leveled = declared;
    leveled["_meta"]["io.modelcontextprotocol/logLevel"] = json!("info");
    let out = post_2026(&server, json!(403), "tools/call", leveled).await;
    let sent = events(out.body.as_deref().unwrap_or_default());
    assert_eq!(sent[0]["method"], "notifications/message", "{sent:?}");

    // The same requests at 2025-11-25 keep that revision's answers.
    let out = post(
        &Arc::default(),
        &TrustFront,
        None,
        "2025-11-25",
        r#"{"jsonrpc":"2.0","id":7,"method":"logging/setLevel","params":{"level":"info"}}"#,
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.json().unwrap_or_default()["result"], json!({}));
}

/// `subscriptions/listen`: the acknowledgement first, tagged with the
/// subscription id (the request's id), then the graceful end.
#[tokio::test]
async fn a_listen_is_acknowledged_then_closed_gracefully() {
    let server = mcp_tools::Catalog::portable()
        .expect("the catalog builds")
        .serve(ServerInfo::new("t", "0"));
    let params = json!({"notifications": {
        "toolsListChanged": true,
        "resourceSubscriptions": [mcp_tools::GUIDE_URI, "ladder://nothing"]
    }});
    let out = post_2026(&server, json!(42), "subscriptions/listen", params).await;
    assert_eq!(out.status, StatusCode::OK);
    let sent = events(out.body.as_deref().unwrap_or_default());
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        sent[0]["method"],
        "notifications/subscriptions/acknowledged"
    );
    assert_eq!(
        sent[0]["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        42
    );
    assert_eq!(
        sent[0]["params"]["notifications"],
        json!({"resourceSubscriptions": [mcp_tools::GUIDE_URI]}),
        "only what is honoured: list changes are not offered, unknown URIs not kept"
    );
    assert_eq!(sent[1]["id"], 42);
    assert_eq!(sent[1]["result"]["resultType"], "complete");
    assert_eq!(
        sent[1]["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        42
    );
}

/// Asks the client's model to finish a sentence (a server-to-client
/// request at 2025-11-25, an `input_required` round at 2026-07-28).
struct Finish;

impl mcp_core::ContentTool for Finish {
    type Args = NoArgs;
    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new("finish", "Has the client's model finish a sentence.")
    }
    async fn call(
        &self,
        _: NoArgs,
        cx: &CallContext<'_>,
    ) -> Result<Vec<mcp_core::model::Content>, ToolError> {
        match cx.sampled_text("s") {
            Some(text) => Ok(vec![mcp_core::model::Content::text(format!(
                "model: {text}"
            ))]),
            None => Err(cx
                .ask(mcp_core::InputRequests::new().sample("s", "Roses are", 10))
                .into()),
        }
    }
}

/// One request to the parking front, as `who` (an IAM principal), ending
/// within `wait` (the front's deadline).
async fn at_parking_front(
    server: &Server,
    (method, headers, body): (Method, &HeaderMap, &str),
    who: &str,
    wait: std::time::Duration,
) -> mcp_http::Exchange {
    let identity = Identity {
        scheme: AuthScheme::AwsIam,
        principal: format!("arn:aws:iam::{}:user/{who}", "0".repeat(12)),
        account: Some("0".repeat(12)),
        scopes: None,
    };
    let parts = RequestParts {
        method: &method,
        path: "/mcp",
        query: None,
        headers,
        body: body.as_bytes(),
        front_identity: Some(&identity),
    };
    let context = RequestContext {
        deadline: Some(std::time::Instant::now() + wait),
        ..RequestContext::default()
    };
    mcp_http::exchange(server, &PARKING, &TrustFront, parts, context).await
}

/// The JSON messages and the `id` and `retry` fields of an SSE body.
fn sse_fields(body: &str) -> (Vec<Value>, Vec<String>, Vec<String>) {
    let field = |name: &str| -> Vec<String> {
        body.lines()
            .filter_map(|l| l.strip_prefix(name))
            .map(str::to_owned)
            .collect()
    };
    let messages = field("data: ")
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    (messages, field("id: "), field("retry: "))
}

#[tokio::test]
async fn a_call_that_asks_is_parked_answered_by_post_and_resumed_by_get() {
    let mut tools = ToolRegistry::new();
    tools.register_content(Finish).expect("registers");
    let server = Server::new(ServerInfo::new("t", "0"), tools);
    let headers = accepting("application/json, text/event-stream");
    let call = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"finish","arguments":{}}}"#;
    let second = std::time::Duration::from_secs(2);
    // A front without a rendezvous never asks: the tool learns at once that it cannot.
    let mcp_http::Streamed::Whole(out) = send_streamed(&server, &headers, call).await else {
        panic!("nothing to stream");
    };
    assert!(
        out.body
            .as_deref()
            .is_some_and(|b| b.contains("does not have")),
        "{out:?}"
    );
    // The call asks: its stream carries the request and the park's id, not its response.
    let post = |body| (Method::POST, &headers, body);
    let out = at_parking_front(&server, post(call), "alice", second).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.event_stream, "{out:?}");
    assert_eq!(out.outcome, Some(CallOutcome::InputRequired));
    let (messages, ids, retries) = sse_fields(out.body.as_deref().unwrap_or_default());
    assert_eq!(
        messages.len(),
        1,
        "the request and nothing else: {messages:?}"
    );
    assert_eq!(messages[0]["method"], "sampling/createMessage");
    assert_eq!(
        messages[0]["params"]["messages"][0]["content"]["text"],
        "Roses are"
    );
    assert_eq!(retries, ["300"]);
    let park = ids[0].clone();
    let hex = park.strip_prefix("mcp-ladder-").expect("our prefix");
    assert_eq!(hex.len(), 32, "128 random bits: {park}");
    assert_eq!(messages[0]["id"], format!("{park}.0"));
    // Resumed before the answer: the same id again, so that the client comes back.
    let mut resuming = accepting("text/event-stream");
    resuming.insert(
        "last-event-id",
        HeaderValue::from_str(&park).expect("ascii"),
    );
    let get = || (Method::GET, &resuming, "");
    let short = std::time::Duration::from_millis(1200);
    let out = at_parking_front(&server, get(), "alice", short).await;
    assert_eq!(out.status, StatusCode::OK);
    let (messages, ids, _) = sse_fields(out.body.as_deref().unwrap_or_default());
    assert!(messages.is_empty(), "{messages:?}");
    assert_eq!(ids, std::slice::from_ref(&park));
    // Another caller can neither answer nor resume it.
    let answer = json!({"jsonrpc": "2.0", "id": format!("{park}.0"), "result": {
        "role": "assistant", "content": {"type": "text", "text": "red"}, "model": "m"}})
    .to_string();
    let out = at_parking_front(&server, post(&answer), "mallory", second).await;
    assert_eq!(out.status, StatusCode::NOT_FOUND);
    let out = at_parking_front(&server, get(), "mallory", second).await;
    assert_eq!(out.status, StatusCode::NOT_FOUND);
    // An answer to a request nobody sent is refused too.
    let stray = json!({"jsonrpc": "2.0", "id": format!("{park}.1"), "result": {}}).to_string();
    let out = at_parking_front(&server, post(&stray), "alice", second).await;
    assert_eq!(out.status, StatusCode::NOT_FOUND);
    // The caller's answer is kept once; the resumed stream ends with the response.
    let out = at_parking_front(&server, post(&answer), "alice", second).await;
    assert_eq!(out.status, StatusCode::ACCEPTED);
    let out = at_parking_front(&server, post(&answer), "alice", second).await;
    assert_eq!(out.status, StatusCode::NOT_FOUND, "a second answer");
    let out = at_parking_front(&server, get(), "alice", second).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.event_stream);
    assert_eq!(out.tool.as_deref(), Some("finish"));
    let (messages, _, _) = sse_fields(out.body.as_deref().unwrap_or_default());
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["id"], 7);
    assert_eq!(messages[0]["result"]["content"][0]["text"], "model: red");
    // Resumed once only.
    let out = at_parking_front(&server, get(), "alice", second).await;
    assert_eq!(out.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_refused_or_unfit_answer_ends_the_call_with_a_tool_error() {
    let mut tools = ToolRegistry::new();
    tools.register_content(Finish).expect("registers");
    let server = Server::new(ServerInfo::new("t", "0"), tools);
    let headers = accepting("application/json, text/event-stream");
    let call = r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"finish","arguments":{}}}"#;
    let second = std::time::Duration::from_secs(2);
    let answers = [
        (
            json!({"error": {"code": -1, "message": "the user said no"}}),
            "the user said no",
        ),
        (json!({"result": {"action": "accept"}}), "is not its result"),
    ];
    for (answer, why) in answers {
        let out = at_parking_front(&server, (Method::POST, &headers, call), "alice", second).await;
        let (_, ids, _) = sse_fields(out.body.as_deref().unwrap_or_default());
        let park = ids[0].clone();
        let mut answer = answer;
        answer["jsonrpc"] = json!("2.0");
        answer["id"] = json!(format!("{park}.0"));
        let answer = answer.to_string();
        let out =
            at_parking_front(&server, (Method::POST, &headers, &answer), "alice", second).await;
        assert_eq!(out.status, StatusCode::ACCEPTED);
        let mut resuming = accepting("text/event-stream");
        resuming.insert(
            "last-event-id",
            HeaderValue::from_str(&park).expect("ascii"),
        );
        let out = at_parking_front(&server, (Method::GET, &resuming, ""), "alice", second).await;
        let (messages, _, _) = sse_fields(out.body.as_deref().unwrap_or_default());
        assert_eq!(messages[0]["result"]["isError"], true, "{messages:?}");
        let text = messages[0]["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(text.contains(why), "{text}");
    }
    // A GET that names no stream of ours, or takes no SSE, is refused.
    let mut resuming = accepting("text/event-stream");
    resuming.insert("last-event-id", HeaderValue::from_static("42"));
    let out = at_parking_front(&server, (Method::GET, &resuming, ""), "alice", second).await;
    assert_eq!(out.status, StatusCode::BAD_REQUEST);
    let mut resuming = accepting("application/json");
    resuming.insert(
        "last-event-id",
        HeaderValue::from_static("mcp-ladder-00000000000000000000000000000000"),
    );
    let out = at_parking_front(&server, (Method::GET, &resuming, ""), "alice", second).await;
    assert_eq!(out.status, StatusCode::NOT_ACCEPTABLE);
    // A GET without Last-Event-ID is still not served.
    let out = at_parking_front(
        &server,
        (Method::GET, &accepting("text/event-stream"), ""),
        "alice",
        second,
    )
    .await;
    assert_eq!(out.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// Asks the client's model twice, one round after the other.
struct Twice;

impl mcp_core::ContentTool for Twice {
    type Args = NoArgs;
    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new("twice", "Has the client's model answer two questions.")
    }
    async fn call(
        &self,
        _: NoArgs,
        cx: &CallContext<'_>,
    ) -> Result<Vec<mcp_core::model::Content>, ToolError> {
        // The first answer travels in the state the tool keeps, as at 2026-07-28.
        let kept = cx.input_state().and_then(Value::as_str);
        let Some(first) = kept.or(cx.sampled_text("first")) else {
            let ask = mcp_core::InputRequests::new().sample("first", "first", 10);
            return Err(cx.ask(ask).into());
        };
        let Some(second) = cx.sampled_text("second") else {
            let ask = mcp_core::InputRequests::new().sample("second", "second", 10);
            return Err(cx.ask_with_state(ask, json!(first)).into());
        };
        Ok(vec![mcp_core::model::Content::text(format!(
            "{first} {second}"
        ))])
    }
}

#[tokio::test]
async fn a_resumed_call_that_asks_again_is_parked_again_under_a_new_id() {
    let mut tools = ToolRegistry::new();
    tools.register_content(Twice).expect("registers");
    let server = Server::new(ServerInfo::new("t", "0"), tools);
    let headers = accepting("application/json, text/event-stream");
    let call = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"twice","arguments":{}}}"#;
    let second = std::time::Duration::from_secs(2);
    let mut out = at_parking_front(&server, (Method::POST, &headers, call), "alice", second).await;
    let mut parks = Vec::new();
    for word in ["red", "blue"] {
        let (messages, ids, _) = sse_fields(out.body.as_deref().unwrap_or_default());
        assert_eq!(messages.len(), 1, "one request: {messages:?}");
        let park = ids[0].clone();
        let answer = json!({"jsonrpc": "2.0", "id": messages[0]["id"], "result": {
            "role": "assistant", "content": {"type": "text", "text": word}, "model": "m"}})
        .to_string();
        let answered =
            at_parking_front(&server, (Method::POST, &headers, &answer), "alice", second);
        assert_eq!(answered.await.status, StatusCode::ACCEPTED);
        let mut resuming = accepting("text/event-stream");
        resuming.insert(
            "last-event-id",
            HeaderValue::from_str(&park).expect("ascii"),
        );
        out = at_parking_front(&server, (Method::GET, &resuming, ""), "alice", second).await;
        assert_eq!(out.status, StatusCode::OK);
        assert!(out.event_stream, "{out:?}");
        parks.push(park);
    }
    assert_ne!(parks[0], parks[1]);
    let (messages, _, _) = sse_fields(out.body.as_deref().unwrap_or_default());
    assert_eq!(messages[0]["id"], 9);
    assert_eq!(messages[0]["result"]["content"][0]["text"], "red blue");
}

#[tokio::test]
async fn a_tool_in_a_batch_cannot_ask_and_the_batch_is_answered_whole() {
    let mut tools = ToolRegistry::new();
    tools.register_content(Finish).expect("registers");
    let server = Server::new(ServerInfo::new("t", "0"), tools);
    let mut headers = accepting("application/json, text/event-stream");
    headers.insert(
        "mcp-protocol-version",
        HeaderValue::from_static("2025-03-26"),
    );
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"finish","arguments":{}}},{"jsonrpc":"2.0","id":2,"method":"ping"}]"#;
    let second = std::time::Duration::from_secs(2);
    let out = at_parking_front(&server, (Method::POST, &headers, batch), "alice", second).await;
    assert_eq!(out.status, StatusCode::OK);
    let replies = out.json().unwrap_or_default();
    assert_eq!(replies.as_array().map(Vec::len), Some(2), "{replies}");
    assert_eq!(replies[0]["result"]["isError"], true, "{replies}");
    assert_eq!(replies[1]["result"], json!({}), "{replies}");
}
