//! A SigV4-signing MCP client for a Function URL with `AuthType = AWS_IAM`,
//! and the smoke test built on it: signed in, unsigned out.
//!
//! The client speaks the core's wire model ([`mcp_core::model`]). Like the
//! official SDK it tries protocol 2026-07-28 first (`server/discover`, then
//! stateless requests with the `_meta` envelope) and falls back to the
//! `initialize` handshake at the newest handshake revision.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, anyhow, bail};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4::SigningParams;
use mcp_core::ProtocolVersion;
use mcp_core::meta::{CLIENT_CAPABILITIES_KEY, CLIENT_INFO_KEY, PROTOCOL_VERSION_KEY};
use mcp_core::model::{
    CallToolParams, CallToolResult, ClientRequest, ClientResponse, DiscoverResult, Implementation,
    InitializeParams, InitializeResult, ListToolsParams, ListToolsResult, ResultMeta, ToolInfo,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::progress::Progress;
use lambda_emulator::gateway::SEARCH_TOOL;

/// How a request is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signing<'a> {
    /// SigV4 for `lambda` in this region.
    Region(&'a str),
    /// No signature at all.
    None,
}

/// How long the first request retries a 403, a 5xx or a refused connection:
/// right after a deploy, AWS may not have propagated the URL's permissions yet.
pub const CONNECT_RETRY: Duration = Duration::from_secs(30);

/// An MCP client for one Function URL.
#[derive(Debug, Clone)]
pub struct McpClient {
    http: reqwest::Client,
    url: String,
    region: String,
    credentials: Credentials,
    next_id: u64,
    version: ProtocolVersion,
    connect_retry: Duration,
    service: &'static str,
    on_progress: Option<OnProgress>,
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

impl McpClient {
    /// A client signing with `credentials` for `region`.
    pub fn new(url: &str, region: &str, credentials: Credentials) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .context("failed to build the HTTP client")?;
        Ok(McpClient {
            http,
            url: url.to_owned(),
            region: region.to_owned(),
            credentials,
            next_id: 1,
            version: ProtocolVersion::LATEST_HANDSHAKE,
            connect_retry: CONNECT_RETRY,
            service: "lambda",
            on_progress: None,
        })
    }

    /// Asks for progress on tool calls (a `progressToken`) and hands each
    /// notification to `on_progress`.
    pub fn with_progress(mut self, on_progress: OnProgress) -> Self {
        self.on_progress = Some(on_progress);
        self
    }

    /// Signs for `service` instead of `lambda` (`bedrock-agentcore` for a gateway).
    pub fn with_service(mut self, service: &'static str) -> Self {
        self.service = service;
        self
    }

    /// How long [`McpClient::connect`] retries transient refusals.
    pub fn with_connect_retry(mut self, window: Duration) -> Self {
        self.connect_retry = window;
        self
    }

    /// The revision in use.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.version
    }

    async fn post(
        &self,
        body: &[u8],
        headers: &[(&str, &str)],
        signing: Signing<'_>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = http::Request::builder()
            .method("POST")
            .uri(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request
            .body(body.to_vec())
            .context("the Function URL is not a valid URL")?;
        if let Signing::Region(region) = signing {
            let identity = self.credentials.clone().into();
            let params = SigningParams::builder()
                .identity(&identity)
                .region(region)
                .name(self.service)
                .time(SystemTime::now())
                .settings(SigningSettings::default())
                .build()
                .context("invalid signing parameters")?
                .into();
            let headers: Vec<(String, String)> = request
                .headers()
                .iter()
                .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect();
            let signable = SignableRequest::new(
                "POST",
                self.url.as_str(),
                headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                SignableBody::Bytes(body),
            )
            .context("cannot sign this request")?;
            let (instructions, _) = sign(signable, &params)
                .context("signing failed")?
                .into_parts();
            instructions.apply_to_request_http1x(&mut request);
        }
        let request = reqwest::Request::try_from(request.map(reqwest::Body::from))
            .context("cannot build the HTTP request")?;
        let response = self
            .http
            .execute(request)
            .await
            .with_context(|| format!("cannot reach {}", self.url))?;
        let status = response.status().as_u16();
        let sse = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if sse {
            return Ok((status, self.read_events(response).await?));
        }
        let text = response.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, json))
    }

    /// Reads an SSE answer as it arrives: progress notifications go to the
    /// progress callback, the message with an `id` is the reply.
    async fn read_events(&self, mut response: reqwest::Response) -> anyhow::Result<Value> {
        let mut events = SseLines::default();
        let mut reply = None;
        while let Some(chunk) = response
            .chunk()
            .await
            .context("the event stream broke off")?
        {
            for message in events.push(&chunk) {
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
        }
        reply.ok_or_else(|| anyhow!("the event stream ended without the reply"))
    }

    /// One signed request at `version`: the HTTP status and the parsed response.
    async fn exchange(
        &mut self,
        version: ProtocolVersion,
        method: &str,
        tool: Option<&str>,
        mut params: Map<String, Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let id = self.next_id;
        self.next_id += 1;
        if version.is_stateless() {
            let meta = params
                .entry("_meta")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(meta) = meta {
                meta.insert(PROTOCOL_VERSION_KEY.into(), version.as_str().into());
                meta.insert(CLIENT_CAPABILITIES_KEY.into(), json!({}));
                meta.insert(CLIENT_INFO_KEY.into(), json!(client_info()));
            }
        }
        let body = serde_json::to_vec(&ClientRequest::new(id, method, params))?;
        let mut headers = vec![("mcp-protocol-version", version.as_str())];
        if version.is_stateless() {
            headers.push(("mcp-method", method));
            if let Some(tool) = tool {
                headers.push(("mcp-name", tool));
            }
        }
        let region = self.region.clone();
        self.post(&body, &headers, Signing::Region(&region)).await
    }

    /// One signed request at the negotiated revision; its typed `result`, or
    /// an error that says why not.
    async fn request<P: Serialize, R: DeserializeOwned>(
        &mut self,
        method: &str,
        tool: Option<&str>,
        params: P,
    ) -> anyhow::Result<R> {
        let params = match serde_json::to_value(params)? {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let (status, reply) = self.exchange(self.version, method, tool, params).await?;
        result_of(method, status, reply)
    }

    /// Learns the server's revision and identity: `server/discover` at
    /// 2026-07-28 first, then the `initialize` handshake. Retries 403s, 5xx
    /// and refused connections for the connect window (IAM propagation).
    pub async fn connect(&mut self) -> anyhow::Result<Connected> {
        let deadline = Instant::now() + self.connect_retry;
        let mut pause = Duration::from_millis(250);
        loop {
            match self.try_connect().await {
                Ok(connected) => return Ok(connected),
                Err(e) if e.transient && Instant::now() + pause < deadline => {
                    note_retry(&e.error);
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(4));
                }
                Err(e) => return Err(e.error),
            }
        }
    }

    async fn try_connect(&mut self) -> Result<Connected, ConnectError> {
        let modern = ProtocolVersion::V2026_07_28;
        let (status, reply) = self
            .exchange(modern, "server/discover", None, Map::new())
            .await
            .map_err(ConnectError::transient)?;
        if is_transient(status) {
            return Err(ConnectError::refused("server/discover", status, &reply));
        }
        if status == 200 {
            let meta = reply["result"]["_meta"].clone();
            let discovered = result_of::<DiscoverResult>("server/discover", status, reply);
            let info = serde_json::from_value::<ResultMeta>(meta).map(|m| m.server_info);
            if let (Ok(discovered), Ok(server_info)) = (discovered, info)
                && discovered
                    .supported_versions
                    .iter()
                    .any(|v| v == modern.as_str())
            {
                self.version = modern;
                return Ok(Connected {
                    protocol_version: modern.as_str().to_owned(),
                    server_info,
                });
            }
        }
        // The server does not speak 2026-07-28: the handshake, as the SDK falls back.
        let handshake = ProtocolVersion::LATEST_HANDSHAKE;
        let params = InitializeParams {
            protocol_version: handshake.as_str().to_owned(),
            capabilities: Map::new(),
            client_info: client_info(),
        };
        let params = match serde_json::to_value(params) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let (status, reply) = self
            .exchange(handshake, "initialize", None, params)
            .await
            .map_err(ConnectError::transient)?;
        if is_transient(status) {
            return Err(ConnectError::refused("initialize", status, &reply));
        }
        let result: InitializeResult =
            result_of("initialize", status, reply).map_err(ConnectError::fatal)?;
        self.version = ProtocolVersion::parse(&result.protocol_version)
            .filter(|v| !v.is_stateless())
            .ok_or_else(|| {
                ConnectError::fatal(anyhow!(
                    "the server answered initialize with protocol {:?}, which this client does not speak",
                    result.protocol_version
                ))
            })?;
        Ok(Connected {
            protocol_version: result.protocol_version,
            server_info: result.server_info,
        })
    }

    /// `tools/list`: the tool definitions.
    pub async fn list_tools(&mut self) -> anyhow::Result<Vec<ToolInfo>> {
        let result: ListToolsResult = self
            .request("tools/list", None, ListToolsParams::default())
            .await?;
        Ok(result.tools)
    }

    /// `tools/call`: the whole result (`structuredContent`, `content`, `isError`).
    pub async fn call_tool(
        &mut self,
        name: &str,
        arguments: Map<String, Value>,
    ) -> anyhow::Result<CallToolResult> {
        let params = CallToolParams {
            name: name.to_owned(),
            arguments,
        };
        let mut params = match serde_json::to_value(params)? {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        if self.on_progress.is_some() {
            params.insert("_meta".into(), json!({"progressToken": self.next_id}));
        }
        self.request("tools/call", Some(name), params).await
    }

    /// The status an unsigned request gets.
    pub async fn unsigned_status(&self) -> anyhow::Result<u16> {
        let body = serde_json::to_vec(&ClientRequest::new(0, "tools/list", json!({})))?;
        let headers = [("mcp-protocol-version", self.version.as_str())];
        Ok(self.post(&body, &headers, Signing::None).await?.0)
    }

    /// The status a request signed for another region gets.
    pub async fn wrong_region_status(&self, region: &str) -> anyhow::Result<u16> {
        let body = serde_json::to_vec(&ClientRequest::new(0, "tools/list", json!({})))?;
        let headers = [("mcp-protocol-version", self.version.as_str())];
        Ok(self.post(&body, &headers, Signing::Region(region)).await?.0)
    }
}

/// Splits an SSE body into its events' `data`, as chunks arrive (an event
/// may span chunks; `data` lines of one event are joined with newlines).
#[derive(Debug, Default)]
struct SseLines {
    pending: Vec<u8>,
    data: String,
}

impl SseLines {
    /// The JSON messages of the events `chunk` completes.
    fn push(&mut self, chunk: &[u8]) -> Vec<Value> {
        self.pending.extend_from_slice(chunk);
        let mut messages = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    if let Ok(message) = serde_json::from_str(&self.data) {
                        messages.push(message);
                    }
                    self.data.clear();
                }
            } else if let Some(data) = line.strip_prefix("data:") {
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(data.strip_prefix(' ').unwrap_or(data));
            }
        }
        messages
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

    fn refused(method: &str, status: u16, reply: &Value) -> Self {
        ConnectError::transient(http_failure(method, status, reply))
    }
}

