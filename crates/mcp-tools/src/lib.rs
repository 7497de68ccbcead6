//! The tools this project serves at every rung of the ladder.
//!
//! One file per tool. To add one: write `src/my_tool.rs` implementing
//! [`mcp_core::Tool`] (copy `word_count.rs`, tests included), declare the
//! module below and add one `register` line to [`registry`]. It then shows up in
//! `mcp-local` and in the Lambda function alike.
//!
//! ```no_run
//! let tools = mcp_tools::registry().expect("tool definitions are valid");
//! assert!(tools.definitions().any(|d| d.name() == "word_count"));
//! ```

#[cfg(feature = "conformance")]
pub mod conformance;
mod demo_drop_table;
mod demo_echo;
mod demo_progress;
mod guide;
mod word_count;

pub use demo_drop_table::DemoDropTable;
pub use demo_echo::DemoEcho;
pub use demo_progress::DemoProgress;
pub use guide::{CountWords, GUIDE_URI};
pub use word_count::WordCount;

use mcp_core::{
    PromptRegistryError, Prompts, RegistryError, ResourceError, Resources, Server, ServerInfo,
    ToolRegistry,
};
use mcp_settings::{FunctionSettings, Setting, SettingsError};

/// Every portable tool, in `tools/list` order.
pub fn registry() -> Result<ToolRegistry, RegistryError> {
    let mut tools = ToolRegistry::new();
    tools.register(WordCount)?;
    tools.register(DemoEcho)?;
    tools.register(DemoProgress)?;
    tools.register(DemoDropTable)?;
    Ok(tools)
}

/// Everything a server offers: tools, resources and prompts.
#[derive(Debug, Default)]
pub struct Catalog {
    /// The tools.
    pub tools: ToolRegistry,
    /// The resources and templates.
    pub resources: Resources,
    /// The prompts.
    pub prompts: Prompts,
}

/// Why the catalog could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A tool.
    #[error(transparent)]
    Tool(#[from] RegistryError),
    /// A resource or template.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// A prompt.
    #[error(transparent)]
    Prompt(#[from] PromptRegistryError),
    /// The settings ask for the conformance fixture pack, which this build
    /// does not contain.
    #[error(
        "{fixtures}=1, but this build has no conformance fixture pack: unset {fixtures}, or \
         build with `--features conformance` (the tests do)",
        fixtures = Setting::ConformanceFixtures
    )]
    NoFixturePack,
}

impl Catalog {
    /// Adds the conformance fixture pack, after everything else, when
    /// `requested` ([`Setting::ConformanceFixtures`]; logged loudly). A build
    /// without the `conformance` feature refuses the request rather than
    /// ignore it: the caller asked for tools it would not get.
    #[cfg(feature = "conformance")]
    pub fn with_fixtures(mut self, requested: bool) -> Result<Catalog, CatalogError> {
        if requested {
            tracing::warn!(
                "{}=1: serving the MCP conformance suite's fixture tools, resources \
                 and prompts (test_*, test://...). They are test fixtures: do not set this on a \
                 function anyone relies on",
                Setting::ConformanceFixtures
            );
            conformance::install(&mut self)?;
        }
        Ok(self)
    }

    /// Refuses the conformance fixture pack when `requested`: this build
    /// has none (feature `conformance`).
    #[cfg(not(feature = "conformance"))]
    pub fn with_fixtures(self, requested: bool) -> Result<Catalog, CatalogError> {
        if requested {
            return Err(CatalogError::NoFixturePack);
        }
        Ok(self)
    }

    /// The portable tools ([`registry`]), the `word_count` guide resource
    /// and the `count_words` prompt.
    pub fn portable() -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog {
            tools: registry()?,
            ..Catalog::default()
        };
        let (info, contents) = guide::guide();
        catalog.resources.add(info, contents)?;
        catalog.prompts.add(CountWords)?;
        Ok(catalog)
    }

    /// A server offering all of it.
    pub fn serve(self, info: ServerInfo) -> Server {
        Server::new(info, self.tools)
            .with_resources(self.resources)
            .with_prompts(self.prompts)
    }
}

/// Applies the governance parts of `settings` that every front shares: the
/// scopes per tool, resource and prompt ([`Setting::ToolScopes`],
/// [`Setting::ResourceScopes`], [`Setting::PromptScopes`]) and the batch
/// limit ([`Setting::MaxBatch`]). The error names the setting and the bad
/// entry. Rate limits are left to the front, which picks where they are
/// counted.
pub fn govern(mut server: Server, settings: &FunctionSettings) -> Result<Server, SettingsError> {
    let overrides = [
        (Setting::ToolScopes, &settings.tool_scopes),
        (Setting::ResourceScopes, &settings.resource_scopes),
        (Setting::PromptScopes, &settings.prompt_scopes),
    ];
    for (setting, text) in overrides {
        let Some(text) = text else { continue };
        let scopes = mcp_core::scopes::parse(text).map_err(|e| setting.invalid(e))?;
        server = match setting {
            Setting::ResourceScopes => server.with_resource_scopes(scopes),
            Setting::PromptScopes => server.with_prompt_scopes(scopes),
            _ => server.with_tool_scopes(scopes),
        }
        .map_err(|e| setting.invalid(e))?;
    }
    if let Some(max) = settings.max_batch {
        server = server.with_max_batch(max);
    }
    Ok(server)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_tool_registers() {
        let tools = super::registry().unwrap();
        let names: Vec<_> = tools.definitions().map(|d| d.name().to_owned()).collect();
        assert_eq!(
            names,
            [
                "word_count",
                "demo_echo",
                "demo_progress",
                "demo_drop_table"
            ]
        );
    }
}
