//! The one MCP client of the deploy CLI: smoke tests, `call` and every demo
//! use it, whatever the front asks for - a SigV4 signature (a Function URL
//! with `AuthType = AWS_IAM`, an AgentCore Gateway with IAM inbound auth), a
//! bearer token (the internet-facing rung), or nothing (negative controls).
//!
//! It speaks the core's wire model ([`mcp_core::model`]). Like the official
//! SDK it tries protocol 2026-07-28 first (`server/discover`, then stateless
//! requests with the `_meta` envelope) and falls back to the `initialize`
//! handshake at the newest handshake revision. Streamed answers are read as
//! Server-Sent Events by `sse-stream`; retries follow [`crate::retry`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use aws_credential_types::Credentials;
use backon::Retryable as _;
use futures_util::StreamExt as _;
use http::HeaderMap;
use mcp_core::ProtocolVersion;
use mcp_core::meta::{CLIENT_CAPABILITIES_KEY, CLIENT_INFO_KEY, PROTOCOL_VERSION_KEY};
use mcp_core::model::{
    CallToolParams, CallToolResult, ClientRequest, ClientResponse, DiscoverResult, Implementation,
    InitializeParams, InitializeResult, ListToolsParams, ListToolsResult, ResultMeta, ToolInfo,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// The `User-Agent` of every request: the project and its version (WAF's
/// common rule set blocks requests that have none).
pub const USER_AGENT: &str = concat!("mcp-ladder-mcp-deploy/", env!("CARGO_PKG_VERSION"));

/// How long the first request retries a 403, a 5xx or a refused connection:
/// right after a deploy, AWS may not have propagated the URL's permissions yet.
pub const CONNECT_RETRY: Duration = Duration::from_secs(30);

/// How a request is authenticated.
#[derive(Debug, Clone)]
pub enum Auth {
    /// SigV4 with these credentials, for `service` in `region`.
    SigV4 {
        /// Whose signature.
        credentials: Credentials,
        /// The region signed for.
        region: String,
        /// The service signed for: `lambda` (a Function URL) or
        /// `bedrock-agentcore` (a gateway).
        service: &'static str,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// No credentials at all.
    None,
}

/// A progress callback: `progress`, `total` and `message` as the server
/// sent them.
pub type ProgressFn = dyn Fn(f64, Option<f64>, Option<&str>) + Send + Sync;

/// What to do with each `notifications/progress` a call sends.
#[derive(Clone)]
pub struct OnProgress(pub Arc<ProgressFn>);

impl std::fmt::Debug for OnProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnProgress")
    }
}

/// What `connect` learnt about the server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Connected {
    /// The revision spoken from now on.
    pub protocol_version: String,
    /// Who the server says it is.
    pub server_info: Implementation,
}

/// One HTTP answer: its status, headers and JSON body (for a streamed
/// answer, the message that carries the reply).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The JSON-RPC reply (a non-JSON body becomes a string).
    pub body: Value,
}

impl Answer {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// An MCP client for one endpoint.
#[derive(Debug)]
pub struct McpClient {
    http: reqwest::Client,
    url: String,
    auth: Auth,
    next_id: AtomicU64,
    version: ProtocolVersion,
    connect_retry: Duration,
    on_progress: Option<OnProgress>,
}

impl McpClient {
    /// A client of `url` authenticating with `auth`.
    pub fn new(url: &str, auth: Auth) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(USER_AGENT)
            .build()
            .context("failed to build the HTTP client")?;
        Ok(McpClient {
            http,
            url: url.to_owned(),
            auth,
            next_id: AtomicU64::new(1),
            version: ProtocolVersion::LATEST_HANDSHAKE,
            connect_retry: CONNECT_RETRY,
            on_progress: None,
        })
    }

    /// A client signing with `credentials` for Lambda in `region` (a
    /// Function URL with `AuthType = AWS_IAM`).
    pub fn sigv4(url: &str, region: &str, credentials: Credentials) -> anyhow::Result<Self> {
        Self::new(
            url,
            Auth::SigV4 {
                credentials,
                region: region.to_owned(),
                service: "lambda",
            },
        )
    }

    /// Asks for progress on tool calls (a `progressToken`) and hands each
    /// notification to `on_progress`.
    pub fn with_progress(mut self, on_progress: OnProgress) -> Self {
        self.on_progress = Some(on_progress);
        self
    }

    /// Signs for `service` instead of `lambda` (`bedrock-agentcore` for a gateway).
    pub fn with_service(mut self, service: &'static str) -> Self {
        if let Auth::SigV4 { service: s, .. } = &mut self.auth {
            *s = service;
        }
        self
    }

