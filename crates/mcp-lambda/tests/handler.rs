//! Function URL events (payload format 2.0, as AWS sends them) fed through the
//! handler, no network: the Streamable HTTP rules and the tools.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use lambda_http::{Body, Context, RequestExt, Response};
use mcp_lambda::{App, FunctionEnv, HttpConfig};
use serde_json::{Value, json};

const FIXTURE: &str = include_str!("data/function-url-iam-post.json");
const ARN: &str = "arn:aws:lambda:eu-central-1:111122223333:function:mcp-ladder-fn";

fn app(config: HttpConfig) -> App {
    let env = FunctionEnv {
        region: Some("eu-central-1".into()),
        function_name: Some("mcp-ladder-fn".into()),
        account_fallback: None,
    };
    App::new(env, config).unwrap()
}

/// The fixture with another method, extra/removed headers and a plain-text body.
fn event(method: &str, headers: &[(&str, Option<&str>)], body: &str) -> Value {
    let mut event: Value = serde_json::from_str(FIXTURE).unwrap();
    event["requestContext"]["http"]["method"] = json!(method);
    for (name, value) in headers {
        let map = event["headers"].as_object_mut().unwrap();
        match value {
            Some(v) => map.insert((*name).into(), json!(v)),
            None => map.remove(*name),
        };
    }
    event["body"] = json!(body);
    event["isBase64Encoded"] = json!(false);
    event
}

fn send_with(app: &App, event: &Value) -> (u16, Response<Body>, Value) {
    let mut context = Context::default();
    context.request_id = "req-1".into();
    context.invoked_function_arn = ARN.into();
    let request = lambda_http::request::from_str(&event.to_string())
        .unwrap()
        .with_lambda_context(context);
    let response = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds")
        .block_on(app.handle(request));
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Empty => Value::Null,
        Body::Text(text) => serde_json::from_str(text).unwrap(),
        Body::Binary(_) => panic!("binary response"),
        _ => panic!("unexpected body"),
    };
    // A session id names a client's connection after `initialize` only.
    let initialize = event["body"]
        .as_str()
        .is_some_and(|b| b.contains(r#""method":"initialize""#));
    let session = response.headers().get("mcp-session-id");
    assert_eq!(
        session.is_some(),
        initialize && status == 200 && body.get("result").is_some(),
        "{session:?}"
    );
    (status, response, body)
}

fn send(event: &Value) -> (u16, Value) {
    let (status, _, body) = send_with(&app(HttpConfig::default()), event);
    (status, body)
}

const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

#[test]
fn iam_fixture_reports_account_and_caller() {
    let event: Value = serde_json::from_str(FIXTURE).unwrap();
    let (status, response, body) = send_with(&app(HttpConfig::default()), &event);
    assert_eq!(status, 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let result = &body["result"];
    assert_eq!(result["isError"], false);
    assert_eq!(
        result["structuredContent"],
        json!({
            "account": "111122223333",
            "region": "eu-central-1",
            "function": "mcp-ladder-fn",
            "caller": {
                "accountId": "111122223333",
                "userArn": "arn:aws:sts::111122223333:assumed-role/McpInvoker/alice",
                "callerId": "AROAEXAMPLEROLEID:alice"
            }
        })
    );
}

#[test]
fn only_post() {
    for method in ["GET", "DELETE", "PUT"] {
        let (status, response, body) =
            send_with(&app(HttpConfig::default()), &event(method, &[], ""));
        assert_eq!(status, 405, "{method}");
        assert_eq!(response.headers()["allow"], "POST");
        assert_eq!(body["error"]["code"], -32600);
    }
}

#[test]
fn media_types() {
    let (status, _) = send(&event(
        "POST",
        &[("content-type", Some("text/plain"))],
        PING,
    ));
    assert_eq!(status, 415);
    let (status, _) = send(&event("POST", &[("content-type", None)], PING));
    assert_eq!(status, 415);
    let (status, _) = send(&event(
        "POST",
        &[("content-type", Some("application/json; charset=utf-8"))],
        PING,
    ));
    assert_eq!(status, 200);
    let (status, _) = send(&event("POST", &[("accept", Some("text/html"))], PING));
    assert_eq!(status, 406);
    let (status, _) = send(&event(
        "POST",
        &[("accept", Some("text/event-stream"))],
        PING,
    ));
    assert_eq!(status, 406, "JSON responses only: SSE alone cannot be met");
    for accept in [Some("*/*"), Some("application/json"), None] {
        let (status, _) = send(&event("POST", &[("accept", accept)], PING));
        assert_eq!(status, 200, "{accept:?}");
    }
}

#[test]
fn notification_is_accepted_without_body() {
    let (status, response, body) = send_with(
        &app(HttpConfig::default()),
        &event(
            "POST",
            &[],
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        ),
    );
    assert_eq!(status, 202);
    assert_eq!(body, Value::Null);
    assert!(response.headers().get("content-type").is_none());
}

#[test]
fn protocol_version_header() {
    let (status, body) = send(&event(
        "POST",
        &[("mcp-protocol-version", Some("2024-01-01"))],
        PING,
    ));
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], -32022);
    assert_eq!(body["error"]["data"]["requested"], "2024-01-01");
    // Absent means 2025-03-26: batches are allowed there.
    let batch = format!("[{PING}]");
    let (status, body) = send(&event("POST", &[("mcp-protocol-version", None)], &batch));
    assert_eq!((status, body[0]["result"].clone()), (200, json!({})));
    let (status, body) = send(&event("POST", &[], &batch)); // the fixture says 2025-06-18
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!(-32600))
    );
}

