//! The command line: flags declared with clap (each rung's in its own
//! module, [`crate::rung`]), and one short function per command.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use mcp_settings::{FunctionSettings, Setting};
use serde_json::Value;

use crate::assets;
use crate::aws::{AccountCheck, Aws};
use crate::client::{McpClient, OnProgress};
use crate::demo::{LocalDemo, demo_aws, demo_local, package_path};
use crate::progress::Progress;
use crate::rung::gateway::{self, GatewayArgs, GatewayAuthArg};
use crate::rung::internet::{self, InternetArgs};
use crate::rung::observe::ObserveArgs;
use crate::rung::rate_limit::RateLimitArgs;
use crate::rung::url::UrlArgs;
use crate::settings::{AwsArgs, Settings};
use crate::smoke::{SmokeCx, smoke_stack};
use crate::stack::{self, Outputs};
use crate::teardown::{Target, teardown};
use crate::template::{self, Arch, StackSpec};

/// Deploy your MCP tools to AWS one rung at a time - a Lambda function
/// behind an AWS_IAM Function URL (rung 2), an AgentCore Gateway (rung 3),
/// or API Gateway with WAF and OAuth (rung 4) - prove the boundary, and tear
/// it down verifying that nothing is left.
///
/// Settings: flags, then the environment variables shown with each flag
/// below, then the AWS config files.
#[derive(Debug, Parser)]
#[command(name = "mcp-deploy", version, about, long_about)]
pub struct Cli {
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
    /// Run every endpoint's smoke test with its negative controls: signed
    /// in and unsigned out (Function URL, gateway), no token and foreign
    /// tokens out (internet).
    Smoke,
    /// Call the deployed server's Function URL as a signed MCP client.
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
        #[arg(long, requires = "local")]
        bootstrap: Option<PathBuf>,
        /// The function package (see deploy).
        #[arg(long, conflicts_with = "local")]
        zip: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ToolFormat {
    Mcp,
    Agentcore,
}

/// What the stack contains: the function, then each rung's flags.
#[derive(Debug, Clone, clap::Args)]
struct StackArgs {
    /// The function's architecture.
    #[arg(long, value_enum, default_value_t = Arch::Arm64)]
    arch: Arch,
    /// Function memory in MB.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(128..=10_240))]
    memory: u32,
    /// Function timeout in seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=900))]
    timeout: u32,
    /// The scopes a bearer token needs per tool (the function's tool-scopes
    /// setting), e.g. '{"demo_drop_table": ["ops:admin"]}'; the others keep
    /// their defaults.
    #[arg(long, value_name = "JSON", value_parser = checked_by_function(Setting::ToolScopes))]
    tool_scopes: Option<String>,
    /// The scopes a bearer token needs per resource (its URI, or a
    /// template's pattern), e.g. '{"guide://word_count": ["mcp:docs"]}';
    /// the others need the read scope.
    #[arg(long, value_name = "JSON", value_parser = checked_by_function(Setting::ResourceScopes))]
    resource_scopes: Option<String>,
    /// The scopes a bearer token needs per prompt, like --resource-scopes.
    #[arg(long, value_name = "JSON", value_parser = checked_by_function(Setting::PromptScopes))]
    prompt_scopes: Option<String>,
    /// The most messages one JSON-RPC batch may carry (the function's
    /// default: 20); a larger batch is refused whole, nothing run.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_batch: Option<u32>,
    /// `url`: the IAM-authenticated Function URL (rung 2). `gateway`: an
    /// AgentCore Gateway with semantic tool search and the function as its
    /// Lambda target (rung 3); no Function URL unless --with-function-url.
    #[arg(long, value_enum, default_value_t = RungArg::Url)]
    rung: RungArg,
    /// `account`: only IAM principals of the account (a Function URL, or the
    /// gateway). `internet`: a public endpoint, deliberately (rung 4) - API
    /// Gateway REST (regional) behind a WAF web ACL, the function checking
    /// OAuth bearer tokens of --issuer for --audience; no Function URL. All
    /// of it in one stack, or none of it.
    #[arg(long, value_enum, default_value_t = Exposure::Account)]
    exposure: Exposure,
    #[command(flatten)]
    url: UrlArgs,
    #[command(flatten)]
    gateway: GatewayArgs,
    #[command(flatten)]
    internet: InternetArgs,
    #[command(flatten)]
    rate_limits: RateLimitArgs,
    #[command(flatten)]
    observe: ObserveArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Exposure {
    Account,
    Internet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RungArg {
    Url,
    Gateway,
}

/// A flag that sets one of the function's own settings, checked the way
/// the function checks it at init (against its tools, resources and
/// prompts), so that a typo fails now and not in the deployed function.
fn checked_by_function(
    setting: Setting,
) -> impl Fn(&str) -> Result<String, String> + Clone + Send + Sync + 'static {
    move |text: &str| {
        let value = text.trim().to_owned();
        let mut settings = FunctionSettings::default();
        let field = match setting {
            Setting::ToolScopes => &mut settings.tool_scopes,
            Setting::ResourceScopes => &mut settings.resource_scopes,
            Setting::PromptScopes => &mut settings.prompt_scopes,
            other => return Err(format!("{other} is not set by a flag")),
        };
        *field = Some(value.clone());
        mcp_lambda::App::from_settings(&settings, mcp_lambda::FunctionEnv::default())
            .map_err(|e| e.to_string())?;
        Ok(value)
    }
}

/// Whether the user gave flag `id` (on the command line or in the
/// environment; a default does not count).
fn given(matches: &ArgMatches, id: &str) -> bool {
    matches!(
        matches.value_source(id),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

/// Refuses the flags of `ids` that were given when what they belong to was
/// not chosen; the error names them and says what they need.
fn only_with(
    matches: &ArgMatches,
    command: &clap::Command,
    chosen: bool,
    ids: &[&str],
    needs: &str,
) -> anyhow::Result<()> {
    if chosen {
        return Ok(());
    }
    let flags: Vec<String> = ids
        .iter()
        .filter(|id| given(matches, id))
        .filter_map(|id| command.get_arguments().find(|a| a.get_id() == *id))
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    if flags.is_empty() {
        return Ok(());
    }
    let verb = if flags.len() == 1 { "is" } else { "are" };
    Err(anyhow!("{} {verb} for {needs} only", flags.join(", ")))
}

/// `--rung gateway` refuses the flags that need each caller's identity: a
/// gateway invokes its Lambda target with the arguments and its own ids,
/// never the caller's (the function refuses the same settings at init).
fn refuse_without_identity(matches: &ArgMatches) -> anyhow::Result<()> {
    for (id, flag, instead) in [
        (
            "rate_limits",
            "--rate-limits",
            "every gateway caller would share one count per tool",
        ),
        (
            "tool_scopes",
            "--tool-scopes",
            "no gateway caller's scopes could be checked",
        ),
    ] {
        if given(matches, id) {
            return Err(anyhow!(
                "{flag} cannot go with --rung gateway: an AgentCore Gateway invokes the function \
                 with the tool's arguments and its own ids, never its caller's identity, so \
                 {instead}. Use --rung url (callers signed with SigV4) or --exposure internet \
                 (callers with tokens) for {flag}; through a gateway, tools that need a scope of \
                 their own (beyond mcp:read and mcp:write) are refused"
            ));
        }
    }
    Ok(())
}

impl StackArgs {
    /// The rules between rungs that clap cannot declare (a flag that needs
    /// another flag to have a given value).
    fn check(&self, matches: &ArgMatches, command: &clap::Command) -> anyhow::Result<()> {
        let gateway = self.rung == RungArg::Gateway;
        let jwt = self.gateway.gateway_auth == GatewayAuthArg::Jwt;
        let internet = self.exposure == Exposure::Internet;
        only_with(matches, command, gateway, &gateway::FLAGS, "--rung gateway")?;
        only_with(
            matches,
            command,
            jwt,
            &gateway::JWT_FLAGS,
            "--gateway-auth jwt",
        )?;
        only_with(
            matches,
            command,
            internet,
            &internet::FLAGS,
            "--exposure internet",
        )?;
        if gateway {
            refuse_without_identity(matches)?;
        }
        if internet && (gateway || !self.url.allow_principals.is_empty()) {
            return Err(anyhow!(
                "--exposure internet is its own front (API Gateway with OAuth): drop --rung \
                 gateway and --allow-principal"
            ));
        }
        Ok(())
    }

    /// The stack these flags ask for. `local`: the emulator's, which always
    /// serves its Function URL and brings its own OAuth issuer.
    fn spec(&self, local: bool) -> anyhow::Result<StackSpec> {
        let internet = self.exposure == Exposure::Internet;
        let gateway = self.rung == RungArg::Gateway;
        let url = !internet && (!gateway || self.gateway.with_function_url || local);
        Ok(StackSpec {
            arch: self.arch,
            memory_mb: self.memory,
            timeout_s: self.timeout,
            settings: FunctionSettings {
                tool_scopes: self.tool_scopes.clone(),
                resource_scopes: self.resource_scopes.clone(),
                prompt_scopes: self.prompt_scopes.clone(),
                max_batch: self.max_batch.map(|n| n as usize),
                ..FunctionSettings::default()
            },
            url: url.then(|| self.url.spec()),
            gateway: gateway.then(|| self.gateway.spec()).transpose()?,
            internet: match (internet, local) {
                (false, _) => None,
                (true, false) => Some(self.internet.spec()?),
                (true, true) => Some(self.internet.local_spec()),
            },
            rate_limits: self.rate_limits.spec(),
            observe: self.observe.spec(),
            ..StackSpec::default()
        })
    }
}

/// The spec, checked against what only the stack's name can tell before
/// anything is created.
fn checked_spec(
    stack: &StackArgs,
    matches: &Matches,
    stack_name: &str,
) -> anyhow::Result<StackSpec> {
    stack.check(&matches.args, &matches.command)?;
    let spec = stack.spec(false)?;
    for rung in crate::rung::ALL {
        rung.check_stack_name(&spec, stack_name)?;
    }
    Ok(spec)
}

/// The subcommand's matches and definition, for the rules above.
struct Matches {
    args: ArgMatches,
    command: clap::Command,
}

impl Matches {
    fn of(matches: &ArgMatches, command: clap::Command) -> Self {
        match matches.subcommand() {
            Some((name, args)) => Matches {
                args: args.clone(),
                command: command.find_subcommand(name).cloned().unwrap_or(command),
            },
            None => Matches {
                args: matches.clone(),
                command,
            },
        }
    }
}

/// Parses the command line, runs the command, maps the outcome to an exit
/// code.
pub async fn main() -> std::process::ExitCode {
    let command = Cli::command();
    let matches = command.clone().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli, &Matches::of(&matches, command)).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcp-deploy: {e:#}");
            std::process::ExitCode::FAILURE
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
    stack::outputs(&stack)
}

async fn run(cli: Cli, matches: &Matches) -> anyhow::Result<()> {
    let settings = Settings::resolve(&cli.aws)?;
    let output = cli.output;
    match cli.command {
        Command::Synth { stack, to } => synth(&stack, matches, &settings, to),
        Command::Tools { format } => print_tools(format),
        Command::Prepare => prepare(&settings, output).await,
        Command::Deploy {
            stack,
            zip,
            outputs_file,
        } => {
            let spec = checked_spec(&stack, matches, &settings.stack_name)?;
            deploy(&settings, &spec, zip, outputs_file, output).await
        }
        Command::Smoke => smoke(&settings, output).await,
        Command::Call { tool, args } => call(&settings, tool, &args).await,
        Command::Teardown => {
            let aws = Aws::connect(&settings, AccountCheck::IfSet).await?;
            let target = Target::Name(&settings.stack_name);
            let report = teardown(&aws, target, &Progress::new()).await?;
            print(output, || "teardown verified".into(), &report)
        }
        Command::Demo {
            stack,
            local,
            bootstrap,
            zip,
        } => match local {
            true => local_demo(&stack, matches, &settings, bootstrap).await,
            false => aws_demo(&stack, matches, &settings, zip).await,
        },
    }
}

fn synth(
    stack: &StackArgs,
    matches: &Matches,
    settings: &Settings,
    to: Option<PathBuf>,
) -> anyhow::Result<()> {
    let spec = checked_spec(stack, matches, &settings.stack_name)?;
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

async fn prepare(settings: &Settings, output: Output) -> anyhow::Result<()> {
    let aws = Aws::connect(settings, AccountCheck::Required).await?;
    let bucket = assets::prepare(&aws, settings.require_account()?, &Progress::new()).await?;
    let json = serde_json::json!({"BucketName": bucket});
    print(output, || bucket.clone(), json)
}

async fn deploy(
    settings: &Settings,
    spec: &StackSpec,
    zip: Option<PathBuf>,
    outputs_file: Option<PathBuf>,
    output: Output,
) -> anyhow::Result<()> {
    let aws = Aws::connect(settings, AccountCheck::Required).await?;
    let zip = package_path(zip, spec);
    let account = settings.require_account()?;
    let progress = Progress::new();
    let name = &settings.stack_name;
    let deployed = stack::deploy(&aws, name, spec, &zip, account, &progress, &|_| {}).await?;
    if let Some(path) = outputs_file {
        stack::write_outputs_file(&path, name, &deployed.outputs)?;
    }
    progress.say(format!("deployment time: {:.2}s", deployed.seconds));
    let outputs = &deployed.outputs;
    let text = || {
        let mut lines: Vec<String> = crate::rung::ALL
            .iter()
            .filter_map(|rung| rung.endpoint())
            .filter_map(|key| Some(format!("{key}: {}", outputs.get(key)?)))
            .collect();
        lines.push(format!("FunctionName: {}", outputs.function_name()));
        lines.join("\n")
    };
    print(output, text, outputs)
}

async fn smoke(settings: &Settings, output: Output) -> anyhow::Result<()> {
    let aws = Aws::connect(settings, AccountCheck::Required).await?;
    let account = settings.require_account()?;
    let outputs = deployed_outputs(&aws, &settings.stack_name).await?;
    let progress = Progress::new();
    let smoked = smoke_stack(&SmokeCx::deployed(&aws, &outputs, account, &progress)).await?;
    print(output, || smoked.summary.clone(), &smoked.report)
}

async fn call(settings: &Settings, tool: Option<String>, args: &str) -> anyhow::Result<()> {
    let aws = Aws::connect(settings, AccountCheck::IfSet).await?;
    let outputs = deployed_outputs(&aws, &settings.stack_name).await?;
    let url = outputs.require_function_url()?;
    let mut client = McpClient::sigv4(url, &aws.region, aws.credentials().await?)?
        .with_progress(progress_printer());
    client.connect().await?;
    let result = match tool {
        None => serde_json::to_value(client.list_tools().await?)?,
        Some(tool) => {
            let arguments: Value = serde_json::from_str(args)
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

async fn local_demo(
    stack: &StackArgs,
    matches: &Matches,
    settings: &Settings,
    bootstrap: Option<PathBuf>,
) -> anyhow::Result<()> {
    stack.check(&matches.args, &matches.command)?;
    if stack.internet.issuer.is_some() || stack.internet.audience.is_some() {
        return Err(anyhow!(
            "demo --local --exposure internet brings its own development issuer and audience: \
             drop --issuer and --audience"
        ));
    }
    let bootstrap = match bootstrap {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("bootstrap"),
    };
    demo_local(LocalDemo {
        bootstrap,
        account: settings.account.clone().unwrap_or_else(|| "0".repeat(12)),
        region: settings
            .region
            .clone()
            .unwrap_or_else(|| "eu-central-1".into()),
        spec: stack.spec(true)?,
    })
    .await
}

/// `demo` on AWS: its gateway smoke test signs with SigV4, so a JWT gateway
/// is refused first.
async fn aws_demo(
    stack: &StackArgs,
    matches: &Matches,
    settings: &Settings,
    zip: Option<PathBuf>,
) -> anyhow::Result<()> {
    if stack.rung == RungArg::Gateway && stack.gateway.gateway_auth != GatewayAuthArg::Iam {
        return Err(anyhow!(
            "demo --rung gateway smoke-tests with SigV4, so it needs --gateway-auth iam; \
             deploy a --gateway-auth jwt gateway with `mcp-deploy deploy` and call it with a \
             token from your issuer"
        ));
    }
    let spec = checked_spec(stack, matches, &settings.stack_name)?;
    // The demo checks the account itself, before arming its guard.
    let aws = Aws::connect(settings, AccountCheck::Skip).await?;
    let account = settings.require_account()?.to_owned();
    let zip = package_path(zip, &spec);
    demo_aws(aws, settings.stack_name.clone(), account, spec, zip).await
}

/// Shows a call's progress on stderr: a bar redrawn in place on a terminal,
/// one line per notification otherwise (logs, CI).
fn progress_printer() -> OnProgress {
    use std::io::{IsTerminal as _, Write as _};
    let terminal = std::io::stderr().is_terminal();
    OnProgress(std::sync::Arc::new(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    fn refusal(args: &[&str]) -> String {
        let command = Cli::command();
        let mut argv = vec!["mcp-deploy", "synth"];
        argv.extend(args);
        let matches = match command.clone().try_get_matches_from(argv) {
            Ok(matches) => matches,
            Err(e) => return e.to_string(),
        };
        let Ok(Cli {
            command: Command::Synth { stack, .. },
            ..
        }) = Cli::from_arg_matches(&matches)
        else {
            return "not synth".into();
        };
        let matches = Matches::of(&matches, command);
        match checked_spec(&stack, &matches, "McpLadderRemoteStack") {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn flags_of_a_rung_not_chosen_are_refused_by_name() {
        let issuer = ["--issuer", "https://issuer.example.com"];
        assert_eq!(refusal(&issuer), "--issuer is for --exposure internet only");
        assert!(
            refusal(&["--with-function-url"]).contains("--with-function-url is for --rung gateway")
        );
        assert!(
            refusal(&["--rung", "gateway", "--jwt-audience", "a"])
                .contains("--jwt-audience is for --gateway-auth jwt only")
        );
        assert!(refusal(&["--rate-limit-table", "t-1"]).contains("--rate-limits"));
        assert!(refusal(&["--allow-principal", "*"]).contains("wildcards are never granted"));
        assert!(
            refusal(&["--resource-scopes", r#"{"nothing://here": ["x"]}"#])
                .contains("nothing://here")
        );
        assert!(refusal(&["--max-batch", "0"]).contains("--max-batch"));
        assert_eq!(
            refusal(&["--prompt-scopes", r#"{"count_words": ["mcp:docs"]}"#]),
            ""
        );
        assert_eq!(refusal(&[]), "");
        assert_eq!(refusal(&["--rung", "gateway", "--with-function-url"]), "");
    }

    #[test]
    fn a_gateway_refuses_what_needs_the_callers_identity() {
        let limits = refusal(&[
            "--rung",
            "gateway",
            "--rate-limits",
            r#"{"default": "5/60s"}"#,
        ]);
        assert!(
            limits.starts_with("--rate-limits cannot go with --rung gateway")
                && limits.contains("share one count per tool")
                && limits.contains("Use --rung url"),
            "{limits}"
        );
        let scopes = refusal(&[
            "--rung",
            "gateway",
            "--with-function-url",
            "--tool-scopes",
            r#"{"word_count": ["mcp:read"]}"#,
        ]);
        assert!(
            scopes.starts_with("--tool-scopes cannot go with --rung gateway"),
            "{scopes}"
        );
        assert_eq!(refusal(&["--rate-limits", r#"{"default": "5/60s"}"#]), "");
    }
}
