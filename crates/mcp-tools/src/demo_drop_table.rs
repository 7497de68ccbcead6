//! `demo_drop_table`: the destructive tool of the token-isolation story. It
//! says it drops a table and drops nothing; what matters is who may call it.
//! It needs the `mcp:admin` scope, so a read-only token neither sees it in
//! `tools/list` nor can call it: a model that "hallucinates" a call with
//! such a token is refused before the tool runs.

use mcp_core::{Annotations, CallContext, Tool, ToolDefinition, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Pretends to drop a table.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoDropTable;

/// The arguments of `demo_drop_table`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DropTableArgs {
    /// The table to drop.
    pub table: String,
}

/// The result of `demo_drop_table`.
#[derive(Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Dropped {
    /// The table named.
    pub table: String,
    /// Always false: this is a demonstration.
    pub dropped: bool,
    /// What happened.
    pub note: String,
}

impl Tool for DemoDropTable {
    type Args = DropTableArgs;
    type Output = Dropped;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(
            "demo_drop_table",
            "Drop a database table - a demonstration of a destructive tool: it drops nothing. \
             It needs the mcp:admin scope.",
        )
        .title("Drop table (demo)")
        .annotations(Annotations {
            read_only_hint: Some(false),
            destructive_hint: Some(true),
            idempotent_hint: Some(true),
            open_world_hint: Some(false),
        })
        .scopes([mcp_core::scopes::ADMIN])
    }

    async fn call(&self, args: DropTableArgs, _cx: &CallContext<'_>) -> Result<Dropped, ToolError> {
        Ok(Dropped {
            note: format!("a demonstration: table {:?} was not dropped", args.table),
            table: args.table,
            dropped: false,
        })
    }
}
