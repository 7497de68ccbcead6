//! `mcp-deploy`: sets up the runtime and hands off to the library's command
//! line ([`mcp_deploy::cli`]).

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    mcp_deploy::cli::main().await
}
