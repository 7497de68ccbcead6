//! The typed reading of `tools/call` (`Incoming::parse`) answers exactly as
//! the classified `Value` path does, for generated near-miss messages: member
//! order, duplicates, extra members, every JSON type in every slot, envelopes,
//! arguments that fit the tool and ones that do not.

use mcp_core::{
    CallContext, ProtocolVersion, RequestContext, Server, ServerInfo, Session, Tool,
    ToolDefinition, ToolError, ToolRegistry,
};
use proptest::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds")
        .block_on(future)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    text: String,
    #[serde(default)]
    times: Option<u8>,
}

#[derive(Serialize, JsonSchema)]
struct Output {
    text: String,
    length: usize,
}

struct Repeat;

impl Tool for Repeat {
    type Args = Args;
    type Output = Output;
    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new("repeat", "Repeats a text.")
    }
    async fn call(&self, args: Args, _: &CallContext<'_>) -> Result<Output, ToolError> {
        if args.text == "fail" {
            return Err(ToolError::new("asked to fail"));
        }
        let text = args.text.repeat(usize::from(args.times.unwrap_or(1)));
        Ok(Output {
            length: text.len(),
            text,
        })
    }
}

fn server() -> Server {
    let mut tools = ToolRegistry::new();
    tools.register(Repeat).expect("the test tool registers");
    Server::new(ServerInfo::new("fast", "0"), tools)
}

/// JSON text for one slot: valid values of the right type and of every wrong one.
fn value_text() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "null",
        "true",
        "7",
        "-1",
        "1.5",
        "18446744073709551615",
        r#""2.0""#,
        r#""tools/call""#,
        r#""repeat""#,
        r#""nope""#,
        r#""re\u0070eat""#,
        "[]",
        r#"["repeat"]"#,
        "{}",
        r#"{"text":"ab"}"#,
        r#"{"text":"ab","times":3}"#,
        r#"{"text":"ab","text":"cd"}"#,
        r#"{"text":"fail"}"#,
        r#"{"text":1}"#,
        r#"{"text":"ab","extra":true}"#,
        r#"{"times":300}"#,
        r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#,
        r#"{"io.modelcontextprotocol/protocolVersion":"2025-11-25","io.modelcontextprotocol/clientCapabilities":{}}"#,
        r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}"#,
        r#"{"progressToken":"p1"}"#,
    ])
    .prop_map(str::to_owned)
}

/// An object's text from (key, value text) members, in the given order.
fn object(members: &[(String, String)]) -> String {
    let inner: Vec<String> = members.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
    format!("{{{}}}", inner.join(","))
}

/// Members that are usually right, sometimes wrong, missing, repeated or extra.
fn members(
    right: Vec<(&'static str, &'static str)>,
) -> impl Strategy<Value = Vec<(String, String)>> {
    let slots: Vec<_> = right
        .into_iter()
        .map(|(key, good)| {
            prop_oneof![
                6 => Just(Some((key.to_owned(), good.to_owned()))),
                2 => value_text().prop_map(move |v| Some((key.to_owned(), v))),
                1 => Just(None),
            ]
        })
        .collect();
    let extra = prop::option::weighted(
        0.15,
        (
            prop::sample::select(vec!["extra", "name", "id", "_meta", "arguments"]),
            value_text(),
        ),
    );
    (slots, extra, any::<prop::sample::Index>()).prop_map(|(slots, extra, at)| {
        let mut members: Vec<(String, String)> = slots.into_iter().flatten().collect();
        if let Some((key, value)) = extra {
            let at = at.index(members.len() + 1);
            members.insert(at, (key.to_owned(), value));
        }
        members
    })
}

fn message() -> impl Strategy<Value = String> {
    let params = members(vec![
        ("name", r#""repeat""#),
        ("arguments", r#"{"text":"ab","times":2}"#),
        (
            "_meta",
            r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"progressToken":7}"#,
        ),
    ]);
    (params, any::<bool>()).prop_flat_map(|(params, batch)| {
        let params = object(&params);
        let params: &'static str = Box::leak(params.into_boxed_str());
        members(vec![
            ("jsonrpc", r#""2.0""#),
            ("id", "42"),
            ("method", r#""tools/call""#),
            ("params", params),
        ])
        .prop_map(move |top| {
            let one = object(&top);
            if batch { format!("[{one}]") } else { one }
        })
    })
}

fn sessions() -> Vec<Session> {
    let mut initialized = Session::new();
    let init = br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-03-26"}}"#;
    block_on(server().handle_bytes(&mut initialized, init, &RequestContext::default()));
    vec![
        Session::new(),
        initialized,
        Session::stateless(ProtocolVersion::parse("2026-07-28").expect("a revision")),
        Session::stateless(ProtocolVersion::HTTP_DEFAULT),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn both_readings_answer_alike(input in message()) {
        let server = server();
        for session in sessions() {
            let context = RequestContext::default();
            let typed = block_on(server.handle_bytes(&mut session.clone(), input.as_bytes(), &context))
                .map(|r| r.to_value());
            let classified = match serde_json::from_str::<Value>(&input) {
                Ok(value) => block_on(server.handle_value(&mut session.clone(), value, &context))
                    .map(|r| r.to_value()),
                Err(e) => panic!("generated invalid JSON {input}: {e}"),
            };
            prop_assert_eq!(&typed, &classified, "input {} in {:?}", input, session);
        }
    }
}

#[test]
fn the_common_call_is_served() {
    let server = server();
    let input = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"repeat","arguments":{"text":"ab","times":2}}}"#;
    let reply = block_on(server.handle_bytes(
        &mut Session::stateless(ProtocolVersion::HTTP_DEFAULT),
        input,
        &RequestContext::default(),
    ))
    .map(|r| r.to_value());
    let reply = reply.expect("a request is answered");
    assert_eq!(
        reply["result"]["content"][0]["text"],
        r#"{"text":"abab","length":4}"#
    );
}
