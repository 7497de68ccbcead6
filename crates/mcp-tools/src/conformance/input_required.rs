//! The fixtures of the suite's `input-required-result-*` scenarios
//! (`@modelcontextprotocol/conformance` 0.2.0-alpha.12, SEP-2322): tools and
//! a prompt that ask the client for input at 2026-07-28 and complete on the
//! retry that brings the answers. Names, keys and texts are the suite's.

use mcp_core::model::{Content, PromptInfo, PromptMessage};
use mcp_core::{
    CallContext, ContentTool, InputMethod, InputRequests, NoArgs, Prompt, PromptArguments,
    PromptError, ToolDefinition, ToolError,
};
use serde_json::{Value, json};

use crate::Catalog;

/// The requested schema of a form of one string (or boolean) field.
fn form(field: &str, kind: &str) -> Value {
    json!({"type": "object", "properties": {field: {"type": kind}}, "required": [field]})
}

fn name_form() -> InputRequests {
    InputRequests::new().elicit("user_name", "What is your name?", form("name", "string"))
}

fn confirm_form() -> InputRequests {
    InputRequests::new().elicit("confirm", "Please confirm", form("ok", "boolean"))
}

/// The string `field` of the form accepted under `key`.
fn field<'c>(cx: &CallContext<'c>, key: &str, field: &str) -> Option<&'c str> {
    cx.elicited(key)?.get(field)?.as_str()
}

/// Which fixture a [`Asks`] is.
#[derive(Clone, Copy)]
enum Fixture {
    Elicitation,
    Sampling,
    ListRoots,
    RequestState,
    TamperedState,
    MultipleInputs,
    MultiRound,
    Capabilities,
}

/// A no-argument tool that asks for input, by fixture.
struct Asks(Fixture);

impl ContentTool for Asks {
    type Args = NoArgs;

    fn definition(&self) -> ToolDefinition {
        let (name, description) = match self.0 {
            Fixture::Elicitation => (
                "test_input_required_result_elicitation",
                "Asks the user's name (elicitation), then greets them.",
            ),
            Fixture::Sampling => (
                "test_input_required_result_sampling",
                "Asks the client's model for the capital of France (sampling).",
            ),
            Fixture::ListRoots => (
                "test_input_required_result_list_roots",
                "Asks for the client's roots, then lists them.",
            ),
            Fixture::RequestState => (
                "test_input_required_result_request_state",
                "Asks for a confirmation with a sealed requestState; says state-ok when it comes back intact.",
            ),
            Fixture::TamperedState => (
                "test_input_required_result_tampered_state",
                "Asks for a confirmation with a sealed requestState; a changed state is refused.",
            ),
            Fixture::MultipleInputs => (
                "test_input_required_result_multiple_inputs",
                "Asks for a name, a greeting from the client's model and the client's roots at once.",
            ),
            Fixture::MultiRound => (
                "test_input_required_result_multi_round",
                "Asks for a name, then a favourite colour, then answers.",
            ),
            Fixture::Capabilities => (
                "test_input_required_result_capabilities",
                "Asks only for the kinds of input the client declared it can give.",
            ),
        };
        ToolDefinition::new(name, description)
    }

    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Vec<Content>, ToolError> {
        let text = match self.0 {
            Fixture::Elicitation => match field(cx, "user_name", "name") {
                Some(name) => format!("Hello, {name}!"),
                None => return Err(cx.ask(name_form()).into()),
            },
            Fixture::Sampling => match cx.sampled_text("capital_question") {
                Some(text) => format!("The client's model answered: {text}"),
                None => {
                    let ask = InputRequests::new().sample(
                        "capital_question",
                        "What is the capital of France?",
                        100,
                    );
                    return Err(cx.ask(ask).into());
                }
            },
            Fixture::ListRoots => match cx.roots("client_roots") {
                Some(roots) => format!("The client's roots: {}", roots.join(", ")),
                None => {
                    return Err(cx
                        .ask(InputRequests::new().list_roots("client_roots"))
                        .into());
                }
            },
            Fixture::RequestState | Fixture::TamperedState => {
                // Only an intact state of this very call says state-ok.
                match (cx.resumed(), cx.input("confirm")) {
                    (true, Some(_)) => "state-ok: the requestState came back intact".to_owned(),
                    _ => {
                        let state = json!({"asked": "confirm"});
                        return Err(cx.ask_with_state(confirm_form(), state).into());
                    }
                }
            }
            Fixture::MultipleInputs => {
                let name = field(cx, "user_name", "name");
                let greeting = cx.sampled_text("greeting");
                let roots = cx.roots("client_roots");
                match (name, greeting, roots) {
                    (Some(name), Some(greeting), Some(roots)) => {
                        format!("{greeting} {name}; roots: {}", roots.join(", "))
                    }
                    _ => {
                        let ask = name_form()
                            .sample("greeting", "Generate a greeting", 50)
                            .list_roots("client_roots");
                        return Err(cx.ask_with_state(ask, json!({"round": 1})).into());
                    }
                }
            }
            Fixture::MultiRound => multi_round(cx)?,
            Fixture::Capabilities => {
                let mut ask = InputRequests::new();
                if cx.can_ask(InputMethod::Elicitation) {
                    ask = name_form();
                }
                if cx.can_ask(InputMethod::Sampling) {
                    ask = ask.sample("greeting", "Generate a greeting", 50);
                }
                if cx.can_ask(InputMethod::Roots) {
                    ask = ask.list_roots("client_roots");
                }
                if cx.resumed() || ask.is_empty() {
                    "done: asked only for what the client can give".to_owned()
                } else {
                    return Err(cx.ask_with_state(ask, json!({"round": 1})).into());
                }
            }
        };
        Ok(vec![Content::text(text)])
    }
}