fn modern_call(name: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{{"name":"{name}","arguments":{{"message":"hi"}},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
    )
}

#[test]
fn stateless_revision_checks_routing_headers() {
    let good = [
        ("mcp-protocol-version", Some("2026-07-28")),
        ("mcp-method", Some("tools/call")),
        ("mcp-name", Some("demo_echo")),
    ];
    let (status, body) = send(&event("POST", &good, &modern_call("demo_echo")));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["structuredContent"], json!({"echo": "hi"}));
    assert_eq!(body["result"]["resultType"], "complete");

    for (i, bad) in [
        ("mcp-method", Some("tools/list")),
        ("mcp-method", None),
        ("mcp-name", Some("word_count")),
        ("mcp-protocol-version", Some("2025-11-25")),
    ]
    .into_iter()
    .enumerate()
    {
        let mut headers = good.to_vec();
        headers.push(bad);
        let (status, body) = send(&event("POST", &headers, &modern_call("demo_echo")));
        assert_eq!(status, 400, "case {i}: {body}");
        assert_eq!(body["error"]["code"], -32020, "case {i}");
        assert_eq!(body["id"], 9, "case {i}");
    }

    let unknown = r#"{"jsonrpc":"2.0","id":3,"method":"nope","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let headers = [
        ("mcp-protocol-version", Some("2026-07-28")),
        ("mcp-method", Some("nope")),
    ];
    let (status, body) = send(&event("POST", &headers, unknown));
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, json!(-32601))
    );
}

#[test]
fn origin_allow_list() {
    let app = app(HttpConfig {
        allowed_origins: vec!["https://good.example".into()],
        ..HttpConfig::default()
    });
    let (status, _, body) = send_with(
        &app,
        &event("POST", &[("origin", Some("https://evil.example"))], PING),
    );
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], -32600);
    let (status, _, _) = send_with(
        &app,
        &event("POST", &[("origin", Some("https://good.example"))], PING),
    );
    assert_eq!(status, 200);
}

#[test]
fn body_bound_and_parse_errors() {
    let app = app(HttpConfig {
        max_body_bytes: 64,
        ..HttpConfig::default()
    });
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(100)
    );
    let (status, _, _) = send_with(&app, &event("POST", &[], &big));
    assert_eq!(status, 413);
    let (status, _, body) = send_with(&app, &event("POST", &[], "{oops"));
    assert_eq!(
        (status, body["error"]["code"].clone(), body["id"].clone()),
        (400, json!(-32700), Value::Null)
    );
}

#[test]
fn initialize_and_list_over_http() {
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let (status, body) = send(&event("POST", &[("mcp-protocol-version", None)], init));
    assert_eq!(status, 200);
    assert_eq!(body["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(body["result"]["serverInfo"]["name"], "mcp-lambda");
    let list = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
    let (status, body) = send(&event("POST", &[], list));
    assert_eq!(status, 200);
    let names: Vec<_> = body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(
        names,
        [
            json!("word_count"),
            json!("demo_echo"),
            json!("demo_progress"),
            json!("demo_drop_table"),
            json!("demo_account_context")
        ]
    );
}

#[test]
fn account_context_without_iam_has_no_caller() {
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo_account_context"}}"#;
    let mut ev = event("POST", &[], call);
    ev["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    let (status, body) = send(&ev);
    assert_eq!(status, 200);
    assert_eq!(body["result"]["structuredContent"].get("caller"), None);
    assert_eq!(
        body["result"]["structuredContent"]["account"],
        "111122223333"
    );
}
