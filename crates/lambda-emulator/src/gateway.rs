//! A local stand-in for an Amazon Bedrock AgentCore Gateway with the
//! function as its Lambda target: what an agent sees, without AWS.
//!
//! - MCP over Streamable HTTP at `/mcp` (2025-11-25 and earlier handshake
//!   revisions, and 2026-07-28), through this project's own `mcp-http` and
//!   `mcp-core`;
//! - inbound SigV4 for the service `bedrock-agentcore`, checked by the same
//!   verifier as the Function URL; the signer must belong to the gateway's
//!   account and hold `bedrock-agentcore:InvokeGateway`;
//! - the target's tools listed as `<target>___<tool>` from the schemas the
//!   deploy CLI exports (`mcp-deploy tools --format agentcore`);
//! - each call delivered to the real `bootstrap` through the Runtime API as
//!   the gateway delivers it: the arguments as the event, and the tool's
//!   qualified name (and the gateway's ids) in the client context's `custom`;
//! - the search tool `x_amz_bedrock_agentcore_search` (`{query}` -> the
//!   best-matching tools' name, description and input schema).
//!
//! What differs from AWS: the search is lexical (words of the query against
//! words of each tool's name and description, best first), where AWS ranks by
//! embeddings; a result carries `structuredContent` besides the text block
//! (AWS is documented to give the function's JSON as text); a function error
//! keeps its detail (AWS shows a generic text unless the gateway's exception
//! level is DEBUG); arguments are not checked against the schema here (the
//! function checks them).

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use mcp_core::{
    Annotations, CallContext, RequestContext, Server, ServerInfo, Tool, ToolDefinition, ToolError,
    ToolRegistry,
};
use mcp_http::{HttpConfig, RequestParts as HttpParts, TrustFront};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::principals::Principal;
use crate::runtime::{Function, InvokeError};
use crate::sigv4::{Denial, RequestParts, Verifier};

/// The IAM action a caller of a gateway needs.
pub const INVOKE_GATEWAY: &str = "bedrock-agentcore:InvokeGateway";
/// The gateway's built-in search tool.
pub const SEARCH_TOOL: &str = "x_amz_bedrock_agentcore_search";
/// Between the target's name and a tool's name.
pub const DELIMITER: &str = "___";

/// One tool of the target, as the deploy CLI exports it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetTool {
    /// The tool's own name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Its arguments.
    pub input_schema: Value,
    /// Its output.
    #[serde(default)]
    pub output_schema: Option<Value>,
}

/// How the gateway authenticates callers.
#[derive(Debug, Clone)]
pub enum GatewayAuth {
    /// `AWS_IAM`: SigV4 for `bedrock-agentcore`.
    AwsIam {
        /// The verifier (service `bedrock-agentcore`).
        verifier: Verifier,
        /// Who may sign.
        principals: Vec<Principal>,
    },
    /// `NONE`, for peers that cannot sign.
    None,
}

/// The gateway: its auth and its MCP server of proxy tools.
#[derive(Debug)]
pub struct Gateway {
    auth: GatewayAuth,
    account_id: String,
    server: Server,
}

impl Gateway {
    /// A gateway with one Lambda target named `target`, serving `tools`.
    pub fn new(
        function: Arc<Function>,
        target: &str,
        tools: Vec<TargetTool>,
        auth: GatewayAuth,
    ) -> anyhow::Result<Gateway> {
        let gateway_id = format!("local-gw-{}", &crate::new_request_id()[..10]);
        let target_id = crate::new_request_id()[..10].to_uppercase();
        let account_id = function.spec().account_id.clone();
        let mut registry = ToolRegistry::new();
        let mut listed = Vec::new();
        for tool in tools {
            let qualified = format!("{target}{DELIMITER}{}", tool.name);
            listed.push(Listed {
                name: qualified.clone(),
                description: tool.description.clone(),
                input_schema: tool.input_schema.clone(),
            });
            registry.register(Proxy {
                function: function.clone(),
                qualified,
                tool,
                gateway_id: gateway_id.clone(),
                target_id: target_id.clone(),
            })?;
        }
        registry.register(Search { tools: listed })?;
        let server = Server::new(ServerInfo::new("local-agentcore-gateway", "0"), registry)
            .with_instructions(
                "A local stand-in for an AgentCore Gateway (mcp-ladder's emulator).",
            );
        Ok(Gateway {
            auth,
            account_id,
            server,
        })
    }

