//! Runs N multi round-trip requests of two rounds each (the first asks for a
//! name, the retry completes) through the server, for counting the
//! instructions of one round under valgrind: `mrtr_round N`.

use mcp_core::{
    CallContext, InputRequests, NoArgs, RequestContext, Server, ServerInfo, Session, StateKey,
    Tool, ToolDefinition, ToolError, ToolRegistry,
};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Serialize, JsonSchema)]
struct Greeting {
    text: String,
}

struct Greet;

impl Tool for Greet {
    type Args = NoArgs;
    type Output = Greeting;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new("greet", "Asks your name, then greets you.")
    }

    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Greeting, ToolError> {
        let Some(form) = cx.elicited("name") else {
            let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}});
            let ask = InputRequests::new().elicit("name", "What is your name?", schema);
            return Err(cx.ask_with_state(ask, json!({"asked": 1})).into());
        };
        let name = form
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("stranger");
        Ok(Greeting {
            text: format!("Hello, {name}!"),
        })
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let mut tools = ToolRegistry::new();
    tools.register(Greet).expect("a valid tool");
    let key = StateKey::derive(&[9u8; 32]).expect("a 32-byte secret");
    let server = Server::new(ServerInfo::new("bench", "1"), tools).with_state_key(key);
    let meta = r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}"#;
    let first = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"greet","arguments":{{}},"_meta":{meta}}}}}"#
    );
    let request = RequestContext::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        for _ in 0..rounds {
            let mut session = Session::new();
            let asked = server
                .handle_bytes(&mut session, first.as_bytes(), &request)
                .await
                .expect("a reply")
                .to_value();
            let state = asked["result"]["requestState"].as_str().expect("a state");
            let retry = format!(
                r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"greet","arguments":{{}},"inputResponses":{{"name":{{"action":"accept","content":{{"name":"Ada"}}}}}},"requestState":"{state}","_meta":{meta}}}}}"#
            );
            let done = server
                .handle_bytes(&mut session, retry.as_bytes(), &request)
                .await
                .expect("a reply")
                .to_value();
            assert_eq!(done["result"]["resultType"], "complete", "{done}");
        }
    });
}
