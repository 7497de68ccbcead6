//! The fixtures of the suite's server-to-client scenarios at the handshake
//! revisions (`tools-call-sampling`, `tools-call-elicitation`,
//! `elicitation-sep1034-defaults`, `elicitation-sep1330-enums` of
//! `@modelcontextprotocol/conformance` 0.2.0-alpha.12): tools that ask the
//! client in the middle of the call. They ask with the same
//! [`CallContext::ask`] as the 2026-07-28 fixtures; at 2025-11-25 the
//! transport sends the request to the client and the tool runs again with
//! the answer ([`mcp_core::ask`]). Names, arguments, schemas and texts are
//! the suite's.

use mcp_core::model::Content;
use mcp_core::{CallContext, ContentTool, InputRequests, NoArgs, ToolDefinition, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Catalog;

/// The key every fixture here asks under.
const KEY: &str = "answer";

/// The text of an elicitation's answer: its action and content.
fn elicited(cx: &CallContext<'_>) -> Option<String> {
    let answer = cx.input(KEY)?;
    let action = answer.get("action")?.as_str()?;
    let content = answer.get("content").cloned().unwrap_or_else(|| json!({}));
    Some(format!("action={action}, content={content}"))
}

/// The arguments of `test_sampling`.
#[derive(Debug, Deserialize, JsonSchema)]
struct SamplingArgs {
    /// The prompt to send to the client's model.
    prompt: String,
}

/// `test_sampling`: asks the client's model to complete `prompt`.
struct Sampling;

impl ContentTool for Sampling {
    type Args = SamplingArgs;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(
            "test_sampling",
            "Asks the client's model to complete the prompt (sampling/createMessage).",
        )
    }

    async fn call(
        &self,
        args: SamplingArgs,
        cx: &CallContext<'_>,
    ) -> Result<Vec<Content>, ToolError> {
        match cx.sampled_text(KEY) {
            Some(text) => Ok(vec![Content::text(format!("LLM response: {text}"))]),
            None => Err(cx
                .ask(InputRequests::new().sample(KEY, &args.prompt, 100))
                .into()),
        }
    }
}

/// The arguments of `test_elicitation`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ElicitationArgs {
    /// The message to show the user.
    message: String,
}

/// `test_elicitation`: asks the user for a username and an email.
struct Elicitation;

impl ContentTool for Elicitation {
    type Args = ElicitationArgs;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(
            "test_elicitation",
            "Asks the user for a username and an email (elicitation/create).",
        )
    }

    async fn call(
        &self,
        args: ElicitationArgs,
        cx: &CallContext<'_>,
    ) -> Result<Vec<Content>, ToolError> {
        if let Some(text) = elicited(cx) {
            return Ok(vec![Content::text(format!("User response: {text}"))]);
        }
        let schema = json!({
            "type": "object",
            "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"}
            },
            "required": ["username", "email"]
        });
        Err(cx
            .ask(InputRequests::new().elicit(KEY, &args.message, schema))
            .into())
    }
}

/// Which form a [`Form`] asks.
#[derive(Clone, Copy)]
enum Schema {
    /// SEP-1034: a default for every primitive type.
    Defaults,
    /// SEP-1330: the five kinds of enum.
    Enums,
}

/// `test_elicitation_sep1034_defaults`, `test_elicitation_sep1330_enums`.
struct Form(Schema);

impl Form {
    fn schema(&self) -> Value {
        let properties = match self.0 {
            Schema::Defaults => json!({
                "name": {"type": "string", "default": "John Doe"},
                "age": {"type": "integer", "default": 30},
                "score": {"type": "number", "default": 95.5},
                "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
                "verified": {"type": "boolean", "default": true}
            }),
            Schema::Enums => json!({
                "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
                "titledSingle": {"type": "string", "oneOf": [
                    {"const": "value1", "title": "First Option"},
                    {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"}
                ]},
                "legacyEnum": {"type": "string", "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"]},
                "untitledMulti": {"type": "array",
                    "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                "titledMulti": {"type": "array", "items": {"anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"}
                ]}}
            }),
        };
        json!({"type": "object", "properties": properties})
    }
}

impl ContentTool for Form {
    type Args = NoArgs;

    fn definition(&self) -> ToolDefinition {
        match self.0 {
            Schema::Defaults => ToolDefinition::new(
                "test_elicitation_sep1034_defaults",
                "Asks the user a form with a default for every primitive type (SEP-1034).",
            ),
            Schema::Enums => ToolDefinition::new(
                "test_elicitation_sep1330_enums",
                "Asks the user a form with the five kinds of enum (SEP-1330).",
            ),
        }
    }

    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Vec<Content>, ToolError> {
        if let Some(text) = elicited(cx) {
            return Ok(vec![Content::text(format!(
                "Elicitation completed: {text}"
            ))]);
        }
        let message = match self.0 {
            Schema::Defaults => "Please review and update the form fields with defaults",
            Schema::Enums => "Please pick from the enum fields",
        };
        Err(cx
            .ask(InputRequests::new().elicit(KEY, message, self.schema()))
            .into())
    }
}

/// Adds the server-to-client fixtures to a catalog.
pub(super) fn install(catalog: &mut Catalog) -> Result<(), crate::CatalogError> {
    catalog.tools.register_content(Sampling)?;
    catalog.tools.register_content(Elicitation)?;
    catalog.tools.register_content(Form(Schema::Defaults))?;
    catalog.tools.register_content(Form(Schema::Enums))?;
    Ok(())
}
