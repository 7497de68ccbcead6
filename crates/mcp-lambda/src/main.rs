//! `bootstrap`: the Lambda function. Sets up JSON logs and runs the
//! library's invocation loop (Function URL requests and gateway tool calls).

use tracing_subscriber::filter::LevelFilter;

fn main() -> Result<(), mcp_lambda::runtime::Error> {
    // AWS_LAMBDA_LOG_LEVEL is set by Lambda's advanced logging controls.
    let level = ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    mcp_lambda::logging::init(level);

    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(mcp_lambda::runtime::start())
}
