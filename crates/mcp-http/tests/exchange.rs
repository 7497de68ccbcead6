//! The front-agnostic HTTP layer: authentication runs before the protocol,
//! its identity reaches the tools, and typed errors decide the status.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use mcp_core::{
    AuthScheme, CallContext, Identity, NoArgs, RequestContext, Server, ServerInfo, Tool,
    ToolDefinition, ToolError, ToolRegistry,
};
use mcp_http::{AuthError, Authenticator, BoxFuture, HttpConfig, RequestParts, TrustFront};
use serde_json::{Map, Value, json};

/// Reports who called, and counts its calls (a counter per test: tests run
/// in parallel).
struct WhoAmI(Arc<AtomicUsize>);

impl Tool for WhoAmI {
    type Args = NoArgs;
    type Output = Map<String, Value>;
    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new("whoami", "Who is calling.")
    }
    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Self::Output, ToolError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let principal = cx.identity().map(|i| i.principal.clone());
        Ok(Map::from_iter([("principal".to_owned(), json!(principal))]))
    }
}

/// Refuses everyone, the way a bearer scheme refuses a missing token.
struct RefuseAll;

impl Authenticator for RefuseAll {
    fn authenticate<'a>(
        &'a self,
        _: &'a RequestParts<'a>,
    ) -> BoxFuture<'a, Result<Option<Identity>, AuthError>> {
        Box::pin(async {
            Err(AuthError {
                status: StatusCode::UNAUTHORIZED,
                challenge: Some(HeaderValue::from_static(
                    "Bearer resource_metadata=\"https://mcp.example/.well-known/oauth-protected-resource\"",
                )),
                message: "a bearer token is required".into(),
            })
        })
    }
}

fn server(calls: Arc<AtomicUsize>) -> Server {
    let mut tools = ToolRegistry::new();
    tools.register(WhoAmI(calls)).expect("registers");
    Server::new(ServerInfo::new("t", "0"), tools)
}

fn headers(version: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        "mcp-protocol-version",
        HeaderValue::from_str(version).expect("ascii"),
    );
    h
}

async fn post(
    calls: &Arc<AtomicUsize>,
    auth: &dyn Authenticator,
    identity: Option<&Identity>,
    version: &str,
    body: &str,
) -> mcp_http::Exchange {
    let headers = headers(version);
    let parts = RequestParts {
        method: &Method::POST,
        headers: &headers,
        body: body.as_bytes(),
        front_identity: identity,
    };
    mcp_http::exchange(
        &server(calls.clone()),
        &HttpConfig::default(),
        auth,
        parts,
        RequestContext::default(),
    )
    .await
}

const CALL: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#;

#[tokio::test]
async fn a_refusal_is_a_challenge_and_the_tool_never_runs() {
    let calls = Arc::default();
    let out = post(&calls, &RefuseAll, None, "2025-11-25", CALL).await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    let headers = out.headers();
    assert!(
        headers["www-authenticate"]
            .to_str()
            .is_ok_and(|v| v.starts_with("Bearer resource_metadata="))
    );
    let body = out.json().unwrap_or_default();
    assert_eq!(body["error"]["code"], -32600);
    assert_eq!(body["id"], Value::Null);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the tool ran");
}

#[tokio::test]
async fn the_fronts_identity_reaches_the_tool() {
    let account = "0".repeat(12);
    let principal = format!("arn:aws:iam::{account}:user/alice");
    let identity = Identity {
        scheme: AuthScheme::AwsIam,
        principal: principal.clone(),
        account: Some(account),
        scopes: None,
    };
    let calls = Arc::default();
    let out = post(&calls, &TrustFront, Some(&identity), "2025-11-25", CALL).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let body = out.json().unwrap_or_default();
    assert_eq!(body["result"]["structuredContent"]["principal"], principal);
}

#[tokio::test]
async fn typed_errors_decide_the_status() {
    let cases = [
        ("2025-11-25", "{oops", StatusCode::BAD_REQUEST),
        (
            "2025-11-25",
            r#"{"jsonrpc":"2.0","id":1}"#,
            StatusCode::BAD_REQUEST,
        ),
        // An unknown method at a handshake revision is a JSON-RPC error in a 200.
        (
            "2025-11-25",
            r#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#,
            StatusCode::OK,
        ),
        // A batch carries its errors inside; the exchange itself succeeded.
        (
            "2025-03-26",
            r#"[{"jsonrpc":"2.0","id":1,"method":"nope"}]"#,
            StatusCode::OK,
        ),
        (
            "2025-11-25",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            StatusCode::ACCEPTED,
        ),
    ];
    for (version, body, want) in cases {
        let out = post(&Arc::default(), &TrustFront, None, version, body).await;
        assert_eq!(out.status, want, "{body}");
    }
}
