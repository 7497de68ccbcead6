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

mod demo_echo;
mod word_count;

pub use demo_echo::DemoEcho;
pub use word_count::WordCount;

use mcp_core::{RegistryError, ToolRegistry};

/// Every portable tool, in `tools/list` order.
pub fn registry() -> Result<ToolRegistry, RegistryError> {
    let mut tools = ToolRegistry::new();
    tools.register(WordCount)?;
    tools.register(DemoEcho)?;
    Ok(tools)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_tool_registers() {
        let tools = super::registry().unwrap();
        let names: Vec<_> = tools.definitions().map(|d| d.name().to_owned()).collect();
        assert_eq!(names, ["word_count", "demo_echo"]);
    }
}
