//! `mcp-deploy`: parses the command line, sets up the runtime, hands off to
//! the library and maps the outcome to an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use clap::{Parser, Subcommand, ValueEnum};
use mcp_deploy::assets;
use mcp_deploy::aws::{AccountCheck, Aws};
use mcp_deploy::client::McpClient;
use mcp_deploy::demo::{LocalDemo, credentials, demo_aws, demo_local, package_path, smoke_stack};
use mcp_deploy::progress::Progress;
use mcp_deploy::settings::{AwsArgs, Settings};
use mcp_deploy::stack::{self, Outputs};
use mcp_deploy::teardown::{Target, teardown};
use mcp_deploy::template::{self, Arch, GatewayAuth, GatewaySpec, RateLimitSpec, StackSpec};
use serde_json::Value;

/// Deploy the account-bounded MCP server (a Lambda function behind an AWS_IAM
/// Function URL), prove the boundary (signed in, unsigned out), and tear it
/// down verifying that nothing is left.
///
/// Settings: flags, then MCP_PROFILE / MCP_REGION / MCP_ACCOUNT_ID /
/// MCP_STACK_NAME / AWS_ENDPOINT_URL (shown with each flag below), then the
/// AWS config files.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(flatten)]
    aws: AwsArgs,
    /// How results are printed on stdout (progress always goes to stderr).
    #[arg(long, value_enum, global = true, default_value_t = Output::Text)]
    output: Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the CloudFormation template (deterministic; infra/ holds the default one).
    Synth {
        #[command(flatten)]
        stack: StackArgs,
        /// Write to this file instead of stdout.
        #[arg(long = "to", value_name = "FILE")]
        to: Option<PathBuf>,
    },
    /// Print the function's tools: as MCP lists them, or as an AgentCore
    /// Gateway Lambda target's inline tool schemas (for targets registered
    /// by other means). Keywords the gateway cannot hold are named on stderr.
    Tools {
        /// `mcp`: the tools/list definitions; `agentcore`: the gateway's
        /// inline payload (name, description, inputSchema, outputSchema).
        #[arg(long, value_enum, default_value_t = ToolFormat::Mcp)]
        format: ToolFormat,
    },
    /// Create the asset bucket once per account and region (like cdk bootstrap).
    Prepare,
    /// Upload the function package and create or update the stack.
    Deploy {
        #[command(flatten)]
        stack: StackArgs,
        /// The function package (default: target/lambda/<arch>/bootstrap/bootstrap.zip
        /// from scripts/build-lambda.sh).
        #[arg(long)]
        zip: Option<PathBuf>,
        /// Also write the outputs here, like cdk's --outputs-file.
        #[arg(long)]
        outputs_file: Option<PathBuf>,
    },
    /// Signed client (initialize, tools/list, demo_account_context), then the
    /// negative controls: unsigned and wrong-region requests must get 403.
    Smoke,
    /// Call the deployed server as a signed MCP client.
    Call {
        /// The tool to call; without it, list the tools.
        tool: Option<String>,
        /// The arguments, as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
    },
    /// Delete the stack and verify every resource it had is gone.
    Teardown,
    /// Deploy, smoke-test, tear down and verify, with the teardown guaranteed
    /// on Ctrl-C, SIGTERM, SIGHUP, errors and panics.
    Demo {
        #[command(flatten)]
        stack: StackArgs,
        /// Run it all on this machine with the local emulator: no AWS account needed.
        #[arg(long)]
        local: bool,
        /// With --local: the function binary (default: bootstrap beside this program).
        #[arg(long)]
        bootstrap: Option<PathBuf>,
        /// The function package (see deploy).
        #[arg(long)]
        zip: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ToolFormat {
    Mcp,
    Agentcore,
}

/// The function's tools in the chosen format; what the gateway cannot
/// check goes to stderr.
fn print_tools(format: ToolFormat) -> anyhow::Result<()> {
    let json = match format {
        ToolFormat::Mcp => Value::Array(
            mcp_lambda::registry(mcp_lambda::FunctionEnv::default())?
                .definitions()
                .map(|d| {
                    serde_json::to_value(d.to_wire(mcp_core::ProtocolVersion::LATEST_HANDSHAKE))
                })
                .collect::<Result<_, _>>()?,
        ),
        ToolFormat::Agentcore => {
            let export = mcp_lambda::agentcore::function_tools()?;
            for dropped in &export.dropped {
                eprintln!("{dropped}");
            }
            mcp_lambda::agentcore::api_payload(&export.tools)
        }
    };
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}

/// What the stack contains.
#[derive(Debug, Clone, clap::Args)]
struct StackArgs {
    /// The function's architecture.
    #[arg(long, value_enum, default_value_t = Arch::Arm64)]
    arch: Arch,
    /// A principal granted lambda:InvokeFunctionUrl and lambda:InvokeFunction
    /// (an account id or an IAM ARN; repeatable). Default: the deploying
    /// account, whose principals then also need those permissions in IAM.
    #[arg(long = "allow-principal", value_name = "ARN_OR_ACCOUNT")]
    allow_principals: Vec<String>,
    /// Function memory in MB.
    #[arg(long, default_value_t = 128)]
    memory: u32,
    /// Function timeout in seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u32,
    /// `url`: the IAM-authenticated Function URL (rung 2). `gateway`: an
    /// AgentCore Gateway with semantic tool search and the function as its
    /// Lambda target (rung 3); no Function URL unless --with-function-url.
    #[arg(long, value_enum, default_value_t = Rung::Url)]
    rung: Rung,
    /// With --rung gateway: keep the Function URL as well.
    #[arg(long)]
    with_function_url: bool,
    /// With --rung gateway: who may call it. `iam`: SigV4 (service
    /// bedrock-agentcore); `jwt`: bearer tokens from --jwt-discovery-url.
    #[arg(long, value_enum, default_value_t = GatewayAuthArg::Iam)]
    gateway_auth: GatewayAuthArg,
    /// With --gateway-auth jwt: the issuer's
    /// https://.../.well-known/openid-configuration.
    #[arg(long, value_name = "URL")]
    jwt_discovery_url: Option<String>,
    /// With --gateway-auth jwt: an accepted `aud` (repeatable).
    #[arg(long = "jwt-audience", value_name = "AUDIENCE")]
    jwt_audiences: Vec<String>,
    /// With --gateway-auth jwt: an accepted client id (repeatable).
    #[arg(long = "jwt-client", value_name = "CLIENT_ID")]
    jwt_clients: Vec<String>,
    /// With --gateway-auth jwt: an accepted scope (repeatable).
    #[arg(long = "jwt-scope", value_name = "SCOPE")]
    jwt_scopes: Vec<String>,
    /// Per-caller, per-tool rate limits (MCP_RATE_LIMITS), e.g.
    /// '{"default": "100/60s", "tools": {"word_count": "10/60s"}}'. Every
    /// instance counts in one DynamoDB table, made in the stack unless
    /// --rate-limit-table names one.
    #[arg(long, value_name = "JSON")]
    rate_limits: Option<String>,
    /// With --rate-limits: count in this existing table (partition key `pk`
    /// of type String, no sort key, TTL attribute `ttl`); the stack neither
    /// makes nor deletes it.
    #[arg(long, value_name = "TABLE")]
    rate_limit_table: Option<String>,
    /// The Function URL's InvokeMode. `response-stream` (the default) sends
    /// a tool's progress notifications to SSE clients while it runs;
    /// `buffered` answers every request in one piece.
    #[arg(long, value_enum, default_value_t = InvokeModeArg::ResponseStream)]
    invoke_mode: InvokeModeArg,
    /// The scopes a bearer token needs per tool (MCP_TOOL_SCOPES), e.g.
    /// '{"demo_drop_table": ["ops:admin"]}'; the others keep their defaults.
    #[arg(long, value_name = "JSON")]
    tool_scopes: Option<String>,
    /// `account`: only IAM principals of the account (a Function URL, or the
    /// gateway). `internet`: a public endpoint, deliberately - API Gateway
    /// REST (regional) behind a WAF web ACL, the function checking OAuth
    /// bearer tokens of --issuer for --audience; no Function URL. All of it
    /// in one stack, or none of it.
    #[arg(long, value_enum, default_value_t = Exposure::Account)]
    exposure: Exposure,
    /// With --exposure internet: the OAuth issuer whose tokens are accepted
    /// (its `iss`; metadata from /.well-known/openid-configuration).
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    /// With --exposure internet: the URL clients use, which tokens must name
    /// in `aud`; `auto` for the API's own
    /// https://<api>.execute-api.<region>.amazonaws.com/prod/mcp.
    #[arg(long, value_name = "URL")]
    audience: Option<String>,
    /// With --exposure internet: the issuer's key set, if not its metadata's
    /// `jwks_uri`.
    #[arg(long, value_name = "URL")]
    jwks_url: Option<String>,
    /// With --exposure internet: only these source CIDRs may call
    /// (repeatable; IPv4 or IPv6). Default: anyone.
    #[arg(long = "allow-cidr", value_name = "CIDR")]
    allow_cidrs: Vec<String>,
    /// With --exposure internet: block requests from this country (ISO
    /// 3166-1 alpha-2, repeatable).
    #[arg(long = "block-country", value_name = "CC")]
    block_countries: Vec<String>,
    /// With --exposure internet: WAF blocks a client IP above this many
    /// requests per 5 minutes.
    #[arg(long, default_value_t = template::DEFAULT_RATE_LIMIT)]
    waf_rate_limit: u32,
    /// With --exposure internet: the stage's throttling, requests per second.
    #[arg(long, default_value_t = template::DEFAULT_THROTTLE_RATE)]
    throttle_rate: u32,
    /// With --exposure internet: the stage's burst.
    #[arg(long, default_value_t = template::DEFAULT_THROTTLE_BURST)]
    throttle_burst: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Exposure {
    Account,
    Internet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum InvokeModeArg {
    ResponseStream,
    Buffered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Rung {
    Url,
    Gateway,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GatewayAuthArg {
    Iam,
    Jwt,
}

impl StackArgs {
    fn spec(&self) -> anyhow::Result<StackSpec> {
        let jwt_flags = self.jwt_discovery_url.is_some()
            || !self.jwt_audiences.is_empty()
            || !self.jwt_clients.is_empty()
            || !self.jwt_scopes.is_empty();
        let gateway_flags =
            self.with_function_url || self.gateway_auth != GatewayAuthArg::Iam || jwt_flags;
        let gateway = match self.rung {
            Rung::Url if gateway_flags => {
                return Err(anyhow!(
                    "--with-function-url, --gateway-auth and --jwt-* apply to --rung gateway only"
                ));
            }
            Rung::Url => None,
            Rung::Gateway => Some(self.gateway(jwt_flags)?),
        };
        let internet = self.internet()?;
        if internet.is_some() && (self.rung == Rung::Gateway || !self.allow_principals.is_empty()) {
            return Err(anyhow!(
                "--exposure internet is its own front (API Gateway with OAuth): drop --rung \
                 gateway and --allow-principal"
            ));
        }
        Ok(StackSpec {
            arch: self.arch,
            principals: self.allow_principals.clone(),
            memory_mb: self.memory,
            timeout_s: self.timeout,
            gateway,
            rate_limits: self.rate_limits()?,
            response_streaming: self.invoke_mode == InvokeModeArg::ResponseStream,
            tool_scopes: self.tool_scopes()?,
            internet,
            ..StackSpec::default()
        })
    }

    /// `--exposure internet` and its flags: issuer and audience required,
    /// the others only with it.
    fn internet(&self) -> anyhow::Result<Option<template::InternetSpec>> {
        let defaults = self.waf_rate_limit != template::DEFAULT_RATE_LIMIT
            || self.throttle_rate != template::DEFAULT_THROTTLE_RATE
            || self.throttle_burst != template::DEFAULT_THROTTLE_BURST;
        let flags = self.issuer.is_some()
            || self.audience.is_some()
            || self.jwks_url.is_some()
            || !self.allow_cidrs.is_empty()
            || !self.block_countries.is_empty()
            || defaults;
        if self.exposure == Exposure::Account {
            if flags {
                return Err(anyhow!(
                    "--issuer, --audience, --jwks-url, --allow-cidr, --block-country, \
                     --waf-rate-limit and --throttle-* apply to --exposure internet only"
                ));
            }
            return Ok(None);
        }
        let (Some(issuer), Some(audience)) = (&self.issuer, &self.audience) else {
            return Err(anyhow!(
                "--exposure internet needs --issuer URL (your identity provider's issuer) and \
                 --audience URL (the endpoint URL tokens must name; `auto` for the API's own): \
                 without them the endpoint would have no one to trust"
            ));
        };
        let spec = template::InternetSpec {
            issuer: issuer.clone(),
            audience: audience.clone(),
            jwks_url: self.jwks_url.clone(),
            allow_cidrs: self.allow_cidrs.clone(),
            block_countries: self.block_countries.clone(),
            rate_limit: self.waf_rate_limit,
            throttle_rate: self.throttle_rate,
            throttle_burst: self.throttle_burst,
        };
        spec.check()?;
        Ok(Some(spec))
    }

    /// `--tool-scopes`, checked here against the function's own tools, so
    /// that a typo fails now and not at the function's init.
    fn tool_scopes(&self) -> anyhow::Result<Option<String>> {
        let Some(text) = &self.tool_scopes else {
            return Ok(None);
        };
        let scopes = mcp_core::scopes::parse(text).map_err(|e| anyhow!("--tool-scopes: {e}"))?;
        let text = serde_json::to_string(&scopes)?;
        mcp_lambda::registry(mcp_lambda::FunctionEnv::default())?
            .set_scopes(scopes)
            .map_err(|why| anyhow!("--tool-scopes: {why}"))?;
        Ok(Some(text))
    }

    fn rate_limits(&self) -> anyhow::Result<Option<RateLimitSpec>> {
        let Some(text) = &self.rate_limits else {
            if self.rate_limit_table.is_some() {
                return Err(anyhow!(
                    "--rate-limit-table needs --rate-limits: the limits to count in it"
                ));
            }
            return Ok(None);
        };
        mcp_core::limits::Limits::parse(text).map_err(|e| anyhow!("--rate-limits: {e}"))?;
        if let Some(table) = &self.rate_limit_table {
            let fits = (3..=255).contains(&table.len())
                && table
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            if !fits {
                return Err(anyhow!(
                    "--rate-limit-table {table:?} is not a DynamoDB table name (3 to 255 of a-z, A-Z, 0-9, _ . -)"
                ));
            }
        }
        Ok(Some(RateLimitSpec {
            limits: text.trim().to_owned(),
            existing_table: self.rate_limit_table.clone(),
        }))
    }

    fn gateway(&self, jwt_flags: bool) -> anyhow::Result<GatewaySpec> {
        let auth = match self.gateway_auth {
            GatewayAuthArg::Iam if jwt_flags => {
                return Err(anyhow!("--jwt-* flags need --gateway-auth jwt"));
            }
            GatewayAuthArg::Iam => GatewayAuth::AwsIam,
            GatewayAuthArg::Jwt => {
                let Some(discovery_url) = self.jwt_discovery_url.clone() else {
                    return Err(anyhow!(
                        "--gateway-auth jwt needs --jwt-discovery-url \
                         https://ISSUER/.well-known/openid-configuration"
                    ));
                };
                if !discovery_url.starts_with("https://")
                    || !discovery_url.ends_with("/.well-known/openid-configuration")
                {
                    return Err(anyhow!(
                        "--jwt-discovery-url {discovery_url:?} must be https://ISSUER/.well-known/openid-configuration"
                    ));
                }
                if self.jwt_audiences.is_empty() && self.jwt_clients.is_empty() {
                    return Err(anyhow!(
                        "--gateway-auth jwt needs --jwt-audience or --jwt-client: without either, \
                         any token of the issuer would be accepted"
                    ));
                }
                GatewayAuth::CustomJwt {
                    discovery_url,
                    audiences: self.jwt_audiences.clone(),
                    clients: self.jwt_clients.clone(),
                    scopes: self.jwt_scopes.clone(),
                }
            }
        };
        let (spec, dropped) = GatewaySpec::for_function(auth, self.with_function_url)?;
        for dropped in dropped {
            eprintln!("gateway schema: {dropped}");
        }
        Ok(spec)
    }
}

/// The spec, with the gateway's name checked and its search announced as
/// final before anything is created (it cannot be changed afterwards).
fn checked_spec(stack: &StackArgs, stack_name: &str) -> anyhow::Result<StackSpec> {
    let spec = stack.spec()?;
    if spec.gateway.is_some() {
        if !template::gateway_name_fits(stack_name) {
            return Err(anyhow!(
                "the gateway would be named {:?}, which AgentCore refuses: use a stack name \
                 of letters, digits and single hyphens, at most 46 letters and digits",
                template::gateway_name(stack_name)
            ));
        }
        eprintln!(
            "gateway: semantic tool search (SearchType SEMANTIC) is set at creation; \
             a gateway created without it can never have it"
        );
    }
    Ok(spec)
}

/// A spec `demo` can deploy, smoke-test and tear down verifiably: its
/// gateway smoke test signs with SigV4, so a JWT gateway is refused first.
fn demoable(stack: &StackArgs, stack_name: &str) -> anyhow::Result<StackSpec> {
    if stack.rung == Rung::Gateway && stack.gateway_auth != GatewayAuthArg::Iam {
        return Err(anyhow!(
            "demo --rung gateway smoke-tests with SigV4, so it needs --gateway-auth iam; \
             deploy a --gateway-auth jwt gateway with `mcp-deploy deploy` and call it with a \
             token from your issuer"
        ));
    }
    checked_spec(stack, stack_name)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcp-deploy: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print(
    output: Output,
    text: impl FnOnce() -> String,
    json: impl serde::Serialize,
) -> anyhow::Result<()> {
    match output {
        Output::Text => println!("{}", text()),
        Output::Json => println!("{}", serde_json::to_string_pretty(&json)?),
    }
    Ok(())
}

async fn deployed_outputs(aws: &Aws, stack_name: &str) -> anyhow::Result<Outputs> {
    let stack = stack::describe(aws, stack_name).await?.ok_or_else(|| {
        anyhow!("stack {stack_name} does not exist: run `mcp-deploy deploy` first")
    })?;
    stack::outputs(aws, &stack).await
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::resolve(&cli.aws)?;
    let progress = Progress::new();
    match cli.command {
        Command::Synth { stack, to } => {
            let spec = checked_spec(&stack, &settings.stack_name)?;
            let text = template::to_text(&template::synth(&spec)?);
            match to {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("failed to write {}", path.display())),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
        Command::Tools { format } => print_tools(format),
        Command::Prepare => {
            let aws = Aws::connect(&settings, AccountCheck::Required).await?;
            let bucket = assets::prepare(&aws, settings.require_account()?, &progress).await?;
            print(
                cli.output,
                || bucket.clone(),
                serde_json::json!({"BucketName": bucket}),
            )
        }
        Command::Deploy {
            stack,
            zip,
            outputs_file,
        } => {
            let spec = checked_spec(&stack, &settings.stack_name)?;
            let aws = Aws::connect(&settings, AccountCheck::Required).await?;
            let zip = package_path(zip, &spec);
            let account = settings.require_account()?;
            let deployed = stack::deploy(
                &aws,
                &settings.stack_name,
                &spec,
                &zip,
                account,
                &progress,
                &|_| {},
            )
            .await?;
            if let Some(path) = outputs_file {
                stack::write_outputs_file(&path, &settings.stack_name, &deployed.outputs)?;
            }
            progress.say(format!("deployment time: {:.2}s", deployed.seconds));
            let o = deployed.outputs.clone();
            print(
                cli.output,
                || {
                    let mut lines = Vec::new();
                    if let Some(url) = &o.function_url {
                        lines.push(format!("FunctionUrl: {url}"));
                    }
                    if let Some(url) = &o.gateway_url {
                        lines.push(format!("GatewayUrl: {url}"));
                    }
                    if let Some(url) = &o.api_url {
                        lines.push(format!("ApiUrl: {url}"));
                    }
                    lines.push(format!("FunctionName: {}", o.function_name));
                    lines.join("\n")
                },
                &deployed.outputs,
            )
        }
        Command::Smoke => {
            let aws = Aws::connect(&settings, AccountCheck::Required).await?;
            let account = settings.require_account()?;
            let outputs = deployed_outputs(&aws, &settings.stack_name).await?;
            let report = smoke_stack(&aws, &outputs, account, &progress).await?;
            let summary = match &report.internet {
                Some(internet) if internet.not_checked.is_empty() => {
                    "smoke test passed: no token and foreign tokens out, scopes decide the tools"
                }
                Some(_) => "smoke test passed, with checks left out (named above)",
                None => "smoke test passed: signed in, unsigned out",
            };
            print(cli.output, || summary.into(), &report)
        }
        Command::Call { tool, args } => {
            let aws = Aws::connect(&settings, AccountCheck::IfSet).await?;
            let outputs = deployed_outputs(&aws, &settings.stack_name).await?;
            let url = outputs.require_function_url()?;
            let mut client = McpClient::new(url, &aws.region, credentials(&aws).await?)?
                .with_progress(progress_printer());
            client.connect().await?;
            let result = match tool {
                None => serde_json::to_value(client.list_tools().await?)?,
                Some(tool) => {
                    let arguments: Value = serde_json::from_str(&args)
                        .with_context(|| format!("--args is not JSON: {args}"))?;
                    let Value::Object(arguments) = arguments else {
                        return Err(anyhow!(
                            "--args must be a JSON object, like '{{\"text\": \"hello\"}}'"
                        ));
                    };
                    serde_json::to_value(client.call_tool(&tool, arguments).await?)?
                }
            };
            println!("{}", serde_json::to_string_pretty(&result)?);
            Ok(())
        }
        Command::Teardown => {
            let aws = Aws::connect(&settings, AccountCheck::IfSet).await?;
            let target = Target::Name(&settings.stack_name);
            let report = teardown(&aws, target, &progress).await?;
            print(cli.output, || "teardown verified".into(), &report)
        }
        Command::Demo {
            stack,
            local,
            bootstrap,
            zip,
        } => {
            if local {
                let account = settings.account.clone().unwrap_or_else(|| "0".repeat(12));
                let region = settings
                    .region
                    .clone()
                    .unwrap_or_else(|| "eu-central-1".into());
                let bootstrap = match bootstrap {
                    Some(path) => path,
                    None => std::env::current_exe()?.with_file_name("bootstrap"),
                };
                let internet = stack.exposure == Exposure::Internet;
                if internet && (stack.issuer.is_some() || stack.audience.is_some()) {
                    return Err(anyhow!(
                        "demo --local --exposure internet brings its own development issuer and \
                         audience: drop --issuer and --audience"
                    ));
                }
                if internet && stack.rung == Rung::Gateway {
                    return Err(anyhow!(
                        "--exposure internet is its own front (API Gateway with OAuth): drop --rung gateway"
                    ));
                }
                return demo_local(LocalDemo {
                    bootstrap,
                    account,
                    region,
                    gateway: stack.rung == Rung::Gateway,
                    internet,
                })
                .await;
            }
            let spec = demoable(&stack, &settings.stack_name)?;
            // The demo checks the account itself, before arming its guard.
            let aws = Aws::connect(&settings, AccountCheck::Skip).await?;
            let account = settings.require_account()?.to_owned();
            let zip = package_path(zip, &spec);
            demo_aws(aws, settings.stack_name.clone(), account, spec, zip).await
        }
    }
}

/// Shows a call's progress on stderr: a bar redrawn in place on a terminal,
/// one line per notification otherwise (logs, CI).
fn progress_printer() -> mcp_deploy::client::OnProgress {
    use std::io::{IsTerminal as _, Write as _};
    let terminal = std::io::stderr().is_terminal();
    mcp_deploy::client::OnProgress(std::sync::Arc::new(
        move |progress: f64, total: Option<f64>, message: Option<&str>| {
            let message = message.unwrap_or("");
            let mut err = std::io::stderr().lock();
            let _ = match total.filter(|t| *t > 0.0) {
                Some(total) if terminal => {
                    const WIDTH: usize = 30;
                    let done = (progress / total).clamp(0.0, 1.0);
                    let filled = (done * WIDTH as f64).round() as usize;
                    let end = if done >= 1.0 { "\n" } else { "" };
                    write!(
                        err,
                        "\r[{}{}] {:>3.0}% {message:<40}{end}",
                        "#".repeat(filled),
                        "-".repeat(WIDTH - filled),
                        done * 100.0
                    )
                }
                Some(total) => writeln!(err, "progress {progress}/{total} {message}"),
                None => writeln!(err, "progress {progress} {message}"),
            };
            let _ = err.flush();
        },
    ))
}
