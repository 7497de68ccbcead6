//! The internet-facing rung's smoke test and its local demo.
//!
//! The smoke test is what a spec-following MCP client would meet: no token
//! is 401 with the challenge, the challenge's metadata URL is reachable and
//! names this endpoint and its issuer, a token minted for another server is
//! 401. With a way to get tokens (the local issuer, or tokens the user
//! exports), it also shows token isolation: a read token lists no
//! destructive tool and is refused one with 403 `insufficient_scope`; an
//! admin token calls it. Without tokens it says what it could not check.

use std::time::Duration;

use anyhow::{anyhow, bail};
use serde::Serialize;
use serde_json::{Value, json};

use crate::progress::Progress;

/// The destructive demo tool of the isolation story.
const DESTRUCTIVE: &str = "demo_drop_table";

/// Where the smoke test gets tokens.
#[derive(Debug, Clone)]
pub enum Tokens {
    /// A token endpoint that grants `client_credentials` for any scope and
    /// `resource` (the emulator's development issuer).
    Endpoint(String),
    /// Tokens the user obtained: `MCP_SMOKE_TOKEN_READ` (for this endpoint,
    /// without the admin scope), `MCP_SMOKE_TOKEN_ADMIN` (with it),
    /// `MCP_SMOKE_TOKEN_OTHER_AUDIENCE` (for another server).
    Given {
        /// A read-only token for this endpoint.
        read: Option<String>,
        /// A token with the admin scope.
        admin: Option<String>,
        /// A token minted for another audience.
        other_audience: Option<String>,
    },
}

impl Tokens {
    /// The tokens the user exported, if any.
    pub fn from_env() -> Tokens {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Tokens::Given {
            read: var("MCP_SMOKE_TOKEN_READ"),
            admin: var("MCP_SMOKE_TOKEN_ADMIN"),
            other_audience: var("MCP_SMOKE_TOKEN_OTHER_AUDIENCE"),
        }
    }
}

/// What the internet smoke test saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InternetSmokeReport {
    /// The MCP endpoint.
    pub api_url: String,
    /// The 401's `WWW-Authenticate`.
    pub challenge: String,
    /// The protected resource metadata.
    pub metadata: Value,
    /// The tools a read token listed, when one was available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_tools: Option<Vec<String>>,
    /// What was checked.
    pub checked: Vec<String>,
    /// What could not be checked, and why.
    pub not_checked: Vec<String>,
}

struct Answer {
    status: u16,
    challenge: Option<String>,
    body: Value,
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<Answer> {
    let mut request = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| anyhow!("POST {url}: {e}"))?;
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.unwrap_or_default();
    // A streamed answer: the reply is the last event's data.
    let json_text = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .next_back()
        .unwrap_or(&text);
    let body = serde_json::from_str(json_text).unwrap_or(Value::Null);
    Ok(Answer {
        status,
        challenge,
        body,
    })
}

async fn get_json(http: &reqwest::Client, url: &str) -> anyhow::Result<Value> {
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| anyhow!("GET {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        bail!("GET {url} answered {status}");
    }
    response
        .json()
        .await
        .map_err(|e| anyhow!("GET {url} is not JSON: {e}"))
}

/// The quoted value of `name` in a `WWW-Authenticate` challenge.
pub fn challenge_param<'c>(challenge: &'c str, name: &str) -> Option<&'c str> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = &challenge[start..];
    rest.find('"').map(|end| &rest[..end])
}

async fn mint(
    http: &reqwest::Client,
    endpoint: &str,
    audience: &str,
    scope: &str,
) -> anyhow::Result<String> {
    let answer: Value = http
        .post(endpoint)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "mcp-deploy-smoke"),
            ("scope", scope),
            ("resource", audience),
        ])
        .send()
        .await
        .map_err(|e| anyhow!("POST {endpoint}: {e}"))?
        .json()
        .await
        .map_err(|e| anyhow!("the token endpoint's answer is not JSON: {e}"))?;
    answer
        .get("access_token")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the token endpoint gave no access_token: {answer}"))
}

fn list() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
}

fn call_destructive() -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": DESTRUCTIVE, "arguments": {"table": "customers"}}})
}

