//! The function as an Amazon Bedrock AgentCore Gateway Lambda target.
//!
//! The contract, from AWS's documentation ("AWS Lambda function targets",
//! section "Lambda function input format", and "Understand how AgentCore
//! Gateway tools are named") and the awslabs AgentCore samples:
//! - the gateway invokes the function directly (`Invoke`, no HTTP event);
//!   the event is the tool's arguments, a flat JSON object;
//! - the tool is named in the client context:
//!   `custom.bedrockAgentCoreToolName = "<target>___<tool>"` (the target's
//!   name, three underscores, the tool's name: the prefix is the function's
//!   to strip); `custom` also carries `bedrockAgentCoreMessageVersion`,
//!   `...AwsRequestId`, `...McpMessageId`, `...GatewayId`, `...TargetId`, and
//!   with header propagation objects (`...PropagatedHeaders`);
//! - the gateway turns whatever JSON the function returns into the tool
//!   result's text for the agent; a function error reaches the agent as
//!   `isError: true` with a generic text, its details only in debug mode.
//!
//! So a call that worked returns the tool's output object, and a call that
//! failed in a way the model can fix (an unknown tool, arguments that do not
//! fit, the tool's own error) returns `{"isError": true, "content": [{"type":
//! "text", "text": "<what to do>"}]}` - an MCP-shaped result - instead of a
//! function error, so that the reason reaches the model whether the gateway
//! passes such a result through or serialises it as text. Function errors are
//! kept for what the model cannot fix (an unreadable client context, an event
//! that is not an object). The tool runs through the same core as over HTTP:
//! the same argument checks, the same errors, panics caught.
//!
//! Who may invoke this way: anyone the function's policy allows
//! `lambda:InvokeFunction`, with any client context. So such invocations are
//! served only when the function is declared a gateway target
//! (`MCP_GATEWAY_TARGET=1`), and then as one caller that is not known here -
//! the gateway passes the arguments and its own ids, never its caller's
//! identity or token (DESIGN.md, "Against real AWS (2)"). That caller holds
//! the scopes every tool needs by default (`mcp:read`, `mcp:write`), never a
//! tool's own (`demo_drop_table`'s `mcp:admin`): a destructive call made
//! through a gateway fails safely, whoever the gateway let in.

use std::time::Instant;

use lambda_http::lambda_runtime::Context;
use mcp_core::model::{CallToolResult, Content, ServerResult};
use mcp_core::{
    AuthScheme, ErrorCode, ErrorObject, Extensions, Identity, ProtocolVersion, Reply,
    RequestContext, Session, scopes, trace,
};
use mcp_http::CallOutcome;
use serde::Serialize;
use serde_json::{Value, json};

use crate::runtime::Outcome;
use crate::{App, Invocation};

/// The client context's `custom` key naming the tool.
pub const TOOL_NAME_KEY: &str = "bedrockAgentCoreToolName";
/// Between a gateway target's name and a tool's name.
pub const TARGET_DELIMITER: &str = "___";
/// The client context's `custom` key naming the gateway.
pub const GATEWAY_ID_KEY: &str = "bedrockAgentCoreGatewayId";
/// The scopes a gateway's call holds: those a tool needs by default.
const GATEWAY_SCOPES: [&str; 2] = [scopes::READ, scopes::WRITE];

/// Why an invocation naming `tool` in its client context was refused by a
/// function that is not a gateway target.
pub(crate) fn not_a_target(tool: &str) -> String {
    format!(
        "this function is not an AgentCore Gateway target ({}=1 is not set), so the \
         invocation naming tool {tool:?} in its client context (custom.{TOOL_NAME_KEY}) was \
         refused: call its Function URL, or deploy it with `mcp-deploy deploy --rung gateway`",
        mcp_settings::Setting::GatewayTarget
    )
}

/// The one caller a gateway's invocations are served as.
fn gateway_caller(gateway: Option<&str>) -> Identity {
    Identity {
        scheme: AuthScheme::Gateway,
        principal: format!("agentcore-gateway/{}", gateway.unwrap_or("unnamed")),
        account: None,
        scopes: Some(GATEWAY_SCOPES.map(str::to_owned).to_vec()),
    }
}

/// A gateway-specific reason for a refusal by scope: the core's speaks of
/// the caller's token, which a gateway call does not have.
fn through_gateway(tool: &str, error: ErrorObject) -> String {
    if error.code != ErrorCode::INSUFFICIENT_SCOPE {
        return error.message;
    }
    format!(
        "Tool {tool:?} was not run: it needs a scope of its own (beyond {}), and an AgentCore \
         Gateway does not pass its caller's identity to this function, so no call through the \
         gateway holds it. Do not retry through the gateway; ask the user to run it through \
         the Function URL or the internet rung with a token that grants it.",
        GATEWAY_SCOPES.join(" and ")
    )
}

