//! `mcp-deploy`: parses the command line and hands off to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use mcp_deploy::template::{self, Arch, StackSpec};

/// Deploy the account-bounded MCP server (a Lambda function behind an AWS_IAM
/// Function URL), prove the boundary, and tear it down.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the CloudFormation template (deterministic; infra/ holds the default one).
    Synth {
        #[command(flatten)]
        stack: StackArgs,
        /// Write to this file instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

/// What the stack contains.
#[derive(Debug, clap::Args)]
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcp-deploy: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Synth { stack, output } => {
            let text = template::to_text(&template::synth(&stack.spec())?);
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("failed to write {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(())
        }
    }
}