/// Progress for a retry, on stderr (the client has no logger of its own).
fn note_retry(error: &anyhow::Error) {
    eprintln!("  (not ready yet, retrying: {error:#})");
}

fn http_failure(method: &str, status: u16, reply: &Value) -> anyhow::Error {
    match status {
        403 => anyhow!(
            "the Function URL refused the signed {method} (403: {reply}): the caller needs both \
             lambda:InvokeFunctionUrl and lambda:InvokeFunction on the function, and must be \
             of its account"
        ),
        other => anyhow!("{method} got HTTP {other}: {reply}"),
    }
}

/// The typed result of a response, or an error naming the method.
fn result_of<R: DeserializeOwned>(method: &str, status: u16, reply: Value) -> anyhow::Result<R> {
    if status != 200 {
        return Err(http_failure(method, status, &reply));
    }
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

/// What the smoke test saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmokeReport {
    /// The revision and `serverInfo` (from `server/discover` or `initialize`).
    pub connected: Connected,
    /// Tool names from `tools/list`.
    pub tools: Vec<String>,
    /// `demo_account_context`'s structured result.
    pub account_context: Value,
    /// The unsigned request's status (must be 403).
    pub unsigned_status: u16,
    /// The wrongly-signed request's status (must be 403).
    pub wrong_region_status: u16,
}

