//! `mcp-deploy tools`: the function's tools as MCP lists them and as an
//! AgentCore Gateway target's inline schemas, with every dropped keyword named.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::process::Command;

use serde_json::Value;

fn tools(format: &str) -> (Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-deploy"))
        .args(["tools", "--format", format])
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn names(tools: &Value) -> Vec<&str> {
    tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

#[test]
fn agentcore_schemas_hold_only_what_the_gateway_can() {
    let (mcp, _) = tools("mcp");
    let (gateway, report) = tools("agentcore");
    assert_eq!(names(&gateway), names(&mcp));
    assert_eq!(
        names(&gateway),
        [
            "word_count",
            "demo_echo",
            "demo_progress",
            "demo_drop_table",
            "demo_account_context"
        ]
    );
    let allowed = ["type", "properties", "required", "items", "description"];
    fn walk(node: &Value, allowed: &[&str], at: &str) {
        for (key, value) in node.as_object().unwrap() {
            assert!(allowed.contains(&key.as_str()), "{key} at {at}");
            match key.as_str() {
                "properties" => {
                    for (name, child) in value.as_object().unwrap() {
                        walk(child, allowed, &format!("{at}/properties/{name}"));
                    }
                }
                "items" => walk(value, allowed, &format!("{at}/items")),
                _ => {}
            }
        }
    }
    for tool in gateway.as_array().unwrap() {
        walk(&tool["inputSchema"], &allowed, "inputSchema");
        walk(&tool["outputSchema"], &allowed, "outputSchema");
    }
    // Every keyword that the MCP schemas have and the gateway's do not is named.
    assert!(report.contains("word_count: dropped `additionalProperties: false` at /inputSchema (the gateway does not check it; the function still does)"), "{report}");
    assert!(report.contains("demo_account_context: dropped `type: null` at /outputSchema/properties/region (the tool may still return null there)"), "{report}");
    assert!(
        report.contains("word_count: dropped `minimum` at /outputSchema/properties/words"),
        "{report}"
    );
}