/// A failed call, as the gateway hands it to the agent.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Failure<'a> {
    is_error: bool,
    content: &'a [Content],
}

fn failure(content: &[Content]) -> Outcome {
    let body = Failure {
        is_error: true,
        content,
    };
    Outcome::Response(serde_json::to_vec(&body).unwrap_or_default())
}

impl App {
    /// The registered tool a gateway's qualified name refers to: the whole
    /// name when it is a tool itself, else the name after the target prefix.
    /// Every AWS sample delimits with three underscores; AWS's naming page
    /// shows two, so a two-underscore prefix is accepted too when what
    /// follows it is a tool.
    pub fn gateway_tool<'n>(&self, qualified: &'n str) -> &'n str {
        let tools = self.server.tools();
        if tools.definition(qualified).is_some() {
            return qualified;
        }
        let after = |delimiter| qualified.split_once(delimiter).map(|(_, tool)| tool);
        match (after(TARGET_DELIMITER), after("__")) {
            (Some(tool), _) if tools.definition(tool).is_some() => tool,
            (_, Some(tool)) if tools.definition(tool).is_some() => tool,
            (Some(tool), _) => tool,
            _ => qualified,
        }
    }

    /// One gateway tool call: `event` is the arguments.
    pub(crate) async fn gateway_call(
        &self,
        qualified: &str,
        gateway: Option<&str>,
        event: &[u8],
        context: &Context,
    ) -> Outcome {
        let started = Instant::now();
        let tool = self.gateway_tool(qualified);
        let arguments = match serde_json::from_slice::<Value>(event) {
            Ok(Value::Null) => json!({}),
            Ok(arguments @ Value::Object(_)) => arguments,
            Ok(_) | Err(_) => {
                return Outcome::error(
                    "InvalidToolArguments",
                    format!(
                        "the gateway's event for tool {qualified:?} is not a JSON object of arguments"
                    ),
                );
            }
        };
        let mut extensions = Extensions::new();
        extensions.insert(Invocation {
            invoked_function_arn: Some(context.invoked_function_arn.clone()),
            caller: None,
        });
        let mut request = RequestContext::with_extensions(extensions);
        request.identity = Some(gateway_caller(gateway));
        request.traceparent = context
            .xray_trace_id
            .as_deref()
            .and_then(crate::xray_traceparent);
        mcp_core::trace::set_current(request.traceparent.as_deref());
        let message = json!({
            "jsonrpc": "2.0",
            "id": 0,
            "method": "tools/call",
            "params": {"name": tool, "arguments": arguments},
        });
        // The newest handshake revision: structured output, no envelope.
        let mut session = Session::stateless(ProtocolVersion::LATEST_HANDSHAKE);
        let reply = self
            .server
            .handle_value(&mut session, message, &request)
            .await;
        let call_outcome = CallOutcome::of(reply.as_ref());
        let (outcome, status) = match reply {
            Some(Reply::One(response)) => match response.body {
                Ok(envelope) => match envelope.result {
                    ServerResult::CallTool(result) => answer(result),
                    _ => (failure(&[Content::text("unexpected result")]), "error"),
                },
                Err(error) => (
                    failure(&[Content::text(through_gateway(tool, error))]),
                    "error",
                ),
            },
            _ => (failure(&[Content::text("the call had no reply")]), "error"),
        };
        let duration = started.elapsed();
        let trace_id = request.traceparent.as_deref().and_then(trace::trace_id);
        let request_id = context.request_id.as_str();
        tracing::info!(
            request_id,
            front = "gateway",
            tool,
            status,
            outcome = call_outcome.as_str(),
            trace_id = trace_id.unwrap_or("-"),
            duration_us = duration.as_micros() as u64,
            "mcp request"
        );
        self.record_call(tool, call_outcome, duration, trace_id, request_id);
        outcome
    }
}

fn answer(result: CallToolResult) -> (Outcome, &'static str) {
    match result.structured_content {
        Some(output) if !result.is_error => {
            (Outcome::Response(output.get().as_bytes().to_vec()), "ok")
        }
        _ => (failure(&result.content), "tool_error"),
    }
}

#[cfg(test)]
mod tests {
    use crate::{App, FunctionEnv, HttpConfig};

    #[test]
    fn target_prefixes_are_stripped() {
        let app = App::new(FunctionEnv::default(), HttpConfig::default())
            .unwrap_or_else(|e| panic!("{e}"));
        for (qualified, tool) in [
            ("mcp-ladder___word_count", "word_count"),
            ("mcp-ladder__word_count", "word_count"),
            ("word_count", "word_count"),
            ("t___no_such", "no_such"),
            ("plain", "plain"),
        ] {
            assert_eq!(app.gateway_tool(qualified), tool, "{qualified}");
        }
    }
}