    /// Serves one HTTP request to `/mcp`.
    pub async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        if parts.uri.path() != "/mcp" {
            return crate::json_response(
                StatusCode::NOT_FOUND,
                json!({"message": "the gateway's MCP endpoint is /mcp"}).to_string(),
            );
        }
        let body = match Limited::new(body, crate::function_url::MAX_REQUEST_BYTES)
            .collect()
            .await
        {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return crate::json_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    json!({"message": "request too large"}).to_string(),
                );
            }
        };
        if let Some(refusal) = self.refusal(&parts, &body) {
            tracing::warn!(%refusal, "the gateway refused a request");
            let mut response = crate::json_response(
                StatusCode::FORBIDDEN,
                json!({"message": refusal}).to_string(),
            );
            response.headers_mut().insert(
                "x-amzn-errortype",
                http::HeaderValue::from_static("AccessDeniedException"),
            );
            return response;
        }
        let request = HttpParts {
            method: &parts.method,
            path: parts.uri.path(),
            query: parts.uri.query(),
            headers: &parts.headers,
            body: &body,
            front_identity: None,
        };
        let out = mcp_http::exchange(
            &self.server,
            &HttpConfig::default(),
            &TrustFront,
            request,
            RequestContext::default(),
        )
        .await;
        let mut response =
            Response::new(Full::new(Bytes::from(out.body.clone().unwrap_or_default())));
        *response.status_mut() = out.status;
        *response.headers_mut() = out.headers();
        response
    }

    /// Why a request may not reach the gateway, if it may not.
    fn refusal(&self, parts: &http::request::Parts, body: &[u8]) -> Option<String> {
        let GatewayAuth::AwsIam {
            verifier,
            principals,
        } = &self.auth
        else {
            return None;
        };
        let headers = crate::sigv4::header_pairs(&parts.headers);
        let request = RequestParts {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &headers,
            body,
        };
        let principal = match verifier.verify(&request, SystemTime::now(), |key| {
            principals.iter().find(|p| p.access_key_id == key)
        }) {
            Ok(principal) => principal,
            Err(Denial::Unsigned) => {
                return Some(
                    "the request is not signed: sign it with SigV4 (service bedrock-agentcore) \
                     using credentials of the gateway's account"
                        .into(),
                );
            }
            Err(denial) => return Some(denial.to_string()),
        };
        if principal.account_id != self.account_id {
            return Some(format!(
                "{} belongs to account {}, not to the gateway's",
                principal.arn, principal.account_id
            ));
        }
        (!principal.allow.iter().any(|a| a == INVOKE_GATEWAY))
            .then(|| format!("{} is not allowed {INVOKE_GATEWAY}", principal.arn))
    }
}

/// Serves the gateway on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, gateway: Arc<Gateway>) {
    crate::serve_http(listener, move |req| {
        let gateway = gateway.clone();
        async move { Ok::<_, Infallible>(gateway.handle(req).await) }
    })
    .await;
}

/// A target tool: forwards each call to the function as the gateway does.
struct Proxy {
    function: Arc<Function>,
    qualified: String,
    tool: TargetTool,
    gateway_id: String,
    target_id: String,
}

impl Tool for Proxy {
    type Args = Map<String, Value>;
    type Output = Map<String, Value>;

    fn definition(&self) -> ToolDefinition {
        let output = self
            .tool
            .output_schema
            .clone()
            .unwrap_or_else(|| json!({"type": "object"}));
        ToolDefinition::new(&self.qualified, &self.tool.description)
            .with_schemas(self.tool.input_schema.clone(), output)
    }

