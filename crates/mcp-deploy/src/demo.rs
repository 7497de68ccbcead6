//! `demo`: deploy, prove the boundary, tear down and verify, with the
//! teardown guaranteed on SIGINT, SIGTERM, SIGHUP, errors and panics.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials as _;

use crate::assets;
use crate::aws::Aws;
use crate::client::{McpClient, smoke, smoke_gateway};
use crate::guard::guarded;
use crate::progress::Progress;
use crate::stack;
use crate::teardown::{Target, teardown};
use crate::template::StackSpec;

/// The function package for `deploy`: `--zip`, or the one `scripts/build-lambda.sh` built.
pub fn package_path(zip: Option<PathBuf>, spec: &StackSpec) -> PathBuf {
    zip.unwrap_or_else(|| {
        PathBuf::from(format!(
            "target/lambda/{}/bootstrap/bootstrap.zip",
            spec.arch.lambda_name()
        ))
    })
}

/// The credentials the SDK would sign with.
pub async fn credentials(aws: &Aws) -> anyhow::Result<Credentials> {
    let provider = aws.config.credentials_provider().ok_or_else(|| {
        anyhow!(
            "no AWS credentials: export MCP_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    })?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| anyhow!("cannot load AWS credentials: {e}"))
}

/// What the smoke tests of a deployed stack saw, front by front.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackSmokeReport {
    /// Through the Function URL, when the stack has one: its fields at the
    /// top level, as `smoke --output json` has always printed them.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub function_url: Option<crate::client::SmokeReport>,
    /// Through the gateway, when the stack has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<crate::client::GatewaySmokeReport>,
    /// Through the internet-facing API, when the stack is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internet: Option<crate::internet::InternetSmokeReport>,
}

/// Smoke-tests every front the stack has: the Function URL (signed in,
/// unsigned out) and the gateway (list, search, call; unsigned out).
pub async fn smoke_stack(
    aws: &Aws,
    outputs: &crate::stack::Outputs,
    account: &str,
    progress: &Progress,
) -> anyhow::Result<StackSmokeReport> {
    if let Some(api_url) = &outputs.api_url {
        // Bearer tokens, not SigV4: no AWS credentials are needed.
        let api_url = crate::hooks::api_url(api_url);
        let tokens = crate::internet::Tokens::from_env();
        let report = crate::internet::smoke_internet(&api_url, &tokens, progress).await?;
        return Ok(StackSmokeReport {
            function_url: None,
            gateway: None,
            internet: Some(report),
        });
    }
    let fronts = (
        outputs.function_url.as_deref(),
        outputs.gateway_url.as_deref(),
    );
    smoke_fronts(
        fronts,
        &aws.region,
        credentials(aws).await?,
        account,
        progress,
    )
    .await
}

/// Smoke-tests the fronts given: `(Function URL, gateway URL)`.
async fn smoke_fronts(
    (function_url, gateway_url): (Option<&str>, Option<&str>),
    region: &str,
    credentials: Credentials,
    account: &str,
    progress: &Progress,
) -> anyhow::Result<StackSmokeReport> {
    let mut report = StackSmokeReport {
        function_url: None,
        gateway: None,
        internet: None,
    };
    if let Some(url) = function_url {
        let mut client = McpClient::new(url, region, credentials.clone())?;
        report.function_url = Some(smoke(&mut client, account, progress).await?);
    }
    if let Some(url) = gateway_url {
        let mut client =
            McpClient::new(url, region, credentials)?.with_service("bedrock-agentcore");
        report.gateway =
            Some(smoke_gateway(&mut client, crate::template::GATEWAY_TARGET_NAME, progress).await?);
    }
    Ok(report)
}

/// `demo` against AWS (or an emulated control plane).
///
/// The credentials' account is checked before the guard is armed, and the
/// guard deletes only the stack this run created or updated, by its id: a
/// failed check or an early Ctrl-C never touches a same-named stack of
/// another account (audit item 1).
pub async fn demo_aws(
    aws: Aws,
    stack_name: String,
    account: String,
    spec: StackSpec,
    zip: PathBuf,
) -> anyhow::Result<()> {
    let progress = Progress::new();
    progress.stage("checking-account").await?;
    aws.check_account(&account).await?;
    let touched: Arc<Mutex<Option<String>>> = Arc::default();
    let work = {
        let (aws, stack_name, account, touched) = (
            aws.clone(),
            stack_name.clone(),
            account.clone(),
            touched.clone(),
        );
        async move {
            progress.stage("preparing").await?;
            assets::prepare(&aws, &account, &progress).await?;
            let record = |id: &str| {
                *touched.lock().unwrap_or_else(|e| e.into_inner()) = Some(id.to_owned());
            };
            let deployed =
                stack::deploy(&aws, &stack_name, &spec, &zip, &account, &progress, &record).await?;
            progress.story(format!("  {stack_name}"));
            progress.story(format!("  Deployment time: {:.2}s", deployed.seconds));
            let outputs = &deployed.outputs;
            if let Some(url) = &outputs.function_url {
                progress.story(format!("  FunctionUrl: {url}"));
            }
            if let Some(url) = &outputs.gateway_url {
                progress.story(format!("  GatewayUrl: {url}"));
            }
            if let Some(url) = &outputs.api_url {
                progress.story(format!("  ApiUrl: {url}"));
            }
            smoke_stack(&aws, outputs, &account, &progress).await?;
            Ok(())
        }
    };
    let what = format!("stack {stack_name} and its resources");
    let cleanup = || async {
        let id = touched.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(id) = id else {
            progress.say(format!(
                "nothing deployed: this run created no stack (a stack named {stack_name} that it \
                 did not create is left alone)"
            ));
            return Ok(());
        };
        let target = Target::Id {
            name: &stack_name,
            id: &id,
        };
        teardown(&aws, target, &progress).await.map(|_| ())
    };
    guarded(&progress, work, cleanup, &what).await
}

/// Settings of `demo --local`.
#[derive(Debug, Clone)]
pub struct LocalDemo {
    /// The function binary.
    pub bootstrap: PathBuf,
    /// The function's account.
    pub account: String,
    /// The region.
    pub region: String,
    /// Rung 3: the function behind a local AgentCore Gateway as well.
    pub gateway: bool,
    /// Rung 4: the function behind a local REST API, trusting a development
    /// OIDC issuer, checked as an internet-facing endpoint.
    pub internet: bool,
}

/// A local gateway in front of the emulator's function, serving the
/// function's tools as the deploy CLI exports them.
async fn serve_local_gateway(emulator: &lambda_emulator::Emulator) -> anyhow::Result<String> {
    let export = mcp_lambda::agentcore::function_tools()?;
    let tools = serde_json::from_value(mcp_lambda::agentcore::api_payload(&export.tools))?;
    emulator
        .serve_gateway(crate::template::GATEWAY_TARGET_NAME, tools)
        .await
}

/// `demo --local`: the same story on this machine, with the emulator as AWS.
pub async fn demo_local(local: LocalDemo) -> anyhow::Result<()> {
    use lambda_emulator::principals::INVOKE_ACTIONS;
    use lambda_emulator::{Auth, Emulator, EmulatorConfig, Principal, Verifier};

    let progress = Progress::new();
    if !local.bootstrap.is_file() {
        bail!(
            "{} is missing: build the function (cargo build --release -p mcp-lambda) or pass --bootstrap",
            local.bootstrap.display()
        );
    }
    // A throwaway principal of the function's account, holding both invoke permissions.
    let nonce = format!(
        "{:016x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    let principal = Principal {
        access_key_id: format!("AKIALOCAL{}", &nonce[..11].to_uppercase()),
        secret_access_key: format!("local-{nonce}"),
        session_token: None,
        account_id: local.account.clone(),
        arn: format!("arn:aws:iam::{}:user/mcp-deploy-local", local.account),
        user_id: "AIDALOCALMCPDEPLOY".into(),
        allow: INVOKE_ACTIONS
            .iter()
            .chain([&lambda_emulator::gateway::INVOKE_GATEWAY])
            .map(|a| (*a).to_owned())
            .collect(),
    };
    let credentials = Credentials::new(
        &principal.access_key_id,
        &principal.secret_access_key,
        None,
        None,
        "mcp-deploy-local",
    );
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Emulator>();
    let work = {
        let local = local.clone();
        async move {
            progress.stage("deploying").await?;
            let started = std::time::Instant::now();
            let mut config = EmulatorConfig::new(
                &local.bootstrap,
                "mcp-ladder-local",
                &local.region,
                &local.account,
            );
            config
                .function
                .env
                .push(("MCP_ACCOUNT_ID".into(), local.account.clone()));
            config
                .function
                .env
                .push(("AWS_LAMBDA_LOG_LEVEL".into(), "warn".into()));
            config.auth = Auth::AwsIam {
                verifier: Verifier::lambda(&local.region),
                principals: vec![principal],
            };
            // As the stack's URL: progress streams while a tool runs.
            config.invoke_mode = lambda_emulator::InvokeMode::ResponseStream;
            if local.internet {
                config.rest_api = Some(lambda_emulator::RestApiConfig {
                    port: 0,
                    stage: crate::template::STAGE.into(),
                });
                config.dev_issuer = true;
            }
            let emulator = Emulator::start(config).await?;
            let url = emulator.url();
            let internet = emulator.rest_api_url().map(str::to_owned).zip(
                emulator
                    .issuer()
                    .map(|issuer| format!("{}/token", issuer.url())),
            );
            let gateway = match local.gateway {
                false => None,
                true => Some(serve_local_gateway(&emulator).await),
            };
            // The guard owns the emulator from here, whatever comes next.
            if ready_tx.send(emulator).is_err() {
                bail!("the teardown guard went away");
            }
            let gateway = gateway.transpose()?;
            progress.story("  local Function URL (AuthType AWS_IAM, emulated)");
            progress.story(format!(
                "  Deployment time: {:.2}s",
                started.elapsed().as_secs_f64()
            ));
            progress.story(format!("  FunctionUrl: {url}"));
            if let Some(gateway) = &gateway {
                progress.story(
                    "  local AgentCore Gateway (emulated; on AWS, SearchType SEMANTIC is set at \
                     creation and a gateway created without it can never have it)",
                );
                progress.story(format!("  GatewayUrl: {gateway}"));
            }
            if let Some((api_url, token_endpoint)) = internet {
                progress.story(
                    "  local API Gateway REST API (emulated; on AWS a REGIONAL WAF web ACL is \
                     associated with its stage) and a development OIDC issuer (a test double)",
                );
                progress.story(format!("  ApiUrl: {api_url}"));
                progress.stage("stack-ready").await?;
                let tokens = crate::internet::Tokens::Endpoint(token_endpoint);
                crate::internet::smoke_internet(&api_url, &tokens, &progress).await?;
                return Ok(());
            }
            progress.stage("stack-ready").await?;
            let fronts = (Some(url.as_str()), gateway.as_deref());
            smoke_fronts(
                fronts,
                &local.region,
                credentials,
                &local.account,
                &progress,
            )
            .await?;
            Ok(())
        }
    };
    let cleanup = || async move {
        let Ok(emulator) = ready_rx.await else {
            progress.say("nothing deployed: the emulator never started");
            return Ok(());
        };
        progress.stage("deleting-stack").await?;
        let addr = emulator.addr();
        let gateways = emulator.gateway_addrs();
        // The REST API and the issuer: each must refuse connections too.
        let others: Vec<std::net::SocketAddr> = emulator
            .rest_api_url()
            .into_iter()
            .chain(emulator.issuer().map(|i| i.url()))
            .filter_map(|url| {
                url.trim_start_matches("http://")
                    .split('/')
                    .next()?
                    .parse()
                    .ok()
            })
            .collect();
        let pids = emulator.stats().pids();
        emulator.shutdown().await;
        // Verify like the AWS teardown: the function's processes and the URL are gone.
        tokio::time::sleep(Duration::from_millis(100)).await;
        for pid in pids.iter().filter(|pid| **pid != 0) {
            if std::path::Path::new(&format!("/proc/{pid}")).exists() {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                if !status.contains(") Z ") {
                    bail!("teardown is NOT clean: the function process {pid} is still running");
                }
            }
            progress.story(format!(
                "[teardown] verified: function process {pid} is gone"
            ));
        }
        if pids.is_empty() {
            progress.story("[teardown] verified: no function process was ever started");
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            bail!("teardown is NOT clean: {addr} still accepts connections");
        }
        progress.story(format!(
            "[teardown] verified: http://{addr}/ refuses connections"
        ));
        for gateway in gateways {
            if tokio::net::TcpStream::connect(gateway).await.is_ok() {
                bail!("teardown is NOT clean: the gateway at {gateway} still accepts connections");
            }
            progress.story(format!(
                "[teardown] verified: the gateway http://{gateway}/mcp refuses connections"
            ));
        }
        for addr in others {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                bail!("teardown is NOT clean: http://{addr}/ still accepts connections");
            }
            progress.story(format!(
                "[teardown] verified: http://{addr}/ refuses connections"
            ));
        }
        progress.story("[teardown] stack status: DELETE_COMPLETE (emulated)");
        progress.story("[teardown] clean.");
        Ok(())
    };
    guarded(&progress, work, cleanup, "the local emulator").await
}
