//! Every tool's published schemas agree with its Rust types: the argument
//! type accepts exactly what `inputSchema` allows, and what a call returns
//! fits `outputSchema`. A new tool registered in `mcp_tools::registry` is
//! checked here without a new test.

use mcp_core::testing::{conforms, sample, schema_problems};
use mcp_core::{ProtocolVersion, RequestContext, Server, ServerInfo, Session};
use serde_json::{Value, json};

#[test]
fn input_schemas_and_argument_types_agree() {
    let tools = mcp_tools::registry().expect("the tools register");
    let problems = schema_problems(&tools);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn outputs_fit_their_output_schemas() {
    let tools = mcp_tools::registry().expect("the tools register");
    let calls: Vec<(String, Value, Value)> = tools
        .definitions()
        .map(|d| {
            (
                d.name().to_owned(),
                sample(d.input_schema()),
                d.output_schema().clone(),
            )
        })
        .collect();
    let server = Server::new(ServerInfo::new("t", "0"), tools);
    for (name, args, output_schema) in calls {
        let mut session = Session::stateless(ProtocolVersion::V2025_11_25);
        let message = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": name, "arguments": args}});
        let reply = server
            .handle_value(&mut session, message, &RequestContext::default())
            .await
            .expect("a request gets a reply")
            .to_value();
        let result = &reply["result"];
        assert_eq!(result["isError"], false, "{name}: {reply}");
        let structured = &result["structuredContent"];
        conforms(&output_schema, structured)
            .unwrap_or_else(|e| panic!("{name}: {structured} does not fit {output_schema}: {e}"));
        let text = result["content"][0]["text"].as_str().unwrap_or_default();
        assert_eq!(
            serde_json::from_str::<Value>(text).ok().as_ref(),
            Some(structured),
            "{name}: the text block carries the same JSON"
        );
    }
}
