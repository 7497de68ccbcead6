//! Table-driven JSON-RPC and MCP edge cases: each input, at a given session
//! state, gets exactly the reply in the table (or none).

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use mcp_core::{
    Annotations, CallContext, NoArgs, ProtocolVersion, RequestContext, Server, ServerInfo, Session,
    Tool, ToolDefinition, ToolError, ToolRegistry,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

struct Add;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AddArgs {
    a: i64,
    b: i64,
}

#[derive(Serialize, JsonSchema)]
struct Sum {
    sum: i64,
}

impl Tool for Add {
    type Args = AddArgs;
    type Output = Sum;
    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new("add", "Add two integers.")
            .title("Add")
            .annotations(Annotations::read_only())
    }
    async fn call(&self, args: AddArgs, _: &CallContext<'_>) -> Result<Sum, ToolError> {
        args.a
            .checked_add(args.b)
            .map(|sum| Sum { sum })
            .ok_or_else(|| ToolError::new("overflow"))
    }
}

struct Fail;

impl Tool for Fail {
    type Args = NoArgs;
    type Output = Sum;
    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new("fail", "Always fails.")
    }
    async fn call(&self, _: Self::Args, _: &CallContext<'_>) -> Result<Sum, ToolError> {
        Err(ToolError::new("the backend is down: try again in a minute"))
    }
}

struct Boom;

impl Tool for Boom {
    type Args = NoArgs;
    type Output = Sum;
    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new("boom", "Panics.")
    }
    async fn call(&self, _: Self::Args, _: &CallContext<'_>) -> Result<Sum, ToolError> {
        panic!("a bug in a tool")
    }
}

/// Drives a future to completion on a current-thread runtime (the core has none).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds")
        .block_on(future)
}

fn server() -> Server {
    let mut tools = ToolRegistry::new();
    tools
        .register(Add)
        .unwrap()
        .register(Fail)
        .unwrap()
        .register(Boom)
        .unwrap();
    let mut info = ServerInfo::new("edge", "1.2.3");
    info.title = Some("Edge".into());
    Server::new(info, tools)
}

#[derive(Clone, Copy, Debug)]
enum State {
    /// A stdio connection before `initialize`.
    Fresh,
    /// A stdio connection initialized at this revision.
    Init(&'static str),
    /// One stateless HTTP exchange at this revision.
    Http(&'static str),
}

fn session(server: &Server, state: State) -> Session {
    match state {
        State::Fresh => Session::new(),
        State::Init(v) => {
            let mut s = Session::new();
            let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize",
                "params":{"protocolVersion": v, "capabilities": {}, "clientInfo": {"name":"t","version":"0"}}});
            let reply = block_on(server.handle_value(&mut s, init, &RequestContext::default()))
                .unwrap()
                .to_value();
            assert_eq!(reply["result"]["protocolVersion"], v);
            s
        }
        State::Http(v) => Session::stateless(ProtocolVersion::parse(v).unwrap()),
    }
}

fn ok(id: Value, result: Value) -> Option<Value> {
    Some(json!({"jsonrpc":"2.0","id":id,"result":result}))
}

fn err(id: Value, code: i32, message: &str) -> Option<Value> {
    Some(json!({"jsonrpc":"2.0","id":id,"error":{"code":code,"message":message}}))
}

const ENVELOPE: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

fn modern(method: &str, id: i64, params: &str) -> String {
    let sep = if params.is_empty() { "" } else { "," };
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{{{ENVELOPE}{sep}{params}}}}}"#
    )
}

fn server_info_meta() -> Value {
    json!({"io.modelcontextprotocol/serverInfo": {"name":"edge","title":"Edge","version":"1.2.3"}})
}

