//! The real `bootstrap` behind the emulator's Runtime API, invoked directly
//! (as `Invoke` and AgentCore Gateway do) with client contexts of every shape:
//! each invocation is answered, and one instance serves them all.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use lambda_emulator::runtime::{Function, FunctionSpec, InvokeError, RoleCredentials};
use serde_json::{Value, json};

/// A gateway target: it serves invocations naming a tool.
fn function() -> Function {
    function_with(&[("MCP_GATEWAY_TARGET", "1")])
}

fn function_with(env: &[(&str, &str)]) -> Function {
    let mut vars = vec![("RUST_LOG".to_owned(), "warn".to_owned())];
    vars.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Function::new(FunctionSpec {
        bootstrap: PathBuf::from(env!("CARGO_BIN_EXE_bootstrap")),
        name: "mcp-ladder-test".into(),
        region: "eu-central-1".into(),
        account_id: "0".repeat(12),
        memory_mb: 128,
        timeout: Duration::from_secs(10),
        concurrency: 1,
        env: vars,
        credentials: RoleCredentials::mint(),
        tracing: Default::default(),
    })
}

/// A signed Function URL request calling `word_count` on `text`, as an
/// invocation's event (payload format 2.0).
fn url_event(text: &str) -> String {
    let mut event: Value =
        serde_json::from_str(include_str!("data/function-url-iam-post.json")).unwrap();
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "word_count", "arguments": {"text": text}}});
    event["body"] = json!(call.to_string());
    event["isBase64Encoded"] = json!(false);
    event.to_string()
}

/// The tool's output from a Function URL response.
fn url_output(response: &Value) -> Value {
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    body["result"]["structuredContent"].clone()
}

fn gateway(tool: &str) -> String {
    json!({
        "custom": {
            "bedrockAgentCoreToolName": format!("mcp-ladder___{tool}"),
            "bedrockAgentCoreMessageVersion": "1.0",
            "bedrockAgentCoreGatewayId": "gw-1",
            "bedrockAgentCoreTargetId": "t-1",
            // Header propagation puts objects here: lambda_runtime 1.5 cannot read them.
            "bedrockAgentCorePropagatedHeaders": {"x-tenant": "a"},
            "retries": 2,
        },
        "client": null,
        "env": null,
    })
    .to_string()
}

async fn call(f: &Function, event: &str, context: Option<String>) -> Result<Value, InvokeError> {
    f.invoke_with(Bytes::from(event.to_owned()), context)
        .await
        .map(|body| serde_json::from_slice(&body).unwrap())
}

fn error_type(outcome: Result<Value, InvokeError>) -> String {
    match outcome {
        Err(InvokeError::Errored {
            error_type,
            message,
        }) => format!("{error_type}: {message}"),
        other => panic!("expected a function error, got {other:?}"),
    }
}

