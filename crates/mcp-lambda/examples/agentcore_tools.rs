//! Prints the function's tools as an AgentCore Gateway target's inline
//! schemas (what `mcp-deploy tools --format agentcore` prints), for the
//! benchmark, which builds only the function's crate in release.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let export = mcp_lambda::agentcore::function_tools()?;
    let payload = mcp_lambda::agentcore::api_payload(&export.tools);
    println!("{}", serde_json::to_string_pretty(&payload)?);
    Ok(())
}
