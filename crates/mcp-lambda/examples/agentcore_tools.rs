//! Prints the function's tools as an AgentCore Gateway target's inline
//! schemas (what `mcp-deploy tools --format agentcore` prints), for the
//! benchmark, which builds only the function's crate in release.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = mcp_lambda::registry(mcp_lambda::FunctionEnv::default())?;
    let export = mcp_lambda::agentcore::export(&registry)
        .map_err(|refused| format!("tools the gateway cannot hold: {refused:?}"))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&mcp_lambda::agentcore::api_payload(&export.tools))?
    );
    Ok(())
}