#[tokio::test]
async fn every_client_context_is_answered_by_one_instance() {
    let f = function();

    // A gateway call: the arguments are the event; the output object comes back.
    let counts = call(
        &f,
        r#"{"text":"one two  three"}"#,
        Some(gateway("word_count")),
    )
    .await
    .unwrap();
    assert_eq!(counts["words"], 3, "{counts}");

    // What the model can fix comes back as an MCP-shaped error result.
    let unknown = call(&f, "{}", Some(gateway("no_such_tool"))).await.unwrap();
    assert_eq!(unknown["isError"], true);
    let text = unknown["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("Unknown tool") && text.contains("word_count"),
        "{text}"
    );
    let misfit = call(&f, r#"{"text":7}"#, Some(gateway("word_count")))
        .await
        .unwrap();
    assert_eq!(misfit["isError"], true);
    let text = misfit["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("Invalid arguments for tool `word_count`"),
        "{text}"
    );

    // What it cannot fix is a function error, named.
    assert!(
        error_type(call(&f, "[1,2]", Some(gateway("word_count"))).await)
            .starts_with("InvalidToolArguments")
    );
    for bad in ["not json", "[1]", r#"{"custom":"x"}"#] {
        let refused = error_type(call(&f, "{}", Some(bad.to_owned())).await);
        assert!(
            refused.starts_with("InvalidClientContext: ")
                && refused.contains("the invocation's client context"),
            "{bad}: {refused}"
        );
    }
    let neither = error_type(call(&f, r#"{"text":"a"}"#, None).await);
    assert!(neither.starts_with("UnsupportedEvent"), "{neither}");
    let neither = error_type(
        call(
            &f,
            r#"{"text":"a"}"#,
            Some(r#"{"custom":{"n":5},"client":null}"#.into()),
        )
        .await,
    );
    assert!(neither.starts_with("UnsupportedEvent"), "{neither}");

    // The process lived through all of it.
    assert_eq!(
        f.stats().instances(),
        1,
        "an invocation stopped the instance"
    );
    assert_eq!(f.stats().invocations(), 9);
    f.stop().await;
}

/// The shared counter's store answers nothing (a port that accepts and stays
/// silent) or refuses connections: each check ends at its time budget or
/// sooner, the read-only tool runs anyway, and the instance lives on. (That
/// a tool which changes state is refused instead is tested in mcp-http.)
#[tokio::test]
async fn a_silent_or_absent_limit_store_costs_at_most_the_budget() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    for (endpoint, budget_ms) in [(silent_url.as_str(), 300), (closed.as_str(), 300)] {
        let budget = budget_ms.to_string();
        let f = function_with(&[
            ("MCP_RATE_LIMITS", r#"{"default": "2/1h"}"#),
            ("MCP_RATE_LIMIT_TABLE", "mcp-ladder-limits"),
            ("MCP_RATE_LIMIT_BUDGET_MS", &budget),
            ("AWS_ENDPOINT_URL", endpoint),
        ]);
        // Three calls over a quota of two: with no store, none is counted.
        for _ in 0..3 {
            let started = std::time::Instant::now();
            let response = call(&f, &url_event("a b"), None).await.unwrap();
            let counts = url_output(&response);
            let took = started.elapsed();
            assert_eq!(counts["words"], 2, "{endpoint}: {counts}");
            assert!(
                took < Duration::from_millis(budget_ms + 700),
                "{endpoint}: a call took {took:?} with a budget of {budget_ms} ms"
            );
        }
        assert_eq!(f.stats().instances(), 1);
        f.stop().await;
    }
    held.abort();
}

/// Bad `MCP_TOOL_SCOPES` and `MCP_INVOKE_MODE` stop the function at init, named.
#[tokio::test]
async fn bad_scope_and_invoke_mode_settings_are_init_errors() {
    for (name, value, named) in [
        (
            "MCP_TOOL_SCOPES",
            r#"{"wordcount": ["x"]}"#,
            "there is no tool",
        ),
        (
            "MCP_TOOL_SCOPES",
            r#"{"word_count": "mcp:read"}"#,
            "not a non-empty array",
        ),
        (
            "MCP_INVOKE_MODE",
            "STREAM",
            "use BUFFERED or RESPONSE_STREAM",
        ),
    ] {
        let f = function_with(&[(name, value)]);
        let outcome = call(&f, &url_event("a"), None).await;
        let text = format!("{outcome:?}");
        assert!(
            text.contains("init failed (Runtime.InvalidConfiguration: ")
                && text.contains(name)
                && text.contains(named),
            "{name}={value}: {text}"
        );
        f.stop().await;
    }
}

/// A budget that is not a number stops the function at init, with the
/// setting named (Lambda reports an init error; nothing runs unlimited).
#[tokio::test]
async fn a_bad_budget_is_an_init_error() {
    let f = function_with(&[
        ("MCP_RATE_LIMITS", r#"{"default": "2/1h"}"#),
        ("MCP_RATE_LIMIT_TABLE", "mcp-ladder-limits"),
        ("MCP_RATE_LIMIT_BUDGET_MS", "soon"),
    ]);
    let outcome = call(&f, &url_event("a"), None).await;
    let text = format!("{outcome:?}");
    assert!(
        text.contains("init failed (Runtime.InvalidConfiguration: ")
            && text.contains("MCP_RATE_LIMIT_BUDGET_MS is"),
        "{text}"
    );
    f.stop().await;
}

/// Invoking the function directly with a client context naming a tool is
/// open to anyone allowed `lambda:InvokeFunction`: it is served only by a
/// declared gateway target, and there as a caller without a token, which
/// never holds a tool's own scope - with every auth mode.
#[tokio::test]
async fn direct_invocations_in_a_gateways_shape_get_no_more_than_a_gateway() {
    let oauth = [
        ("MCP_AUTH", "oauth"),
        ("MCP_OAUTH_ISSUER", "https://issuer.example.com"),
        ("MCP_OAUTH_AUDIENCE", "https://api.example.com/prod/mcp"),
    ];
    for env in [&[][..], &oauth[..]] {
        let f = function_with(env);
        let refused = error_type(call(&f, "{}", Some(gateway("demo_drop_table"))).await);
        assert!(
            refused.starts_with("NotAGatewayTarget: ")
                && refused
                    .contains("not an AgentCore Gateway target (MCP_GATEWAY_TARGET=1 is not set)"),
            "{env:?}: {refused}"
        );
        f.stop().await;
    }

    let f = function();
    let dropped = call(&f, r#"{"table":"users"}"#, Some(gateway("demo_drop_table")))
        .await
        .unwrap();
    assert_eq!(dropped["isError"], true, "{dropped}");
    let text = dropped["content"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Tool \"demo_drop_table\" was not run: it needs a scope of its own")
            && text.contains("does not pass its caller's identity"),
        "{text}"
    );
    // What every tool needs by default still runs; nothing says who called.
    let context = call(&f, "{}", Some(gateway("demo_account_context")))
        .await
        .unwrap();
    assert_eq!(context.get("caller"), None, "{context}");
    f.stop().await;

    // A gateway target that asks for a caller's identity does not start.
    let f = function_with(&[("MCP_GATEWAY_TARGET", "1"), oauth[0], oauth[1], oauth[2]]);
    let outcome = format!("{:?}", call(&f, "{}", Some(gateway("word_count"))).await);
    assert!(
        outcome.contains("MCP_GATEWAY_TARGET=1 cannot go with MCP_AUTH"),
        "{outcome}"
    );
    f.stop().await;
}
