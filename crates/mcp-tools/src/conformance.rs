//! The fixture pack: the tools, resources and prompts the MCP conformance
//! suite's `server` scenarios call by name (`@modelcontextprotocol/conformance`
//! 0.1.16, and 0.2.0-alpha.12's `server-stateless` probes), so the suite can exercise this core - content types, errors,
//! progress and log notifications, resources, templates, prompts and
//! completions.
//!
//! Compiled only with the `conformance` feature (the tests enable it; a
//! release build has none of it) and served only when the function's settings
//! ask for it ([`mcp_settings::Setting::ConformanceFixtures`], passed to
//! [`Catalog::with_fixtures`]):
//! the names are the suite's, not a product's. One fixture is this project's
//! own, for the same tests: `test_tool_ignoring_deadline`, a tool that runs
//! past the function's timeout (the runtime must cut its stream).
//! The suite's 2025-11-25 sampling and elicitation tools are not here: they
//! need a server-to-client request answered on a later POST, which a
//! stateless function has no way to receive (see
//! `tests/e2e/conformance-expected-failures.yml`). The 2026-07-28 way to ask
//! the client for input, multi round-trip requests, is: `input_required`
//! holds the fixtures of 0.2.0-alpha.12's `input-required-result-*` scenarios.

use std::time::Duration;

use mcp_core::model::{
    Content, PromptArgument, PromptInfo, PromptMessage, ResourceContents, ResourceInfo,
    TemplateInfo,
};
use mcp_core::{
    CallContext, ContentTool, LogLevel, NoArgs, Prompt, PromptArguments, PromptError,
    ResourceReadError, ResourceTemplate, ToolDefinition, ToolError, UriVariables,
};

use crate::Catalog;

mod asking;
mod input_required;

/// A 1x1 red PNG.
pub const PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A WAV file: 8 kHz, mono, 8-bit, one millisecond of silence.
pub fn wav() -> Vec<u8> {
    let samples = [0x80u8; 8];
    let mut out = Vec::with_capacity(44 + samples.len());
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // one channel
    out.extend_from_slice(&8000u32.to_le_bytes()); // samples per second
    out.extend_from_slice(&8000u32.to_le_bytes()); // bytes per second
    out.extend_from_slice(&1u16.to_le_bytes()); // block align
    out.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    out.extend_from_slice(&samples);
    out
}

/// Pause between the notifications of the logging and progress tools, so a
/// client sees them arrive one by one.
const STEP: Duration = Duration::from_millis(50);

/// A no-argument content tool with fixed blocks.
struct Fixed {
    name: &'static str,
    description: &'static str,
    /// The client capabilities it cannot run without.
    needs: &'static [&'static str],
    blocks: fn() -> Vec<Content>,
}

impl ContentTool for Fixed {
    type Args = NoArgs;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(self.name, self.description)
            .requires_client_capabilities(self.needs.iter().copied())
    }

    async fn call(&self, _: NoArgs, _: &CallContext<'_>) -> Result<Vec<Content>, ToolError> {
        Ok((self.blocks)())
    }
}

/// `test_error_handling`: always fails, as a tool failure (`isError: true`).
struct Failing;

impl ContentTool for Failing {
    type Args = NoArgs;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(
            "test_error_handling",
            "Always fails, for the error scenario.",
        )
    }

    async fn call(&self, _: NoArgs, _: &CallContext<'_>) -> Result<Vec<Content>, ToolError> {
        Err(ToolError::new(
            "This tool intentionally returns an error for testing",
        ))
    }
}

/// `test_tool_with_logging`: three log messages, a pause between each.
struct Logging;

impl ContentTool for Logging {
    type Args = NoArgs;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(
            "test_tool_with_logging",
            "Sends three log messages while it runs.",
        )
    }

    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Vec<Content>, ToolError> {
        for step in [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed",
        ] {
            cx.log(LogLevel::Info, &step.into());
            tokio::time::sleep(STEP).await;
        }
        Ok(vec![Content::text(
            "Tool with logging executed successfully",
        )])
    }
}

/// `test_tool_with_progress`: progress 0, 50 and 100 of 100.
struct Progress;

impl ContentTool for Progress {
    type Args = NoArgs;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(
            "test_tool_with_progress",
            "Reports progress three times while it runs.",
        )
    }

    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Vec<Content>, ToolError> {
        for done in [0.0, 50.0, 100.0] {
            cx.progress(done, Some(100.0), Some(&format!("{done} of 100")));
            tokio::time::sleep(STEP).await;
        }
        Ok(vec![Content::text(
            "Tool with progress executed successfully",
        )])
    }
}

/// `test_tool_ignoring_deadline`: not the suite's, this project's own
/// fixture for the fronts' deadline handling. It reports progress every
/// 100 ms for up to [`IGNORING_DEADLINE_FOR`] and never looks at the
/// request's deadline, as a careless tool would: the runtime, not the tool,
/// must end its stream before the function's timeout.
struct IgnoringDeadline;

