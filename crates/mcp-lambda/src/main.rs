//! `bootstrap`: the Lambda function. Sets up JSON logs and hands every
//! Function URL request to the library.

use lambda_http::{Error, service_fn};
use tracing_subscriber::filter::LevelFilter;

fn main() -> Result<(), Error> {
    // AWS_LAMBDA_LOG_LEVEL is set by Lambda's advanced logging controls.
    let level = ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .with_span_list(false)
        .without_time() // CloudWatch stamps every line
        .init();

    let app: &'static mcp_lambda::App = Box::leak(Box::new(mcp_lambda::App::from_env()?));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(lambda_http::run(service_fn(move |req| async move {
            Ok::<_, Error>(app.handle(req).await)
        })))
}
