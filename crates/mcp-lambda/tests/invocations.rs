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
use lambda_emulator::runtime::{Function, FunctionSpec, InvokeError};
use serde_json::{Value, json};

fn function() -> Function {
    Function::new(FunctionSpec {
        bootstrap: PathBuf::from(env!("CARGO_BIN_EXE_bootstrap")),
        name: "mcp-ladder-test".into(),
        region: "eu-central-1".into(),
        account_id: "0".repeat(12),
        memory_mb: 128,
        timeout: Duration::from_secs(10),
        concurrency: 1,
        env: vec![("RUST_LOG".into(), "warn".into())],
    })
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
