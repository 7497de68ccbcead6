//! The internet-facing rung end to end, on this machine: the real
//! `bootstrap` behind the emulator's API Gateway REST front, trusting the
//! emulator's development issuer, reached over real HTTP. The token matrix
//! in depth is `mcp-oauth/tests/tokens.rs`; here each kind of refusal is
//! checked once through the real function, and the key set is fetched once
//! per instance.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lambda_emulator::{Emulator, EmulatorConfig, Grant, RestApiConfig};
use serde_json::{Value, json};

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Value,
}

impl Answer {
    /// The function's own challenge. These tests check the function's token
    /// checks behind a REST front without the stack's authorizer, so the
    /// challenge arrives as API Gateway renames it; a plain
    /// `WWW-Authenticate` would mean the front is kinder than AWS.
    fn challenge(&self) -> &str {
        assert!(
            !self.headers.contains_key("www-authenticate"),
            "API Gateway renames a proxy integration's WWW-Authenticate"
        );
        self.headers
            .get("x-amzn-remapped-www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(none)")
    }
}

async fn send(method: &str, url: &str, token: Option<&str>, body: &str) -> Answer {
    let mut req = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let req = req.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(req))
        .await
        .unwrap()
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

async fn emulator(env: &[(&str, &str)], dev_issuer: bool) -> Emulator {
    let mut config = EmulatorConfig::new(
        PathBuf::from(env!("CARGO_BIN_EXE_bootstrap")),
        "mcp-ladder-internet",
        "eu-central-1",
        "0".repeat(12),
    );
    config.function.env = vec![("RUST_LOG".into(), "warn".into())];
    config
        .function
        .env
        .extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    config.rest_api = Some(RestApiConfig::default());
    config.dev_issuer = dev_issuer;
    Emulator::start(config).await.unwrap()
}

fn call(tool: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}})
    .to_string()
}

const LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;