    async fn call(&self, args: Self::Args, _: &CallContext<'_>) -> Result<Self::Output, ToolError> {
        let client_context = json!({"custom": {
            "bedrockAgentCoreToolName": self.qualified,
            "bedrockAgentCoreMessageVersion": "1.0",
            "bedrockAgentCoreAwsRequestId": crate::new_request_id(),
            "bedrockAgentCoreMcpMessageId": crate::new_request_id(),
            "bedrockAgentCoreGatewayId": self.gateway_id,
            "bedrockAgentCoreTargetId": self.target_id,
        }});
        let event = Bytes::from(Value::Object(args).to_string());
        let payload = self
            .function
            .invoke_with(event, Some(client_context.to_string()))
            .await
            .map_err(|e| match e {
                InvokeError::Errored {
                    error_type,
                    message,
                } => ToolError::new(format!(
                    "the target's Lambda function failed ({error_type}): {message}"
                )),
                other => ToolError::new(format!("the target's Lambda function failed: {other}")),
            })?;
        match serde_json::from_slice::<Value>(&payload) {
            Ok(Value::Object(result)) if result.get("isError") == Some(&Value::Bool(true)) => {
                let text: Vec<&str> = result["content"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|block| block["text"].as_str())
                    .collect();
                Err(ToolError::new(text.join("\n")))
            }
            Ok(Value::Object(output)) => Ok(output),
            Ok(other) => Ok(Map::from_iter([("result".to_owned(), other)])),
            Err(_) => Err(ToolError::new(
                "the target's Lambda function returned no JSON",
            )),
        }
    }
}

/// A tool as the search lists it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Listed {
    name: String,
    description: String,
    input_schema: Value,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    /// What the agent wants to do, in words.
    query: String,
}

#[derive(Debug, Serialize, JsonSchema)]
struct Found {
    /// The best-matching tools, best first.
    tools: Vec<Listed>,
}

/// The built-in search tool, ranking lexically.
struct Search {
    tools: Vec<Listed>,
}

/// Words that say nothing about what a tool does.
const STOP_WORDS: [&str; 24] = [
    "a", "an", "and", "are", "as", "by", "do", "for", "from", "how", "in", "is", "it", "many",
    "me", "of", "on", "or", "the", "this", "to", "what", "which", "with",
];

/// The lower-cased words of a text that can tell tools apart.
fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.len() > 1 && !STOP_WORDS.contains(&w.as_str()))
        .collect()
}

impl Search {
    /// The tools sharing a word (or a word's start) with the query, best first.
    fn rank(&self, query: &str) -> Vec<Listed> {
        let query = words(query);
        let mut scored: Vec<(usize, &Listed)> = self
            .tools
            .iter()
            .map(|tool| {
                let name = words(&tool.name);
                let text = words(&tool.description);
                let score = query
                    .iter()
                    .map(|q| {
                        let hit =
                            |w: &String| w == q || (q.len() >= 3 && w.starts_with(q.as_str()));
                        3 * usize::from(name.iter().any(hit)) + usize::from(text.iter().any(hit))
                    })
                    .sum();
                (score, tool)
            })
            .filter(|(score, _)| *score > 0)
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
        scored.into_iter().map(|(_, tool)| tool.clone()).collect()
    }
}

impl Tool for Search {
    type Args = SearchArgs;
    type Output = Found;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(
            SEARCH_TOOL,
            "Finds this gateway's tools that fit a task: describe the task in a few words as \
             `query`; the best-matching tools come back, best first, with their input schemas.",
        )
        .annotations(Annotations::read_only())
    }

    async fn call(&self, args: SearchArgs, _: &CallContext<'_>) -> Result<Found, ToolError> {
        Ok(Found {
            tools: self.rank(&args.query),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(name: &str, description: &str) -> Listed {
        Listed {
            name: name.into(),
            description: description.into(),
            input_schema: json!({"type": "object"}),
        }
    }

    #[test]
    fn search_ranks_names_over_descriptions() {
        let search = Search {
            tools: vec![
                listed("t___demo_echo", "Return the given message unchanged."),
                listed(
                    "t___word_count",
                    "Count the words and characters in a text.",
                ),
            ],
        };
        let names =
            |q: &str| -> Vec<String> { search.rank(q).into_iter().map(|t| t.name).collect() };
        assert_eq!(names("how many words are in this text"), ["t___word_count"]);
        assert_eq!(names("echo a message"), ["t___demo_echo"]);
        assert!(names("weather in Paris").is_empty());
    }
}