/// Calls a tool that must succeed: its structured output.
async fn call_for_output(
    client: &mut McpClient,
    tool: &str,
    arguments: Map<String, Value>,
) -> anyhow::Result<Value> {
    let result = client.call_tool(tool, arguments).await?;
    if result.is_error {
        bail!("{tool} failed: {}", serde_json::to_string(&result.content)?);
    }
    Ok(result
        .structured_content
        .map_or(Value::Null, |json| json.to_value()))
}

/// Connects and lists the tools, telling the story under `banner`.
async fn connect_and_list(
    client: &mut McpClient,
    banner: &str,
    progress: &Progress,
) -> anyhow::Result<(Connected, Vec<String>)> {
    progress.story(banner);
    progress.stage("smoke").await?;
    let connected = client.connect().await?;
    progress.story(format!(
        "initialize -> {} (protocol {}{})",
        serde_json::to_string(&connected.server_info)?,
        connected.protocol_version,
        if client.protocol_version().is_stateless() {
            ", stateless: server/discover"
        } else {
            ""
        }
    ));
    let tools: Vec<String> = client
        .list_tools()
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    progress.story(format!("tools/list -> {tools:?}"));
    Ok((connected, tools))
}

/// The unsigned request of a negative control: its status, which must be
/// 403 (else the run fails, saying `otherwise`).
async fn unsigned_control(
    client: &McpClient,
    otherwise: &str,
    progress: &Progress,
) -> anyhow::Result<u16> {
    progress.story(">>> DEMO: negative control - an unsigned request must get 403");
    progress.stage("negative-control").await?;
    let status = client.unsigned_status().await?;
    progress.story(format!("unsigned POST status: {status}"));
    if status != 403 {
        bail!("NEGATIVE CONTROL FAILED: an unsigned request got {status}, not 403: {otherwise}");
    }
    Ok(status)
}

