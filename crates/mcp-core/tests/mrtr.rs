//! Multi round-trip requests through the server: a tool and a prompt ask
//! for input at 2026-07-28, the retry resumes them, and a `requestState`
//! that was changed, replayed on another request or presented by another
//! caller is refused.

use mcp_core::model::{Content, PromptInfo, PromptMessage};
use mcp_core::{
    AuthScheme, CallContext, Identity, InputMethod, InputRequests, Prompt, PromptArguments,
    PromptError, Prompts, RequestContext, Server, ServerInfo, Session, StateKey, Tool,
    ToolDefinition, ToolError, ToolRegistry,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Deserialize, JsonSchema)]
struct Args {
    #[serde(default)]
    greeting: Option<String>,
    #[serde(default)]
    n: Option<u32>,
}

#[derive(Serialize, JsonSchema)]
struct Text {
    text: String,
}

/// Asks for a name, then for a colour (keeping the name in the state).
struct Greet(&'static str);

impl Tool for Greet {
    type Args = Args;
    type Output = Text;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(self.0, "Greets you after asking your name and colour.")
    }

    async fn call(&self, args: Args, cx: &CallContext<'_>) -> Result<Text, ToolError> {
        let schema = |field: &str| json!({"type": "object", "properties": {field: {"type": "string"}}, "required": [field]});
        let name = match cx.input_state().and_then(|s| s["name"].as_str()) {
            Some(name) => name.to_owned(),
            None => {
                let Some(form) = cx.elicited("name") else {
                    let ask = InputRequests::new().elicit("name", "Your name?", schema("name"));
                    return Err(cx.ask(ask).into());
                };
                let name = form["name"].as_str().unwrap_or("stranger").to_owned();
                let ask = InputRequests::new().elicit("colour", "Your colour?", schema("colour"));
                return Err(cx.ask_with_state(ask, json!({"name": name})).into());
            }
        };
        let Some(form) = cx.elicited("colour") else {
            let ask = InputRequests::new().elicit("colour", "Your colour?", schema("colour"));
            return Err(cx.ask_with_state(ask, json!({"name": name})).into());
        };
        let greeting = args.greeting.unwrap_or_else(|| "Hello".into());
        Ok(Text {
            text: format!("{greeting}, {name} ({})! n={:?}", form["colour"], args.n),
        })
    }
}

/// A prompt that asks the client's model for a topic.
struct Topic;

impl Prompt for Topic {
    fn definition(&self) -> PromptInfo {
        PromptInfo::new("topic", "A prompt about a topic the client's model picks.")
    }

    async fn get(
        &self,
        _: &PromptArguments,
        cx: &CallContext<'_>,
    ) -> Result<Vec<PromptMessage>, PromptError> {
        match cx.sampled_text("topic") {
            Some(topic) => Ok(vec![PromptMessage::user(Content::text(format!(
                "Tell me about {topic}."
            )))]),
            None if cx.can_ask(InputMethod::Sampling) => Err(cx
                .ask(InputRequests::new().sample("topic", "Pick a topic", 20))
                .into()),
            None => Err("the client cannot sample: declare `sampling`".into()),
        }
    }
}

fn server() -> Server {
    let mut tools = ToolRegistry::new();
    tools.register(Greet("greet")).expect("a valid tool");
    tools.register(Greet("greet_too")).expect("a valid tool");
    let mut prompts = Prompts::new();
    prompts.add(Topic).expect("a valid prompt");
    Server::new(ServerInfo::new("t", "1"), tools)
        .with_prompts(prompts)
        .with_state_key(StateKey::derive(&[3u8; 32]).expect("a 32-byte secret"))
}

fn caller(principal: &str) -> RequestContext {
    RequestContext {
        identity: Some(Identity {
            scheme: AuthScheme::AwsIam,
            principal: principal.into(),
            account: None,
            scopes: None,
        }),
        ..RequestContext::default()
    }
}

fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}, "sampling": {}}
    })
}

async fn send(server: &Server, who: &RequestContext, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = meta();
    let message = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut session = Session::new();
    let reply = server
        .handle_value(&mut session, message, who)
        .await
        .expect("a reply to a request");
    reply.to_value()
}

/// The first round, sent as bytes (the typed `tools/call` path).
async fn first(server: &Server, who: &RequestContext, tool: &str, arguments: &str) -> Value {
    let line = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments},"_meta":{}}}}}"#,
        meta()
    );
    let mut session = Session::new();
    let reply = server
        .handle_bytes(&mut session, line.as_bytes(), who)
        .await
        .expect("a reply to a request");
    reply.to_value()["result"].clone()
}

async fn retry(
    server: &Server,
    who: &RequestContext,
    tool: &str,
    arguments: Value,
    answers: Value,
    state: &Value,
) -> Value {
    let params = json!({"name": tool, "arguments": arguments, "inputResponses": answers,
                        "requestState": state});
    send(server, who, "tools/call", params).await
}