fn tools_wire(version: &str) -> Value {
    let annotations = json!({"readOnlyHint":true,"destructiveHint":false,"idempotentHint":true,"openWorldHint":false});
    let no_args = json!({"type":"object","properties":{},"additionalProperties":false});
    // Derived from `AddArgs` and `Sum` by schemars.
    let add_args = json!({"type":"object","additionalProperties":false,"required":["a","b"],
        "properties":{"a":{"type":"integer","format":"int64"},"b":{"type":"integer","format":"int64"}}});
    let sum = json!({"type":"object","required":["sum"],
        "properties":{"sum":{"type":"integer","format":"int64"}}});
    match version {
        "2024-11-05" => json!([
            {"name":"add","description":"Add two integers.","inputSchema":add_args},
            {"name":"fail","description":"Always fails.","inputSchema":no_args},
            {"name":"boom","description":"Panics.","inputSchema":no_args},
        ]),
        _ => json!([
            {"name":"add","title":"Add","description":"Add two integers.",
             "inputSchema":add_args,"outputSchema":sum,
             "annotations":annotations},
            {"name":"fail","description":"Always fails.","inputSchema":no_args,"outputSchema":sum},
            {"name":"boom","description":"Panics.","inputSchema":no_args,"outputSchema":sum},
        ]),
    }
}

fn init_result(version: &str, titled: bool) -> Value {
    let mut info = json!({"name":"edge","version":"1.2.3"});
    if titled {
        info["title"] = json!("Edge");
    }
    json!({"protocolVersion":version,"capabilities":{"logging":{},"tools":{"listChanged":false}},"serverInfo":info})
}

fn initialize(version: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"{version}","capabilities":{{}},"clientInfo":{{"name":"c","version":"1"}}}}}}"#
    )
}

fn call(name: &str, args: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"{name}","arguments":{args}}}}}"#
    )
}

fn unsupported(requested: &str) -> Option<Value> {
    Some(json!({"jsonrpc":"2.0","id":3,"error":{"code":-32022,
        "message":format!("Unsupported protocol version {requested:?} for a per-request envelope: use 2026-07-28, or `initialize` with one of 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05"),
        "data":{"supported":["2026-07-28","2025-11-25","2025-06-18","2025-03-26","2024-11-05"],"requested":requested}}}))
}

struct Case {
    name: &'static str,
    state: State,
    input: Vec<u8>,
    expect: Option<Value>,
}

fn case(
    name: &'static str,
    state: State,
    input: impl Into<Vec<u8>>,
    expect: Option<Value>,
) -> Case {
    Case {
        name,
        state,
        input: input.into(),
        expect,
    }
}

const V11: State = State::Init("2025-11-25");
const NOT_INITIALIZED: &str = "Invalid request: the session is not initialized: send `initialize` first, or use protocol 2026-07-28 with a per-request `_meta` envelope";
const MISSING_ENVELOPE: &str = "Invalid params: requests at protocol 2026-07-28 carry `params._meta` with \"io.modelcontextprotocol/protocolVersion\" and \"io.modelcontextprotocol/clientCapabilities\"";

