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
use mcp_core::model::{
    Content, PromptArgument, PromptInfo, PromptMessage, ResourceContents, ResourceInfo,
};
use mcp_core::scopes::ScopesError;
use mcp_core::{
    Annotations, AuthScheme, CallContext, Identity, NoArgs, Prompt, PromptArguments, PromptError,
    Prompts, ProtocolVersion, RequestContext, Resources, Server, ServerInfo, Session, Tool,
    ToolDefinition, ToolError, ToolRegistry,
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

struct Named(&'static str);

impl Prompt for Named {
    fn definition(&self) -> PromptInfo {
        PromptInfo::new(self.0, "Asks for a colour.")
            .arguments(vec![PromptArgument::required("colour", "red or blue")])
    }
    async fn get(
        &self,
        _: &PromptArguments,
        _: &CallContext<'_>,
    ) -> Result<Vec<PromptMessage>, PromptError> {
        Ok(vec![PromptMessage::user(Content::text(self.0))])
    }
    fn complete(&self, _: &str, prefix: &str) -> Vec<String> {
        ["red", "blue"]
            .into_iter()
            .filter(|c| c.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    }
}

/// Two resources and two prompts; `doc://secret` and `ops` need `ops:admin`.
fn content_server() -> Server {
    let mut resources = Resources::new();
    for uri in ["doc://open", "doc://secret"] {
        let info = ResourceInfo::new(uri, uri);
        resources
            .add(info, ResourceContents::text(uri, "text/plain", uri))
            .unwrap();
    }
    let mut prompts = Prompts::new();
    prompts
        .add(Named("pick"))
        .unwrap()
        .add(Named("ops"))
        .unwrap();
    let admin = || mcp_core::scopes::parse(r#"{"doc://secret": ["ops:admin"]}"#).unwrap();
    server()
        .with_resources(resources)
        .with_prompts(prompts)
        .with_resource_scopes(admin())
        .unwrap()
        .with_prompt_scopes(mcp_core::scopes::parse(r#"{"ops": ["ops:admin"]}"#).unwrap())
        .unwrap()
}

/// A bearer caller with `scopes`; `None`: a scheme without scopes (IAM).
fn caller(scopes: Option<&[&str]>) -> RequestContext {
    RequestContext {
        identity: Some(Identity {
            scheme: AuthScheme::Bearer,
            principal: "subject".into(),
            account: None,
            scopes: scopes.map(|s| s.iter().map(|s| (*s).to_owned()).collect()),
        }),
        ..RequestContext::default()
    }
}

fn ask(server: &Server, context: &RequestContext, method: &str, params: Value) -> Value {
    let mut session = Session::stateless(ProtocolVersion::V2025_11_25);
    let message = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    block_on(server.handle_value(&mut session, message, context))
        .unwrap()
        .to_value()
}

/// What a caller sees of the lists: resource URIs, then prompt names.
fn visible(server: &Server, context: &RequestContext) -> (Vec<Value>, Vec<Value>) {
    let listed = |method, key: &str, field: &str| -> Vec<Value> {
        ask(server, context, method, json!({}))["result"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry[field].clone())
            .collect()
    };
    (
        listed("resources/list", "resources", "uri"),
        listed("prompts/list", "prompts", "name"),
    )
}

fn refused_for(reply: &Value) -> Value {
    assert_eq!(reply["error"]["code"], -32031, "{reply}");
    reply["error"]["data"]["requiredScopes"].clone()
}

#[test]
fn resources_prompts_and_completions_need_the_read_scope() {
    let server = content_server();
    let openid = caller(Some(&["openid", "profile"]));
    assert_eq!(visible(&server, &openid), (vec![], vec![]));
    let read = json!({"uri": "doc://open"});
    let baseline = json!(["mcp:read"]);
    for (method, params) in [
        ("resources/read", read.clone()),
        ("resources/subscribe", read),
        ("resources/read", json!({"uri": "doc://nothing-here"})),
        (
            "prompts/get",
            json!({"name": "pick", "arguments": {"colour": "red"}}),
        ),
        ("prompts/get", json!({"name": "nothing-here"})),
        (
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "pick"},
                   "argument": {"name": "colour", "value": "r"}}),
        ),
    ] {
        let reply = ask(&server, &openid, method, params);
        assert_eq!(refused_for(&reply), baseline, "{method}");
    }
    let reply = ask(
        &server,
        &openid,
        "resources/read",
        json!({"uri": "doc://open"}),
    );
    assert_eq!(reply["error"]["data"]["resource"], "doc://open");
}

#[test]
fn a_deployment_names_other_scopes_per_resource_and_prompt() {
    let server = content_server();
    let read = caller(Some(&["mcp:read"]));
    assert_eq!(
        visible(&server, &read),
        (vec![json!("doc://open")], vec![json!("pick")])
    );
    let secret = ask(
        &server,
        &read,
        "resources/read",
        json!({"uri": "doc://secret"}),
    );
    assert_eq!(refused_for(&secret), json!(["ops:admin"]));
    let ops = ask(
        &server,
        &read,
        "prompts/get",
        json!({"name": "ops", "arguments": {"colour": "red"}}),
    );
    assert_eq!(refused_for(&ops), json!(["ops:admin"]));
    assert_eq!(ops["error"]["data"]["prompt"], "ops");
    // An unknown prompt is named with only the prompts this caller may see.
    let unknown = ask(&server, &read, "prompts/get", json!({"name": "nope"}));
    let message = unknown["error"]["message"].as_str().unwrap();
    assert!(message.ends_with("available prompts: pick"), "{message}");
    let completed = ask(
        &server,
        &read,
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": "pick"},
               "argument": {"name": "colour", "value": "r"}}),
    );
    assert_eq!(completed["result"]["completion"]["values"], json!(["red"]));

    let admin = caller(Some(&["mcp:read", "ops:admin"]));
    let all = (
        vec![json!("doc://open"), json!("doc://secret")],
        vec![json!("pick"), json!("ops")],
    );
    assert_eq!(visible(&server, &admin), all);
    let secret = ask(
        &server,
        &admin,
        "resources/read",
        json!({"uri": "doc://secret"}),
    );
    assert_eq!(secret["result"]["contents"][0]["text"], "doc://secret");
    // A caller whose scheme has no scopes (IAM, stdio) is not filtered.
    assert_eq!(visible(&server, &caller(None)), all);

    let error = content_server()
        .with_prompt_scopes(mcp_core::scopes::parse(r#"{"opps": ["x"]}"#).unwrap())
        .unwrap_err();
    assert!(
        matches!(&error, ScopesError::Unknown { kind: "prompt", name, known }
            if name == "opps" && known == &["pick", "ops"]),
        "{error:?}"
    );
}

#[test]
fn the_unknown_tool_error_names_only_the_tools_the_caller_may_see() {
    let server = server();
    let reply = ask(
        &server,
        &caller(Some(&["mcp:read"])),
        "tools/call",
        json!({"name": "nope"}),
    );
    assert_eq!(reply["error"]["code"], -32602);
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(message.ends_with("available tools: look"), "{message}");
    let reply = ask(
        &server,
        &caller(None),
        "tools/call",
        json!({"name": "nope"}),
    );
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(
        message.ends_with("available tools: look, demo_drop_table"),
        "{message}"
    );
}

/// A store that throttles every count, and counts the requests.
#[derive(Debug, Default)]
struct Throttles(Arc<AtomicUsize>);

impl Counter for Throttles {
    fn count<'a>(&'a self, _: Call<'a>) -> Counted<'a> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(Err(
            mcp_core::limits::CountError::Throttled {
                retry_after_s: 1,
                why: "hot item".into(),
            },
        )))
    }
}

#[test]
fn a_throttled_item_refuses_even_a_read_only_tool_and_is_asked_once_per_batch() {
    let requests = Arc::new(AtomicUsize::new(0));
    let limits = Limits::parse(r#"{"default": "100/60s"}"#).unwrap();
    let server =
        server().with_rate_limit_counter(limits, Box::new(Throttles(Arc::clone(&requests))));
    let reply = batch(&server, (0..5).map(|i| call(i, "look")).collect());
    let codes: Vec<Value> = reply
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error"]["code"].clone())
        .collect();
    assert_eq!(codes, vec![json!(-32029); 5], "{reply}");
    assert_eq!(requests.load(Ordering::SeqCst), 1);
    let message = reply[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("Try again in 1 s"), "{message}");
}