/// How long `test_tool_ignoring_deadline` runs (unless cancelled).
pub const IGNORING_DEADLINE_FOR: Duration = Duration::from_secs(30);

impl ContentTool for IgnoringDeadline {
    type Args = NoArgs;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(
            "test_tool_ignoring_deadline",
            "Reports progress every 100 ms for 30 s, ignoring the request's deadline.",
        )
    }

    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Vec<Content>, ToolError> {
        let tick = Duration::from_millis(100);
        let ticks = (IGNORING_DEADLINE_FOR.as_millis() / tick.as_millis()) as u32;
        for done in 0..ticks {
            cx.progress(f64::from(done), Some(f64::from(ticks)), None);
            tokio::select! {
                () = cx.cancellation().cancelled() => return Err(ToolError::new("cancelled")),
                () = tokio::time::sleep(tick) => {}
            }
        }
        Ok(vec![Content::text("ran its whole time")])
    }
}

/// `test_streaming_elicitation` (2026-07-28, server-stateless): reports
/// progress half-way and returns, so the suite can check that a request's
/// stream carries only that request's notifications and its result.
struct StreamingProbe;

impl ContentTool for StreamingProbe {
    type Args = NoArgs;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(
            "test_streaming_elicitation",
            "Reports progress once, then returns: what its response stream carries.",
        )
    }

    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Vec<Content>, ToolError> {
        cx.progress(50.0, Some(100.0), Some("half-way"));
        tokio::time::sleep(STEP).await;
        Ok(vec![Content::text("Streaming complete")])
    }
}

/// `test_logging_tool` (2026-07-28, server-stateless): logs once; a request
/// without `_meta` `io.modelcontextprotocol/logLevel` must not see it.
struct LogProbe;

impl ContentTool for LogProbe {
    type Args = NoArgs;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(
            "test_logging_tool",
            "Logs one message: sent only to a request that set a log level.",
        )
    }

    async fn call(&self, _: NoArgs, cx: &CallContext<'_>) -> Result<Vec<Content>, ToolError> {
        cx.log(LogLevel::Info, &"Diagnostic trace logging activated".into());
        Ok(vec![Content::text("Logging evaluated")])
    }
}

/// `test://template/{id}/data`: JSON naming the id.
struct Template;

impl ResourceTemplate for Template {
    fn definition(&self) -> TemplateInfo {
        TemplateInfo {
            uri_template: "test://template/{id}/data".into(),
            name: "template-data".into(),
            title: None,
            description: Some("Data for an id, substituted from the URI.".into()),
            mime_type: Some("application/json".into()),
        }
    }

    async fn read(
        &self,
        uri: &str,
        variables: &UriVariables,
        _: &CallContext<'_>,
    ) -> Result<Vec<ResourceContents>, ResourceReadError> {
        let id = variables.get("id").map_or("", String::as_str);
        let body = serde_json::json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
        Ok(vec![ResourceContents::text(
            uri,
            "application/json",
            body.to_string(),
        )])
    }

    fn complete(&self, variable: &str, prefix: &str) -> Vec<String> {
        complete_from(variable == "id", &["1", "12", "123"], prefix)
    }
}

struct SimplePrompt;

impl Prompt for SimplePrompt {
    fn definition(&self) -> PromptInfo {
        PromptInfo::new("test_simple_prompt", "A prompt with no arguments.")
    }

    async fn get(
        &self,
        _: &PromptArguments,
        _: &CallContext<'_>,
    ) -> Result<Vec<PromptMessage>, PromptError> {
        Ok(vec![PromptMessage::user(Content::text(
            "This is a simple prompt for testing.",
        ))])
    }
}

struct ArgumentsPrompt;

impl Prompt for ArgumentsPrompt {
    fn definition(&self) -> PromptInfo {
        PromptInfo::new("test_prompt_with_arguments", "A prompt with two arguments.").arguments(
            vec![
                PromptArgument::required("arg1", "First test argument"),
                PromptArgument::required("arg2", "Second test argument"),
            ],
        )
    }

    async fn get(
        &self,
        arguments: &PromptArguments,
        _: &CallContext<'_>,
    ) -> Result<Vec<PromptMessage>, PromptError> {
        let arg = |name: &str| arguments.get(name).map_or("", String::as_str);
        Ok(vec![PromptMessage::user(Content::text(format!(
            "Prompt with arguments: arg1='{}', arg2='{}'",
            arg("arg1"),
            arg("arg2")
        )))])
    }

    fn complete(&self, argument: &str, prefix: &str) -> Vec<String> {
        complete_from(argument == "arg1", &["test", "testing", "tested"], prefix)
    }
}

struct EmbeddedResourcePrompt;

impl Prompt for EmbeddedResourcePrompt {
    fn definition(&self) -> PromptInfo {
        PromptInfo::new(
            "test_prompt_with_embedded_resource",
            "A prompt that embeds the resource it is given.",
        )
        .arguments(vec![PromptArgument::required(
            "resourceUri",
            "URI of the resource to embed",
        )])
    }