    /// How long [`McpClient::connect`] retries transient refusals.
    pub fn with_connect_retry(mut self, window: Duration) -> Self {
        self.connect_retry = window;
        self
    }

    /// The same endpoint and revision with another authentication (a
    /// negative control, another token).
    pub fn with_auth(&self, auth: Auth) -> Self {
        McpClient {
            http: self.http.clone(),
            url: self.url.clone(),
            auth,
            next_id: AtomicU64::new(self.next_id.load(Ordering::Relaxed)),
            version: self.version,
            connect_retry: self.connect_retry,
            on_progress: self.on_progress.clone(),
        }
    }

    /// The revision in use.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.version
    }

    /// The region a SigV4 client signs for.
    pub fn region(&self) -> Option<&str> {
        match &self.auth {
            Auth::SigV4 { region, .. } => Some(region),
            Auth::Bearer(_) | Auth::None => None,
        }
    }

    /// The HTTP client (for the OAuth documents around an endpoint).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// POSTs one message with `headers`, authenticated as the client is.
    async fn post(&self, body: Vec<u8>, headers: &[(&str, &str)]) -> anyhow::Result<Answer> {
        let mut request = http::Request::builder()
            .method("POST")
            .uri(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("user-agent", USER_AGENT);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request
            .body(body)
            .with_context(|| format!("{} is not a valid URL", self.url))?;
        match &self.auth {
            Auth::SigV4 {
                credentials,
                region,
                service,
            } => sign_request(&mut request, credentials, region, service)?,
            Auth::Bearer(token) => {
                let value = http::HeaderValue::from_str(&format!("Bearer {token}"))
                    .context("the bearer token is not a valid header value")?;
                request
                    .headers_mut()
                    .insert(http::header::AUTHORIZATION, value);
            }
            Auth::None => {}
        }
        let request = reqwest::Request::try_from(request.map(reqwest::Body::from))
            .context("cannot build the HTTP request")?;
        let response = self
            .http
            .execute(request)
            .await
            .with_context(|| format!("cannot reach {}", self.url))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let sse = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let body = if sse {
            self.read_events(response).await?
        } else {
            let text = response.text().await.unwrap_or_default();
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Reads an SSE answer as it arrives: progress notifications go to the
    /// progress callback, the message with an `id` is the reply.
    async fn read_events(&self, response: reqwest::Response) -> anyhow::Result<Value> {
        let mut events = sse_stream::SseByteStream::new(response.bytes_stream());
        let mut reply = None;
        while let Some(event) = events.next().await {
            let event = event.context("the event stream broke off")?;
            let Some(message) = event
                .data
                .and_then(|data| serde_json::from_str::<Value>(&data).ok())
            else {
                continue;
            };
            if message.get("id").is_some() {
                reply = Some(message);
            } else if message["method"] == "notifications/progress"
                && let Some(OnProgress(report)) = &self.on_progress
            {
                let params = &message["params"];
                report(
                    params["progress"].as_f64().unwrap_or_default(),
                    params["total"].as_f64(),
                    params["message"].as_str(),
                );
            }
        }
        reply.ok_or_else(|| anyhow!("the event stream ended without the reply"))
    }

    /// One JSON-RPC message as it is, at the client's revision: the whole
    /// answer, whatever its status (the smoke tests read refusals).
    /// Its `Mcp-Method` and `Mcp-Name` headers go with it, as clients send
    /// them at every revision (an edge such as the internet rung's
    /// authorizer reads them).
    pub async fn send(&self, message: &Value) -> anyhow::Result<Answer> {
        let mut headers = vec![("mcp-protocol-version", self.version.as_str())];
        if let Some(method) = message["method"].as_str() {
            headers.push(("mcp-method", method));
            let params = &message["params"];
            let name = match method {
                "tools/call" | "prompts/get" => params["name"].as_str(),
                "resources/read" => params["uri"].as_str(),
                _ => None,
            };
            headers.extend(name.map(|name| ("mcp-name", name)));
        }
        self.post(serde_json::to_vec(message)?, &headers).await
    }

    /// One request at `version`, with the headers and `_meta` it needs.
    async fn exchange(
        &self,
        version: ProtocolVersion,
        method: &str,
        tool: Option<&str>,
        mut params: Map<String, Value>,
    ) -> anyhow::Result<Answer> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if version.is_stateless()
            && let Value::Object(meta) = params.entry("_meta").or_insert_with(|| json!({}))
        {
            meta.insert(PROTOCOL_VERSION_KEY.into(), version.as_str().into());
            meta.insert(CLIENT_CAPABILITIES_KEY.into(), json!({}));
            meta.insert(CLIENT_INFO_KEY.into(), json!(client_info()));
        }
        let body = serde_json::to_vec(&ClientRequest::new(id, method, params))?;
        let mut headers = vec![("mcp-protocol-version", version.as_str())];
        if version.is_stateless() {
            headers.push(("mcp-method", method));
            headers.extend(tool.map(|tool| ("mcp-name", tool)));
        }
        self.post(body, &headers).await
    }

    /// One request at the negotiated revision; its typed `result`, or an
    /// error that says why not.
    async fn request<P: Serialize, R: DeserializeOwned>(
        &self,
        method: &str,
        tool: Option<&str>,
        params: P,
    ) -> anyhow::Result<R> {
        let answer = self
            .exchange(self.version, method, tool, object(params)?)
            .await?;
        result_of(method, answer)
    }

    /// Learns the server's revision and identity: `server/discover` at
    /// 2026-07-28 first, then the `initialize` handshake. Retries 403s, 5xx
    /// and refused connections for the connect window (IAM propagation).
    pub async fn connect(&mut self) -> anyhow::Result<Connected> {
        let (connected, version) = (|| self.try_connect())
            .retry(crate::retry::policy(self.connect_retry))
            .when(|e: &ConnectError| e.transient)
            .notify(|e, _| eprintln!("  (not ready yet, retrying: {:#})", e.error))
            .await
            .map_err(|e| e.error)?;
        self.version = version;
        Ok(connected)
    }

    async fn try_connect(&self) -> Result<(Connected, ProtocolVersion), ConnectError> {
        let modern = ProtocolVersion::V2026_07_28;
        let answer = self
            .exchange(modern, "server/discover", None, Map::new())
            .await
            .map_err(ConnectError::transient)?;
        if is_transient(answer.status) {
            return Err(ConnectError::refused("server/discover", &answer));
        }
        if answer.status == 200 {
            let meta = answer.body["result"]["_meta"].clone();
            let discovered = result_of::<DiscoverResult>("server/discover", answer);
            let info = serde_json::from_value::<ResultMeta>(meta).map(|m| m.server_info);
            if let (Ok(discovered), Ok(server_info)) = (discovered, info)
                && discovered
                    .supported_versions
                    .iter()
                    .any(|v| v == modern.as_str())
            {
                let connected = Connected {
                    protocol_version: modern.as_str().to_owned(),
                    server_info,
                };
                return Ok((connected, modern));
            }
        }
        // The server does not speak 2026-07-28: the handshake, as the SDK falls back.
        self.handshake().await
    }

    async fn handshake(&self) -> Result<(Connected, ProtocolVersion), ConnectError> {
        let handshake = ProtocolVersion::LATEST_HANDSHAKE;
        let params = InitializeParams {
            protocol_version: handshake.as_str().to_owned(),
            capabilities: Map::new(),
            client_info: client_info(),
        };
        let answer = self
            .exchange(
                handshake,
                "initialize",
                None,
                object(params).map_err(ConnectError::fatal)?,
            )
            .await
            .map_err(ConnectError::transient)?;
        if is_transient(answer.status) {
            return Err(ConnectError::refused("initialize", &answer));
        }
        let result: InitializeResult =
            result_of("initialize", answer).map_err(ConnectError::fatal)?;
        let version = ProtocolVersion::parse(&result.protocol_version)
            .filter(|v| !v.is_stateless())
            .ok_or_else(|| {
                ConnectError::fatal(anyhow!(
                    "the server answered initialize with protocol {:?}, which this client does not speak",
                    result.protocol_version
                ))
            })?;
        let connected = Connected {
            protocol_version: result.protocol_version,
            server_info: result.server_info,
        };
        Ok((connected, version))
    }

    /// `tools/list`: the tool definitions.
    pub async fn list_tools(&self) -> anyhow::Result<Vec<ToolInfo>> {
        let result: ListToolsResult = self
            .request("tools/list", None, ListToolsParams::default())
            .await?;
        Ok(result.tools)
    }

    /// `tools/call`: the whole result (`structuredContent`, `content`, `isError`).
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Map<String, Value>,
    ) -> anyhow::Result<CallToolResult> {
        let mut params = object(CallToolParams {
            name: name.to_owned(),
            arguments,
        })?;
        if self.on_progress.is_some() {
            let token = self.next_id.load(Ordering::Relaxed);
            params.insert("_meta".into(), json!({"progressToken": token}));
        }
        self.request("tools/call", Some(name), params).await
    }

    /// `tools/call` of a tool that must succeed: its structured output.
    pub async fn call_for_output(
        &self,
        tool: &str,
        arguments: Map<String, Value>,
    ) -> anyhow::Result<Value> {
        let result = self.call_tool(tool, arguments).await?;
        if result.is_error {
            bail!("{tool} failed: {}", serde_json::to_string(&result.content)?);
        }
        Ok(output_of(&result))
    }

    /// The status the same `tools/list` gets with `auth` instead (a negative
    /// control: no signature, a signature for another region).
    pub async fn status_with(&self, auth: Auth) -> anyhow::Result<u16> {
        let message = json!({"jsonrpc": "2.0", "id": 0, "method": "tools/list", "params": {}});
        Ok(self.with_auth(auth).send(&message).await?.status)
    }

    /// The status an unsigned request gets.
    pub async fn unsigned_status(&self) -> anyhow::Result<u16> {
        self.status_with(Auth::None).await
    }

    /// The status a request signed for another region gets.
    pub async fn wrong_region_status(&self, other: &str) -> anyhow::Result<u16> {
        let Auth::SigV4 {
            credentials,
            service,
            ..
        } = &self.auth
        else {
            bail!("only a SigV4 client can sign for another region");
        };
        let auth = Auth::SigV4 {
            credentials: credentials.clone(),
            region: other.to_owned(),
            service,
        };
        self.status_with(auth).await
    }
}