fn cases() -> Vec<Case> {
    let null = Value::Null;
    let add_ok = json!({"content":[{"type":"text","text":"{\"sum\":5}"}],"isError":false,"structuredContent":{"sum":5}});
    vec![
        // --- JSON and JSON-RPC shape ---
        case(
            "truncated JSON",
            V11,
            "{",
            err(
                null.clone(),
                -32700,
                "Parse error: EOF while parsing an object at line 1 column 1",
            ),
        ),
        case(
            "not JSON",
            V11,
            "hello",
            err(
                null.clone(),
                -32700,
                "Parse error: expected value at line 1 column 1",
            ),
        ),
        case(
            "empty input",
            V11,
            "",
            err(
                null.clone(),
                -32700,
                "Parse error: EOF while parsing a value at line 1 column 0",
            ),
        ),
        case(
            "invalid UTF-8",
            V11,
            &b"\"\xff\""[..],
            err(
                null.clone(),
                -32700,
                "Parse error: invalid unicode code point at line 1 column 2",
            ),
        ),
        case(
            "empty batch",
            V11,
            "[]",
            err(null.clone(), -32600, "Invalid request: an empty batch"),
        ),
        case(
            "a number",
            V11,
            "1",
            err(
                null.clone(),
                -32600,
                "Invalid request: a message must be a JSON object",
            ),
        ),
        case(
            "null",
            V11,
            "null",
            err(
                null.clone(),
                -32600,
                "Invalid request: a message must be a JSON object",
            ),
        ),
        case(
            "id null",
            V11,
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            err(
                null.clone(),
                -32600,
                "Invalid request: `id` must be a string or an integer (not null)",
            ),
        ),
        case(
            "id 1.5",
            V11,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
            err(
                null.clone(),
                -32600,
                "Invalid request: `id` must be a string or an integer (not null)",
            ),
        ),
        case(
            "id true",
            V11,
            r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#,
            err(
                null.clone(),
                -32600,
                "Invalid request: `id` must be a string or an integer (not null)",
            ),
        ),
        case(
            "id object",
            V11,
            r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
            err(
                null.clone(),
                -32600,
                "Invalid request: `id` must be a string or an integer (not null)",
            ),
        ),
        case(
            "missing method",
            V11,
            r#"{"jsonrpc":"2.0","id":4}"#,
            err(null.clone(), -32600, "Invalid request: missing `method`"),
        ),
        case(
            "method not a string",
            V11,
            r#"{"jsonrpc":"2.0","id":4,"method":42}"#,
            err(
                null.clone(),
                -32600,
                "Invalid request: `method` must be a string",
            ),
        ),
        case(
            "notification with bad method",
            V11,
            r#"{"jsonrpc":"2.0","method":null}"#,
            err(
                null.clone(),
                -32600,
                "Invalid request: `method` must be a string",
            ),
        ),
        case(
            "missing jsonrpc",
            V11,
            r#"{"id":4,"method":"ping"}"#,
            err(
                null.clone(),
                -32600,
                "Invalid request: missing `jsonrpc: \"2.0\"`",
            ),
        ),
        case(
            "jsonrpc 1.0",
            V11,
            r#"{"jsonrpc":"1.0","id":4,"method":"ping"}"#,
            err(
                null.clone(),
                -32600,
                "Invalid request: `jsonrpc` must be \"2.0\"",
            ),
        ),
        case(
            "scalar params",
            V11,
            r#"{"jsonrpc":"2.0","id":4,"method":"ping","params":5}"#,
            err(
                null.clone(),
                -32600,
                "Invalid request: `params` must be an object when present",
            ),
        ),
        case(
            "positional params",
            V11,
            r#"{"jsonrpc":"2.0","id":4,"method":"ping","params":[1]}"#,
            err(
                json!(4),
                -32602,
                "Invalid params: MCP parameters are named: send `params` as an object, not an array",
            ),
        ),
        case(
            "string id echoed",
            V11,
            r#"{"jsonrpc":"2.0","id":"req-é","method":"ping"}"#,
            ok(json!("req-é"), json!({})),
        ),
        case(
            "u64::MAX id echoed",
            V11,
            r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"ping"}"#,
            ok(json!(u64::MAX), json!({})),
        ),
        case(
            "negative id echoed",
            V11,
            r#"{"jsonrpc":"2.0","id":-3,"method":"ping"}"#,
            ok(json!(-3), json!({})),
        ),
        case(
            "unknown method",
            V11,
            r#"{"jsonrpc":"2.0","id":5,"method":"foo/bar"}"#,
            err(json!(5), -32601, "Method not found: foo/bar"),
        ),
        case(
            "unknown notification",
            V11,
            r#"{"jsonrpc":"2.0","method":"foo/bar"}"#,
            None,
        ),
        case(
            "initialized notification",
            V11,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            None,
        ),
        case(
            "response from the client",
            V11,
            r#"{"jsonrpc":"2.0","id":9,"result":{}}"#,
            None,
        ),
        // --- the handshake, per revision ---
        case(
            "initialize 2024-11-05",
            State::Fresh,
            initialize("2024-11-05"),
            ok(json!(1), init_result("2024-11-05", false)),
        ),
        case(
            "initialize 2025-03-26",
            State::Fresh,
            initialize("2025-03-26"),
            ok(json!(1), init_result("2025-03-26", false)),
        ),
        case(
            "initialize 2025-06-18",
            State::Fresh,
            initialize("2025-06-18"),
            ok(json!(1), init_result("2025-06-18", true)),
        ),
        case(
            "initialize 2025-11-25",
            State::Fresh,
            initialize("2025-11-25"),
            ok(json!(1), init_result("2025-11-25", true)),
        ),
        case(
            "initialize unknown revision",
            State::Fresh,
            initialize("2023-01-01"),
            ok(json!(1), init_result("2025-11-25", true)),
        ),
        case(
            "initialize 2026-07-28 (no handshake there)",
            State::Fresh,
            initialize("2026-07-28"),
            ok(json!(1), init_result("2025-11-25", true)),
        ),
        case(
            "initialize without protocolVersion",
            State::Fresh,
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
            err(
                json!(1),
                -32602,
                "Invalid params: `initialize` needs `protocolVersion` (a string such as \"2025-11-25\")",
            ),
        ),
        case(
            "initialize twice",
            V11,
            initialize("2025-11-25"),
            err(
                json!(1),
                -32600,
                "Invalid request: the session is already initialized: `initialize` is sent once per connection",
            ),
        ),
        case(
            "initialize over stateless HTTP",
            State::Http("2025-03-26"),
            initialize("2025-06-18"),
            ok(json!(1), init_result("2025-06-18", true)),
        ),
        case(
            "request before initialize",
            State::Fresh,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
            err(json!(2), -32600, NOT_INITIALIZED),
        ),
        case(
            "ping before initialize",
            State::Fresh,
            r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
            ok(json!(2), json!({})),
        ),
        // --- batches ---
        case(
            "batch at 2025-03-26",
            State::Init("2025-03-26"),
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":"b","method":"nope"}]"#,
            Some(
                json!([{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","id":"b","error":{"code":-32601,"message":"Method not found: nope"}}]),
            ),
        ),
        case(
            "batch of notifications at 2024-11-05",
            State::Init("2024-11-05"),
            r#"[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"}]"#,
            None,
        ),
        case(
            "batch with a bad item",
            State::Http("2025-03-26"),
            r#"[1,{"jsonrpc":"2.0","id":2,"method":"ping"}]"#,
            Some(
                json!([{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: a message must be a JSON object"}},{"jsonrpc":"2.0","id":2,"result":{}}]),
            ),
        ),
        case(
            "batch at 2025-06-18",
            State::Init("2025-06-18"),
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            err(
                null.clone(),
                -32600,
                "Invalid request: protocol revision 2025-06-18 does not allow batches: send one message at a time",
            ),
        ),
        case(
            "batch at 2025-11-25",
            V11,
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            err(
                null.clone(),
                -32600,
                "Invalid request: protocol revision 2025-11-25 does not allow batches: send one message at a time",
            ),
        ),
        case(
            "batch before initialize",
            State::Fresh,
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            err(
                null.clone(),
                -32600,
                "Invalid request: batches are not accepted before `initialize`: send it alone",
            ),
        ),
        case(
            "initialize inside a batch",
            State::Http("2025-03-26"),
            format!("[{}]", initialize("2025-03-26")),
            Some(
                json!([{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"Invalid request: `initialize` must not be part of a batch"}}]),
            ),
        ),
        // --- 2026-07-28 ---
        case(
            "discover",
            State::Fresh,
            modern("server/discover", 3, ""),
            ok(
                json!(3),
                json!({
            "supportedVersions":["2026-07-28","2025-11-25","2025-06-18","2025-03-26","2024-11-05"],
            "capabilities":{"tools":{"listChanged":false}},"ttlMs":60000,"cacheScope":"private",
            "resultType":"complete","_meta":server_info_meta()}),
            ),
        ),
        case(
            "discover without envelope",
            State::Fresh,
            r#"{"jsonrpc":"2.0","id":3,"method":"server/discover"}"#,
            err(json!(3), -32602, MISSING_ENVELOPE),
        ),
        case(
            "envelope naming a handshake revision",
            State::Fresh,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-06-18","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
            unsupported("2025-06-18"),
        ),
        case(
            "envelope naming an unknown revision",
            V11,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
            unsupported("2099-01-01"),
        ),
        case(
            "envelope without capabilities",
            State::Fresh,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
            err(json!(3), -32602, MISSING_ENVELOPE),
        ),
        case(
            "envelope version not a string",
            State::Fresh,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":2026,"io.modelcontextprotocol/clientCapabilities":{}}}}"#,
            err(
                json!(3),
                -32602,
                "Invalid params: \"io.modelcontextprotocol/protocolVersion\" must be a string",
            ),
        ),
        case(
            "modern tools/list",
            State::Fresh,
            modern("tools/list", 4, ""),
            ok(
                json!(4),
                json!({
            "tools":tools_wire("2026-07-28"),"ttlMs":60000,"cacheScope":"private","resultType":"complete","_meta":server_info_meta()}),
            ),
        ),
        case(
            "modern ping is gone",
            State::Fresh,
            modern("ping", 4, ""),
            err(json!(4), -32601, "Method not found: ping"),
        ),
        // SEP-2575 removed them; on a fresh stdio connection and over HTTP alike.
        case(
            "modern initialize is gone",
            State::Fresh,
            modern("initialize", 5, r#""protocolVersion":"2025-11-25""#),
            err(json!(5), -32601, "Method not found: initialize"),
        ),
        case(
            "initialize at a stateless HTTP exchange is gone",
            State::Http("2026-07-28"),
            initialize("2025-11-25"),
            err(json!(1), -32601, "Method not found: initialize"),
        ),
        case(
            "modern logging/setLevel is gone",
            State::Fresh,
            modern("logging/setLevel", 5, r#""level":"info""#),
            err(json!(5), -32601, "Method not found: logging/setLevel"),
        ),
        case(
            "a handshake session keeps logging/setLevel",
            V11,
            r#"{"jsonrpc":"2.0","id":5,"method":"logging/setLevel","params":{"level":"info"}}"#,
            ok(json!(5), json!({})),
        ),
        case(
            "modern subscriptions/listen ends gracefully, tagged with its id",
            State::Fresh,
            modern(
                "subscriptions/listen",
                9,
                r#""notifications":{"toolsListChanged":true}"#,
            ),
            ok(json!(9), {
                let mut meta = server_info_meta();
                meta["io.modelcontextprotocol/subscriptionId"] = json!(9);
                json!({"resultType":"complete","_meta":meta})
            }),
        ),
        case(
            "subscriptions/listen does not exist at a handshake revision",
            V11,
            r#"{"jsonrpc":"2.0","id":9,"method":"subscriptions/listen","params":{}}"#,
            err(json!(9), -32601, "Method not found: subscriptions/listen"),
        ),
        case(
            "modern tools/call",
            State::Fresh,
            modern("tools/call", 4, r#""name":"add","arguments":{"a":2,"b":3}"#),
            ok(json!(4), {
                let mut r = add_ok.clone();
                r["resultType"] = json!("complete");
                r["_meta"] = server_info_meta();
                r
            }),
        ),
        case(
            "stateless 2026-07-28 without envelope",
            State::Http("2026-07-28"),
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/list"}"#,
            err(json!(4), -32602, MISSING_ENVELOPE),
        ),
        // --- tools ---
        case(
            "tools/list at 2024-11-05",
            State::Init("2024-11-05"),
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
            ok(json!(2), json!({"tools":tools_wire("2024-11-05")})),
        ),
        case(
            "tools/list at 2025-11-25",
            V11,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}"#,
            ok(json!(2), json!({"tools":tools_wire("2025-11-25")})),
        ),
        case(
            "tools/list with a cursor",
            V11,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"x"}}"#,
            err(
                json!(2),
                -32602,
                "Invalid params: unknown cursor \"x\": `tools/list` has a single page; call it without a cursor",
            ),
        ),
        case(
            "call at 2025-11-25",
            V11,
            call("add", r#"{"a":2,"b":3}"#),
            ok(json!(7), add_ok.clone()),
        ),
        case(
            "call at 2024-11-05 (no structuredContent)",
            State::Init("2024-11-05"),
            call("add", r#"{"a":2,"b":3}"#),
            ok(
                json!(7),
                json!({"content":[{"type":"text","text":"{\"sum\":5}"}],"isError":false}),
            ),
        ),
        case(
            "call with missing arguments",
            V11,
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add"}}"#,
            ok(
                json!(7),
                json!({"content":[{"type":"text","text":"Invalid arguments for tool `add`: missing field `a`. Call it again with arguments that match its inputSchema: {\"additionalProperties\":false,\"properties\":{\"a\":{\"format\":\"int64\",\"type\":\"integer\"},\"b\":{\"format\":\"int64\",\"type\":\"integer\"}},\"required\":[\"a\",\"b\"],\"type\":\"object\"}"}],"isError":true}),
            ),
        ),
        case(
            "call with an extra argument",
            V11,
            call("add", r#"{"a":1,"b":2,"c":3}"#),
            ok(
                json!(7),
                json!({"content":[{"type":"text","text":"Invalid arguments for tool `add`: unknown field `c`, expected `a` or `b`. Call it again with arguments that match its inputSchema: {\"additionalProperties\":false,\"properties\":{\"a\":{\"format\":\"int64\",\"type\":\"integer\"},\"b\":{\"format\":\"int64\",\"type\":\"integer\"}},\"required\":[\"a\",\"b\"],\"type\":\"object\"}"}],"isError":true}),
            ),
        ),
        case(
            "call with a wrongly typed argument",
            V11,
            call("add", r#"{"a":"1","b":2}"#),
            ok(
                json!(7),
                json!({"content":[{"type":"text","text":"Invalid arguments for tool `add`: invalid type: string \"1\", expected i64. Call it again with arguments that match its inputSchema: {\"additionalProperties\":false,\"properties\":{\"a\":{\"format\":\"int64\",\"type\":\"integer\"},\"b\":{\"format\":\"int64\",\"type\":\"integer\"}},\"required\":[\"a\",\"b\"],\"type\":\"object\"}"}],"isError":true}),
            ),
        ),
        case(
            "arguments not an object",
            V11,
            call("add", r#""a=1""#),
            err(
                json!(7),
                -32602,
                "Invalid params: `arguments` must be an object of named arguments",
            ),
        ),
        case(
            "call without a name",
            V11,
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}"#,
            err(
                json!(7),
                -32602,
                "Invalid params: `tools/call` needs `name` (a string)",
            ),
        ),
        case(
            "unknown tool",
            V11,
            call("nope", "{}"),
            err(
                json!(7),
                -32602,
                "Unknown tool: \"nope\"; available tools: add, fail, boom",
            ),
        ),
        case(
            "tool failure",
            V11,
            call("fail", "{}"),
            ok(
                json!(7),
                json!({"content":[{"type":"text","text":"the backend is down: try again in a minute"}],"isError":true}),
            ),
        ),
        case(
            "tool overflow is a tool error",
            V11,
            call("add", r#"{"a":9223372036854775807,"b":1}"#),
            ok(
                json!(7),
                json!({"content":[{"type":"text","text":"overflow"}],"isError":true}),
            ),
        ),
        case(
            "tool panic",
            V11,
            call("boom", "{}"),
            err(json!(7), -32603, "Internal error: tool \"boom\" panicked"),
        ),
    ]
}

#[test]
fn every_edge_case_gets_exactly_its_reply() {
    let server = server();
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let mut session = session(&server, case.state);
        let got =
            block_on(server.handle_bytes(&mut session, &case.input, &RequestContext::default()))
                .map(|reply| reply.to_value());
        if got != case.expect {
            failures.push(format!(
                "{} ({:?})\n  input: {}\n  want:  {}\n  got:   {}",
                case.name,
                case.state,
                String::from_utf8_lossy(&case.input),
                serde_json::to_string(&case.expect).unwrap(),
                serde_json::to_string(&got).unwrap()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn initialize_fixes_the_revision_of_a_stdio_session() {
    let server = server();
    for version in ProtocolVersion::ALL
        .into_iter()
        .filter(|v| !v.is_stateless())
    {
        let mut s = Session::new();
        block_on(server.handle_bytes(
            &mut s,
            initialize(version.as_str()).as_bytes(),
            &RequestContext::default(),
        ));
        assert_eq!(s.protocol_version(), Some(version));
    }
    let mut s = Session::stateless(ProtocolVersion::V2025_03_26);
    block_on(server.handle_bytes(
        &mut s,
        initialize("2025-11-25").as_bytes(),
        &RequestContext::default(),
    ));
    assert_eq!(
        s.protocol_version(),
        Some(ProtocolVersion::V2025_03_26),
        "stateless stays put"
    );
}