#[tokio::test]
async fn the_story_unauthenticated_discovery_wrong_audience_read_then_admin() {
    let emulator = emulator(&[], true).await;
    let endpoint = emulator.rest_api_url().unwrap().to_owned();
    let issuer = emulator.issuer().unwrap();
    let base = endpoint.strip_suffix("/mcp").unwrap();
    let metadata_url = format!("{base}/.well-known/oauth-protected-resource/mcp");

    // No token: 401 and the challenge that starts discovery.
    let answer = send("POST", &endpoint, None, LIST).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(
        answer.challenge(),
        format!("Bearer resource_metadata=\"{metadata_url}\", scope=\"mcp:read\"")
    );

    // Discovery: the metadata, then the issuer's.
    let metadata = send("GET", &metadata_url, None, "").await;
    assert_eq!(metadata.status, 200);
    assert_eq!(metadata.headers["cache-control"], "public, max-age=3600");
    assert_eq!(metadata.body["resource"], endpoint.as_str());
    assert_eq!(
        metadata.body["authorization_servers"],
        json!([issuer.url()])
    );
    assert_eq!(
        metadata.body["scopes_supported"],
        json!(["mcp:read", "mcp:admin"])
    );
    let root = send(
        "GET",
        &format!("{base}/.well-known/oauth-protected-resource"),
        None,
        "",
    )
    .await;
    assert_eq!(root.body, metadata.body);
    let discovery = format!("{}/.well-known/openid-configuration", issuer.url());
    let authorization_server = send("GET", &discovery, None, "").await;
    assert_eq!(authorization_server.body["issuer"], issuer.url());

    let mint = |audience: &str, scope: &str| {
        issuer
            .mint(&Grant {
                subject: "agent-7".into(),
                audience: audience.into(),
                scope: scope.into(),
            })
            .unwrap()
    };

    // A token minted for another server.
    let other = mint("https://other.example.com/mcp", "mcp:read mcp:admin");
    let answer = send("POST", &endpoint, Some(&other), LIST).await;
    assert_eq!(answer.status, 401);
    assert!(
        answer
            .challenge()
            .starts_with("Bearer error=\"invalid_token\", error_description=\"the token was not issued for this server (aud)\""),
        "{}",
        answer.challenge()
    );

    // A read token lists only what it may call, and is refused the
    // destructive tool it "hallucinates".
    let read = mint(&endpoint, "mcp:read");
    let listed = send("POST", &endpoint, Some(&read), LIST).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let names: Vec<&str> = listed.body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"word_count"), "{names:?}");
    assert!(!names.contains(&"demo_drop_table"), "{names:?}");
    let refused = send(
        "POST",
        &endpoint,
        Some(&read),
        &call("demo_drop_table", json!({"table": "users"})),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(
        refused.challenge(),
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"mcp:admin\", resource_metadata=\"{metadata_url}\", \
             error_description=\"the token lacks a scope this tool needs\""
        )
    );

    // An admin token calls it.
    let admin = mint(&endpoint, "mcp:read mcp:admin");
    let done = send(
        "POST",
        &endpoint,
        Some(&admin),
        &call("demo_drop_table", json!({"table": "users"})),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["result"]["isError"], json!(false));

    // A token in the query string.
    let answer = send(
        "POST",
        &format!("{endpoint}?access_token={admin}"),
        None,
        LIST,
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(
        answer
            .challenge()
            .starts_with("Bearer error=\"invalid_request\"")
    );

    // An expired token, signed by the issuer's own key.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expired = issuer
        .key()
        .sign(
            &json!({"iss": issuer.url(), "aud": endpoint, "sub": "agent-7",
            "scope": "mcp:read", "exp": now - 300}),
        )
        .unwrap();
    let answer = send("POST", &endpoint, Some(&expired), LIST).await;
    assert_eq!(answer.status, 401);
    assert!(answer.challenge().contains("the token has expired"));

    // Paths the stack does not route.
    let answer = send("POST", &format!("{base}/other"), Some(&admin), LIST).await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.body["message"], "Missing Authentication Token");

    // The key set was fetched once: by the first token check, not at init,
    // and never again for a known key.
    assert_eq!(issuer.key_set_fetches(), 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_function_that_trusts_iam_refuses_the_rest_front() {
    let emulator = emulator(&[], false).await;
    let endpoint = emulator.rest_api_url().unwrap().to_owned();
    let answer = send("POST", &endpoint, None, LIST).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    let message = answer.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("MCP_AUTH=oauth"), "{message}");
    assert_eq!(emulator.stats().invocations(), 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_missing_setting_stops_the_function_at_init_and_nothing_is_served() {
    let emulator = emulator(&[("MCP_AUTH", "oauth")], false).await;
    let endpoint = emulator.rest_api_url().unwrap().to_owned();
    let answer = send("POST", &endpoint, None, LIST).await;
    assert_eq!(answer.status, 502, "{}", answer.body);
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_issuer_that_cannot_be_reached_is_a_503() {
    // Port 9 (discard) on loopback: nothing listens there. The audience
    // only has to match the token's.
    let audience = "http://127.0.0.1:9/local/mcp";
    let emulator = emulator(
        &[
            ("MCP_AUTH", "oauth"),
            ("MCP_OAUTH_ISSUER", "http://127.0.0.1:9"),
            ("MCP_OAUTH_AUDIENCE", audience),
        ],
        false,
    )
    .await;
    let endpoint = emulator.rest_api_url().unwrap().to_owned();
    // A malformed token is refused without asking the issuer.
    let answer = send("POST", &endpoint, Some("a.b.c"), LIST).await;
    assert_eq!(answer.status, 401);
    let issuer = lambda_emulator::DevIssuer::start().await.unwrap();
    let token = issuer
        .mint(&Grant {
            subject: "a".into(),
            audience: audience.into(),
            scope: "mcp:read".into(),
        })
        .unwrap();
    let answer = send("POST", &endpoint, Some(&token), LIST).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.headers["retry-after"], "1");
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the issuer's keys cannot be fetched")
    );
    emulator.shutdown().await;
}