/// A result's structured output: `structuredContent`, else the JSON of its
/// first text block. A front in between may carry a tool's output only as
/// text (AWS does not document whether AgentCore Gateway fills
/// `structuredContent` from a Lambda target's answer).
pub fn output_of(result: &CallToolResult) -> Value {
    if let Some(json) = &result.structured_content {
        return json.to_value();
    }
    let content = serde_json::to_value(&result.content).unwrap_or(Value::Null);
    content
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|block| serde_json::from_str(block["text"].as_str()?).ok())
        .unwrap_or(Value::Null)
}

/// Signs `request` in place with SigV4.
fn sign_request(
    request: &mut http::Request<Vec<u8>>,
    credentials: &Credentials,
    region: &str,
    service: &str,
) -> anyhow::Result<()> {
    mcp_lambda::state_key::sign_request(request, credentials, region, service)
        .map_err(|e| anyhow!(e))
}

/// Serialises params as the JSON object a request carries.
fn object(params: impl Serialize) -> anyhow::Result<Map<String, Value>> {
    match serde_json::to_value(params)? {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

fn client_info() -> Implementation {
    Implementation::new("mcp-deploy", env!("CARGO_PKG_VERSION"))
}

/// Statuses worth retrying right after a deploy.
fn is_transient(status: u16) -> bool {
    status == 403 || status >= 500
}

/// A connect attempt's failure, and whether waiting may help.
#[derive(Debug)]
struct ConnectError {
    error: anyhow::Error,
    transient: bool,
}

impl ConnectError {
    fn transient(error: anyhow::Error) -> Self {
        ConnectError {
            error,
            transient: true,
        }
    }

    fn fatal(error: anyhow::Error) -> Self {
        ConnectError {
            error,
            transient: false,
        }
    }

    fn refused(method: &str, answer: &Answer) -> Self {
        ConnectError::transient(http_failure(method, answer))
    }
}

fn http_failure(method: &str, answer: &Answer) -> anyhow::Error {
    let reply = &answer.body;
    match answer.status {
        403 => anyhow!(
            "the endpoint refused the signed {method} (403: {reply}): a Function URL's caller \
             needs both lambda:InvokeFunctionUrl and lambda:InvokeFunction on the function, and \
             must be of its account"
        ),
        other => anyhow!("{method} got HTTP {other}: {reply}"),
    }
}

/// The typed result of an answer, or an error naming the method.
fn result_of<R: DeserializeOwned>(method: &str, answer: Answer) -> anyhow::Result<R> {
    if answer.status != 200 {
        return Err(http_failure(method, &answer));
    }
    let reply = answer.body;
    let response: ClientResponse = serde_json::from_value(reply.clone())
        .with_context(|| format!("{method}: the reply is not JSON-RPC: {reply}"))?;
    if let Some(error) = response.error {
        bail!("{method} failed: {} {}", error.code, error.message);
    }
    let result = response
        .result
        .ok_or_else(|| anyhow!("{method}: no result in {reply}"))?;
    serde_json::from_value(result.clone())
        .with_context(|| format!("{method}: unexpected result {result}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(value: Value) -> CallToolResult {
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn output_is_read_from_structured_content_else_from_the_text() {
        let structured = result(json!({
            "content": [{"type": "text", "text": "{\"words\": 2}"}],
            "structuredContent": {"words": 3}
        }));
        assert_eq!(output_of(&structured), json!({"words": 3}));
        let text_only = result(json!({"content": [{"type": "text", "text": "{\"tools\": []}"}]}));
        assert_eq!(output_of(&text_only), json!({"tools": []}));
        let prose = result(json!({"content": [{"type": "text", "text": "not JSON"}]}));
        assert_eq!(output_of(&prose), Value::Null);
    }
}