/// The smoke test of an internet-facing endpoint.
pub async fn smoke_internet(
    api_url: &str,
    tokens: &Tokens,
    progress: &Progress,
) -> anyhow::Result<InternetSmokeReport> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let mut checked = Vec::new();
    let mut not_checked = Vec::new();
    progress.story(">>> DEMO: the internet-facing endpoint (OAuth resource server behind WAF)");

    // 1. No token.
    let answer = post(&http, api_url, None, &list()).await?;
    let challenge = answer.challenge.clone().unwrap_or_default();
    if answer.status != 401 || !challenge.starts_with("Bearer ") {
        bail!(
            "without a token the endpoint answered {} (challenge {challenge:?}), not 401 with a \
             Bearer challenge: it is not checking tokens. Tear it down (mcp-deploy teardown)",
            answer.status
        );
    }
    let Some(metadata_url) = challenge_param(&challenge, "resource_metadata") else {
        bail!("the 401 challenge names no resource_metadata: {challenge}");
    };
    progress.story(format!("no token -> 401, WWW-Authenticate: {challenge}"));
    checked.push("no token: 401 with the Bearer challenge".to_owned());

    // 2. Discovery.
    let metadata = get_json(&http, metadata_url).await?;
    if metadata["resource"] != json!(api_url) {
        bail!(
            "the resource metadata at {metadata_url} names {} as its resource, not {api_url}: \
             clients will refuse it (set --audience to the URL clients use)",
            metadata["resource"]
        );
    }
    let issuer = metadata["authorization_servers"][0]
        .as_str()
        .ok_or_else(|| anyhow!("the resource metadata names no authorization server"))?
        .to_owned();
    progress.story(format!(
        "discovery: {metadata_url} -> resource {api_url}, authorization server {issuer}"
    ));
    checked.push("protected resource metadata: reachable, names this endpoint".to_owned());

    let (read, admin, other) = match tokens {
        Tokens::Endpoint(endpoint) => {
            let discovery = get_json(
                &http,
                &format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                ),
            )
            .await?;
            progress.story(format!(
                "discovery: {issuer} publishes token endpoint {}",
                discovery["token_endpoint"]
            ));
            (
                Some(mint(&http, endpoint, api_url, "mcp:read").await?),
                Some(mint(&http, endpoint, api_url, "mcp:read mcp:admin").await?),
                Some(
                    mint(
                        &http,
                        endpoint,
                        "https://other.example.com/mcp",
                        "mcp:read mcp:admin",
                    )
                    .await?,
                ),
            )
        }
        Tokens::Given {
            read,
            admin,
            other_audience,
        } => (read.clone(), admin.clone(), other_audience.clone()),
    };

    // 3. A token for another server.
    match &other {
        Some(token) => {
            let answer = post(&http, api_url, Some(token), &list()).await?;
            let challenge = answer.challenge.unwrap_or_default();
            if answer.status != 401 || !challenge.contains("invalid_token") {
                bail!(
                    "a token minted for another audience got {}, not 401 invalid_token: the \
                     endpoint does not check `aud`. Tear it down",
                    answer.status
                );
            }
            progress.story("a token for another server -> 401 invalid_token");
            checked.push("a token for another audience: 401 invalid_token".to_owned());
        }
        None => not_checked.push(
            "a token for another audience (export MCP_SMOKE_TOKEN_OTHER_AUDIENCE to check it)"
                .to_owned(),
        ),
    }

    // 4. Token isolation.
    let mut read_tools = None;
    match &read {
        Some(token) => {
            let answer = post(&http, api_url, Some(token), &list()).await?;
            if answer.status != 200 {
                bail!(
                    "a read token could not list tools ({}): {}",
                    answer.status,
                    answer.body
                );
            }
            let names: Vec<String> = answer.body["result"]["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect();
            progress.story(format!("read token: tools/list -> {}", names.join(", ")));
            if names.iter().any(|n| n == DESTRUCTIVE) {
                bail!("a read token sees {DESTRUCTIVE}: scopes per tool are not applied");
            }
            let refused = post(&http, api_url, Some(token), &call_destructive()).await?;
            let challenge = refused.challenge.unwrap_or_default();
            if refused.status != 403 || !challenge.contains("insufficient_scope") {
                bail!(
                    "a read token calling {DESTRUCTIVE} got {}, not 403 insufficient_scope",
                    refused.status
                );
            }
            progress.story(format!(
                "read token: tools/call {DESTRUCTIVE} (a \"hallucinated\" call) -> 403, WWW-Authenticate: {challenge}"
            ));
            checked.push(
                "a read token: no destructive tool listed, and 403 insufficient_scope calling it"
                    .to_owned(),
            );
            read_tools = Some(names);
        }
        None => not_checked.push(
            "token isolation with a read token (export MCP_SMOKE_TOKEN_READ to check it)"
                .to_owned(),
        ),
    }
    match &admin {
        Some(token) => {
            let done = post(&http, api_url, Some(token), &call_destructive()).await?;
            if done.status != 200 || done.body["result"]["isError"] == json!(true) {
                bail!(
                    "an admin token could not call {DESTRUCTIVE} ({}): {}",
                    done.status,
                    done.body
                );
            }
            progress.story(format!(
                "admin token: tools/call {DESTRUCTIVE} -> 200 {}",
                done.body["result"]["structuredContent"]
            ));
            checked.push("an admin token: the destructive tool runs".to_owned());
        }
        None => not_checked
            .push("an admin token's call (export MCP_SMOKE_TOKEN_ADMIN to check it)".to_owned()),
    }
    for what in &not_checked {
        progress.say(format!("not checked: {what}"));
    }
    progress.story("OK: unauthenticated and foreign tokens are refused; scopes decide the tools.");
    Ok(InternetSmokeReport {
        api_url: api_url.to_owned(),
        challenge,
        metadata,
        read_tools,
        checked,
        not_checked,
    })
}

#[cfg(test)]
mod tests {
    use super::challenge_param;

    #[test]
    fn challenge_parameters_are_read() {
        let c =
            r#"Bearer error="invalid_token", resource_metadata="https://a/b", scope="mcp:read""#;
        assert_eq!(challenge_param(c, "resource_metadata"), Some("https://a/b"));
        assert_eq!(challenge_param(c, "scope"), Some("mcp:read"));
        assert_eq!(challenge_param(c, "realm"), None);
    }
}