/// The signed client's story, then the negative controls, which fail the run
/// unless the URL answers 403.
pub async fn smoke(
    client: &mut McpClient,
    expected_account: &str,
    progress: &Progress,
) -> anyhow::Result<SmokeReport> {
    let (connected, tools) =
        connect_and_list(client, ">>> DEMO: SigV4-signed in-account client", progress).await?;
    let context = call_for_output(client, "demo_account_context", Map::new()).await?;
    progress.story(format!("tools/call demo_account_context -> {context}"));
    let account = context
        .get("account")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if account != expected_account {
        bail!(
            "the function reports account {account:?}, not MCP_ACCOUNT_ID {expected_account}: this is not the stack you deployed"
        );
    }
    progress.story(
        "OK: a SigV4-signed, in-account client reached the remote MCP server, listed its tools, and invoked one.",
    );

    let unsigned_status = unsigned_control(
        client,
        "the URL is not protected by AWS_IAM. Tear it down and check the stack's AuthType",
        progress,
    )
    .await?;
    let other = if client.region == "us-east-1" {
        "eu-west-1"
    } else {
        "us-east-1"
    };
    let wrong_region_status = client.wrong_region_status(other).await?;
    progress.story(format!(
        "signed for {other} instead of {}: status {wrong_region_status}",
        client.region
    ));
    if wrong_region_status != 403 {
        bail!(
            "NEGATIVE CONTROL FAILED: a request signed for the wrong region got {wrong_region_status}, not 403"
        );
    }
    Ok(SmokeReport {
        connected,
        tools,
        account_context: context,
        unsigned_status,
        wrong_region_status,
    })
}

/// What the gateway smoke test saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySmokeReport {
    /// The revision and `serverInfo`.
    pub connected: Connected,
    /// Tool names from `tools/list`, as the gateway lists them.
    pub tools: Vec<String>,
    /// The search tool's ranking for the query.
    pub search: Vec<String>,
    /// The called tool's structured result.
    pub called: Value,
    /// The unsigned request's status (must be 403).
    pub unsigned_status: u16,
}

/// The gateway's story: list, search, call (signed for
/// `bedrock-agentcore`), then the unsigned negative control.
pub async fn smoke_gateway(
    client: &mut McpClient,
    target: &str,
    progress: &Progress,
) -> anyhow::Result<GatewaySmokeReport> {
    let (connected, tools) = connect_and_list(
        client,
        ">>> DEMO: a SigV4-signed client of the gateway (service bedrock-agentcore)",
        progress,
    )
    .await?;
    let word_count = format!("{target}___word_count");
    if !tools.contains(&word_count) {
        bail!("the gateway does not list {word_count}: the target's tools did not register");
    }
    let query = "how many words are in this text";
    let mut arguments = Map::new();
    arguments.insert("query".into(), Value::from(query));
    let ranked = call_for_output(client, SEARCH_TOOL, arguments).await?;
    let search: Vec<String> = ranked["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    progress.story(format!("{SEARCH_TOOL} {query:?} -> {search:?}"));
    if search.first() != Some(&word_count) {
        bail!("the search did not rank {word_count} first for {query:?}: {search:?}");
    }
    let mut arguments = Map::new();
    arguments.insert(
        "text".into(),
        Value::from("the gateway runs the same tools"),
    );
    let called = call_for_output(client, &word_count, arguments).await?;
    progress.story(format!("tools/call {word_count} -> {called}"));
    let unsigned_status = unsigned_control(
        client,
        "the gateway does not check inbound signatures. Tear it down and check its AuthorizerType",
        progress,
    )
    .await?;
    Ok(GatewaySmokeReport {
        connected,
        tools,
        search,
        called,
        unsigned_status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_across_chunks() {
        let body = "event: message\ndata: {\"method\":\"notifications/progress\"}\n\n\
                    event: message\r\ndata: {\"id\":1,\r\ndata: \"result\":{}}\r\n\r\n";
        for split in 1..body.len() {
            let (a, b) = body.as_bytes().split_at(split);
            let mut lines = SseLines::default();
            let mut messages = lines.push(a);
            messages.extend(lines.push(b));
            assert_eq!(
                messages,
                [
                    json!({"method": "notifications/progress"}),
                    json!({"id": 1, "result": {}})
                ],
                "split at {split}"
            );
        }
    }
}
