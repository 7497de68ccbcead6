//! `mcp-deploy`: parses the command line, sets up the runtime, hands off to
//! the library and maps the outcome to an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use clap::{Parser, Subcommand, ValueEnum};
use mcp_deploy::assets;
use mcp_deploy::aws::{AccountCheck, Aws};
use mcp_deploy::client::{McpClient, smoke};
use mcp_deploy::demo::{LocalDemo, credentials, demo_aws, demo_local, package_path};
use mcp_deploy::progress::Progress;
use mcp_deploy::settings::{AwsArgs, Settings};
use mcp_deploy::stack::{self, Outputs};
use mcp_deploy::teardown::{Target, teardown};
use mcp_deploy::template::{self, Arch, StackSpec};
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
    let registry = mcp_lambda::registry(mcp_lambda::FunctionEnv::default())?;
    let json = match format {
        ToolFormat::Mcp => Value::Array(
            registry
                .definitions()
                .map(|d| {
                    serde_json::to_value(d.to_wire(mcp_core::ProtocolVersion::LATEST_HANDSHAKE))
                })
                .collect::<Result<_, _>>()?,
        ),
        ToolFormat::Agentcore => {
            let export = mcp_lambda::agentcore::export(&registry).map_err(|refused| {
                let reasons: Vec<String> = refused.iter().map(ToString::to_string).collect();
                anyhow!(
                    "{}; change these tools' argument or output types to plain objects, \
                     arrays and scalars",
                    reasons.join("; ")
                )
            })?;
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
}

impl StackArgs {
    fn spec(&self) -> StackSpec {
        StackSpec {
            arch: self.arch,
            principals: self.allow_principals.clone(),
            memory_mb: self.memory,
            timeout_s: self.timeout,
            ..StackSpec::default()
        }
    }
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
            let text = template::to_text(&template::synth(&stack.spec())?);
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
            let aws = Aws::connect(&settings, AccountCheck::Required).await?;
            let spec = stack.spec();
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
                    format!(
                        "FunctionUrl: {}\nFunctionName: {}",
                        o.function_url, o.function_name
                    )
                },
                &deployed.outputs,
            )
        }
        Command::Smoke => {
            let aws = Aws::connect(&settings, AccountCheck::Required).await?;
            let account = settings.require_account()?;
            let outputs = deployed_outputs(&aws, &settings.stack_name).await?;
            let mut client =
                McpClient::new(&outputs.function_url, &aws.region, credentials(&aws).await?)?;
            let report = smoke(&mut client, account, &progress).await?;
            print(
                cli.output,
                || "smoke test passed: signed in, unsigned out".into(),
                &report,
            )
        }
        Command::Call { tool, args } => {
            let aws = Aws::connect(&settings, AccountCheck::IfSet).await?;
            let outputs = deployed_outputs(&aws, &settings.stack_name).await?;
            let mut client =
                McpClient::new(&outputs.function_url, &aws.region, credentials(&aws).await?)?;
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
                return demo_local(LocalDemo {
                    bootstrap,
                    account,
                    region,
                })
                .await;
            }
            // The demo checks the account itself, before arming its guard.
            let aws = Aws::connect(&settings, AccountCheck::Skip).await?;
            let account = settings.require_account()?.to_owned();
            let spec = stack.spec();
            let zip = package_path(zip, &spec);
            demo_aws(aws, settings.stack_name.clone(), account, spec, zip).await
        }
    }
}
