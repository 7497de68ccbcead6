//! `lambda-emulator`: runs a `bootstrap` behind a local Function URL.
//! Parses flags, sets up logging on stderr, and hands off to the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use lambda_emulator::{Auth, Emulator, EmulatorConfig, Verifier, principals};
use mcp_settings::Setting;
use tracing_subscriber::EnvFilter;

/// Run a Lambda `bootstrap` behind a local Function URL that checks SigV4
/// like AuthType AWS_IAM: unsigned or foreign requests get 403 and the
/// function never runs.
///
/// Callers are the principals of --principals (a JSON file) and, if set, the
/// standard AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
/// (taken as a user of --account holding both invoke permissions).
/// Prints one JSON line on stdout once it serves: {"functionUrl": ..., "statsUrl": ...};
/// GET statsUrl tells how many times the function ran and the metrics of its EMF
/// lines; GET logsUrl gives the lines it wrote.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Args {
    /// The function's executable (e.g. target/release/bootstrap).
    #[arg(long)]
    bootstrap: PathBuf,
    /// The function's name.
    #[arg(long, default_value = "mcp-ladder")]
    function_name: String,
    /// The region (env MCP_REGION, then AWS_REGION).
    #[arg(long)]
    region: Option<String>,
    // Help: the function's account, from its setting's variable.
    #[arg(long, help = format!("The function's account (env {})", Setting::AccountId))]
    account: Option<String>,
    /// aws-iam checks signatures; none serves anyone who can reach the port.
    #[arg(long, value_enum, default_value_t = AuthMode::AwsIam)]
    auth: AuthMode,
    /// A JSON file of principals: {"principals": [{"accessKeyId", "secretAccessKey",
    /// "sessionToken"?, "accountId", "arn", "userId", "allow"?}]}.
    #[arg(long)]
    principals: Option<PathBuf>,
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Function timeout in seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Function memory in MB (AWS_LAMBDA_FUNCTION_MEMORY_SIZE).
    #[arg(long, default_value_t = 128)]
    memory: u32,
    /// How many instances may run at once; beyond it the URL answers 429
    /// TooManyRequestsException, as Lambda does.
    #[arg(long, default_value_t = lambda_emulator::runtime::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    // Help: the URL's InvokeMode, and the function's setting it implies.
    #[arg(long, value_enum, default_value_t = Mode::Buffered, help = format!(
        "The URL's InvokeMode. response-stream passes the function's response stream on as it \
         comes (and sets {}={} for the function, as the deploy CLI does, unless --env sets it)",
        Setting::InvokeMode,
        mcp_settings::InvokeMode::ResponseStream.as_str(),
    ))]
    invoke_mode: Mode,
    /// X-Ray active tracing (the function's TracingConfig Active): every
    /// invocation's trace header says Sampled=1, so the function sends its
    /// segments to the local X-Ray daemon (GET /traces beside statsUrl).
    #[arg(long)]
    tracing: bool,
    /// Environment for the function, KEY=VALUE (repeatable).
    #[arg(long = "env", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// Also serve a local AgentCore Gateway with the function as its Lambda
    /// target, with these tool schemas (`mcp-deploy tools --format agentcore`
    /// writes them). Its endpoint is `gatewayUrl` in the ready line; it signs
    /// for `bedrock-agentcore` with the same principals (or none, with --auth none).
    #[arg(long, value_name = "FILE")]
    gateway_tools: Option<PathBuf>,
    /// The gateway target's name: tools are listed as NAME___tool.
    #[arg(long, default_value = "mcp-ladder")]
    gateway_target: String,
    /// Also serve an API Gateway REST API in front of the function (the
    /// internet-facing rung): /STAGE/mcp and the OAuth metadata paths, as
    /// payload format 1.0 events with the Authorization header passed on.
    /// Its MCP endpoint is `restApiUrl` in the ready line.
    #[arg(long)]
    rest_api: bool,
    /// The REST API's port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    rest_port: u16,
    /// The REST API's stage: the first segment of its paths.
    #[arg(long, default_value = "local")]
    rest_stage: String,
    /// Make the REST API the one of this CloudFormation template
    /// (`mcp-deploy synth --exposure internet`): its web ACL in front (the
    /// rate, IP, country and no-User-Agent rules, as WAF applies them;
    /// country from the `x-emulator-country` request header), its Lambda
    /// authorizer and its gateway responses.
    #[arg(long, value_name = "TEMPLATE", requires = "rest_api")]
    template: Option<PathBuf>,
    /// The REST API's integration timeout in seconds: 29 (API Gateway's),
    /// or less to test what a client sees without waiting.
    #[arg(long, value_name = "SECONDS", default_value_t = 29,
          value_parser = clap::value_parser!(u64).range(1..=29))]
    rest_timeout: u64,
    // Help: the integration's ResponseTransferMode, and the function's setting it implies.
    #[arg(long, value_enum, default_value_t = Transfer::Buffered, requires = "rest_api",
          help = format!(
        "The REST integration's ResponseTransferMode. stream invokes the function with its \
         response streamed and passes the stream on as it comes, within API Gateway's 15 \
         minutes (and sets {}={} for the function, as the deploy CLI does, unless --env sets \
         it); buffered reads the whole answer and gives up at --rest-timeout",
        Setting::RestTransferMode,
        mcp_settings::TransferMode::Stream.as_str(),
    ))]
    rest_transfer_mode: Transfer,
    // Help: the development issuer, and the function's settings it implies.
    #[arg(long, help = format!(
        "Run a development OAuth authorization server (a local TEST DOUBLE that approves \
         anyone who asks: dynamic client registration, the authorization code grant with PKCE \
         S256 behind a consent page that approves by itself, client credentials, client ID metadata \
         documents fetched over HTTPS) and configure \
         the function to trust it: {auth}={oauth}, {issuer}, and with --rest-api {audience} \
         (unless --env sets them). `issuerUrl` in the ready line; its metadata is at \
         issuerUrl/.well-known/oauth-authorization-server; POST issuerUrl/token with \
         grant_type=client_credentials, scope and resource mints a token",
        auth = Setting::Auth,
        oauth = mcp_settings::AuthMode::OAuth.as_str(),
        issuer = Setting::OAuthIssuer,
        audience = Setting::OAuthAudience,
    ))]
    dev_issuer: bool,
    /// A CA certificate (PEM) the development issuer trusts, besides the
    /// system's roots, when it fetches a client's Client ID Metadata Document
    /// (a `client_id` that is an https URL): for a document served locally
    /// with a test CA's certificate. Documents are only ever fetched over
    /// verified HTTPS.
    #[arg(long, value_name = "PEM", requires = "dev_issuer")]
    dev_issuer_ca: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Buffered,
    ResponseStream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Transfer {
    Buffered,
    Stream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AuthMode {
    AwsIam,
    None,
}

/// The template at `path`, and its web ACL.
fn template(
    path: &std::path::Path,
) -> anyhow::Result<(serde_json::Value, lambda_emulator::waf::WebAcl)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    let template: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON template", path.display()))?;
    let acl = lambda_emulator::waf::WebAcl::from_template(&template)?.with_context(|| {
        format!(
            "{} has no AWS::WAFv2::WebACL: write it with `mcp-deploy synth --exposure internet`",
            path.display()
        )
    })?;
    Ok((template, acl))
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

fn setting(flag: Option<String>, vars: &[&str]) -> Option<String> {
    flag.or_else(|| {
        vars.iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lambda-emulator: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let region = setting(args.region, &["MCP_REGION", "AWS_REGION"])
        .context("no region: pass --region or export MCP_REGION")?;
    let account = setting(args.account, &[Setting::AccountId.name()]).with_context(|| {
        format!(
            "no account: pass --account or export {} (any 12 digits work locally)",
            Setting::AccountId
        )
    })?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        bail!("the account {account:?} is not 12 digits");
    }
    if !args.bootstrap.is_file() {
        bail!(
            "{} is not a file: build the function first (cargo build --release -p mcp-lambda)",
            args.bootstrap.display()
        );
    }
    let mut config = EmulatorConfig::new(&args.bootstrap, &args.function_name, &region, &account);
    config.port = args.port;
    config.function.timeout = Duration::from_secs(args.timeout.max(1));
    config.function.memory_mb = args.memory;
    config.function.concurrency = args.concurrency.max(1);
    config.function.env = args.env;
    if args.tracing {
        config.function.tracing = lambda_emulator::runtime::Tracing::Active;
    }
    if args.invoke_mode == Mode::ResponseStream {
        config.invoke_mode = lambda_emulator::InvokeMode::ResponseStream;
    }
    if args.rest_api {
        let (template, web_acl) = match &args.template {
            Some(path) => {
                let (template, acl) = template(path)?;
                (
                    Some(std::sync::Arc::new(template)),
                    Some(std::sync::Arc::new(acl)),
                )
            }
            None => (None, None),
        };
        config.rest_api = Some(lambda_emulator::RestApiConfig {
            port: args.rest_port,
            stage: args.rest_stage.clone(),
            web_acl,
            template,
            integration_timeout: Duration::from_secs(args.rest_timeout),
            transfer_mode: match args.rest_transfer_mode {
                Transfer::Buffered => mcp_settings::TransferMode::Buffered,
                Transfer::Stream => mcp_settings::TransferMode::Stream,
            },
        });
    }
    config.dev_issuer = args.dev_issuer;
    if let Some(path) = &args.dev_issuer_ca {
        let pem = std::fs::read(path)
            .with_context(|| format!("failed to read the CA certificate {}", path.display()))?;
        config.dev_issuer_ca = Some(pem);
    }
    config.auth = match args.auth {
        AuthMode::None => {
            tracing::warn!(
                "--auth none: the URL is OPEN to anyone who can reach the port; use it only for protocol tests"
            );
            Auth::None
        }
        AuthMode::AwsIam => {
            let mut principals = match &args.principals {
                Some(path) => principals::load(path)?,
                None => Vec::new(),
            };
            principals.extend(principals::from_env(&account)?);
            if principals.is_empty() {
                tracing::warn!(
                    "no principals: every request will get 403 (pass --principals or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
                );
            }
            Auth::AwsIam {
                verifier: Verifier::lambda(&region),
                principals,
            }
        }
    };
    let emulator = Emulator::start(config).await?;
    let stats_url = emulator.serve_stats().await?;
    let gateway_url = match &args.gateway_tools {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("failed to read {}", path.display()))?;
            let tools = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a list of tool schemas: write it with `mcp-deploy tools --format agentcore`",
                    path.display()
                )
            })?;
            Some(emulator.serve_gateway(&args.gateway_target, tools).await?)
        }
    };
    let ready = serde_json::json!({
        "gatewayUrl": gateway_url,
        "restApiUrl": emulator.rest_api_url(),
        "issuerUrl": emulator.issuer().map(|i| i.url()),
        "functionUrl": emulator.url(),
        "logsUrl": stats_url.replace("/stats", "/logs"),
        "statsUrl": stats_url,
        "region": region,
        "accountId": account,
        "functionName": args.function_name,
        "auth": match args.auth { AuthMode::AwsIam => "AWS_IAM", AuthMode::None => "NONE" },
    });
    println!("{ready}");
    tracing::info!(url = %emulator.url(), "serving the Function URL; Ctrl-C stops");
    let stats = emulator.stats().clone();
    wait_for_shutdown().await;
    tracing::info!(
        invocations = stats.invocations(),
        instances = stats.instances(),
        concurrent_peak = stats.concurrent_peak(),
        throttles = stats.throttles(),
        "stopping"
    );
    emulator.shutdown().await;
    Ok(())
}

async fn wait_for_shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}
