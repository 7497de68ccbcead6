//! Governance at its edges: how large a batch may be, what a rate-limited
//! caller costs the counter within one, and which scopes every method a
//! token can reach needs.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mcp_core::limits::{Call, Counted, Counter, InProcess, Limits};
use mcp_core::{
    Annotations, CallContext, NoArgs, ProtocolVersion, RequestContext, Server, ServerInfo, Session,
    Tool, ToolDefinition, ToolError, ToolRegistry,
};
use serde_json::{Map, Value, json};

struct Echo(&'static str, bool);

impl Tool for Echo {
    type Args = NoArgs;
    type Output = Map<String, Value>;
    fn definition(&self) -> ToolDefinition {
        let definition = ToolDefinition::new(self.0, "Answers with its name.");
        if self.1 {
            definition.annotations(Annotations::read_only())
        } else {
            definition
        }
    }
    async fn call(&self, _: NoArgs, _: &CallContext<'_>) -> Result<Self::Output, ToolError> {
        let mut output = Map::new();
        output.insert("tool".into(), json!(self.0));
        Ok(output)
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn server() -> Server {
    let mut tools = ToolRegistry::new();
    tools
        .register(Echo("look", true))
        .unwrap()
        .register(Echo("demo_drop_table", false))
        .unwrap();
    Server::new(ServerInfo::new("governance", "0"), tools)
}

/// A counter that admits through [`InProcess`] and counts every write it
/// was asked for, admitted or refused (as DynamoDB bills them).
#[derive(Debug, Default)]
struct Writes {
    counter: InProcess,
    writes: Arc<AtomicUsize>,
}

impl Counter for Writes {
    fn count<'a>(&'a self, call: Call<'a>) -> Counted<'a> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.counter.count(call)
    }
}

/// The server with `limits` counted by [`Writes`], and its write count.
fn counted(limits: &str) -> (Server, Arc<AtomicUsize>) {
    let writes = Arc::new(AtomicUsize::new(0));
    let counter = Writes {
        writes: Arc::clone(&writes),
        ..Writes::default()
    };
    let limits = Limits::parse(limits).unwrap();
    (
        server().with_rate_limit_counter(limits, Box::new(counter)),
        writes,
    )
}

fn call(id: usize, tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool}})
}

fn batch(server: &Server, items: Vec<Value>) -> Value {
    let mut session = Session::stateless(ProtocolVersion::parse("2025-03-26").unwrap());
    block_on(server.handle_value(
        &mut session,
        Value::Array(items),
        &RequestContext::default(),
    ))
    .unwrap()
    .to_value()
}

#[test]
fn a_batch_over_the_limit_is_refused_whole_and_names_the_limit() {
    let (server, writes) = counted(r#"{"default": "100/60s"}"#);
    let server = server.with_max_batch(3);
    let reply = batch(&server, (0..4).map(|i| call(i, "look")).collect());
    assert_eq!(reply["id"], Value::Null);
    assert_eq!(reply["error"]["code"], -32600);
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(message.contains("limit of 3"), "{message}");
    assert_eq!(writes.load(Ordering::SeqCst), 0, "nothing ran");
    // At the limit, every message runs.
    let reply = batch(&server, (0..3).map(|i| call(i, "look")).collect());
    assert_eq!(reply.as_array().unwrap().len(), 3);
    assert_eq!(writes.load(Ordering::SeqCst), 3);
}

#[test]
fn the_default_batch_limit_is_twenty() {
    assert_eq!(mcp_core::DEFAULT_MAX_BATCH, 20);
    let ping = |i: usize| json!({"jsonrpc": "2.0", "id": i, "method": "ping"});
    let reply = batch(&server(), (0..21).map(ping).collect());
    assert_eq!(reply["error"]["code"], -32600);
    let reply = batch(&server(), (0..20).map(ping).collect());
    assert_eq!(reply.as_array().unwrap().len(), 20);
}

#[test]
fn a_refused_caller_is_not_counted_again_within_a_batch() {
    let (server, writes) = counted(r#"{"default": "2/60s", "tools": {"look": "3/60s"}}"#);
    let mut items: Vec<Value> = (0..10).map(|i| call(i, "look")).collect();
    items.push(call(10, "demo_drop_table"));
    let reply = batch(&server, items);
    let replies = reply.as_array().unwrap();
    let codes: Vec<Value> = replies.iter().map(|r| r["error"]["code"].clone()).collect();
    let mut expected = vec![Value::Null; 3];
    expected.extend(std::iter::repeat_n(json!(-32029), 7));
    expected.push(Value::Null);
    assert_eq!(codes, expected, "{reply}");
    // Three admitted, one refused, then no more writes for `look`; the other
    // tool is counted on its own.
    assert_eq!(writes.load(Ordering::SeqCst), 5);
    let message = replies[9]["error"]["message"].as_str().unwrap();
    assert!(message.contains("Rate limit reached for tool `look`"));
}
