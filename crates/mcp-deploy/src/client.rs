//! A SigV4-signing MCP client for a Function URL with `AuthType = AWS_IAM`,
//! and the smoke test built on it: signed in, unsigned out.

use std::time::SystemTime;

use anyhow::{Context as _, anyhow, bail};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4::SigningParams;
use serde::Serialize;
use serde_json::{Value, json};

use crate::progress::Progress;

/// The revision the client speaks (stateless over HTTP, with `initialize`).
const PROTOCOL: &str = "2025-11-25";

/// How a request is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signing<'a> {
    /// SigV4 for `lambda` in this region.
    Region(&'a str),
    /// No signature at all.
    None,
}

/// An MCP client for one Function URL.
#[derive(Debug, Clone)]
pub struct McpClient {
    http: reqwest::Client,
    url: String,
    region: String,
    credentials: Credentials,
    next_id: u64,
}

impl McpClient {
    /// A client signing with `credentials` for `region`.
    pub fn new(url: &str, region: &str, credentials: Credentials) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .context("failed to build the HTTP client")?;
        Ok(McpClient {
            http,
            url: url.to_owned(),
            region: region.to_owned(),
            credentials,
            next_id: 1,
        })
    }

    async fn post(&self, body: &Value, signing: Signing<'_>) -> anyhow::Result<(u16, Value)> {
        let bytes = serde_json::to_vec(body)?;
        let mut request = http::Request::builder()
            .method("POST")
            .uri(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", PROTOCOL)
            .body(bytes.clone())
            .context("the Function URL is not a valid URL")?;
        if let Signing::Region(region) = signing {
            let identity = self.credentials.clone().into();
            let params = SigningParams::builder()
                .identity(&identity)
                .region(region)
                .name("lambda")
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
                SignableBody::Bytes(&bytes),
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
        let text = response.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, json))
    }

    /// One signed JSON-RPC request; its `result`, or an error that says why not.
    pub async fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let (status, reply) = self
            .post(&body, Signing::Region(&self.region.clone()))
            .await?;
        match status {
            200 => {}
            403 => bail!(
                "the Function URL refused the signed {method} (403: {}): the caller needs both \
                 lambda:InvokeFunctionUrl and lambda:InvokeFunction on the function, and must be \
                 of its account",
                reply
            ),
            other => bail!("{method} got HTTP {other}: {reply}"),
        }
        if let Some(error) = reply.get("error") {
            bail!("{method} failed: {error}");
        }
        reply
            .get("result")
            .cloned()
            .ok_or_else(|| anyhow!("{method}: no result in {reply}"))
    }

    /// `initialize`: the server's identity.
    pub async fn initialize(&mut self) -> anyhow::Result<Value> {
        let result = self
            .request(
                "initialize",
                json!({"protocolVersion": PROTOCOL, "capabilities": {},
                       "clientInfo": {"name": "mcp-deploy", "version": env!("CARGO_PKG_VERSION")}}),
            )
            .await?;
        Ok(result.get("serverInfo").cloned().unwrap_or(Value::Null))
    }

    /// `tools/list`: the tool definitions.
    pub async fn list_tools(&mut self) -> anyhow::Result<Vec<Value>> {
        let result = self.request("tools/list", json!({})).await?;
        Ok(result
            .get("tools")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// `tools/call`: the whole result (`structuredContent`, `content`, `isError`).
    pub async fn call_tool(&mut self, name: &str, arguments: Value) -> anyhow::Result<Value> {
        self.request("tools/call", json!({"name": name, "arguments": arguments}))
            .await
    }

    /// The status an unsigned request gets.
    pub async fn unsigned_status(&self) -> anyhow::Result<u16> {
        let body = json!({"jsonrpc": "2.0", "id": 0, "method": "tools/list"});
        Ok(self.post(&body, Signing::None).await?.0)
    }

    /// The status a request signed for another region gets.
    pub async fn wrong_region_status(&self, region: &str) -> anyhow::Result<u16> {
        let body = json!({"jsonrpc": "2.0", "id": 0, "method": "tools/list"});
        Ok(self.post(&body, Signing::Region(region)).await?.0)
    }
}

/// What the smoke test saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmokeReport {
    /// `serverInfo` from `initialize`.
    pub server_info: Value,
    /// Tool names from `tools/list`.
    pub tools: Vec<String>,
    /// `demo_account_context`'s structured result.
    pub account_context: Value,
    /// The unsigned request's status (must be 403).
    pub unsigned_status: u16,
    /// The wrongly-signed request's status (must be 403).
    pub wrong_region_status: u16,
}

/// The signed client's story, then the negative controls, which fail the run
/// unless the URL answers 403.
pub async fn smoke(
    client: &mut McpClient,
    expected_account: &str,
    progress: &Progress,
) -> anyhow::Result<SmokeReport> {
    progress.story(">>> DEMO: SigV4-signed in-account client");
    progress.stage("smoke").await?;
    let server_info = client.initialize().await?;
    progress.story(format!("initialize -> {server_info}"));
    let tools: Vec<String> = client
        .list_tools()
        .await?
        .iter()
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    progress.story(format!("tools/list -> {tools:?}"));
    let result = client.call_tool("demo_account_context", json!({})).await?;
    if result.get("isError") == Some(&Value::Bool(true)) {
        bail!("demo_account_context failed: {result}");
    }
    let context = result
        .get("structuredContent")
        .cloned()
        .unwrap_or(Value::Null);
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

    progress.story(">>> DEMO: negative control - an unsigned request must get 403");
    progress.stage("negative-control").await?;
    let unsigned_status = client.unsigned_status().await?;
    progress.story(format!("unsigned POST status: {unsigned_status}"));
    if unsigned_status != 403 {
        bail!(
            "NEGATIVE CONTROL FAILED: an unsigned request got {unsigned_status}, not 403: the URL is \
             not protected by AWS_IAM. Tear it down and check the stack's AuthType"
        );
    }
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
        server_info,
        tools,
        account_context: context,
        unsigned_status,
        wrong_region_status,
    })
}
