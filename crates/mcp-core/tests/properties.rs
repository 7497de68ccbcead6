//! Property tests: whatever arrives, the core does not panic and answers with
//! a well-formed JSON-RPC reply or with nothing.

use mcp_core::{ProtocolVersion, RequestContext, Server, ServerInfo, Session, ToolRegistry};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Drives a future to completion on a current-thread runtime (the core has none).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds")
        .block_on(future)
}

fn server() -> Server {
    Server::new(ServerInfo::new("prop", "0"), ToolRegistry::new())
}

fn sessions() -> impl Strategy<Value = Session> {
    prop_oneof![
        Just(Session::new()),
        prop::sample::select(ProtocolVersion::ALL.to_vec()).prop_map(Session::stateless),
    ]
}

/// Checks one reply object: jsonrpc 2.0, a valid id, exactly one of result/error.
fn assert_response(reply: &Value) {
    let obj = reply.as_object().expect("a reply is an object");
    assert_eq!(obj.get("jsonrpc"), Some(&json!("2.0")), "{reply}");
    let id = obj.get("id").expect("a reply has an id");
    assert!(
        id.is_null() || id.is_string() || id.is_i64() || id.is_u64(),
        "{reply}"
    );
    match (obj.get("result"), obj.get("error")) {
        (Some(result), None) => assert!(result.is_object(), "{reply}"),
        (None, Some(error)) => {
            assert!(error["code"].is_i64(), "{reply}");
            assert!(error["message"].is_string(), "{reply}");
        }
        _ => panic!("exactly one of result and error: {reply}"),
    }
    assert_eq!(obj.len(), 3, "{reply}");
}

fn assert_well_formed(reply: Option<mcp_core::Reply>) {
    let reply = reply.map(|r| r.to_value());
    match reply {
        None => {}
        Some(Value::Array(items)) => {
            assert!(!items.is_empty());
            items.iter().for_each(assert_response);
        }
        Some(reply) => assert_response(&reply),
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z/_.\\-]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "2.0",
            "ping",
            "initialize",
            "tools/list",
            "tools/call",
            "server/discover",
            "2026-07-28",
            "2025-03-26",
            "io.modelcontextprotocol/protocolVersion",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop::sample::select(vec![
            "jsonrpc",
            "id",
            "method",
            "params",
            "_meta",
            "name",
            "arguments",
            "protocolVersion",
            "io.modelcontextprotocol/protocolVersion",
            "io.modelcontextprotocol/clientCapabilities",
            "cursor",
            "result",
            "error",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys, inner), 0..6).prop_map(|kv| Value::Object(
                kv.into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect::<Map<_, _>>()
            )),
        ]
    })
}

/// Messages that look like MCP, so that dispatch (not just parsing) is exercised.
fn arb_message() -> impl Strategy<Value = Value> {
    let method = prop::sample::select(vec![
        "ping",
        "initialize",
        "tools/list",
        "tools/call",
        "server/discover",
        "notifications/initialized",
        "x",
    ]);
    (
        prop::option::of(prop_oneof![
            any::<i64>().prop_map(Value::from),
            "[a-z]{0,4}".prop_map(Value::String)
        ]),
        method,
        arb_json(),
    )
        .prop_map(|(id, method, params)| {
            let mut msg = json!({"jsonrpc": "2.0", "method": method, "params": params});
            if let Some(id) = id {
                msg["id"] = id;
            }
            msg
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(mut session in sessions(), bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        assert_well_formed(block_on(server().handle_bytes(&mut session, &bytes, &RequestContext::default())));
    }

    #[test]
    fn arbitrary_json_never_panics(mut session in sessions(), value in arb_json()) {
        let bytes = serde_json::to_vec(&value).unwrap();
        assert_well_formed(block_on(server().handle_bytes(&mut session, &bytes, &RequestContext::default())));
    }

    #[test]
    fn mcp_shaped_sequences_never_panic(
        mut session in sessions(),
        messages in prop::collection::vec(prop_oneof![arb_message(), prop::collection::vec(arb_message(), 1..4).prop_map(Value::Array)], 1..6),
    ) {
        let server = server();
        for message in messages {
            let is_request = message.get("id").is_some();
            let reply = block_on(server.handle_value(&mut session, message, &RequestContext::default()));
            if is_request {
                prop_assert!(reply.is_some(), "a request always gets a reply");
            }
            assert_well_formed(reply);
        }
    }
}

#[test]
fn deep_nesting_is_a_parse_error_not_a_stack_overflow() {
    let deep = "[".repeat(100_000);
    let reply = block_on(server().handle_bytes(
        &mut Session::new(),
        deep.as_bytes(),
        &RequestContext::default(),
    ));
    assert_eq!(reply.unwrap().to_value()["error"]["code"], -32700);
}
