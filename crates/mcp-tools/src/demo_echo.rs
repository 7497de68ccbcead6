//! `demo_echo`: returns its message, to prove a round trip.

use mcp_core::{Annotations, CallContext, Tool, ToolDefinition, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Echoes a message back.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoEcho;

/// The arguments of `demo_echo`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EchoArgs {
    /// What to echo.
    pub message: String,
}

/// The result of `demo_echo`.
#[derive(Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
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
            .annotations(Annotations::read_only())
    }

    async fn call(&self, args: EchoArgs, _cx: &CallContext<'_>) -> Result<Echo, ToolError> {
        Ok(Echo { echo: args.message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_core::{ProtocolVersion, RequestContext};

    #[tokio::test]
    async fn echoes() {
        let request = RequestContext::default();
        let cx = request.call(ProtocolVersion::V2025_11_25, None);
        let out = DemoEcho
            .call(
                EchoArgs {
                    message: "hi ✓".into(),
                },
                &cx,
            )
            .await
            .unwrap();
        assert_eq!(
            out,
            Echo {
                echo: "hi ✓".into()
            }
        );
    }
}