#[tokio::test]
async fn a_tool_asks_twice_and_completes_on_the_third_round() {
    let server = server();
    let alice = caller("arn:aws:iam::000000000000:user/alice");
    let r1 = first(&server, &alice, "greet", r#"{"n":1,"greeting":"Hi"}"#).await;
    assert_eq!(r1["resultType"], "input_required");
    assert_eq!(r1["inputRequests"]["name"]["method"], "elicitation/create");
    assert_eq!(
        r1["inputRequests"]["name"]["params"]["message"],
        "Your name?"
    );
    assert!(r1["_meta"]["io.modelcontextprotocol/serverInfo"].is_object());
    assert!(r1.get("content").is_none(), "{r1}");

    // The same arguments in another order, on the other (Value) path.
    let args = json!({"greeting": "Hi", "n": 1});
    let name = json!({"name": {"action": "accept", "content": {"name": "Ada"}}});
    let r2 = retry(
        &server,
        &alice,
        "greet",
        args.clone(),
        name,
        &r1["requestState"],
    )
    .await;
    let r2 = &r2["result"];
    assert_eq!(r2["resultType"], "input_required", "{r2}");
    assert!(r2["inputRequests"]["colour"].is_object());
    assert_ne!(r2["requestState"], r1["requestState"]);

    let colour = json!({"colour": {"action": "accept", "content": {"colour": "blue"}}});
    let r3 = retry(&server, &alice, "greet", args, colour, &r2["requestState"]).await;
    assert_eq!(r3["result"]["resultType"], "complete", "{r3}");
    assert_eq!(
        r3["result"]["structuredContent"]["text"],
        "Hi, Ada (\"blue\")! n=Some(1)"
    );
}

/// The `requestState` of alice's first round of `greet` with `{"n": 1}`,
/// and the answer to it.
async fn handed_out(server: &Server, alice: &RequestContext) -> (String, Value) {
    let r1 = first(server, alice, "greet", r#"{"n":1}"#).await;
    let state = r1["requestState"].as_str().expect("a state").to_owned();
    let answer = json!({"name": {"action": "accept", "content": {"name": "Ada"}}});
    (state, answer)
}

fn assert_refused(reply: &Value) {
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    let message = reply["error"]["message"].as_str().expect("a message");
    assert!(message.contains("`requestState` is refused"), "{message}");
}

#[tokio::test]
async fn a_state_with_one_byte_flipped_is_refused() {
    let server = server();
    let alice = caller("alice");
    let (state, answer) = handed_out(&server, &alice).await;
    let mut bytes = state.clone().into_bytes();
    let middle = bytes.len() / 2;
    // Another character of the same alphabet: still base64url, one byte changed.
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    let flipped = Value::from(String::from_utf8(bytes).unwrap());
    let reply = retry(
        &server,
        &alice,
        "greet",
        json!({"n": 1}),
        answer.clone(),
        &flipped,
    )
    .await;
    assert_refused(&reply);
    let reply = retry(
        &server,
        &alice,
        "greet",
        json!({"n": 1}),
        answer,
        &state.into(),
    )
    .await;
    assert_eq!(reply["result"]["resultType"], "input_required", "{reply}");
}

#[tokio::test]
async fn a_state_replayed_on_another_tool_or_arguments_is_refused() {
    let server = server();
    let alice = caller("alice");
    let (state, answer) = handed_out(&server, &alice).await;
    let state = Value::from(state);
    let other_tool = retry(
        &server,
        &alice,
        "greet_too",
        json!({"n": 1}),
        answer.clone(),
        &state,
    );
    assert_refused(&other_tool.await);
    let other_args = retry(&server, &alice, "greet", json!({"n": 2}), answer, &state);
    assert_refused(&other_args.await);
}

#[tokio::test]
async fn a_state_presented_by_another_caller_is_refused() {
    let server = server();
    let (state, answer) = handed_out(&server, &caller("alice")).await;
    let state = Value::from(state);
    let bob = caller("bob");
    let reply = retry(
        &server,
        &bob,
        "greet",
        json!({"n": 1}),
        answer.clone(),
        &state,
    );
    assert_refused(&reply.await);
    let anonymous = RequestContext::default();
    let reply = retry(
        &server,
        &anonymous,
        "greet",
        json!({"n": 1}),
        answer,
        &state,
    );
    assert_refused(&reply.await);
}

#[tokio::test]
async fn a_prompt_asks_the_clients_model() {
    let server = server();
    let alice = caller("alice");
    let r1 = send(&server, &alice, "prompts/get", json!({"name": "topic"})).await;
    let r1 = &r1["result"];
    assert_eq!(r1["resultType"], "input_required", "{r1}");
    assert_eq!(
        r1["inputRequests"]["topic"]["method"],
        "sampling/createMessage"
    );
    let answer = json!({"topic": {"role": "assistant", "content": {"type": "text", "text": "tides"},
                                  "model": "m", "stopReason": "endTurn"}});
    let params =
        json!({"name": "topic", "inputResponses": answer, "requestState": r1["requestState"]});
    let r2 = send(&server, &alice, "prompts/get", params).await;
    assert_eq!(r2["result"]["resultType"], "complete", "{r2}");
    assert_eq!(
        r2["result"]["messages"][0]["content"]["text"],
        "Tell me about tides."
    );
    // Its state does not resume the tool of the same name and arguments.
    let params = json!({"name": "greet", "arguments": {}, "inputResponses": {},
                        "requestState": r1["requestState"]});
    assert_refused(&send(&server, &alice, "tools/call", params).await);
}

#[tokio::test]
async fn before_2026_07_28_asking_is_a_clear_tool_error() {
    let server = server();
    let mut session = Session::new();
    let who = RequestContext::default();
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                      "params": {"protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}}}});
    server.handle_value(&mut session, init, &who).await.unwrap();
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "greet", "arguments": {}}});
    let reply = server
        .handle_value(&mut session, call, &who)
        .await
        .unwrap()
        .to_value();
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    let text = reply["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("2025-11-25") && text.contains("2026-07-28"),
        "{text}"
    );
}

#[tokio::test]
async fn a_server_without_a_key_says_so() {
    let mut tools = ToolRegistry::new();
    tools.register(Greet("greet")).expect("a valid tool");
    let server = Server::new(ServerInfo::new("t", "1"), tools);
    let reply = send(
        &server,
        &caller("alice"),
        "tools/call",
        json!({"name": "greet"}),
    )
    .await;
    assert_eq!(reply["error"]["code"], -32603, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("StateKey")
    );
}