    async fn get(
        &self,
        arguments: &PromptArguments,
        _: &CallContext<'_>,
    ) -> Result<Vec<PromptMessage>, PromptError> {
        let uri = arguments.get("resourceUri").map_or("", String::as_str);
        Ok(vec![
            PromptMessage::user(Content::resource(ResourceContents::text(
                uri,
                "text/plain",
                "Embedded resource content for testing.",
            ))),
            PromptMessage::user(Content::text("Please process the embedded resource above.")),
        ])
    }
}

struct ImagePrompt;

impl Prompt for ImagePrompt {
    fn definition(&self) -> PromptInfo {
        PromptInfo::new("test_prompt_with_image", "A prompt with an image.")
    }

    async fn get(
        &self,
        _: &PromptArguments,
        _: &CallContext<'_>,
    ) -> Result<Vec<PromptMessage>, PromptError> {
        Ok(vec![
            PromptMessage::user(Content::image(&PNG, "image/png")),
            PromptMessage::user(Content::text("Please analyze the image above.")),
        ])
    }
}

/// The candidates that start with `prefix`, for the argument that has them.
fn complete_from(applies: bool, candidates: &[&str], prefix: &str) -> Vec<String> {
    candidates
        .iter()
        .filter(|c| applies && c.starts_with(prefix))
        .map(|c| (*c).to_owned())
        .collect()
}

fn text_resource(uri: &str, name: &str, text: &str) -> (ResourceInfo, ResourceContents) {
    (
        ResourceInfo {
            uri: uri.into(),
            name: name.into(),
            title: None,
            description: None,
            mime_type: Some("text/plain".into()),
        },
        ResourceContents::text(uri, "text/plain", text),
    )
}

/// Adds the pack to a catalog.
pub fn install(catalog: &mut Catalog) -> Result<(), crate::CatalogError> {
    let fixed = [
        Fixed {
            name: "test_simple_text",
            needs: &[],
            description: "Returns one text block.",
            blocks: || vec![Content::text("This is a simple text response for testing.")],
        },
        Fixed {
            name: "test_image_content",
            needs: &[],
            description: "Returns a 1x1 PNG.",
            blocks: || vec![Content::image(&PNG, "image/png")],
        },
        Fixed {
            name: "test_audio_content",
            needs: &[],
            description: "Returns a short WAV.",
            blocks: || vec![Content::audio(&wav(), "audio/wav")],
        },
        Fixed {
            name: "test_embedded_resource",
            needs: &[],
            description: "Returns an embedded text resource.",
            blocks: || {
                vec![Content::resource(ResourceContents::text(
                    "test://embedded-resource",
                    "text/plain",
                    "This is an embedded resource content.",
                ))]
            },
        },
        Fixed {
            name: "test_multiple_content_types",
            needs: &[],
            description: "Returns text, an image and a resource.",
            blocks: || {
                vec![
                    Content::text("Multiple content types test:"),
                    Content::image(&PNG, "image/png"),
                    Content::resource(ResourceContents::text(
                        "test://mixed-content-resource",
                        "application/json",
                        r#"{"test":"data","value":123}"#,
                    )),
                ]
            },
        },
    ];
    // 2026-07-28 (server-stateless): refused with -32021 unless the client
    // declares sampling, which it never uses.
    let needs_sampling = Fixed {
        name: "test_missing_capability",
        needs: &["sampling"],
        description: "Needs the client's sampling capability (2026-07-28: refused without it).",
        blocks: || vec![Content::text("Success")],
    };
    for tool in fixed.into_iter().chain([needs_sampling]) {
        catalog.tools.register_content(tool)?;
    }
    catalog.tools.register_content(Failing)?;
    catalog.tools.register_content(Logging)?;
    catalog.tools.register_content(Progress)?;
    catalog.tools.register_content(IgnoringDeadline)?;
    catalog.tools.register_content(StreamingProbe)?;
    catalog.tools.register_content(LogProbe)?;

    for (uri, name, text) in [
        (
            "test://static-text",
            "static-text",
            "This is the content of the static text resource.",
        ),
        (
            "test://watched-resource",
            "watched-resource",
            "Watched resource content.",
        ),
        (
            "test://example-resource",
            "example-resource",
            "Example resource content.",
        ),
    ] {
        let (info, contents) = text_resource(uri, name, text);
        catalog.resources.add(info, contents)?;
    }
    catalog.resources.add(
        ResourceInfo {
            uri: "test://static-binary".into(),
            name: "static-binary".into(),
            title: None,
            description: Some("A 1x1 PNG.".into()),
            mime_type: Some("image/png".into()),
        },
        ResourceContents::blob("test://static-binary", "image/png", &PNG),
    )?;
    catalog.resources.add_template(Template)?;

    catalog.prompts.add(SimplePrompt)?;
    catalog.prompts.add(ArgumentsPrompt)?;
    catalog.prompts.add(EmbeddedResourcePrompt)?;
    catalog.prompts.add(ImagePrompt)?;
    asking::install(catalog)?;
    input_required::install(catalog)
}