/// Three rounds: a name (step1), then a colour (step2) with the name kept
/// in the state, then the answer.
fn multi_round(cx: &CallContext<'_>) -> Result<String, ToolError> {
    let kept = cx.input_state().and_then(|s| s["name"].as_str());
    let name = match (kept, field(cx, "step1", "name")) {
        (Some(name), _) | (None, Some(name)) => name.to_owned(),
        (None, None) => {
            let ask = InputRequests::new().elicit(
                "step1",
                "Step 1: What is your name?",
                form("name", "string"),
            );
            return Err(cx.ask_with_state(ask, json!({"step": 1})).into());
        }
    };
    match field(cx, "step2", "color") {
        Some(color) if kept.is_some() => Ok(format!("{name} likes {color}.")),
        _ => {
            let ask = InputRequests::new().elicit(
                "step2",
                "Step 2: What is your favorite color?",
                form("color", "string"),
            );
            Err(cx
                .ask_with_state(ask, json!({"step": 2, "name": name}))
                .into())
        }
    }
}

/// `test_input_required_result_prompt`: asks what context to use.
struct ContextPrompt;

impl Prompt for ContextPrompt {
    fn definition(&self) -> PromptInfo {
        PromptInfo::new(
            "test_input_required_result_prompt",
            "A prompt that asks the user what context it should use.",
        )
    }

    async fn get(
        &self,
        _: &PromptArguments,
        cx: &CallContext<'_>,
    ) -> Result<Vec<PromptMessage>, PromptError> {
        match field(cx, "user_context", "context") {
            Some(context) => Ok(vec![PromptMessage::user(Content::text(format!(
                "Use this context: {context}"
            )))]),
            None => {
                let ask = InputRequests::new().elicit(
                    "user_context",
                    "What context should the prompt use?",
                    form("context", "string"),
                );
                Err(cx.ask(ask).into())
            }
        }
    }
}

/// Adds the input-required fixtures to a catalog.
pub(super) fn install(catalog: &mut Catalog) -> Result<(), crate::CatalogError> {
    for fixture in [
        Fixture::Elicitation,
        Fixture::Sampling,
        Fixture::ListRoots,
        Fixture::RequestState,
        Fixture::TamperedState,
        Fixture::MultipleInputs,
        Fixture::MultiRound,
        Fixture::Capabilities,
    ] {
        catalog.tools.register_content(Asks(fixture))?;
    }
    catalog.prompts.add(ContextPrompt)?;
    Ok(())
}
