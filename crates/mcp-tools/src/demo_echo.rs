//! `demo_echo`: returns its message, to prove a round trip.

use mcp_core::{Annotations, CallContext, Tool, ToolDefinition, ToolError};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Echoes a message back.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoEcho;

/// The arguments of `demo_echo`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EchoArgs {
    /// What to echo.
    pub message: String,
}

/// The result of `demo_echo`.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Echo {
    /// The message, unchanged.
    pub echo: String,
}

impl Tool for DemoEcho {
    type Args = EchoArgs;
    type Output = Echo;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new("demo_echo", "Return the given message unchanged.")
            .title("Echo")
            .input_schema(json!({
                "type": "object",
                "properties": { "message": { "type": "string", "description": "What to echo." } },
                "required": ["message"],
                "additionalProperties": false
            }))
            .output_schema(json!({
                "type": "object",
                "properties": { "echo": { "type": "string" } },
                "required": ["echo"],
                "additionalProperties": false
            }))
            .annotations(Annotations::read_only())
    }

    fn call(&self, args: EchoArgs, _cx: &CallContext<'_>) -> Result<Echo, ToolError> {
        Ok(Echo { echo: args.message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_core::{Extensions, ProtocolVersion};

    #[test]
    fn echoes() {
        let ext = Extensions::new();
        let cx = CallContext {
            protocol_version: ProtocolVersion::V2025_11_25,
            extensions: &ext,
        };
        let out = DemoEcho
            .call(
                EchoArgs {
                    message: "hi ✓".into(),
                },
                &cx,
            )
            .unwrap();
        assert_eq!(
            out,
            Echo {
                echo: "hi ✓".into()
            }
        );
    }
}
